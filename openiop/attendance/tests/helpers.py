"""A scheduled group on top of conftest's world, built with plain inserts (not
scheduling's services), so attendance tests depend only on scheduling's models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openiop.attendance import services
from openiop.episodes.models import Episode
from openiop.patients.models import Patient
from openiop.scheduling.models import Appointment, Enrolment, GroupSession, Room, Track
from tests.factories import EpisodeFactory, PatientFactory

MONDAY = date(2026, 11, 16)


def at(day: date, clock: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, clock))


@dataclass
class Group:
    track: Track
    room: Room
    sessions: list[GroupSession]  # Mon, Wed, Fri of MONDAY's week, 9:00-12:00
    patients: list[Patient]
    episodes: list[Episode]


def make_track(program: Any, *, name: str = "Morning SUD", population: str = "adult") -> Track:
    return Track.objects.create(
        program=program,
        name=name,
        kind="day_sud",
        population=population,
        weekdays="024",
        day_start=time(9, 0),
        day_end=time(12, 0),
        min_hours_per_week=Decimal("9"),
        min_days_per_week=3,
        max_group_size=16,
        typical_weeks=8,
    )


def make_session(track: Track, room: Room, facilitator: Any, on: date, **kw: Any) -> GroupSession:
    return GroupSession.objects.create(
        track=track,
        program=track.program,
        on=on,
        starts_at=at(on, time(9, 0)),
        ends_at=at(on, time(12, 0)),
        room=room,
        facilitator=facilitator,
        capacity=16,
        **kw,
    )


def enrol(patient: Patient, episode: Episode, track: Track, start_on: date, by: Any) -> Enrolment:
    return Enrolment.objects.create(
        patient=patient, episode=episode, track=track, start_on=start_on, created_by=by
    )


def make_group(
    world: Any,
    *,
    size: int = 3,
    start: date = MONDAY,
    name: str = "Morning SUD",
    with_patient_a: bool = True,
) -> Group:
    """Program A's Mon/Wed/Fri track with three sessions in `start`'s week and `size`
    enrolled patients (patient_a first, then new ones)."""
    room = Room.objects.create(site=world.program_a.site, name=f"Room for {name}", capacity=16)
    track = make_track(world.program_a, name=name)
    sessions = [
        make_session(track, room, world.alice, start + timedelta(days=d)) for d in (0, 2, 4)
    ]
    patients = [world.patient_a] if with_patient_a else []
    episodes = [world.episode_a] if with_patient_a else []
    for i in range(size - len(patients)):
        p = PatientFactory(
            organization=world.org,
            legal_family_name=f"Member{name[:1]}{i:02d}",
            phone=f"555-010-{i:04d}",
        )
        patients.append(p)
        episodes.append(
            EpisodeFactory(patient=p, program=world.program_a, primary_counselor=world.alice)
        )
    for p, e in zip(patients, episodes, strict=True):
        enrol(p, e, track, start - timedelta(days=14), world.dana)
    return Group(track, room, sessions, patients, episodes)


def make_appointment(
    world: Any, patient: Patient, on: date, minutes: int = 60, **kw: Any
) -> Appointment:
    start = at(on, time(13, 0))
    return Appointment.objects.create(
        patient=patient,
        program=world.program_a,
        kind=kw.pop("kind", "individual"),
        staff=world.alice,
        on=on,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        created_by=world.alice,
        **kw,
    )


def lines(group: Group, *statuses: str, **extra: Any) -> list[services.MarkInput]:
    return [
        services.MarkInput(patient_id=p.public_id, status=s, **extra)
        for p, s in zip(group.patients, statuses, strict=False)
    ]


def save(
    actor: Any, session: GroupSession, marks: list[services.MarkInput], version: int = 0, **kw: Any
) -> services.RosterSaved:
    return services.roster_save(
        actor=actor,
        session=session,
        base_version=version,
        lines=marks,
        submission_token=kw.pop("token", uuid.uuid4()),
        now=kw.pop("now", datetime(2026, 11, 16, 12, 5, tzinfo=UTC)),
        **kw,
    )
