"""What the schedule section of the chart shows, in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import template
from django.db.models import Q

from openiop.accounts.roles import Perm
from openiop.core.http import today
from openiop.patients.models import Patient
from openiop.scheduling import selectors
from openiop.scheduling.models import Enrolment, GroupSession, SessionStatus

register = template.Library()

UPCOMING_DAYS = 28
UPCOMING_LIMIT = 10


@dataclass(frozen=True)
class ChartSchedule:
    current: Enrolment | None
    enrolments: list[Enrolment]
    upcoming: list[selectors.Event]
    can_manage: bool


@register.simple_tag(takes_context=True)
def scheduling_chart(context: dict[str, Any], patient: Patient) -> ChartSchedule:
    """Three queries whatever the history: enrolments, group sessions, appointments."""
    day = today()
    end = day + timedelta(days=UPCOMING_DAYS)
    enrolments = list(
        Enrolment.objects.filter(patient=patient)
        .exclude(end_reason=Enrolment.EndReason.ENTERED_IN_ERROR)
        .select_related("track__program")
        .order_by("-start_on", "-id")
    )
    current = next(
        (
            e
            for e in sorted(enrolments, key=lambda e: e.start_on)
            if e.ended_on is None or e.ended_on > day
        ),
        None,
    )
    match = Q()
    for e in enrolments:
        if e.ended_on is not None and e.ended_on <= day:
            continue
        window = Q(track_id=e.track_id, on__gte=max(e.start_on, day), on__lt=end)
        if e.ended_on is not None:
            window &= Q(on__lt=e.ended_on)
        match |= window
    events: list[selectors.Event] = []
    if match:
        rows = (
            GroupSession.objects.filter(match, status=SessionStatus.SCHEDULED)
            .select_related(*selectors.SESSION_RELATED)
            .order_by("starts_at")[:UPCOMING_LIMIT]
        )
        events += [selectors.session_event(s) for s in rows]
    appts = selectors.patient_appointments(patient=patient, start=day, end=end)
    events += [selectors.appointment_event(a) for a in appts if a.status == SessionStatus.SCHEDULED]
    events.sort(key=lambda e: e.starts_at)
    perms = context.get("perms") or set()
    return ChartSchedule(
        current=current,
        enrolments=enrolments,
        upcoming=events[:UPCOMING_LIMIT],
        can_manage=Perm.SCHEDULE_MANAGE.value in perms,
    )
