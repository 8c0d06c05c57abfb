"""Clinical notes at clinic scale: server time and queries (issue 5).

Runs in-process with django.test.Client against a fresh database, as
bench/scheduling.py does (and reuses its environment, organization and sign-in
helpers): PostgreSQL when it answers on 127.0.0.1:5432 (database openiop_bench_notes,
created and dropped here), else SQLite in a temporary directory. DEBUG off, persistent
connections (bench/settings.py).

Seeds one organization with 2 programs, 20 staff and 600 patients with active
episodes; about 12,000 signed notes in the background (20 per patient), one patient
with 500 signed notes, and past one-hour group sessions of one track, each with 15
patients present and one absent, whose group notes are started (one draft per
attendee). A second, small organization (3 attendees, a patient with 5 notes) gives the
query counts of nearly empty pages. Measures, over repeated requests, as the program
director (who writes notes):
  - saving a group note for 15 attendees (POST of the shared part and 15 individual
    sections, every section changed on every request);
  - saving and signing a group note for 15 attendees (POST with "sign": every
    attendee's note gets the shared part, is frozen and hashed; a fresh session each
    request);
  - loading a patient's note list with 500 notes (first page).

Usage: .venv/bin/python bench/notes.py [--sqlite] [--requests N] [--keep-db]
       [--no-write] [--show-queries NAME] [--profile NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    bench_parser,
    django_ready,
    report_out,
    run_on_fresh_database,
)
from bench.scheduling import (  # noqa: E402
    _org,
    analyze,
    signed_in,
)

PG_DATABASE = "openiop_bench_notes"
PATIENTS = 600
BACKGROUND_NOTES = 20  # signed notes per patient
LIST_NOTES = 500  # the measured patient's notes
ATTENDEES = 15
WARMUP = 3


# --- Seeding -----------------------------------------------------------------------------


@dataclass
class World:
    director: Any
    save_session: Any  # the session whose group note is saved again and again
    sign_sessions: list[Any]  # one fresh session per "save and sign" request
    list_patient: Any  # the patient with LIST_NOTES notes
    counts: dict[str, int] = field(default_factory=dict)


TEXTS = (
    "Described a craving at a family dinner and how urge surfing helped",
    "Quiet in the first hour, then shared a conflict with a roommate",
    "Shared a relapse warning sign list and accepted feedback on two items",
    "Talked about returning to work and the stress of the commute",
    "Practised the breathing exercise twice and reported mild anxiety",
    "Gave supportive feedback to peers and named Sunday evenings as risky",
    "Reported short sleep and agreed to raise it with the prescriber",
    "Described a first sober birthday in years and the plan for the evening",
    "Brought a trigger log and noticed a pattern after certain phone calls",
    "Role-played refusing a drink at a party and felt more confident",
    "Asked for help with a housing form; the case manager will follow up",
    "Reported one use on the weekend and discussed what led to it",
    "Talked about cooking as a new way to spend the evenings",
    "Reviewed the coping card and added two people to call",
    "Said the topic brought up grief about a sibling and stayed with it",
)


def build(
    name: str, *, patients: int, background: int, list_notes: int, attendees: int, sessions: int
) -> World:
    from django.utils import timezone

    from openiop.attendance.models import AttendanceRecord
    from openiop.episodes.models import Episode
    from openiop.notes import rules, services
    from openiop.notes.models import Note, NoteStatus
    from openiop.patients.models import Patient
    from openiop.scheduling.models import GroupSession, Room, Track

    org, site, programs, _people = _org(name, 2, 20)
    from openiop.accounts.models import User

    director = User.objects.get(organization=org, role="program_director")
    program = programs[0]
    made = Patient.objects.bulk_create(
        (
            Patient(
                organization=org,
                mrn=f"N{org.pk}{i:07d}",
                legal_given_name=f"Given{i}",
                legal_family_name=f"Bench{i:06d}",
                date_of_birth=date(1970 + i % 35, 1 + i % 12, 1 + i % 28),
                sex_at_birth="female" if i % 2 else "male",
            )
            for i in range(patients)
        ),
        batch_size=2000,
    )
    if made[-1].pk is None:
        made = list(Patient.objects.filter(organization=org).order_by("pk"))
    today = timezone.localdate()
    episodes = Episode.objects.bulk_create(
        (
            Episode(
                patient=p,
                program=program,
                status="active",
                level_of_care="2.1",
                primary_counselor=director,
                referred_on=today - timedelta(days=120),
                admitted_on=today - timedelta(days=110),
            )
            for p in made
        ),
        batch_size=2000,
    )
    if episodes[-1].pk is None:
        episodes = list(Episode.objects.filter(patient__organization=org).order_by("pk"))

    # Signed individual notes: `background` per patient, `list_notes` for the first.
    def note(p: Any, e: Any, k: int) -> Note:
        day = today - timedelta(days=1 + k % 400)
        starts = timezone.make_aware(datetime.combine(day, clock(13, 0)))
        n = Note(
            patient=p,
            program=program,
            episode=e,
            kind="individual",
            format=rules.DAP,
            service_date=day,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=50),
            minutes=50,
            sections={
                "data": f"Session {k}: reported the week; {TEXTS[k % len(TEXTS)]}.",
                "assessment": "Engaged; cravings lower than at admission.",
                "plan": "Continue IOP three days a week.",
            },
            author=director,
            status=NoteStatus.SIGNED,
            signed_at=starts + timedelta(hours=2),
            signed_name=director.display_name,
        )
        n.content_sha256 = rules.content_digest(services.content_fields(n))
        return n

    rows = [
        note(p, e, k)
        for i, (p, e) in enumerate(zip(made, episodes, strict=True))
        for k in range(list_notes if i == 0 else background)
    ]
    Note.objects.bulk_create(rows, batch_size=2000)

    # Past group sessions of one track, each with `attendees` present and one absent.
    room = Room.objects.create(site=site, name="Group room", capacity=20)
    track = Track.objects.create(
        program=program,
        name="Morning group",
        kind="day_sud",
        population="adult",
        weekdays="01234",
        day_start=clock(9, 0),
        day_end=clock(12, 0),
        min_hours_per_week=9,
        min_days_per_week=3,
        max_group_size=20,
        typical_weeks=10,
    )
    held = GroupSession.objects.bulk_create(
        GroupSession(
            track=track,
            program=program,
            on=today - timedelta(days=1 + s // 3),
            starts_at=timezone.make_aware(
                datetime.combine(today - timedelta(days=1 + s // 3), clock(9 + s % 3, 0))
            ),
            ends_at=timezone.make_aware(
                datetime.combine(today - timedelta(days=1 + s // 3), clock(10 + s % 3, 0))
            ),
            room=room,
            facilitator=director,
            capacity=20,
        )
        for s in range(sessions)
    )
    if held[-1].pk is None:
        held = list(GroupSession.objects.filter(track=track).order_by("pk"))
    stamp = datetime.now(UTC)
    AttendanceRecord.objects.bulk_create(
        (
            AttendanceRecord(
                patient=made[1 + (s + j) % (len(made) - 1)],
                program=program,
                track=track,
                session=session,
                on=session.on,
                status="present" if j < attendees else "absent_unexcused",
                minutes_attended=60 if j < attendees else 0,
                recorded_by=director,
                recorded_at=stamp,
            )
            for s, session in enumerate(held)
            for j in range(attendees + 1)
        ),
        batch_size=2000,
    )
    now = timezone.now()
    for session in held:
        services.group_note_start(actor=director, session=session, now=now)
    return World(
        director=director,
        save_session=held[0],
        sign_sessions=list(held[1:]),
        list_patient=made[0],
        counts={
            "patients": len(made),
            "notes": Note.objects.filter(patient__organization=org).count(),
            "sessions": len(held),
        },
    )


# --- Measuring ---------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    label: str
    call: Callable[[Any, World], Any]  # (client, world) -> response


def _ok(response: Any, what: str, expect: int = 200) -> Any:
    if response.status_code != expect:
        raise SystemExit(f"{what} answered {response.status_code}")
    return response


_round = {"n": 0}


def _form(session: Any, *, sign: bool) -> dict[str, Any]:
    """The group note form as the browser posts it: the shared part and every
    attendee's sections, all different (no clones), changed on every request."""
    from django.utils.timezone import localtime

    from openiop.notes.models import GroupNote
    from openiop.notes.services import group_notes

    group = GroupNote.objects.get(session=session)
    _round["n"] += 1
    r = _round["n"]
    data: dict[str, Any] = {
        "version": str(group.version),
        "topic": "Coping with cravings",
        "facilitators": "Dana Director",
        "start_time": localtime(session.starts_at).strftime("%H:%M"),
        "end_time": localtime(session.ends_at).strftime("%H:%M"),
        "summary": f"Psychoeducation on the craving curve (round {r}).",
        "interventions": "CBT skills training, guided practice, peer feedback.",
    }
    for j, n in enumerate(group_notes(group)):
        ref = n.patient.public_id
        data[f"{ref}-participation"] = f"{TEXTS[j % len(TEXTS)]} (round {r})."
        data[f"{ref}-response"] = f"Response {j}: receptive to feedback, item {r + j}."
        data[f"{ref}-progress"] = f"Objective {j + 1}: {r + j} days toward the target."
        data[f"{ref}-risk"] = ""
        data[f"{ref}-plan"] = f"Continue group; review item {j} next time."
    if sign:
        data["sign"] = "1"
    return data


def save_group(client: Any, w: World) -> Any:
    data = _form(w.save_session, sign=False)
    return _ok(client.post(f"/notes/sessions/{w.save_session.public_id}/", data), "save")


def sign_group(client: Any, w: World) -> Any:
    from openiop.notes.models import GroupNote

    if not w.sign_sessions:
        raise SystemExit("out of sessions to sign: raise the session count")
    session = w.sign_sessions.pop(0)
    response = _ok(
        client.post(f"/notes/sessions/{session.public_id}/", _form(session, sign=True)),
        "save and sign",
        302,
    )
    if GroupNote.objects.get(session=session).status != "signed":
        raise SystemExit("the group note was not signed")
    return response


def note_list(client: Any, w: World) -> Any:
    return _ok(client.get(f"/notes/patients/{w.list_patient.public_id}/"), "note list")


PAGES = [
    Page("save", "Save a group note for 15 attendees (POST, every section changed)", save_group),
    Page(
        "sign",
        "Save and sign a group note for 15 attendees (POST; 15 notes frozen and hashed)",
        sign_group,
    ),
    Page("list", "A patient's note list, 500 notes (first page of 50)", note_list),
]


def count_queries(client: Any, page: Page, w: World) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page.call(client, w)
    with CaptureQueriesContext(connection) as ctx:
        page.call(client, w)
    return len(ctx.captured_queries)


def timed(client: Any, page: Page, w: World, n: int) -> list[float]:
    for _ in range(WARMUP):
        page.call(client, w)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        page.call(client, w)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(args: argparse.Namespace) -> int:
    return run_on_fresh_database(
        label="clinical notes",
        prefix="openiop-bench-notes-",
        pg_database=PG_DATABASE,
        force_sqlite=args.sqlite,
        keep=args.keep_db,
        measure=lambda vendor: measure(args, vendor),
    )


def measure(args: argparse.Namespace, vendor: str) -> int:
    django_ready()

    started = time.perf_counter()
    sessions = args.requests + WARMUP + 4
    big = build(
        "Bench notes",
        patients=PATIENTS,
        background=BACKGROUND_NOTES,
        list_notes=LIST_NOTES,
        attendees=ATTENDEES,
        sessions=sessions,
    )
    small = build(
        "Small notes clinic", patients=6, background=1, list_notes=5, attendees=3, sessions=5
    )
    analyze()
    seeded = time.perf_counter() - started
    print(f"seeded {big.counts} in {seeded:.0f} s")
    big_client = signed_in(big.director)
    small_client = signed_in(small.director)
    if args.show_queries:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        page = next(p for p in PAGES if p.name == args.show_queries)
        page.call(big_client, big)
        with CaptureQueriesContext(connection) as ctx:
            page.call(big_client, big)
        for q in ctx.captured_queries:
            print(f"[{float(q['time']) * 1000:.1f} ms] {q['sql'][:300]}")
        return 0
    if args.profile:
        import cProfile
        import pstats

        page = next(p for p in PAGES if p.name == args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(min(args.requests, len(big.sign_sessions))):
            page.call(big_client, big)
        profiler.disable()
        pstats.Stats(profiler).strip_dirs().sort_stats("cumulative").print_stats(40)
        return 0
    load_before = os.getloadavg()
    rows = []
    for page in PAGES:
        samples = timed(big_client, page, big, args.requests)
        rows.append(
            (
                page.label,
                statistics.median(samples),
                statistics.quantiles(samples, n=20)[18],
                count_queries(big_client, page, big),
                count_queries(small_client, page, small),
            )
        )
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(
            f"Run {when}: {vendor}; one organization with {big.counts['patients']} active "
            f"patients and {big.counts['notes']:,} signed notes ({BACKGROUND_NOTES} per "
            f"patient, {LIST_NOTES} for the measured one), {big.counts['sessions']} past "
            f"group sessions of {ATTENDEES} present and 1 absent, group notes started "
            f"(seeded in {seeded:.0f} s, then ANALYZE). {args.requests} timed requests per "
            f"page after {WARMUP} warm-up; DEBUG off; persistent connections; signed in as "
            "the program director, who writes the notes. Load average (1/5/15 min) "
            + " / ".join(f"{x:.1f}" for x in load_before)
            + " before, "
            + " / ".join(f"{x:.1f}" for x in os.getloadavg())
            + f" after, {os.cpu_count()} CPUs."
        )
        print()
        print("| request | median ms | p95 ms | queries | queries, small clinic |")
        print("|---|---|---|---|---|")
        for label, median, p95, count, small_count in rows:
            print(f"| {label} | {median:.1f} | {p95:.1f} | {count} | {small_count} |")
        print()
        print(
            "Small clinic: 3 attendees per group, a patient with 5 notes. Equal query "
            "counts mean they do not grow with attendees or notes (also asserted in "
            "openiop/notes/tests/test_services.py and test_views.py)."
        )
    report_out(
        args,
        report.getvalue(),
        name=f"notes-{vendor.split()[0]}",
        heading=f"Clinical notes, {vendor.split()[0]}",
        intro="`make bench` runs `bench/notes.py` (issue 5): writing and signing a group "
        "note for 15 attendees, and a patient's note list with 500 notes.",
        what="clinical notes",
    )
    return 0


def main() -> int:
    parser = bench_parser(__doc__, requests=30)
    parser.add_argument(
        "--show-queries", choices=[p.name for p in PAGES], help="print a request's SQL"
    )
    parser.add_argument(
        "--profile", choices=[p.name for p in PAGES], help="cProfile a request (--requests times)"
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
