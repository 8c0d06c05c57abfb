"""Scheduling rows for reminder and feed tests (built directly from the models)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from openiop.accounts.models import User
from openiop.episodes.models import Episode
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.scheduling.models import (
    Appointment,
    Enrolment,
    GroupSession,
    Room,
    SessionStatus,
    Topic,
    Track,
    TrackKind,
)


def room_for(program: Program, name: str = "Room 2") -> Room:
    room, _ = Room.objects.get_or_create(site=program.site, name=name, defaults={"capacity": 12})
    return room


def track_for(program: Program, name: str = "Day SUD Track") -> Track:
    track, _ = Track.objects.get_or_create(
        program=program,
        name=name,
        defaults={
            "kind": TrackKind.DAY_SUD,
            "weekdays": "01234",
            "day_start": time(8, 0),
            "day_end": time(20, 0),
            "min_hours_per_week": Decimal("9.0"),
            "min_days_per_week": 3,
            "max_group_size": 12,
            "typical_weeks": 8,
        },
    )
    return track


def session(
    *,
    program: Program,
    facilitator: User,
    starts_at: datetime,
    minutes: int = 180,
    status: str = SessionStatus.SCHEDULED,
    topic_name: str = "Relapse prevention skills",
) -> GroupSession:
    track = track_for(program)
    topic, _ = Topic.objects.get_or_create(organization=program.site.organization, name=topic_name)
    return GroupSession.objects.create(
        track=track,
        program=program,
        on=starts_at.date(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        room=room_for(program),
        facilitator=facilitator,
        topic=topic,
        capacity=12,
        status=status,
    )


def enrol(
    *, patient: Patient, episode: Episode, program: Program, by: User, start_on, ended_on=None
) -> Enrolment:  # type: ignore[no-untyped-def]
    return Enrolment.objects.create(
        patient=patient,
        episode=episode,
        track=track_for(program),
        start_on=start_on,
        ended_on=ended_on,
        created_by=by,
    )


def appointment(
    *,
    patient: Patient,
    program: Program,
    staff: User,
    starts_at: datetime,
    kind: str = "individual",
    minutes: int = 50,
    status: str = SessionStatus.SCHEDULED,
) -> Appointment:
    return Appointment.objects.create(
        patient=patient,
        program=program,
        kind=kind,
        staff=staff,
        room=room_for(program, "Office 5"),
        on=starts_at.date(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        status=status,
        created_by=staff,
    )
