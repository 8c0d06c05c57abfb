"""Scheduling writes: tracks and curriculum, weekly templates and the sessions they
generate, enrolments, appointments, cancellations and reschedules.

Every booking holds its resources (staff, room, patient) in `Occupancy` rows. Before
writing, the service looks for overlapping active rows and refuses with a message
naming the conflicting event; on PostgreSQL the exclusion constraint refuses the same
overlap if two transactions race past that check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode
from openiop.organizations.models import Organization, Program, Site
from openiop.patients.selectors import PatientAccess
from openiop.scheduling import rules
from openiop.scheduling.models import (
    Appointment,
    AppointmentKind,
    CancelledBy,
    Closure,
    Enrolment,
    GroupSession,
    Occupancy,
    ResourceKind,
    Room,
    ScheduleChange,
    SessionStatus,
    SessionTemplate,
    Topic,
    Track,
    TrackTopic,
    WaitlistEntry,
)


class ScheduleInvalid(ServiceError):
    """One or more fields are refused (field -> message); the view shows each one."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(ErrorCode.INVALID, message, field=field)
        self.errors = errors


class VersionConflict(ServiceError):
    def __init__(self, what: str) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            f"Someone else changed this {what} while you were looking at it. The page now "
            "shows what is saved; make your change again if it still applies.",
        )


# --- helpers -------------------------------------------------------------------------


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def at(day: date, clock: time) -> datetime:
    """An aware datetime for a local date and wall-clock time."""
    return datetime.combine(day, clock, tzinfo=local_tz())


def business_hours() -> tuple[time, time]:
    value = getattr(settings, "SCHEDULING_BUSINESS_HOURS", None)
    return value or rules.DEFAULT_BUSINESS_HOURS


def _require(actor: User, perm: Perm, program: Program, what: str) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, f"Your role does not allow {what}.")
    if not ProgramMembership.objects.filter(user=actor, program=program).exists():
        raise ServiceError(ErrorCode.NOT_ALLOWED, f"You can only do {what} in your own programs.")


def _staff_in_program(user: User | None, program: Program) -> bool:
    return user is None or ProgramMembership.objects.filter(user=user, program=program).exists()


def _describe(row: Occupancy) -> str:
    """A conflicting event, named without any patient's name."""
    if row.session_id is not None:
        s = row.session
        assert s is not None
        start = s.starts_at.astimezone(local_tz())
        end = s.ends_at.astimezone(local_tz())
        return f"{s.track.name} group, {start:%a %d %b %H:%M}-{end:%H:%M}"
    a = row.appointment
    assert a is not None
    start = a.starts_at.astimezone(local_tz())
    end = a.ends_at.astimezone(local_tz())
    return f"{AppointmentKind(a.kind).label} appointment, {start:%a %d %b %H:%M}-{end:%H:%M}"


RESOURCE_WORDS = {
    ResourceKind.STAFF: "is already booked",
    ResourceKind.ROOM: "is already booked",
    ResourceKind.PATIENT: "already has",
}


@dataclass(frozen=True)
class Hold:
    kind: str  # ResourceKind
    resource_id: int
    label: str  # how to name the resource in a message
    field: str  # form field to put a conflict message on


def _conflict_message(hold: Hold, row: Occupancy) -> str:
    if hold.kind == ResourceKind.PATIENT:
        return f"The patient already has {_describe(row)} at that time."
    return f"{hold.label} is already booked at that time: {_describe(row)}."


def _check_conflicts(
    holds: Sequence[Hold],
    starts_at: datetime,
    ends_at: datetime,
    *,
    exclude_session: int | None = None,
    exclude_appointment: int | None = None,
) -> None:
    """Refuse when any held resource has an overlapping active booking (one query)."""
    if not holds:
        return
    by_kind: dict[str, list[int]] = {}
    for hold in holds:
        by_kind.setdefault(hold.kind, []).append(hold.resource_id)
    match = Q()
    for kind, ids in by_kind.items():
        match |= Q(resource_kind=kind, resource_id__in=ids)
    rows = (
        Occupancy.objects.filter(
            match, is_active=True, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .select_related("session__track", "appointment")
        .order_by("starts_at")
    )
    if exclude_session is not None:
        rows = rows.exclude(session_id=exclude_session)
    if exclude_appointment is not None:
        rows = rows.exclude(appointment_id=exclude_appointment)
    errors: dict[str, str] = {}
    for row in rows:
        for hold in holds:
            if hold.kind == row.resource_kind and hold.resource_id == row.resource_id:
                errors.setdefault(hold.field, _conflict_message(hold, row))
    if errors:
        raise ScheduleInvalid(errors)


def _occupy(rows: list[Occupancy]) -> None:
    """Insert occupancy rows; on PostgreSQL the exclusion constraint may refuse them
    when another transaction booked the same resource after our check."""
    try:
        with transaction.atomic():
            Occupancy.objects.bulk_create(rows)
    except IntegrityError as error:
        raise ServiceError(
            ErrorCode.CONFLICT,
            "Someone else booked one of these people or rooms at the same time just now. "
            "Check the calendar and try again.",
        ) from error


def _session_holds(room: Room, facilitator: User, co_facilitator: User | None) -> list[Hold]:
    holds = [
        Hold(ResourceKind.ROOM, room.pk, room.name, "room"),
        Hold(ResourceKind.STAFF, facilitator.pk, facilitator.display_name, "facilitator"),
    ]
    if co_facilitator is not None:
        holds.append(
            Hold(
                ResourceKind.STAFF, co_facilitator.pk, co_facilitator.display_name, "co_facilitator"
            )
        )
    return holds


def _occupancy_for_session(session: GroupSession) -> list[Occupancy]:
    ids = [(ResourceKind.ROOM, session.room_id), (ResourceKind.STAFF, session.facilitator_id)]
    if session.co_facilitator_id is not None:
        ids.append((ResourceKind.STAFF, session.co_facilitator_id))
    return [
        Occupancy(
            resource_kind=kind,
            resource_id=rid,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            session=session,
        )
        for kind, rid in ids
    ]


def _receipt(actor: User, token: UUID | None, kind: str) -> SubmissionReceipt | None:
    if token is None:
        return None
    return SubmissionReceipt.objects.filter(token=token, actor=actor, kind=kind).first()


def _store_receipt(actor: User, token: UUID | None, kind: str, public_id: UUID) -> None:
    if token is not None:
        SubmissionReceipt.objects.create(
            token=token, actor=actor, kind=kind, object_public_id=public_id
        )


# --- rooms, tracks, curriculum, closures -----------------------------------------------


def _require_site(actor: User, site: Site) -> None:
    """Rooms belong to a site: the actor configures the sites of their own programs."""
    if not actor.has_perm_code(Perm.SCHEDULE_CONFIGURE) or site.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow setting up rooms.")
    if not ProgramMembership.objects.filter(user=actor, program__site=site).exists():
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "You can only set up rooms at your own programs' sites."
        )


@transaction.atomic
def room_create(
    *,
    actor: User,
    site: Site,
    name: str,
    capacity: int,
    submission_token: UUID | None = None,
) -> Room:
    _require_site(actor, site)
    if receipt := _receipt(actor, submission_token, "room"):
        return Room.objects.get(public_id=receipt.object_public_id)
    name = name.strip()
    if capacity < 1:
        raise ScheduleInvalid({"capacity": "A room seats at least one person."})
    if Room.objects.filter(site=site, name=name).exists():
        raise ScheduleInvalid({"name": "This site already has a room with that name."})
    room = Room.objects.create(site=site, name=name, capacity=capacity)
    _store_receipt(actor, submission_token, "room", room.public_id)
    audit_record(
        actor=actor, action=AuditAction.CREATE, object_type="room", object_id=room.public_id
    )
    return room


@dataclass(frozen=True)
class TrackInput:
    name: str
    kind: str
    population: str
    weekdays: str
    day_start: time
    day_end: time
    min_hours_per_week: object  # Decimal
    min_days_per_week: int
    max_group_size: int
    typical_weeks: int


def _track_problems(data: TrackInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := rules.weekdays_problem(data.weekdays):
        errors["weekdays"] = problem
    if problem := rules.time_order_problem(data.day_start, data.day_end):
        errors["day_end"] = "The track's hours must end after they start."
    if data.max_group_size < 1:
        errors["max_group_size"] = "A group has at least one place."
    if data.min_days_per_week > 7:
        errors["min_days_per_week"] = "A week has seven days."
    return errors


@transaction.atomic
def track_create(
    *,
    actor: User,
    program: Program,
    data: TrackInput,
    submission_token: UUID | None = None,
) -> Track:
    _require(actor, Perm.SCHEDULE_CONFIGURE, program, "setting up tracks")
    if receipt := _receipt(actor, submission_token, "track"):
        return Track.objects.get(public_id=receipt.object_public_id)
    errors = _track_problems(data)
    if Track.objects.filter(program=program, name=data.name).exists():
        errors["name"] = "This program already has a track with that name."
    if errors:
        raise ScheduleInvalid(errors)
    track = Track.objects.create(program=program, **data.__dict__)
    _store_receipt(actor, submission_token, "track", track.public_id)
    audit_record(
        actor=actor, action=AuditAction.CREATE, object_type="track", object_id=track.public_id
    )
    return track


@transaction.atomic
def topic_create(
    *,
    actor: User,
    organization: Organization,
    name: str,
    description: str,
    duration_minutes: int,
    credentials_accepted: str = "",
    pin_anchor: str = "",
    pin_days: int | None = None,
    submission_token: UUID | None = None,
) -> Topic:
    if not actor.has_perm_code(Perm.SCHEDULE_CONFIGURE) or organization.pk != actor.org_id:
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "Your role does not allow editing the curriculum."
        )
    if receipt := _receipt(actor, submission_token, "topic"):
        return Topic.objects.get(public_id=receipt.object_public_id)
    errors: dict[str, str] = {}
    if Topic.objects.filter(organization=organization, name=name).exists():
        errors["name"] = "The curriculum already has a topic with that name."
    if pin_anchor and not pin_days:
        errors["pin_days"] = "Say how many days the pin covers."
    if errors:
        raise ScheduleInvalid(errors)
    topic = Topic.objects.create(
        organization=organization,
        name=name,
        description=description,
        duration_minutes=duration_minutes,
        credentials_accepted=credentials_accepted,
        pin_anchor=pin_anchor,
        pin_days=pin_days if pin_anchor else None,
    )
    _store_receipt(actor, submission_token, "topic", topic.public_id)
    audit_record(
        actor=actor, action=AuditAction.CREATE, object_type="topic", object_id=topic.public_id
    )
    return topic


@transaction.atomic
def track_cycle_set(
    *,
    actor: User,
    track: Track,
    topics: Sequence[Topic],
    base_version: int | None = None,
) -> None:
    """Replace the track's topic cycle (configuration, not clinical data: sessions
    already generated keep their topic; the next generation follows the new order).
    With `base_version`, refused when someone changed the track meanwhile."""
    _require(actor, Perm.SCHEDULE_CONFIGURE, track.program, "setting up tracks")
    locked = Track.objects.select_for_update().get(pk=track.pk)
    if base_version is not None and locked.version != base_version:
        raise VersionConflict("track")
    foreign = [t for t in topics if t.organization_id != track.program.site.organization_id]
    if foreign:
        raise ScheduleInvalid({"topics": "Choose topics from your organization's curriculum."})
    if base_version is not None:
        locked.version += 1
        locked.save(update_fields=["version", "updated_at"])
        track.version = locked.version
    TrackTopic.objects.filter(track=track).delete()
    TrackTopic.objects.bulk_create(
        [TrackTopic(track=track, topic=t, position=i) for i, t in enumerate(topics)]
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="track_cycle",
        object_id=track.public_id,
        detail={"topics": len(topics)},
    )


@transaction.atomic
def closure_create(
    *,
    actor: User,
    organization: Organization,
    on: date,
    name: str,
    site: Site | None = None,
    submission_token: UUID | None = None,
) -> Closure:
    if not actor.has_perm_code(Perm.SCHEDULE_CONFIGURE) or organization.pk != actor.org_id:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow recording closures.")
    if receipt := _receipt(actor, submission_token, "closure"):
        return Closure.objects.get(public_id=receipt.object_public_id)
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Name the closure (for example the holiday)."
    if site is not None and site.organization_id != organization.pk:
        errors["site"] = "Choose one of your organization's sites."
    same_day = Closure.objects.filter(organization=organization, on=on)
    if same_day.filter(site__isnull=True).exists() or (
        same_day.filter(site=site).exists() if site is not None else same_day.exists()
    ):
        errors["on"] = "A closure already covers this date."
    if errors:
        raise ScheduleInvalid(errors)
    closure = Closure.objects.create(organization=organization, site=site, on=on, name=name.strip())
    _store_receipt(actor, submission_token, "closure", closure.public_id)
    audit_record(
        actor=actor, action=AuditAction.CREATE, object_type="closure", object_id=closure.public_id
    )
    return closure


# --- templates and generated sessions -------------------------------------------------


@dataclass(frozen=True)
class TemplateInput:
    name: str
    weekdays: str
    start_time: time
    end_time: time
    room: Room
    facilitator: User
    co_facilitator: User | None
    topic: Topic | None
    capacity: int
    valid_from: date
    valid_until: date | None


def _credential_problems(
    *, track: Track, topic: Topic | None, facilitator: User, co_facilitator: User | None
) -> dict[str, str]:
    """Facilitators must hold a credential each topic they may lead accepts: the fixed
    topic, or every topic of the track's cycle."""
    topics = (
        [topic] if topic is not None else [c.topic for c in track.cycle.select_related("topic")]
    )
    errors: dict[str, str] = {}
    for field, person in (("facilitator", facilitator), ("co_facilitator", co_facilitator)):
        if person is None:
            continue
        for t in topics:
            if not rules.holds_credential(person.credentials, t.credentials_accepted):
                errors[field] = (
                    f"{person.display_name} does not hold a credential {t.name} needs "
                    f"({t.credentials_accepted})."
                )
                break
    return errors


def _template_problems(track: Track, data: TemplateInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if (problem := rules.weekdays_problem(data.weekdays)) or (
        problem := rules.template_days_problem(
            weekdays=data.weekdays, track_weekdays=track.weekdays, track_name=track.name
        )
    ):
        errors["weekdays"] = problem
    if problem := rules.time_order_problem(data.start_time, data.end_time):
        errors["end_time"] = problem
    elif data.start_time < track.day_start or data.end_time > track.day_end:
        errors["start_time"] = (
            f"{track.name} runs {track.day_start:%H:%M} to {track.day_end:%H:%M}; "
            f"{data.start_time:%H:%M} to {data.end_time:%H:%M} is outside the track's hours."
        )
    if data.room.site_id != track.program.site_id:
        errors["room"] = "Choose a room at the program's site."
    elif problem := rules.capacity_problem(
        capacity=data.capacity, room_name=data.room.name, room_capacity=data.room.capacity
    ):
        errors["capacity"] = problem
    if "capacity" not in errors and data.capacity > track.max_group_size:
        errors["capacity"] = f"{track.name} takes at most {track.max_group_size} people per group."
    if data.co_facilitator is not None and data.co_facilitator.pk == data.facilitator.pk:
        errors["co_facilitator"] = "The co-facilitator must be someone else."
    for field in ("facilitator", "co_facilitator"):
        person = getattr(data, field)
        if person is not None and not _staff_in_program(person, track.program):
            errors[field] = f"{person.display_name} does not work in {track.program.name}."
    if data.valid_until is not None and data.valid_until < data.valid_from:
        errors["valid_until"] = "The template must end after it starts."
    for field, message in _credential_problems(
        track=track,
        topic=data.topic,
        facilitator=data.facilitator,
        co_facilitator=data.co_facilitator,
    ).items():
        errors.setdefault(field, message)
    return errors


@transaction.atomic
def template_create(
    *, actor: User, track: Track, data: TemplateInput, submission_token: UUID | None = None
) -> SessionTemplate:
    _require(actor, Perm.SCHEDULE_CONFIGURE, track.program, "setting up weekly templates")
    if receipt := _receipt(actor, submission_token, "session_template"):
        return SessionTemplate.objects.get(public_id=receipt.object_public_id)
    if errors := _template_problems(track, data):
        raise ScheduleInvalid(errors)
    template = SessionTemplate.objects.create(track=track, **data.__dict__)
    _store_receipt(actor, submission_token, "session_template", template.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="session_template",
        object_id=template.public_id,
    )
    return template


def closed_dates(organization_id: int, site_id: int, start: date, end: date) -> set[date]:
    return set(
        Closure.objects.filter(organization_id=organization_id, on__gte=start, on__lte=end)
        .filter(Q(site__isnull=True) | Q(site_id=site_id))
        .values_list("on", flat=True)
    )


@transaction.atomic
def template_generate(
    *, actor: User, template_public_id: UUID, through: date, today: date
) -> list[GroupSession]:
    """Create the template's sessions from today (or after what was generated before)
    through a date, skipping closures and holidays. Refused as a whole, naming the
    clash, when a room or facilitator is already booked at one of the times."""
    template = (
        SessionTemplate.objects.select_for_update(of=("self",))
        .select_related("track__program__site", "room", "facilitator", "co_facilitator", "topic")
        .filter(public_id=template_public_id)
        .first()
    )
    if template is None or template.track.program.site.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such template.")
    track = template.track
    _require(actor, Perm.SCHEDULE_CONFIGURE, track.program, "generating sessions")
    if not template.is_active:
        raise ScheduleInvalid({"through": "This template is retired; it generates nothing."})
    start = max(today, template.valid_from)
    if template.generated_through is not None:
        start = max(start, template.generated_through + timedelta(days=1))
    if through < start:
        raise ScheduleInvalid({"through": "Sessions are already generated through that date."})
    if through > start + timedelta(days=366):
        raise ScheduleInvalid({"through": "Generate at most a year at a time."})
    closed = closed_dates(track.program.site.organization_id, track.program.site_id, start, through)
    days = rules.occurrence_dates(
        weekdays=template.weekdays,
        valid_from=template.valid_from,
        valid_until=template.valid_until,
        start=start,
        through=through,
        closed=closed,
    )
    existing = set(
        GroupSession.objects.filter(template=template, on__in=days).values_list("on", flat=True)
    )
    days = [d for d in days if d not in existing]
    sessions = _build_sessions(template, days)
    _check_many(template, sessions)
    created = GroupSession.objects.bulk_create(sessions)
    if created and created[0].pk is None:  # backends that do not return keys
        created = list(GroupSession.objects.filter(template=template, on__in=days))
    _occupy([row for s in created for row in _occupancy_for_session(s)])
    template.generated_through = through
    template.save(update_fields=["generated_through", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="group_sessions",
        object_id=template.public_id,
        detail={"count": len(created), "through": through.isoformat()},
    )
    return created


def _build_sessions(template: SessionTemplate, days: list[date]) -> list[GroupSession]:
    track = template.track
    cycle = [] if template.topic_id else list(track.cycle.order_by("position"))
    index = 0
    if cycle and days:
        # Continue the cycle from the track's sessions before the first new day.
        index = GroupSession.objects.filter(
            track=track, on__lt=days[0], template__isnull=False
        ).count()
    sessions = []
    for day in days:
        topic = template.topic
        if cycle:
            position = rules.cycle_position(index, len(cycle))
            topic = cycle[position].topic if position is not None else None
            index += 1
        sessions.append(
            GroupSession(
                track=track,
                program=track.program,
                template=template,
                on=day,
                starts_at=at(day, template.start_time),
                ends_at=at(day, template.end_time),
                room=template.room,
                facilitator=template.facilitator,
                co_facilitator=template.co_facilitator,
                topic=topic,
                capacity=template.capacity,
            )
        )
    return sessions


def _check_many(template: SessionTemplate, sessions: list[GroupSession]) -> None:
    """Conflicts for many sessions in one query: all the resource's bookings in range."""
    if not sessions:
        return
    holds = _session_holds(template.room, template.facilitator, template.co_facilitator)
    match = Q()
    for hold in holds:
        match |= Q(resource_kind=hold.kind, resource_id=hold.resource_id)
    rows = list(
        Occupancy.objects.filter(
            match,
            is_active=True,
            starts_at__lt=sessions[-1].ends_at,
            ends_at__gt=sessions[0].starts_at,
        ).select_related("session__track", "appointment")
    )
    errors: dict[str, str] = {}
    for session in sessions:
        for row in rows:
            if rules.overlaps(session.starts_at, session.ends_at, row.starts_at, row.ends_at):
                for hold in holds:
                    if hold.kind == row.resource_kind and hold.resource_id == row.resource_id:
                        errors.setdefault(hold.field, _conflict_message(hold, row))
    if errors:
        raise ScheduleInvalid(errors)


@dataclass(frozen=True)
class SessionInput:
    on: date
    start_time: time
    end_time: time
    room: Room
    facilitator: User
    co_facilitator: User | None
    topic: Topic | None
    capacity: int


def _session_problems(track: Track, data: SessionInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := rules.time_order_problem(data.start_time, data.end_time):
        errors["end_time"] = problem
    elif problem := rules.track_hours_problem(
        weekday=data.on.weekday(),
        start=data.start_time,
        end=data.end_time,
        track_weekdays=track.weekdays,
        day_start=track.day_start,
        day_end=track.day_end,
        track_name=track.name,
    ):
        errors["start_time"] = problem
    if data.room.site_id != track.program.site_id:
        errors["room"] = "Choose a room at the program's site."
    elif problem := rules.capacity_problem(
        capacity=data.capacity, room_name=data.room.name, room_capacity=data.room.capacity
    ):
        errors["capacity"] = problem
    if data.co_facilitator is not None and data.co_facilitator.pk == data.facilitator.pk:
        errors["co_facilitator"] = "The co-facilitator must be someone else."
    for field in ("facilitator", "co_facilitator"):
        person = getattr(data, field)
        if person is not None and not _staff_in_program(person, track.program):
            errors[field] = f"{person.display_name} does not work in {track.program.name}."
    for field, message in _credential_problems(
        track=track,
        topic=data.topic,
        facilitator=data.facilitator,
        co_facilitator=data.co_facilitator,
    ).items():
        if data.topic is not None:
            errors.setdefault(field, message)
    return errors


@transaction.atomic
def session_create(
    *, actor: User, track: Track, data: SessionInput, submission_token: UUID | None = None
) -> GroupSession:
    """One group session outside the weekly templates (an extra group)."""
    _require(actor, Perm.SCHEDULE_MANAGE, track.program, "scheduling group sessions")
    if receipt := _receipt(actor, submission_token, "group_session"):
        return GroupSession.objects.get(public_id=receipt.object_public_id)
    if errors := _session_problems(track, data):
        raise ScheduleInvalid(errors)
    starts_at, ends_at = at(data.on, data.start_time), at(data.on, data.end_time)
    if data.on in closed_dates(
        track.program.site.organization_id, track.program.site_id, data.on, data.on
    ):
        raise ScheduleInvalid({"on": "The program is closed that day."})
    _check_conflicts(
        _session_holds(data.room, data.facilitator, data.co_facilitator), starts_at, ends_at
    )
    session = GroupSession.objects.create(
        track=track,
        program=track.program,
        on=data.on,
        starts_at=starts_at,
        ends_at=ends_at,
        room=data.room,
        facilitator=data.facilitator,
        co_facilitator=data.co_facilitator,
        topic=data.topic,
        capacity=data.capacity,
    )
    _occupy(_occupancy_for_session(session))
    _store_receipt(actor, submission_token, "group_session", session.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="group_session",
        object_id=session.public_id,
    )
    return session


def _locked_session(actor: User, public_id: UUID) -> GroupSession:
    session = (
        GroupSession.objects.select_for_update(of=("self",))
        .select_related("track__program__site", "room", "facilitator", "co_facilitator", "topic")
        .filter(public_id=public_id, program__site__organization_id=actor.org_id)
        .first()
    )
    if session is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such session.")
    return session


@transaction.atomic
def session_cancel(
    *,
    actor: User,
    session_public_id: UUID,
    reason: str,
    base_version: int,
    now: datetime,
) -> GroupSession:
    """The program cancels a group session: it stays on the calendar, struck through,
    and it does not count against anyone's attendance."""
    session = _locked_session(actor, session_public_id)
    _require(actor, Perm.SCHEDULE_MANAGE, session.program, "cancelling sessions")
    if session.version != base_version:
        raise VersionConflict("session")
    if session.is_cancelled:
        raise ScheduleInvalid({"reason": "This session is already cancelled."})
    if not reason.strip():
        raise ScheduleInvalid({"reason": "Give the reason for cancelling."})
    session.status = SessionStatus.CANCELLED
    session.cancelled_by = CancelledBy.PROGRAM
    session.cancel_reason = reason.strip()
    session.version += 1
    session.save()
    Occupancy.objects.filter(session=session).update(is_active=False)
    ScheduleChange.objects.create(
        session=session,
        kind=ScheduleChange.Kind.CANCELLED,
        cancelled_by=CancelledBy.PROGRAM,
        from_starts_at=session.starts_at,
        from_ends_at=session.ends_at,
        reason=reason.strip(),
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        object_type="group_session",
        object_id=session.public_id,
        detail={"to": "cancelled", "by": "program"},
    )
    return session


@transaction.atomic
def session_reschedule(
    *,
    actor: User,
    session_public_id: UUID,
    data: SessionInput,
    reason: str,
    base_version: int,
    now: datetime,
) -> GroupSession:
    """Move a session or change its room or facilitators, keeping the history."""
    session = _locked_session(actor, session_public_id)
    _require(actor, Perm.SCHEDULE_MANAGE, session.program, "rescheduling sessions")
    if session.version != base_version:
        raise VersionConflict("session")
    if session.is_cancelled:
        raise ScheduleInvalid({"on": "A cancelled session cannot be moved."})
    errors = _session_problems(session.track, data)
    if not reason.strip():
        errors["reason"] = "Give the reason for the change."
    if errors:
        raise ScheduleInvalid(errors)
    starts_at, ends_at = at(data.on, data.start_time), at(data.on, data.end_time)
    _check_conflicts(
        _session_holds(data.room, data.facilitator, data.co_facilitator),
        starts_at,
        ends_at,
        exclude_session=session.pk,
    )
    moved = (starts_at, ends_at) != (session.starts_at, session.ends_at)
    change = ScheduleChange(
        session=session,
        kind=ScheduleChange.Kind.RESCHEDULED if moved else ScheduleChange.Kind.REASSIGNED,
        from_starts_at=session.starts_at,
        from_ends_at=session.ends_at,
        to_starts_at=starts_at,
        to_ends_at=ends_at,
        reason=reason.strip(),
        changed_by=actor,
        changed_at=now,
    )
    Occupancy.objects.filter(session=session, is_active=True).update(is_active=False)
    session.on, session.starts_at, session.ends_at = data.on, starts_at, ends_at
    session.room, session.facilitator, session.co_facilitator = (
        data.room,
        data.facilitator,
        data.co_facilitator,
    )
    session.topic, session.capacity = data.topic, data.capacity
    session.version += 1
    session.save()
    _occupy(_occupancy_for_session(session))
    change.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="group_session",
        object_id=session.public_id,
        detail={"change": change.kind},
    )
    return session


# --- enrolments -------------------------------------------------------------------


def track_count_on(track: Track, on: date) -> int:
    """Patients enrolled in a track on a date, or starting later without an end."""
    return (
        Enrolment.objects.filter(track=track)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))
        .exclude(end_reason=Enrolment.EndReason.ENTERED_IN_ERROR)
        .count()
    )


@transaction.atomic
def enrolment_create(
    *,
    actor: User,
    access: PatientAccess,
    episode_public_id: UUID,
    track: Track,
    start_on: date,
    submission_token: UUID | None = None,
) -> Enrolment:
    """Enrol a patient in a track from a date: they appear on every session of the
    track from then on, until the enrolment ends. No session rows are touched."""
    patient = access.patient
    if receipt := _receipt(actor, submission_token, "enrolment"):
        return Enrolment.objects.get(public_id=receipt.object_public_id)
    episode = (
        Episode.objects.select_for_update(of=("self",))
        .filter(patient=patient, public_id=episode_public_id)
        .first()
    )
    if episode is None:
        raise ScheduleInvalid({"episode": "Choose one of the patient's episodes."})
    _require(actor, Perm.SCHEDULE_MANAGE, episode.program, "enrolling patients")
    errors: dict[str, str] = {}
    if not episode.is_open:
        errors["episode"] = "The episode is closed; open a new one to enrol the patient."
    if track.program_id != episode.program_id:
        errors["track"] = f"Choose a track of {episode.program.name}."
    elif not track.is_active:
        errors["track"] = "This track is no longer active."
    if Enrolment.objects.filter(episode=episode, ended_on__isnull=True).exists():
        errors["track"] = "The patient is already in a track; change track instead."
    if not errors and track_count_on(track, start_on) >= track.max_group_size:
        errors["track"] = (
            f"{track.name} is full ({track.max_group_size} places); "
            "add the patient to its waitlist instead."
        )
    if errors:
        raise ScheduleInvalid(errors)
    enrolment = Enrolment.objects.create(
        patient=patient,
        episode=episode,
        track=track,
        start_on=start_on,
        expected_end_on=rules.expected_end(start_on, track.typical_weeks),
        created_by=actor,
    )
    WaitlistEntry.objects.filter(
        track=track, episode=episode, status=WaitlistEntry.Status.WAITING
    ).update(status=WaitlistEntry.Status.ENROLLED)
    _store_receipt(actor, submission_token, "enrolment", enrolment.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="enrolment",
        object_id=enrolment.public_id,
        break_glass=access.via_break_glass,
        detail={"start_on": start_on.isoformat()},
    )
    return enrolment


@transaction.atomic
def waitlist_add(
    *, actor: User, access: PatientAccess, episode_public_id: UUID, track: Track, wanted_from: date
) -> WaitlistEntry:
    episode = Episode.objects.filter(patient=access.patient, public_id=episode_public_id).first()
    if episode is None or episode.program_id != track.program_id:
        raise ScheduleInvalid({"track": "Choose a track of the patient's program."})
    _require(actor, Perm.SCHEDULE_MANAGE, episode.program, "managing waitlists")
    errors: dict[str, str] = {}
    if not episode.is_open:
        errors["episode"] = "The episode is closed; open a new one to enrol the patient."
    if Enrolment.objects.filter(episode=episode, ended_on__isnull=True).exists():
        errors["track"] = "The patient is already in a track; change track instead."
    elif WaitlistEntry.objects.filter(
        episode=episode, track=track, status=WaitlistEntry.Status.WAITING
    ).exists():
        errors["track"] = f"The patient is already on the {track.name} waitlist."
    if errors:
        raise ScheduleInvalid(errors)
    entry = WaitlistEntry.objects.create(
        track=track,
        patient=access.patient,
        episode=episode,
        wanted_from=wanted_from,
        added_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="waitlist_entry",
        object_id=entry.public_id,
        break_glass=access.via_break_glass,
    )
    return entry


def _locked_enrolment(access: PatientAccess, public_id: UUID) -> Enrolment:
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("track__program", "episode")
        .filter(patient=access.patient, public_id=public_id)
        .first()
    )
    if enrolment is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such enrolment.")
    return enrolment


@transaction.atomic
def enrolment_end(
    *,
    actor: User,
    access: PatientAccess,
    enrolment_public_id: UUID,
    ended_on: date,
    reason: str,
    base_version: int,
) -> Enrolment:
    """End an enrolment: the patient leaves rosters from `ended_on`; earlier rosters stay."""
    enrolment = _locked_enrolment(access, enrolment_public_id)
    _require(actor, Perm.SCHEDULE_MANAGE, enrolment.track.program, "ending enrolments")
    if enrolment.version != base_version:
        raise VersionConflict("enrolment")
    if enrolment.ended_on is not None:
        raise ScheduleInvalid({"ended_on": "This enrolment has already ended."})
    if reason not in Enrolment.EndReason.values or not reason:
        raise ScheduleInvalid({"reason": "Choose why the enrolment ends."})
    if ended_on < enrolment.start_on:
        raise ScheduleInvalid({"ended_on": "The end cannot be before the enrolment started."})
    enrolment.ended_on = ended_on
    enrolment.end_reason = reason
    enrolment.version += 1
    enrolment.save()
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="enrolment",
        object_id=enrolment.public_id,
        break_glass=access.via_break_glass,
        detail={"ended_on": ended_on.isoformat(), "reason": reason},
    )
    return enrolment


@transaction.atomic
def enrolment_change_track(
    *,
    actor: User,
    access: PatientAccess,
    enrolment_public_id: UUID,
    track: Track,
    effective_on: date,
    base_version: int,
) -> Enrolment:
    """Move a patient to another track from a date: past rosters keep the old track."""
    old = _locked_enrolment(access, enrolment_public_id)
    _require(actor, Perm.SCHEDULE_MANAGE, old.track.program, "changing tracks")
    if old.version != base_version:
        raise VersionConflict("enrolment")
    errors: dict[str, str] = {}
    if old.ended_on is not None:
        errors["track"] = "This enrolment has already ended."
    elif track.pk == old.track_id:
        errors["track"] = "The patient is already in this track."
    elif track.program_id != old.track.program_id:
        errors["track"] = "Choose a track of the same program."
    if effective_on < old.start_on:
        errors["effective_on"] = "The change cannot be before the current enrolment started."
    if not errors and track_count_on(track, effective_on) >= track.max_group_size:
        errors["track"] = f"{track.name} is full ({track.max_group_size} places)."
    if errors:
        raise ScheduleInvalid(errors)
    old.ended_on = effective_on
    old.end_reason = Enrolment.EndReason.TRACK_CHANGE
    old.version += 1
    old.save()
    new = Enrolment.objects.create(
        patient=access.patient,
        episode=old.episode,
        track=track,
        start_on=effective_on,
        expected_end_on=old.expected_end_on,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=access.patient,
        object_type="enrolment",
        object_id=new.public_id,
        break_glass=access.via_break_glass,
        detail={"change": "track", "effective_on": effective_on.isoformat()},
    )
    return new


def enrolments_end_for_episode(
    *, actor: User | None, episode: Episode, ended_on: date, reason: str = "discharge"
) -> int:
    """End the episode's open enrolments (called when the episode is discharged or
    cancelled, inside that transaction). Enrolments that would have started later are
    ended on their start date, so they never reach a roster."""
    open_rows = list(
        Enrolment.objects.select_for_update(of=("self",)).filter(
            episode=episode, ended_on__isnull=True
        )
    )
    for enrolment in open_rows:
        enrolment.ended_on = max(ended_on, enrolment.start_on)
        enrolment.end_reason = reason
        enrolment.version += 1
        enrolment.save(update_fields=["ended_on", "end_reason", "version", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.STATUS_CHANGE,
            patient=episode.patient,
            object_type="enrolment",
            object_id=enrolment.public_id,
            detail={"ended_on": enrolment.ended_on.isoformat(), "reason": reason},
        )
    return len(open_rows)


# --- appointments -----------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentInput:
    kind: str
    program: Program
    staff: User
    room: Room | None
    on: date
    start_time: time
    end_time: time
    family_members: str = ""


def _appointment_problems(patient_org: int, data: AppointmentInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.kind not in AppointmentKind.values:
        errors["kind"] = "Choose the kind of appointment."
    if problem := rules.time_order_problem(data.start_time, data.end_time):
        errors["end_time"] = problem
    if problem := rules.appointment_staff_problem(kind=data.kind, staff_role=data.staff.role):
        errors["staff"] = problem
    elif not _staff_in_program(data.staff, data.program):
        errors["staff"] = f"{data.staff.display_name} does not work in {data.program.name}."
    if data.room is not None and data.room.site_id != data.program.site_id:
        errors["room"] = "Choose a room at the program's site."
    if data.family_members.strip() and data.kind != AppointmentKind.FAMILY:
        errors["family_members"] = "Family members take part in family sessions only."
    if data.kind == AppointmentKind.FAMILY and data.room is not None:
        people = 2 + len([ln for ln in data.family_members.splitlines() if ln.strip()])
        if problem := rules.capacity_problem(
            capacity=people, room_name=data.room.name, room_capacity=data.room.capacity
        ):
            errors["room"] = problem
    return errors


def _appointment_holds(patient_id: int, data: AppointmentInput) -> list[Hold]:
    holds = [
        Hold(ResourceKind.STAFF, data.staff.pk, data.staff.display_name, "staff"),
        Hold(ResourceKind.PATIENT, patient_id, "The patient", "start_time"),
    ]
    if data.room is not None:
        holds.append(Hold(ResourceKind.ROOM, data.room.pk, data.room.name, "room"))
    return holds


def _patient_group_clash(
    patient_id: int, starts_at: datetime, ends_at: datetime, day: date
) -> str | None:
    """A patient on a group's roster at that time is busy (rosters are computed, so
    this is checked here rather than through occupancy rows)."""
    enrolments = Enrolment.objects.filter(patient_id=patient_id, start_on__lte=day).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=day)
    )
    clash = (
        GroupSession.objects.filter(
            track_id__in=enrolments.values("track_id"),
            on=day,
            status=SessionStatus.SCHEDULED,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .select_related("track")
        .first()
    )
    if clash is None:
        return None
    start = clash.starts_at.astimezone(local_tz())
    end = clash.ends_at.astimezone(local_tz())
    return (
        f"The patient is in the {clash.track.name} group at that time ({start:%H:%M}-{end:%H:%M})."
    )


def _check_appointment_conflicts(
    patient_id: int,
    data: AppointmentInput,
    starts_at: datetime,
    ends_at: datetime,
    *,
    exclude_appointment: int | None = None,
) -> None:
    """Staff, room and patient bookings (occupancy rows) plus the group sessions whose
    computed roster holds the patient, all reported together by field."""
    errors: dict[str, str] = {}
    try:
        _check_conflicts(
            _appointment_holds(patient_id, data),
            starts_at,
            ends_at,
            exclude_appointment=exclude_appointment,
        )
    except ScheduleInvalid as conflict:
        errors.update(conflict.errors)
    if "start_time" not in errors and (
        clash := _patient_group_clash(patient_id, starts_at, ends_at, data.on)
    ):
        errors["start_time"] = clash
    if errors:
        raise ScheduleInvalid(errors)


def _appointment_occupancy(appt: Appointment) -> list[Occupancy]:
    ids = [(ResourceKind.STAFF, appt.staff_id), (ResourceKind.PATIENT, appt.patient_id)]
    if appt.room_id is not None:
        ids.append((ResourceKind.ROOM, appt.room_id))
    return [
        Occupancy(
            resource_kind=k,
            resource_id=rid,
            starts_at=appt.starts_at,
            ends_at=appt.ends_at,
            appointment=appt,
        )
        for k, rid in ids
    ]


@transaction.atomic
def appointment_book(
    *,
    actor: User,
    access: PatientAccess,
    data: AppointmentInput,
    submission_token: UUID | None = None,
) -> Appointment:
    patient = access.patient
    if receipt := _receipt(actor, submission_token, "appointment"):
        return Appointment.objects.get(public_id=receipt.object_public_id)
    _require(actor, Perm.SCHEDULE_MANAGE, data.program, "booking appointments")
    episode = (
        Episode.objects.filter(patient=patient, program=data.program)
        .order_by("-referred_on", "-id")
        .first()
    )
    errors = _appointment_problems(patient.organization_id, data)
    if episode is None:
        errors["program"] = "The patient has no episode in this program."
    if errors:
        raise ScheduleInvalid(errors)
    starts_at, ends_at = at(data.on, data.start_time), at(data.on, data.end_time)
    _check_appointment_conflicts(patient.pk, data, starts_at, ends_at)
    appt = Appointment.objects.create(
        patient=patient,
        episode=episode,
        program=data.program,
        kind=data.kind,
        staff=data.staff,
        room=data.room,
        on=data.on,
        starts_at=starts_at,
        ends_at=ends_at,
        after_hours=rules.is_after_hours(
            weekday=data.on.weekday(),
            start=data.start_time,
            end=data.end_time,
            business_hours=business_hours(),
        ),
        family_members=data.family_members.strip(),
        created_by=actor,
    )
    _occupy(_appointment_occupancy(appt))
    _store_receipt(actor, submission_token, "appointment", appt.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="appointment",
        object_id=appt.public_id,
        break_glass=access.via_break_glass,
        detail={"kind": data.kind},
    )
    return appt


def _locked_appointment(access: PatientAccess, public_id: UUID) -> Appointment:
    appt = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("program", "staff", "room")
        .filter(patient=access.patient, public_id=public_id)
        .first()
    )
    if appt is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such appointment.")
    return appt


@transaction.atomic
def appointment_cancel(
    *,
    actor: User,
    access: PatientAccess,
    appointment_public_id: UUID,
    cancelled_by: str,
    reason: str,
    base_version: int,
    now: datetime,
) -> Appointment:
    appt = _locked_appointment(access, appointment_public_id)
    _require(actor, Perm.SCHEDULE_MANAGE, appt.program, "cancelling appointments")
    if appt.version != base_version:
        raise VersionConflict("appointment")
    errors: dict[str, str] = {}
    if appt.is_cancelled:
        errors["reason"] = "This appointment is already cancelled."
    if cancelled_by not in (CancelledBy.PROGRAM, CancelledBy.PATIENT):
        errors["cancelled_by"] = "Say who cancelled: the program or the patient."
    if not reason.strip():
        errors["reason"] = "Give the reason for cancelling."
    if errors:
        raise ScheduleInvalid(errors)
    appt.status = SessionStatus.CANCELLED
    appt.cancelled_by = cancelled_by
    appt.cancel_reason = reason.strip()
    appt.version += 1
    appt.save()
    Occupancy.objects.filter(appointment=appt).update(is_active=False)
    ScheduleChange.objects.create(
        appointment=appt,
        kind=ScheduleChange.Kind.CANCELLED,
        cancelled_by=cancelled_by,
        from_starts_at=appt.starts_at,
        from_ends_at=appt.ends_at,
        reason=reason.strip(),
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="appointment",
        object_id=appt.public_id,
        break_glass=access.via_break_glass,
        detail={"to": "cancelled", "by": cancelled_by},
    )
    return appt


@transaction.atomic
def appointment_reschedule(
    *,
    actor: User,
    access: PatientAccess,
    appointment_public_id: UUID,
    on: date,
    start_time: time,
    end_time: time,
    reason: str,
    base_version: int,
    now: datetime,
) -> Appointment:
    appt = _locked_appointment(access, appointment_public_id)
    _require(actor, Perm.SCHEDULE_MANAGE, appt.program, "rescheduling appointments")
    if appt.version != base_version:
        raise VersionConflict("appointment")
    errors: dict[str, str] = {}
    if appt.is_cancelled:
        errors["on"] = "A cancelled appointment cannot be moved; book a new one."
    if problem := rules.time_order_problem(start_time, end_time):
        errors["end_time"] = problem
    if not reason.strip():
        errors["reason"] = "Give the reason for the change."
    if errors:
        raise ScheduleInvalid(errors)
    starts_at, ends_at = at(on, start_time), at(on, end_time)
    data = AppointmentInput(
        kind=appt.kind,
        program=appt.program,
        staff=appt.staff,
        room=appt.room,
        on=on,
        start_time=start_time,
        end_time=end_time,
    )
    _check_appointment_conflicts(
        appt.patient_id, data, starts_at, ends_at, exclude_appointment=appt.pk
    )
    change = ScheduleChange(
        appointment=appt,
        kind=ScheduleChange.Kind.RESCHEDULED,
        from_starts_at=appt.starts_at,
        from_ends_at=appt.ends_at,
        to_starts_at=starts_at,
        to_ends_at=ends_at,
        reason=reason.strip(),
        changed_by=actor,
        changed_at=now,
    )
    Occupancy.objects.filter(appointment=appt, is_active=True).update(is_active=False)
    appt.on, appt.starts_at, appt.ends_at = on, starts_at, ends_at
    appt.after_hours = rules.is_after_hours(
        weekday=on.weekday(), start=start_time, end=end_time, business_hours=business_hours()
    )
    appt.version += 1
    appt.save()
    _occupy(_appointment_occupancy(appt))
    change.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=access.patient,
        object_type="appointment",
        object_id=appt.public_id,
        break_glass=access.via_break_glass,
        detail={"change": "rescheduled"},
    )
    return appt


def tracks_counts(tracks: Iterable[Track], on: date) -> dict[int, int]:
    """Enrolled patients per track on a date (one query)."""
    rows = (
        Enrolment.objects.filter(track__in=list(tracks), start_on__lte=on)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))
        .values("track_id")
        .annotate(n=Count("id"))
    )
    return {r["track_id"]: r["n"] for r in rows}


# --- editing rooms, tracks and templates ---------------------------------------------


@transaction.atomic
def room_update(
    *,
    actor: User,
    room_public_id: UUID,
    name: str,
    capacity: int,
    is_active: bool,
    base_version: int,
) -> Room:
    """Rename a room, change its seats or take it out of use. Sessions already booked
    in it keep their own capacity; a new capacity applies to new templates and sessions."""
    room = (
        Room.objects.select_for_update(of=("self",))
        .select_related("site")
        .filter(public_id=room_public_id, site__organization_id=actor.org_id)
        .first()
    )
    if room is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such room.")
    _require_site(actor, room.site)
    if room.version != base_version:
        raise VersionConflict("room")
    name = name.strip()
    errors: dict[str, str] = {}
    if capacity < 1:
        errors["capacity"] = "A room seats at least one person."
    if Room.objects.filter(site=room.site, name=name).exclude(pk=room.pk).exists():
        errors["name"] = "This site already has a room with that name."
    if errors:
        raise ScheduleInvalid(errors)
    changed = [
        f
        for f, new in (("name", name), ("capacity", capacity), ("is_active", is_active))
        if getattr(room, f) != new
    ]
    room.name, room.capacity, room.is_active = name, capacity, is_active
    room.version += 1
    room.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="room",
        object_id=room.public_id,
        detail={"fields": changed},
    )
    return room


def _locked_track(actor: User, public_id: UUID) -> Track:
    track = (
        Track.objects.select_for_update(of=("self",))
        .select_related("program__site")
        .filter(public_id=public_id, program__site__organization_id=actor.org_id)
        .first()
    )
    if track is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such track.")
    return track


@transaction.atomic
def track_update(
    *, actor: User, track_public_id: UUID, data: TrackInput, is_active: bool, base_version: int
) -> Track:
    """Change a track's days, hours, minimums, group size or typical length. Refused when
    an active weekly template would fall outside the new days or hours (change or retire
    the template first). Sessions already generated are not moved."""
    track = _locked_track(actor, track_public_id)
    _require(actor, Perm.SCHEDULE_CONFIGURE, track.program, "setting up tracks")
    if track.version != base_version:
        raise VersionConflict("track")
    errors = _track_problems(data)
    if Track.objects.filter(program=track.program, name=data.name).exclude(pk=track.pk).exists():
        errors["name"] = "This program already has a track with that name."
    days = rules.parse_weekdays(data.weekdays)
    for template in SessionTemplate.objects.filter(track=track, is_active=True):
        if "weekdays" not in errors and not rules.parse_weekdays(template.weekdays) <= days:
            errors["weekdays"] = (
                f"The weekly template {template.name} meets on "
                f"{rules.weekdays_text(template.weekdays)}; change or retire it first."
            )
        if "day_start" not in errors and (
            template.start_time < data.day_start or template.end_time > data.day_end
        ):
            errors["day_start"] = (
                f"The weekly template {template.name} runs {template.start_time:%H:%M} to "
                f"{template.end_time:%H:%M}; change or retire it first."
            )
    if errors:
        raise ScheduleInvalid(errors)
    changed = [f for f, new in data.__dict__.items() if getattr(track, f) != new]
    if track.is_active != is_active:
        changed.append("is_active")
    for f, new in data.__dict__.items():
        setattr(track, f, new)
    track.is_active = is_active
    track.version += 1
    track.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="track",
        object_id=track.public_id,
        detail={"fields": changed},
    )
    return track


def _locked_template(actor: User, public_id: UUID) -> SessionTemplate:
    template = (
        SessionTemplate.objects.select_for_update(of=("self",))
        .select_related("track__program__site", "room", "facilitator", "co_facilitator", "topic")
        .filter(public_id=public_id, track__program__site__organization_id=actor.org_id)
        .first()
    )
    if template is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such template.")
    return template


@transaction.atomic
def template_update(
    *, actor: User, template_public_id: UUID, data: TemplateInput, base_version: int
) -> SessionTemplate:
    """Change a weekly template. Sessions it already generated stay as they are
    (reschedule or cancel them one by one); the next generation uses the new values."""
    template = _locked_template(actor, template_public_id)
    track = template.track
    _require(actor, Perm.SCHEDULE_CONFIGURE, track.program, "setting up weekly templates")
    if template.version != base_version:
        raise VersionConflict("weekly template")
    if not template.is_active:
        raise ScheduleInvalid({"name": "This template is retired; create a new one."})
    if errors := _template_problems(track, data):
        raise ScheduleInvalid(errors)
    changed = [f for f, new in data.__dict__.items() if getattr(template, f) != new]
    for f, new in data.__dict__.items():
        setattr(template, f, new)
    template.version += 1
    template.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="session_template",
        object_id=template.public_id,
        detail={"fields": changed},
    )
    return template


def _cancel_sessions(
    sessions: Sequence[GroupSession], *, actor: User, reason: str, now: datetime
) -> None:
    """Cancel scheduled sessions as cancelled by the program, with a history row each
    (a fixed number of queries for any number of sessions)."""
    ids = [s.pk for s in sessions]
    if not ids:
        return
    GroupSession.objects.filter(pk__in=ids).update(
        status=SessionStatus.CANCELLED,
        cancelled_by=CancelledBy.PROGRAM,
        cancel_reason=reason,
        version=F("version") + 1,
        updated_at=now,
    )
    Occupancy.objects.filter(session_id__in=ids).update(is_active=False)
    ScheduleChange.objects.bulk_create(
        [
            ScheduleChange(
                session=s,
                kind=ScheduleChange.Kind.CANCELLED,
                cancelled_by=CancelledBy.PROGRAM,
                from_starts_at=s.starts_at,
                from_ends_at=s.ends_at,
                reason=reason,
                changed_by=actor,
                changed_at=now,
            )
            for s in sessions
        ]
    )


@transaction.atomic
def template_retire(
    *,
    actor: User,
    template_public_id: UUID,
    last_day: date,
    cancel_later: bool,
    reason: str,
    base_version: int,
    now: datetime,
) -> tuple[SessionTemplate, int]:
    """Stop a weekly template after `last_day`. Nothing is deleted: the template stays
    (inactive) with the sessions it generated; with `cancel_later` its scheduled sessions
    after `last_day` are cancelled by the program, each with a history row.
    Returns the template and how many sessions were cancelled."""
    template = _locked_template(actor, template_public_id)
    _require(actor, Perm.SCHEDULE_CONFIGURE, template.track.program, "retiring weekly templates")
    if template.version != base_version:
        raise VersionConflict("weekly template")
    errors: dict[str, str] = {}
    if not template.is_active:
        errors["last_day"] = "This template is already retired."
    elif last_day < template.valid_from - timedelta(days=1):
        errors["last_day"] = "The last day cannot be before the template started."
    if cancel_later and not reason.strip():
        errors["reason"] = "Give the reason for cancelling the later sessions."
    if errors:
        raise ScheduleInvalid(errors)
    later = list(
        GroupSession.objects.select_for_update()
        .filter(template=template, on__gt=last_day, status=SessionStatus.SCHEDULED)
        .order_by("on")
    )
    if later and not cancel_later:
        raise ScheduleInvalid(
            {
                "cancel_later": f"{len(later)} sessions were generated after that day; "
                "tick the box to cancel them, or choose a later last day."
            }
        )
    _cancel_sessions(later, actor=actor, reason=reason.strip(), now=now)
    template.is_active = False
    template.valid_until = last_day
    template.version += 1
    template.save()
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        object_type="session_template",
        object_id=template.public_id,
        detail={"to": "retired", "last_day": last_day.isoformat(), "cancelled": len(later)},
    )
    return template, len(later)


# --- closures after sessions were generated -----------------------------------------------


def closure_sessions(closure: Closure, program_ids: Iterable[int]) -> list[GroupSession]:
    """Scheduled group sessions on a closure's date in the given programs (at its site,
    or anywhere for an organization-wide closure), 1 query."""
    qs = GroupSession.objects.filter(
        on=closure.on,
        status=SessionStatus.SCHEDULED,
        program_id__in=list(program_ids),
        program__site__organization_id=closure.organization_id,
    )
    if closure.site_id is not None:
        qs = qs.filter(program__site_id=closure.site_id)
    return list(
        qs.select_related("track", "room", "facilitator", "program").order_by("starts_at", "id")
    )


@transaction.atomic
def closure_cancel_sessions(
    *, actor: User, closure_public_id: UUID, reason: str, now: datetime
) -> int:
    """Cancel, as cancelled by the program, the scheduled sessions of the actor's
    programs on a closure's date (each with a history row). Returns how many."""
    if not actor.has_perm_code(Perm.SCHEDULE_CONFIGURE):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow recording closures.")
    closure = Closure.objects.filter(
        public_id=closure_public_id, organization_id=actor.org_id
    ).first()
    if closure is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such closure.")
    program_ids = ProgramMembership.objects.filter(user=actor).values_list("program_id", flat=True)
    ids = [s.pk for s in closure_sessions(closure, program_ids)]
    sessions = list(
        GroupSession.objects.select_for_update()
        .filter(pk__in=ids, status=SessionStatus.SCHEDULED)
        .order_by("starts_at", "id")
    )
    reason = reason.strip() or f"Closed: {closure.name}"
    _cancel_sessions(sessions, actor=actor, reason=reason, now=now)
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        object_type="closure_sessions",
        object_id=closure.public_id,
        detail={"cancelled": len(sessions)},
    )
    return len(sessions)


# --- waitlist ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolOutcome:
    """What an enrolment request did: enrolled, or waitlisted because the track is full."""

    enrolment: Enrolment | None
    waitlist_entry: WaitlistEntry | None


def places_free(track: Track, on: date) -> int:
    return max(0, track.max_group_size - track_count_on(track, on))


@transaction.atomic
def enrolment_request(
    *,
    actor: User,
    access: PatientAccess,
    episode_public_id: UUID,
    track: Track,
    start_on: date,
    submission_token: UUID | None = None,
) -> EnrolOutcome:
    """Enrol a patient, or, when the track is full, put them on its waitlist instead
    (position = order of joining). A repeated submission returns the first outcome."""
    if receipt := _receipt(actor, submission_token, "enrolment"):
        return EnrolOutcome(Enrolment.objects.get(public_id=receipt.object_public_id), None)
    if receipt := _receipt(actor, submission_token, "waitlist_entry"):
        return EnrolOutcome(None, WaitlistEntry.objects.get(public_id=receipt.object_public_id))
    # Lock the track row so two requests for its last place queue up.
    Track.objects.select_for_update().filter(pk=track.pk).first()
    if track_count_on(track, start_on) < track.max_group_size:
        enrolment = enrolment_create(
            actor=actor,
            access=access,
            episode_public_id=episode_public_id,
            track=track,
            start_on=start_on,
            submission_token=submission_token,
        )
        return EnrolOutcome(enrolment, None)
    entry = waitlist_add(
        actor=actor,
        access=access,
        episode_public_id=episode_public_id,
        track=track,
        wanted_from=start_on,
    )
    _store_receipt(actor, submission_token, "waitlist_entry", entry.public_id)
    return EnrolOutcome(None, entry)


def _locked_entry(actor: User, entry_public_id: UUID) -> WaitlistEntry:
    entry = (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("track__program__site", "patient", "episode")
        .filter(public_id=entry_public_id, track__program__site__organization_id=actor.org_id)
        .first()
    )
    if entry is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such waitlist entry.")
    return entry


@transaction.atomic
def waitlist_enrol(
    *,
    actor: User,
    access: PatientAccess,
    entry_public_id: UUID,
    start_on: date,
    now: datetime,
    submission_token: UUID | None = None,
) -> Enrolment:
    """Enrol the first waiting patient of a track once a place is free (one click)."""
    if receipt := _receipt(actor, submission_token, "enrolment"):
        return Enrolment.objects.get(public_id=receipt.object_public_id)
    entry = _locked_entry(actor, entry_public_id)
    if entry.patient_id != access.patient.pk:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such waitlist entry.")
    track = entry.track
    _require(actor, Perm.SCHEDULE_MANAGE, track.program, "enrolling patients")
    if entry.status != WaitlistEntry.Status.WAITING:
        raise ScheduleInvalid({"entry": "This patient is no longer waiting."})
    first = (
        WaitlistEntry.objects.filter(track=track, status=WaitlistEntry.Status.WAITING)
        .order_by("created_at", "id")
        .first()
    )
    if first is not None and first.pk != entry.pk:
        raise ScheduleInvalid({"entry": "Someone else is ahead on the waitlist."})
    enrolment = enrolment_create(
        actor=actor,
        access=access,
        episode_public_id=entry.episode.public_id,
        track=track,
        start_on=max(start_on, entry.wanted_from),
        submission_token=submission_token,
    )
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        status=WaitlistEntry.Status.ENROLLED, enrolment=enrolment, closed_at=now, closed_by=actor
    )
    return enrolment


@transaction.atomic
def waitlist_remove(
    *, actor: User, access: PatientAccess, entry_public_id: UUID, reason: str, now: datetime
) -> WaitlistEntry:
    """Take a patient off a waitlist (the entry stays, marked removed, with the reason)."""
    entry = _locked_entry(actor, entry_public_id)
    if entry.patient_id != access.patient.pk:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such waitlist entry.")
    _require(actor, Perm.SCHEDULE_MANAGE, entry.track.program, "managing waitlists")
    if entry.status != WaitlistEntry.Status.WAITING:
        raise ScheduleInvalid({"reason": "This patient is no longer waiting."})
    if not reason.strip():
        raise ScheduleInvalid({"reason": "Give the reason for taking the patient off."})
    entry.status = WaitlistEntry.Status.REMOVED
    entry.close_reason = reason.strip()[:200]
    entry.closed_at, entry.closed_by = now, actor
    entry.save()
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="waitlist_entry",
        object_id=entry.public_id,
        break_glass=access.via_break_glass,
        detail={"to": "removed"},
    )
    return entry
