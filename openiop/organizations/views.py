"""Organization set-up: sites, programs, payers and staff accounts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openiop.access.policy import staff
from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.accounts.services import StaffInput, staff_create, staff_update
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error
from openiop.organizations.forms import PayerForm, ProgramForm, SiteForm, StaffForm
from openiop.organizations.models import Payer, Program, Site


@staff(Perm.ORG_MANAGE)
def settings_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    org_id = actor.org_id
    return render(
        request,
        "organizations/home.html",
        {
            "organization": actor.organization,
            "sites": Site.objects.filter(organization_id=org_id),
            "programs": Program.objects.filter(site__organization_id=org_id).select_related("site"),
            "payers": Payer.objects.filter(organization_id=org_id),
            "staff": User.objects.filter(organization_id=org_id).prefetch_related(
                "memberships__program"
            ),
        },
    )


def _config_form_view(
    request: HttpRequest,
    *,
    form_class: type[forms.ModelForm],
    instance: models.Model | None,
    title: str,
    form_kwargs: dict[str, Any] | None = None,
    before_save: Any = None,
) -> HttpResponse:
    form = form_class(request.POST or None, instance=instance, **(form_kwargs or {}))
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        if before_save:
            before_save(obj)
        try:
            with transaction.atomic():
                obj.full_clean()
                obj.save()
        except forms.ValidationError as error:
            for field, errs in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errs)
        else:
            messages.success(request, f"{title} saved.")
            return redirect("organizations:home")
    return render(
        request,
        "organizations/form.html",
        {"form": form, "title": title},
        status=422 if form.errors else 200,
    )


def _own(qs: models.QuerySet[Any], public_id: UUID | None) -> Any:
    if public_id is None:
        return None
    obj = qs.filter(public_id=public_id).first()
    if obj is None:
        raise Http404
    return obj


@staff(Perm.ORG_MANAGE)
def site_form(request: HttpRequest, public_id: UUID | None = None) -> HttpResponse:
    actor = actor_of(request)
    site = _own(Site.objects.filter(organization_id=actor.org_id), public_id)

    def attach(obj: Site) -> None:
        obj.organization_id = actor.org_id

    return _config_form_view(
        request, form_class=SiteForm, instance=site, title="Site", before_save=attach
    )


@staff(Perm.ORG_MANAGE)
def program_form(request: HttpRequest, public_id: UUID | None = None) -> HttpResponse:
    actor = actor_of(request)
    program = _own(Program.objects.filter(site__organization_id=actor.org_id), public_id)
    return _config_form_view(
        request,
        form_class=ProgramForm,
        instance=program,
        title="Program",
        form_kwargs={"organization_id": actor.org_id},
    )


@staff(Perm.ORG_MANAGE)
def payer_form(request: HttpRequest, public_id: UUID | None = None) -> HttpResponse:
    actor = actor_of(request)
    payer = _own(Payer.objects.filter(organization_id=actor.org_id), public_id)

    def attach(obj: Payer) -> None:
        obj.organization_id = actor.org_id

    return _config_form_view(
        request, form_class=PayerForm, instance=payer, title="Payer", before_save=attach
    )


@staff(Perm.ORG_MANAGE)
def staff_form(request: HttpRequest, public_id: UUID | None = None) -> HttpResponse:
    actor = actor_of(request)
    org_id = actor.org_id
    member = _own(User.objects.filter(organization_id=org_id), public_id)
    initial: dict[str, Any] = {}
    if member is not None:
        initial = {
            f: getattr(member, f)
            for f in (
                "username",
                "first_name",
                "last_name",
                "email",
                "role",
                "credentials",
                "is_trainee",
                "is_active",
            )
        } | {"programs": [m.program_id for m in member.memberships.all()]}
    form = StaffForm(request.POST or None, initial=initial, organization_id=org_id, editing=member)
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        data = StaffInput(
            username=c["username"],
            first_name=c["first_name"].strip(),
            last_name=c["last_name"].strip(),
            email=c["email"],
            role=c["role"],
            credentials=c["credentials"].strip(),
            is_trainee=c["is_trainee"],
            is_active=c["is_active"],
            programs=tuple(c["programs"]),
            password=c["password"],
        )
        try:
            if member is None:
                staff_create(actor=actor, data=data)
            else:
                staff_update(actor=actor, user=member, data=data)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Staff account saved.")
            return redirect("organizations:home")
    return render(
        request,
        "organizations/form.html",
        {"form": form, "title": "Staff account"},
        status=422 if form.errors else 200,
    )
