"""Reminder preferences and calendar feed URLs on the chart, the staff member's own
feed page, and the feed itself (reached without a session, authenticated by token)."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from openiop.access.policy import public, staff
from openiop.accounts.roles import Perm
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access
from openiop.reminders import feeds, selectors, services, sources
from openiop.reminders.forms import PreferenceForm
from openiop.reminders.models import CalendarFeedToken


def _chart_url(patient_id: UUID) -> str:
    return reverse("patients:chart_section", args=[patient_id, "schedule"])


def _feed_url(request: HttpRequest, url_token: str) -> str:
    return request.build_absolute_uri(reverse("reminders:feed", args=[url_token]))


# ----- the feed -------------------------------------------------------------------------


@public
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed. No session: the token is the credential. An unknown,
    malformed or revoked token answers the same 404."""
    row: CalendarFeedToken | None = services.feed_token_resolve(token)
    if row is None:
        raise Http404("No such calendar.")
    moment = now()
    start, end = moment - feeds.PAST, moment + feeds.FUTURE
    if row.patient is not None:
        occurrences = sources.patient_occurrences(patient=row.patient, start=start, end=end)
    else:
        assert row.user is not None
        occurrences = sources.staff_occurrences(staff=row.user, start=start, end=end)
    body = feeds.build_calendar(
        occurrences=occurrences, tz=ZoneInfo(settings.TIME_ZONE), now=moment
    )
    services.feed_fetched(token=row, now=moment, events=len(occurrences))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# ----- chart: preferences and the patient's feed ---------------------------------------


@staff(Perm.PATIENT_EDIT)
def patient_preferences(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "reminder_preference")
    pref = services.preference_for(access.patient)
    conflict = None
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            data = services.PreferenceInput(
                email_enabled=form.cleaned_data["email_enabled"],
                sms_enabled=form.cleaned_data["sms_enabled"],
                lead_minutes=form.cleaned_data["lead_minutes"],
            )
            try:
                services.preference_update(
                    actor=actor, access=access, data=data, version=form.cleaned_data["version"]
                )
            except services.PreferenceConflict as error:
                form_error(form, error)
                conflict = error.current
            except ServiceError as error:
                form_error(form, error)
            else:
                messages.success(request, "Reminder preferences saved.")
                return redirect(_chart_url(patient_id))
    else:
        form = PreferenceForm(
            initial={
                "email_enabled": pref.email_enabled,
                "sms_enabled": pref.sms_enabled,
                "lead_minutes": pref.lead_minutes,
                "version": pref.version,
            }
        )
    return render(
        request,
        "reminders/preferences.html",
        {"patient": access.patient, "form": form, "conflict": conflict, "pref": pref},
        status=422 if form.errors else 200,
    )


@staff(Perm.PATIENT_EDIT)
@require_POST
def patient_feed_issue(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "calendar_feed")
    issued = services.feed_issue_for_patient(actor=actor_of(request), access=access, now=now())
    return render(
        request,
        "reminders/feed_issued.html",
        {
            "patient": access.patient,
            "feed_url": _feed_url(request, issued.url_token),
            "back_url": _chart_url(patient_id),
        },
    )


@staff(Perm.PATIENT_EDIT)
@require_POST
def patient_feed_revoke(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "calendar_feed")
    try:
        services.feed_revoke_for_patient(actor=actor_of(request), access=access, now=now())
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Calendar feed revoked: the old address no longer works.")
    return redirect(_chart_url(patient_id))


# ----- the staff member's own feed -----------------------------------------------------


@staff()
def my_calendar(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return render(
        request,
        "reminders/my_calendar.html",
        {"token": selectors.feed_token_active_for_user(user=actor)},
    )


@staff()
@require_POST
def my_feed_issue(request: HttpRequest) -> HttpResponse:
    issued = services.feed_issue_for_self(actor=actor_of(request), now=now())
    return render(
        request,
        "reminders/feed_issued.html",
        {
            "patient": None,
            "feed_url": _feed_url(request, issued.url_token),
            "back_url": reverse("reminders:my_calendar"),
        },
    )


@staff()
@require_POST
def my_feed_revoke(request: HttpRequest) -> HttpResponse:
    try:
        services.feed_revoke_for_self(actor=actor_of(request), now=now())
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Calendar feed revoked: the old address no longer works.")
    return redirect("reminders:my_calendar")
