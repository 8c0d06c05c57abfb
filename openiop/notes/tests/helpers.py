"""A group session that took place, with attendance, on top of conftest's world;
built with plain inserts so notes tests depend only on the other apps' models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openiop.attendance.models import AttendanceRecord
from openiop.episodes.models import Episode
from openiop.notes import services
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.scheduling.models import Enrolment, GroupSession, Room, Track
from tests.factories import EpisodeFactory, PatientFactory

DAY = date(2025, 3, 3)


def at(day: date, clock: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, clock))


@dataclass
class Held:
    session: GroupSession
    present: list[Patient]
    absent: list[Patient]


def held_session(
    world: Any, *, present: int = 3, absent: int = 1, facilitator: Any = None, day: date = DAY
) -> Held:
    """Program A's group on `day` 9:00-12:00: patient_a and others present, some absent."""
    room = Room.objects.create(site=world.program_a.site, name=f"Room {day}", capacity=20)
    track = Track.objects.create(
        program=world.program_a,
        name=f"Morning SUD {day}",
        kind="day_sud",
        population="adult",
        weekdays="024",
        day_start=time(9, 0),
        day_end=time(12, 0),
        min_hours_per_week=Decimal("9"),
        min_days_per_week=3,
        max_group_size=20,
        typical_weeks=8,
    )
    session = GroupSession.objects.create(
        track=track,
        program=world.program_a,
        on=day,
        starts_at=at(day, time(9, 0)),
        ends_at=at(day, time(12, 0)),
        room=room,
        facilitator=facilitator or world.alice,
        capacity=20,
    )
    patients = [world.patient_a]
    episodes: list[Episode] = [world.episode_a]
    for i in range(present + absent - 1):
        p = PatientFactory(
            organization=world.org,
            legal_given_name=f"Member{i:02d}",
            legal_family_name=f"Grp{i:02d}",
        )
        patients.append(p)
        episodes.append(
            EpisodeFactory(patient=p, program=world.program_a, primary_counselor=world.alice)
        )
    for i, (p, e) in enumerate(zip(patients, episodes, strict=True)):
        if not Enrolment.objects.filter(episode=e).exists():
            Enrolment.objects.create(
                patient=p,
                episode=e,
                track=track,
                start_on=day - timedelta(days=14),
                created_by=world.dana,
            )
        AttendanceRecord.objects.create(
            patient=p,
            program=world.program_a,
            track=track,
            session=session,
            on=day,
            status="present" if i < present else "absent_unexcused",
            minutes_attended=180 if i < present else 0,
            recorded_by=world.alice,
            recorded_at=at(day, time(12, 0)),
        )
    return Held(session, patients[:present], patients[present:])


def access(patient: Patient) -> PatientAccess:
    return PatientAccess(patient, via_break_glass=False)


def note_input(world: Any, **kw: Any) -> services.NoteInput:
    values: dict[str, Any] = {
        "program": world.program_a,
        "format": "dap",
        "service_date": DAY,
        "start_time": time(13, 0),
        "end_time": time(13, 50),
        "sections": {
            "data": "Reported three days without use; slept better.",
            "assessment": "Engaged; cravings lower than last week.",
            "plan": "Continue weekly; practise urge surfing daily.",
        },
    }
    values.update(kw)
    return services.NoteInput(**values)


def draft(world: Any, author: Any = None, patient: Patient | None = None, **kw: Any) -> Any:
    return services.note_create(
        actor=author or world.alice,
        access=access(patient or world.patient_a),
        kind=kw.pop("kind", "individual"),
        data=note_input(world, **kw),
        submission_token=uuid.uuid4(),
        now=at(DAY, time(14, 0)),
    )


def sign(world: Any, note: Any, author: Any = None, when: datetime | None = None) -> Any:
    return services.note_sign(
        actor=author or world.alice,
        access=access(note.patient),
        note_public_id=note.public_id,
        base_version=note.version,
        now=when or at(DAY, time(15, 0)),
    )


def individual(texts: dict[Patient, str]) -> dict[str, services.IndividualInput]:
    return {
        str(p.public_id): services.IndividualInput(
            sections={
                "participation": t,
                "response": f"Response: {t}",
                "progress": f"Progress: {t}",
                "risk": "",
                "plan": "Continue group.",
            }
        )
        for p, t in texts.items()
    }


SHARED = services.SharedInput(
    topic="Coping with cravings",
    curriculum=None,
    facilitators="Alice Counselor",
    start_time=time(9, 0),
    end_time=time(12, 0),
    summary="Psychoeducation on the craving curve; urge surfing practice.",
    interventions="CBT skills training, guided practice, feedback.",
)

DISTINCT = [
    "Described a craving at a family dinner and used urge surfing; asked about weekend plans.",
    "Quiet in the first hour, then described conflict with a roommate and practised a script.",
    "Arrived engaged; shared a relapse warning sign list and got feedback on two items.",
    "Talked about returning to work and the stress of commuting past the old bar.",
    "Practised the breathing exercise twice; reported mild anxiety, no cravings this week.",
    "Gave feedback to peers; identified Sunday evenings as the riskiest time of the week.",
    "Reported sleeping four hours a night; agreed to discuss sleep with the prescriber.",
    "Described the first sober birthday in years and the plan for the evening.",
    "Shared a trigger log and noticed a pattern after phone calls with a former partner.",
    "Said the group felt useful; set a goal of one meeting a day until Friday.",
    "Left the room once, returned, and said the topic brought up grief about a sibling.",
    "Role-played refusing a drink at a party; felt more confident afterwards.",
    "Asked for help with a housing application; case manager to follow up.",
    "Reported using once on Saturday; discussed what led to it without judgement.",
    "Talked about a new hobby, cooking, as a replacement for evenings out.",
    "Reviewed the coping card and added two new people to call.",
]
