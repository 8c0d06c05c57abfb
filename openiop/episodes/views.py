"""Opening episodes and changing status, level of care and care team: one view each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openiop.access.policy import staff
from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, today
from openiop.episodes import services
from openiop.episodes.forms import (
    CareTeamForm,
    EpisodeLevelForm,
    EpisodeOpenForm,
    EpisodeStatusForm,
)
from openiop.episodes.models import Episode
from openiop.organizations.models import Program
from openiop.patients.selectors import PatientAccess, patient_get_for_user


def _episode(access: PatientAccess, episode_id: UUID) -> Episode:
    episode = (
        Episode.objects.select_related("program")
        .filter(patient=access.patient, public_id=episode_id)
        .first()
    )
    if episode is None:
        raise Http404("No such episode.")
    return episode


@staff(Perm.EPISODE_MANAGE)
def episode_open(request: HttpRequest, public_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_get_for_user(actor=actor, public_id=public_id, now=now(), purpose="edit")
    programs = Program.objects.filter(memberships__user=actor, is_active=True)
    form = EpisodeOpenForm(
        request.POST or None, programs=programs, initial={"referred_on": today()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.episode_open(
                actor=actor,
                patient=access.patient,
                program=form.cleaned_data["program"],
                status=form.cleaned_data["status"],
                level_of_care=form.cleaned_data["level_of_care"],
                referred_on=form.cleaned_data["referred_on"],
                reason=form.cleaned_data["reason"],
                now=now(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Episode opened.")
            return redirect("patients:chart", public_id=public_id)
    return render(
        request,
        "episodes/form.html",
        {"form": form, "patient": access.patient, "title": "Open an episode of care"},
        status=422 if form.errors else 200,
    )


def _change_view(
    request: HttpRequest,
    public_id: UUID,
    episode_id: UUID,
    *,
    form_class: type[forms.Form],
    title: str,
    apply: Callable[[User, PatientAccess, Episode, dict[str, Any]], object],
    form_kwargs: Callable[[Episode], dict[str, Any]] | None = None,
    initial: Callable[[Episode], dict[str, Any]] | None = None,
) -> HttpResponse:
    actor = actor_of(request)
    access = patient_get_for_user(actor=actor, public_id=public_id, now=now(), purpose="edit")
    episode = _episode(access, episode_id)
    extra = form_kwargs(episode) if form_kwargs else {}
    start = {"version": episode.version, "effective_on": today()} | (
        initial(episode) if initial else {}
    )
    form = form_class(request.POST or None, initial=start, **extra)
    if request.method == "POST" and form.is_valid():
        try:
            apply(actor, access, episode, form.cleaned_data)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Episode updated.")
            return redirect("patients:chart", public_id=public_id)
    return render(
        request,
        "episodes/form.html",
        {"form": form, "patient": access.patient, "episode": episode, "title": title},
        status=422 if form.errors else 200,
    )


@staff(Perm.EPISODE_MANAGE)
def episode_status(request: HttpRequest, public_id: UUID, episode_id: UUID) -> HttpResponse:
    def apply(actor: User, access: PatientAccess, episode: Episode, data: dict[str, Any]) -> object:
        return services.episode_change_status(
            actor=actor,
            access=access,
            episode_public_id=episode.public_id,
            to_status=data["to_status"],
            effective_on=data["effective_on"],
            reason=data["reason"],
            base_version=data["version"],
            now=now(),
        )

    return _change_view(
        request,
        public_id,
        episode_id,
        form_class=EpisodeStatusForm,
        title="Change episode status",
        apply=apply,
    )


@staff(Perm.EPISODE_MANAGE)
def episode_level(request: HttpRequest, public_id: UUID, episode_id: UUID) -> HttpResponse:
    def apply(actor: User, access: PatientAccess, episode: Episode, data: dict[str, Any]) -> object:
        return services.episode_change_level(
            actor=actor,
            access=access,
            episode_public_id=episode.public_id,
            to_level=data["to_level"],
            effective_on=data["effective_on"],
            reason=data["reason"],
            base_version=data["version"],
            now=now(),
        )

    return _change_view(
        request,
        public_id,
        episode_id,
        form_class=EpisodeLevelForm,
        title="Change level of care",
        apply=apply,
        initial=lambda e: {"to_level": e.level_of_care},
    )


@staff(Perm.EPISODE_MANAGE)
def episode_care_team(request: HttpRequest, public_id: UUID, episode_id: UUID) -> HttpResponse:
    def apply(actor: User, access: PatientAccess, episode: Episode, data: dict[str, Any]) -> object:
        return services.episode_set_care_team(
            actor=actor,
            access=access,
            episode_public_id=episode.public_id,
            primary_counselor=data["primary_counselor"],
            prescriber=data["prescriber"],
            case_manager=data["case_manager"],
            base_version=data["version"],
            today=today(),
            now=now(),
        )

    return _change_view(
        request,
        public_id,
        episode_id,
        form_class=CareTeamForm,
        title="Care team",
        apply=apply,
        form_kwargs=lambda e: {
            "staff": User.objects.filter(memberships__program=e.program, is_active=True)
        },
        initial=lambda e: {
            "primary_counselor": e.primary_counselor_id,
            "prescriber": e.prescriber_id,
            "case_manager": e.case_manager_id,
        },
    )
