"""Scheduling reads for this app's pages and for attendance, reminders and notes.

The functions taking a patient or staff member are not scoped to an actor: the caller
has already decided the reader may see them (a view through `patient_get_for_user` or
`staff_visible`, a job acting for the organization). Each runs in a fixed number of
queries whatever the amount of data; tests assert it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from openiop.accounts.models import ProgramMembership, User
from openiop.episodes.models import Episode
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.scheduling import rules
from openiop.scheduling.models import (
    Appointment,
    AppointmentKind,
    Closure,
    Enrolment,
    GroupSession,
    Room,
    SessionStatus,
    SessionTemplate,
    Topic,
    Track,
    WaitlistEntry,
)

SESSION_RELATED = ("track", "program", "room__site", "facilitator", "co_facilitator", "topic")


def _sessions() -> QuerySet[GroupSession]:
    return GroupSession.objects.select_related(*SESSION_RELATED).order_by("starts_at", "id")


def sessions_on_day(*, day: date, program_ids: Iterable[int]) -> list[GroupSession]:
    """Group sessions of a day in the given programs, cancelled ones included (1 query)."""
    return list(_sessions().filter(on=day, program_id__in=list(program_ids)))


def sessions_in_range(
    *,
    start: date,
    end: date,
    program_ids: Iterable[int] | None = None,
    track_ids: Iterable[int] | None = None,
    room_ids: Iterable[int] | None = None,
    staff_id: int | None = None,
) -> list[GroupSession]:
    """Group sessions with start <= on < end, filtered (1 query)."""
    qs = _sessions().filter(on__gte=start, on__lt=end)
    if program_ids is not None:
        qs = qs.filter(program_id__in=list(program_ids))
    if track_ids is not None:
        qs = qs.filter(track_id__in=list(track_ids))
    if room_ids is not None:
        qs = qs.filter(room_id__in=list(room_ids))
    if staff_id is not None:
        qs = qs.filter(Q(facilitator_id=staff_id) | Q(co_facilitator_id=staff_id))
    return list(qs)


@dataclass(frozen=True)
class RosterEntry:
    patient: Patient
    enrolment: Enrolment
    episode: Episode


def rosters(sessions: Sequence[GroupSession]) -> dict[int, list[RosterEntry]]:
    """The computed roster of each session (key: session.pk), in one query for any
    number of sessions: the enrolments of their tracks that cover their dates."""
    result: dict[int, list[RosterEntry]] = {s.pk: [] for s in sessions}
    if not sessions:
        return result
    first = min(s.on for s in sessions)
    last = max(s.on for s in sessions)
    enrolments = (
        Enrolment.objects.filter(track_id__in={s.track_id for s in sessions}, start_on__lte=last)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=first))
        .exclude(end_reason=Enrolment.EndReason.ENTERED_IN_ERROR)
        .select_related("patient", "episode")
        .order_by("patient__legal_family_name", "patient__legal_given_name", "id")
    )
    by_track: dict[int, list[Enrolment]] = {}
    for e in enrolments:
        by_track.setdefault(e.track_id, []).append(e)
    for s in sessions:
        for e in by_track.get(s.track_id, []):
            if rules.on_roster(session_on=s.on, start_on=e.start_on, ended_on=e.ended_on):
                result[s.pk].append(RosterEntry(e.patient, e, e.episode))
    return result


def session_roster(session: GroupSession) -> list[RosterEntry]:
    """One session's roster (1 query)."""
    return rosters([session])[session.pk]


def enrolment_current(*, patient: Patient, on: date) -> Enrolment | None:
    """The patient's enrolment covering a date, or the next one starting (1 query)."""
    return (
        Enrolment.objects.filter(patient=patient)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))
        .exclude(end_reason=Enrolment.EndReason.ENTERED_IN_ERROR)
        .select_related("track__program", "episode")
        .order_by("start_on", "id")
        .first()
    )


@dataclass(frozen=True)
class Event:
    """One calendar entry: no patient names, so it suits feeds and reminders."""

    object_type: str  # "group_session" | "appointment"
    public_id: UUID
    kind: str  # "group" or an AppointmentKind value
    label: str  # track name (and topic) or the appointment kind
    starts_at: datetime
    ends_at: datetime
    place: str
    status: str
    cancelled_by: str
    program_id: int


def _place(room: Room | None, fallback: str = "") -> str:
    if room is None:
        return fallback
    return f"{room.name}, {room.site.name}"


def session_event(s: GroupSession) -> Event:
    label = s.track.name + (f": {s.topic.name}" if s.topic_id and s.topic else "")
    return Event(
        "group_session",
        s.public_id,
        "group",
        label,
        s.starts_at,
        s.ends_at,
        _place(s.room),
        s.status,
        s.cancelled_by,
        s.program_id,
    )


def appointment_event(a: Appointment) -> Event:
    return Event(
        "appointment",
        a.public_id,
        a.kind,
        str(AppointmentKind(a.kind).label),
        a.starts_at,
        a.ends_at,
        _place(a.room, a.program.site.name),
        a.status,
        a.cancelled_by,
        a.program_id,
    )


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("room__site", "program__site", "staff", "patient")


def patient_sessions(*, patient: Patient, start: date, end: date) -> list[GroupSession]:
    """Group sessions whose computed roster holds the patient, start <= on < end (2 queries)."""
    enrolments = list(
        Enrolment.objects.filter(patient=patient, start_on__lt=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=start))
        .exclude(end_reason=Enrolment.EndReason.ENTERED_IN_ERROR)
    )
    if not enrolments:
        return []
    match = Q()
    for e in enrolments:
        window = Q(track_id=e.track_id, on__gte=max(e.start_on, start), on__lt=end)
        if e.ended_on is not None:
            window &= Q(on__lt=e.ended_on)
        match |= window
    return list(_sessions().filter(match))


def patient_appointments(*, patient: Patient, start: date, end: date) -> list[Appointment]:
    return list(
        _appointments().filter(patient=patient, on__gte=start, on__lt=end).order_by("starts_at")
    )


def patient_events(*, patient: Patient, start: date, end: date) -> list[Event]:
    """A patient's group sessions and appointments, start <= day < end (3 queries)."""
    events = [session_event(s) for s in patient_sessions(patient=patient, start=start, end=end)]
    events += [
        appointment_event(a) for a in patient_appointments(patient=patient, start=start, end=end)
    ]
    return sorted(events, key=lambda e: (e.starts_at, e.label))


def staff_events(*, staff: User, start: date, end: date) -> list[Event]:
    """A staff member's group sessions (facilitator or co-) and appointments (2 queries)."""
    events = [session_event(s) for s in sessions_in_range(start=start, end=end, staff_id=staff.pk)]
    events += [
        appointment_event(a) for a in _appointments().filter(staff=staff, on__gte=start, on__lt=end)
    ]
    return sorted(events, key=lambda e: (e.starts_at, e.label))


# --- scoping helpers for this app's views -------------------------------------------


def member_program_ids(actor: User) -> list[int]:
    return list(ProgramMembership.objects.filter(user=actor).values_list("program_id", flat=True))


def programs_for(actor: User) -> QuerySet[Program]:
    return Program.objects.filter(memberships__user=actor).select_related("site").order_by("name")


def tracks_for(actor: User) -> QuerySet[Track]:
    return (
        Track.objects.filter(program__memberships__user=actor)
        .select_related("program")
        .order_by("program__name", "name")
    )


def track_get(*, actor: User, public_id: UUID) -> Track | None:
    return tracks_for(actor).filter(public_id=public_id).first()


def rooms_for(actor: User) -> QuerySet[Room]:
    return (
        Room.objects.filter(site__programs__memberships__user=actor, is_active=True)
        .select_related("site")
        .distinct()
        .order_by("site__name", "name")
    )


def room_get(*, actor: User, public_id: UUID) -> Room | None:
    return rooms_for(actor).filter(public_id=public_id).first()


def staff_visible(actor: User) -> QuerySet[User]:
    """Staff who share a program with the actor."""
    return (
        User.objects.filter(
            organization_id=actor.org_id,
            is_active=True,
            memberships__program_id__in=ProgramMembership.objects.filter(user=actor).values(
                "program_id"
            ),
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


def staff_get(*, actor: User, public_id: UUID) -> User | None:
    return staff_visible(actor).filter(public_id=public_id).first()


def session_get(*, actor: User, public_id: UUID) -> GroupSession | None:
    return _sessions().filter(public_id=public_id, program__memberships__user=actor).first()


def templates_of(track: Track) -> list[SessionTemplate]:
    return list(
        SessionTemplate.objects.filter(track=track).select_related(
            "room", "facilitator", "co_facilitator", "topic"
        )
    )


def topics_for(actor: User) -> QuerySet[Topic]:
    return Topic.objects.filter(organization_id=actor.org_id).order_by("name")


@dataclass(frozen=True)
class PinnedDue:
    topic: Topic
    entries: list[tuple[Patient, Enrolment, date, date]]
    already_attended: int = 0  # in the window, but attended the topic in this episode


def _attended_topics(patient_ids: set[int], topic_ids: set[int]) -> dict[tuple[int, int], date]:
    """(patient id, topic id) -> latest date the patient attended a group session on
    the topic (present, late or left early), from attendance's records (1 query)."""
    if not patient_ids or not topic_ids:
        return {}
    from openiop.attendance.models import AttendanceRecord  # attendance builds on us
    from openiop.attendance.rules import ATTENDED

    rows = AttendanceRecord.objects.filter(
        patient_id__in=patient_ids,
        session__topic_id__in=topic_ids,
        status__in=list(ATTENDED),
    ).values_list("patient_id", "session__topic_id", "on")
    latest: dict[tuple[int, int], date] = {}
    for patient_id, topic_id, on in rows:
        key = (patient_id, topic_id)
        if key not in latest or on > latest[key]:
            latest[key] = on
    return latest


def pinned_topics_due(*, track: Track, start: date, end: date) -> list[PinnedDue]:
    """Who is due for each pinned topic in [start, end]: enrolled patients whose pin
    window (first or last days of their stay) meets the period and who have not yet
    attended a session on that topic during this episode (3 queries)."""
    topics = list(
        Topic.objects.filter(
            organization_id=track.program.site.organization_id, is_active=True
        ).exclude(pin_anchor="")
    )
    if not topics:
        return []
    enrolments = list(
        Enrolment.objects.filter(track=track, start_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=start))
        .exclude(end_reason=Enrolment.EndReason.ENTERED_IN_ERROR)
        .select_related("patient", "episode")
    )
    attended = _attended_topics({e.patient_id for e in enrolments}, {t.pk for t in topics})
    result = []
    for topic in topics:
        entries = []
        done = 0
        for e in enrolments:
            window = rules.pin_window(
                anchor=topic.pin_anchor,
                days=topic.pin_days,
                start_on=e.start_on,
                expected_end_on=e.expected_end_on,
            )
            if not (window and window[0] <= end and start <= window[1]):
                continue
            last = attended.get((e.patient_id, topic.pk))
            episode_start = e.episode.admitted_on or e.episode.referred_on
            if last is not None and last >= episode_start:
                done += 1
                continue
            entries.append((e.patient, e, window[0], window[1]))
        result.append(PinnedDue(topic, entries, done))
    return result


@dataclass(frozen=True)
class WaitlistRow:
    position: int
    entry: WaitlistEntry


def waitlist_of(track: Track) -> list[WaitlistRow]:
    """A track's waiting patients in order of joining, numbered (1 query)."""
    entries = (
        WaitlistEntry.objects.filter(track=track, status=WaitlistEntry.Status.WAITING)
        .select_related("patient", "episode", "added_by")
        .order_by("created_at", "id")
    )
    return [WaitlistRow(i, e) for i, e in enumerate(entries, start=1)]


def waitlist_counts(tracks: Iterable[Track]) -> dict[int, int]:
    """Waiting patients per track (1 query)."""
    rows = (
        WaitlistEntry.objects.filter(track__in=list(tracks), status=WaitlistEntry.Status.WAITING)
        .values("track_id")
        .annotate(n=Count("id"))
    )
    return {r["track_id"]: r["n"] for r in rows}


def rooms_configurable(actor: User) -> QuerySet[Room]:
    """Rooms (in use or not) at the sites of the actor's programs."""
    return (
        Room.objects.filter(site__programs__memberships__user=actor)
        .select_related("site")
        .distinct()
        .order_by("site__name", "name")
    )


def closures_for(actor: User, *, since: date) -> QuerySet[Closure]:
    return (
        Closure.objects.filter(organization_id=actor.org_id, on__gte=since)
        .select_related("site")
        .order_by("on", "id")
    )


def upcoming_for_chart(*, patient: Patient, today: date, days: int = 28) -> list[Event]:
    from datetime import timedelta

    events = patient_events(patient=patient, start=today, end=today + timedelta(days=days))
    return [e for e in events if e.status == SessionStatus.SCHEDULED][:12]


def templates_qs_for(actor: User) -> QuerySet[SessionTemplate]:
    return SessionTemplate.objects.filter(track__program__memberships__user=actor).select_related(
        "track"
    )
