"""Demo scheduling rows: rooms, a curriculum, one track per demo program with a weekly
template, sessions from about 8 weeks ago to 4 weeks ahead, enrolments of the active
patients (the rest of a full track on its waitlist) and some appointments. Bulk
inserts only: a bounded number of queries whatever the number of patients."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from openiop.accounts.models import User
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import Program
from openiop.scheduling import rules
from openiop.scheduling.models import (
    Appointment,
    AppointmentKind,
    Closure,
    Enrolment,
    GroupSession,
    Occupancy,
    ResourceKind,
    Room,
    SessionTemplate,
    Topic,
    Track,
    TrackTopic,
    WaitlistEntry,
)
from openiop.scheduling.services import local_tz

TOPICS = (
    # name, description (our own words), minutes, credentials accepted, pin
    (
        "CBT skills",
        "Noticing automatic thoughts, testing them, and trying balanced ones.",
        60,
        "LCSW, LPC, LMFT, PMHNP-BC, MD",
        ("", None),
    ),
    (
        "Relapse prevention",
        "Warning signs, high-risk situations and a written plan for them.",
        60,
        "",
        ("", None),
    ),
    (
        "Coping with cravings",
        "Urge surfing, delay and distraction, and who to call.",
        60,
        "",
        ("", None),
    ),
    (
        "Anger management",
        "Recognising escalation early and cooling-down strategies.",
        60,
        "",
        ("", None),
    ),
    (
        "Relaxation and mindfulness",
        "Breathing, body scan and grounding exercises to practise.",
        45,
        "",
        ("", None),
    ),
    (
        "Identifying triggers",
        "Mapping people, places, feelings and times that lead to use.",
        60,
        "",
        ("", None),
    ),
    (
        "Drug education",
        "How substances act on the body and brain, tolerance and withdrawal.",
        60,
        "CADC, LCSW, LPC, MD",
        ("last_days", 3),
    ),
    (
        "Family education",
        "How families can support recovery and look after themselves.",
        90,
        "",
        ("", None),
    ),
    (
        "Self-help group orientation",
        "What AA, NA and SMART meetings are like; finding one.",
        45,
        "",
        ("first_days", 5),
    ),
)


@dataclass(frozen=True)
class TrackPlan:
    program: str
    name: str
    kind: str
    population: str
    weekdays: str
    start: time
    end: time
    facilitator: str
    co_facilitator: str | None


PLANS = (
    TrackPlan(
        "Morning SUD IOP",
        "Morning SUD",
        "day_sud",
        "adult",
        "013",
        time(9),
        time(12),
        "counselor",
        "trainee",
    ),
    TrackPlan(
        "Evening Mental Health IOP",
        "Evening (work/study)",
        "evening",
        "adult",
        "0123",
        time(18),
        time(21),
        "therapist",
        None,
    ),
    TrackPlan(
        "Dual Diagnosis IOP",
        "Dual diagnosis",
        "dual_diagnosis",
        "adult",
        "024",
        time(13),
        time(16),
        "therapist",
        None,
    ),
    TrackPlan(
        "Adolescent IOP",
        "Adolescent after school",
        "adolescent",
        "adolescent",
        "024",
        time(16),
        time(18),
        "easttherapist",
        None,
    ),
    TrackPlan(
        "Eastside Evening SUD IOP",
        "Eastside evening SUD",
        "evening",
        "adult",
        "0123",
        time(18),
        time(21),
        "eastcounselor",
        None,
    ),
)
MAX_GROUP = 15


def load(*, seed: int, today: date) -> str:
    rng = random.Random(seed * 7919 + 4)  # noqa: S311 (demo data, not security)
    director = User.objects.select_related("organization").get(username="director")
    org = director.organization
    assert org is not None
    programs = {
        p.name: p for p in Program.objects.filter(site__organization=org).select_related("site")
    }
    staff = {u.username: u for u in User.objects.filter(organization=org)}
    sites = {p.site_id: p.site for p in programs.values()}
    rooms: dict[int, list[Room]] = {}
    room_rows = []
    for site in sites.values():
        for name, seats in (
            ("Group room A", 16),
            ("Group room B", 12),
            ("Office 1", 3),
            ("Office 2", 4),
        ):
            room_rows.append(Room(site=site, name=name, capacity=seats))
    for room in Room.objects.bulk_create(room_rows):
        rooms.setdefault(room.site_id, []).append(room)
    topics = Topic.objects.bulk_create(
        [
            Topic(
                organization=org,
                name=n,
                description=d,
                duration_minutes=m,
                credentials_accepted=c,
                pin_anchor=pin[0],
                pin_days=pin[1],
            )
            for n, d, m, c, pin in TOPICS
        ]
    )
    rotating = [t for t in topics if not t.credentials_accepted]
    first_monday = rules.week_start(today) - timedelta(weeks=8)
    through = rules.week_start(today) + timedelta(weeks=4, days=6)
    holiday = rules.week_start(today) - timedelta(weeks=3)  # a Monday closure
    Closure.objects.create(organization=org, on=holiday, name="Holiday (demo)")

    tracks: list[Track] = []
    templates: list[SessionTemplate] = []
    for plan in PLANS:
        program = programs.get(plan.program)
        if program is None:
            continue
        hours, days = rules.default_minimums(plan.population)
        track = Track(
            program=program,
            name=plan.name,
            kind=plan.kind,
            population=plan.population,
            weekdays=plan.weekdays,
            day_start=plan.start,
            day_end=plan.end,
            min_hours_per_week=Decimal(hours),
            min_days_per_week=days,
            max_group_size=MAX_GROUP,
            typical_weeks=8,
        )
        tracks.append(track)
    Track.objects.bulk_create(tracks)
    TrackTopic.objects.bulk_create(
        [
            TrackTopic(track=t, topic=topic, position=i)
            for t in tracks
            for i, topic in enumerate(rotating)
        ]
    )
    plan_of = {p.name: p for p in PLANS}
    for track in tracks:
        plan = plan_of[track.name]
        room = rooms[track.program.site_id][0 if plan.start < time(13) else 1]
        if plan.program == "Eastside Evening SUD IOP":
            room = rooms[track.program.site_id][0]
        elif plan.program == "Adolescent IOP":
            room = rooms[track.program.site_id][1]
        templates.append(
            SessionTemplate(
                track=track,
                name=f"{track.name} group",
                weekdays=plan.weekdays,
                start_time=plan.start,
                end_time=plan.end,
                room=room,
                facilitator=staff[plan.facilitator],
                co_facilitator=staff.get(plan.co_facilitator) if plan.co_facilitator else None,
                capacity=MAX_GROUP,
                valid_from=first_monday,
                generated_through=through,
            )
        )
    SessionTemplate.objects.bulk_create(templates)

    tz = local_tz()
    sessions: list[GroupSession] = []
    for template in templates:
        days_ = rules.occurrence_dates(
            weekdays=template.weekdays,
            valid_from=first_monday,
            valid_until=None,
            start=first_monday,
            through=through,
            closed=[holiday],
        )
        for i, day in enumerate(days_):
            cancelled = i == 5 and template.track.name == "Morning SUD"
            sessions.append(
                GroupSession(
                    track=template.track,
                    program=template.track.program,
                    template=template,
                    on=day,
                    starts_at=datetime.combine(day, template.start_time, tzinfo=tz),
                    ends_at=datetime.combine(day, template.end_time, tzinfo=tz),
                    room=template.room,
                    facilitator=template.facilitator,
                    co_facilitator=template.co_facilitator,
                    topic=rotating[i % len(rotating)],
                    capacity=template.capacity,
                    status="cancelled" if cancelled else "scheduled",
                    cancelled_by="program" if cancelled else "",
                    cancel_reason="Facilitator ill; no cover (demo)" if cancelled else "",
                )
            )
    GroupSession.objects.bulk_create(sessions)
    occupancy = []
    for s in sessions:
        if s.status != "scheduled":
            continue
        ids = [(ResourceKind.ROOM, s.room.pk), (ResourceKind.STAFF, s.facilitator.pk)]
        if s.co_facilitator is not None:
            ids.append((ResourceKind.STAFF, s.co_facilitator.pk))
        occupancy += [
            Occupancy(
                resource_kind=k, resource_id=r, starts_at=s.starts_at, ends_at=s.ends_at, session=s
            )
            for k, r in ids
        ]

    track_of_program = {t.program_id: t for t in tracks}
    episodes = list(
        Episode.objects.filter(
            program_id__in=track_of_program, status=EpisodeStatus.ACTIVE
        ).order_by("id")
    )
    enrolments: list[Enrolment] = []
    waitlist: list[WaitlistEntry] = []
    counts: dict[int, int] = {}
    for episode in episodes:
        track = track_of_program[episode.program_id]
        start = max(episode.admitted_on or today, first_monday)
        if start > today:
            start = today
        if counts.get(track.pk, 0) >= MAX_GROUP:
            waitlist.append(
                WaitlistEntry(
                    track=track,
                    patient_id=episode.patient_id,
                    episode=episode,
                    wanted_from=today,
                    added_by=director,
                )
            )
            continue
        counts[track.pk] = counts.get(track.pk, 0) + 1
        enrolments.append(
            Enrolment(
                patient_id=episode.patient_id,
                episode=episode,
                track=track,
                start_on=start,
                expected_end_on=rules.expected_end(start, track.typical_weeks),
                created_by=director,
            )
        )
    Enrolment.objects.bulk_create(enrolments)
    WaitlistEntry.objects.bulk_create(waitlist)

    # Appointments on days the patients' tracks do not meet: case management on
    # Wednesdays for the morning track, medication management on Fridays for the
    # evening track (prescriber), individual therapy on Tuesdays for the dual track.
    appointments: list[Appointment] = []
    slots = {
        "Morning SUD": (AppointmentKind.CASE_MANAGEMENT, "casemanager", 2, 45),
        "Evening (work/study)": (AppointmentKind.MED_MANAGEMENT, "prescriber", 4, 30),
        "Dual diagnosis": (AppointmentKind.INDIVIDUAL, "therapist", 1, 50),
    }
    per_track: dict[str, int] = {}
    for e in enrolments:
        slot = slots.get(e.track.name)
        if slot is None or per_track.get(e.track.name, 0) >= 8:
            continue
        kind, who, weekday, minutes = slot
        n = per_track.get(e.track.name, 0)
        per_track[e.track.name] = n + 1
        week = rules.week_start(today) + timedelta(weeks=rng.choice((-1, 0, 1)))
        day = week + timedelta(days=weekday)
        start = datetime.combine(day, time(9), tzinfo=tz) + timedelta(minutes=60 * n)
        appt_room: Room | None = (
            rooms[e.track.program.site_id][2 + (n % 2)] if kind != "med_management" else None
        )
        appointments.append(
            Appointment(
                patient_id=e.patient_id,
                episode=e.episode,
                program=e.track.program,
                kind=kind,
                staff=staff[who],
                room=appt_room,
                on=day,
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
                created_by=director,
            )
        )
    Appointment.objects.bulk_create(appointments)
    for a in appointments:
        ids = [(ResourceKind.STAFF, a.staff.pk), (ResourceKind.PATIENT, a.patient_id)]
        if a.room is not None:
            ids.append((ResourceKind.ROOM, a.room.pk))
        occupancy += [
            Occupancy(
                resource_kind=k,
                resource_id=r,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                appointment=a,
            )
            for k, r in ids
        ]
    Occupancy.objects.bulk_create(occupancy, batch_size=2000)
    return (
        f"{len(tracks)} tracks, {len(sessions)} group sessions, {len(enrolments)} enrolments "
        f"({len(waitlist)} waitlisted), {len(appointments)} appointments"
    )
