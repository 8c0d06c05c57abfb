"""Sessions and appointments as reminders and calendar feeds see them.

Reads `openiop.scheduling` models (rosters are computed as docs/SCHEDULING.md
defines them: an enrolment in the session's track with start_on <= day and ended_on
null or after the day) and reduces each event to time, place and a neutral session
type: never the track name, topic, program, staff or other patients. Callers scope
first (a token names one patient or staff member; the reminder scan acts for the
whole installation). Each function runs in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Q

from openiop.accounts.models import User
from openiop.patients.models import Patient
from openiop.reminders import rules
from openiop.reminders.models import EventKind
from openiop.scheduling.models import Appointment, Enrolment, GroupSession, SessionStatus


@dataclass(frozen=True)
class Occurrence:
    event_kind: str
    event_id: UUID
    starts_at: datetime
    ends_at: datetime
    place: str
    session_label: str
    cancelled: bool


def _session_occurrence(session: GroupSession) -> Occurrence:
    room = session.room
    return Occurrence(
        event_kind=EventKind.GROUP_SESSION,
        event_id=session.public_id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        place=rules.place_label(room=room.name, site=room.site.name),
        session_label=rules.session_type_label(EventKind.GROUP_SESSION),
        cancelled=session.status == SessionStatus.CANCELLED,
    )


def _appointment_occurrence(appointment: Appointment) -> Occurrence:
    room = appointment.room
    site = room.site.name if room is not None else appointment.program.site.name
    return Occurrence(
        event_kind=EventKind.APPOINTMENT,
        event_id=appointment.public_id,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        place=rules.place_label(room=room.name if room is not None else "", site=site),
        session_label=rules.session_type_label(EventKind.APPOINTMENT, appointment.kind),
        cancelled=appointment.status == SessionStatus.CANCELLED,
    )


def _sessions(q: Q) -> list[GroupSession]:
    return list(
        GroupSession.objects.filter(q)
        .select_related("room__site")
        .only(
            "public_id",
            "track_id",
            "on",
            "starts_at",
            "ends_at",
            "status",
            "room__name",
            "room__site__name",
        )
        .order_by("starts_at", "id")
    )


def _appointments(q: Q) -> list[Appointment]:
    return list(
        Appointment.objects.filter(q)
        .select_related("room__site", "program__site", "patient")
        .order_by("starts_at", "id")
    )


def _on_roster(enrolment: Enrolment, session: GroupSession) -> bool:
    return (
        enrolment.track_id == session.track_id
        and enrolment.start_on <= session.on
        and (enrolment.ended_on is None or enrolment.ended_on > session.on)
    )


def patient_occurrences(*, patient: Patient, start: datetime, end: datetime) -> list[Occurrence]:
    """The patient's group sessions (while on the roster) and appointments starting in
    [start, end), cancelled ones included. Three queries."""
    enrolments = list(
        Enrolment.objects.filter(patient=patient).only(
            "track_id", "start_on", "ended_on", "patient_id"
        )
    )
    occurrences: list[Occurrence] = []
    if enrolments:
        sessions = _sessions(
            Q(starts_at__gte=start, starts_at__lt=end)
            & Q(track_id__in={e.track_id for e in enrolments})
        )
        occurrences += [
            _session_occurrence(s) for s in sessions if any(_on_roster(e, s) for e in enrolments)
        ]
    occurrences += [
        _appointment_occurrence(a)
        for a in _appointments(Q(patient=patient, starts_at__gte=start, starts_at__lt=end))
    ]
    return sorted(occurrences, key=lambda o: (o.starts_at, str(o.event_id)))


def staff_occurrences(*, staff: User, start: datetime, end: datetime) -> list[Occurrence]:
    """Sessions the staff member facilitates or co-facilitates and their appointments
    in [start, end). Two queries. Appointments carry no patient name."""
    window = Q(starts_at__gte=start, starts_at__lt=end)
    occurrences = [
        _session_occurrence(s)
        for s in _sessions(window & (Q(facilitator=staff) | Q(co_facilitator=staff)))
    ]
    occurrences += [_appointment_occurrence(a) for a in _appointments(window & Q(staff=staff))]
    return sorted(occurrences, key=lambda o: (o.starts_at, str(o.event_id)))


def due_window_occurrences(*, start: datetime, end: datetime) -> list[tuple[Patient, Occurrence]]:
    """Every (patient, occurrence) of a scheduled session or appointment starting in
    [start, end), for the reminder scan. Three queries whatever the number of sessions
    and patients."""
    sessions = _sessions(Q(starts_at__gte=start, starts_at__lt=end, status=SessionStatus.SCHEDULED))
    pairs: list[tuple[Patient, Occurrence]] = []
    if sessions:
        days = [s.on for s in sessions]
        enrolments = list(
            Enrolment.objects.filter(
                track_id__in={s.track_id for s in sessions}, start_on__lte=max(days)
            )
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=min(days)))
            .select_related("patient")
        )
        by_track: dict[int, list[Enrolment]] = {}
        for enrolment in enrolments:
            by_track.setdefault(enrolment.track_id, []).append(enrolment)
        for session in sessions:
            occurrence = _session_occurrence(session)
            seen: set[int] = set()
            for enrolment in by_track.get(session.track_id, []):
                if _on_roster(enrolment, session) and enrolment.patient_id not in seen:
                    seen.add(enrolment.patient_id)
                    pairs.append((enrolment.patient, occurrence))
    pairs.extend(
        (appointment.patient, _appointment_occurrence(appointment))
        for appointment in _appointments(
            Q(starts_at__gte=start, starts_at__lt=end, status=SessionStatus.SCHEDULED)
        )
    )
    return pairs
