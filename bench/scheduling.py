"""Scheduling and attendance at clinic scale: server time and queries (issue 4).

Runs in-process with django.test.Client against a fresh database, as bench/run.py and
bench/intake_board.py do: PostgreSQL when it answers on 127.0.0.1:5432 (database
openiop_bench_scheduling, created and dropped here), else SQLite in a temporary
directory. DEBUG off, persistent connections (bench/settings.py).

Seeds one organization with 4 programs, 40 staff, 36 tracks meeting Monday to Friday in
three one-hour groups a day, and rolling enrolments (10-week stays) that keep about 500
patients active at any time, over two years: about 57,000 group sessions, 55,000
appointments and 850,000 attendance marks, written with COPY (PostgreSQL) or bulk
inserts, then ANALYZE. A second, small organization (3 patients, 2 weeks) gives the
query counts of nearly empty pages. "Today" is the bench day: today on a weekday, the
Friday before on a weekend (tracks meet Monday to Friday). Measures, over repeated
requests: the census of one program for that day, saving the attendance of a group of
15, a staff member's week calendar and the weekly compliance report of a track.

Usage: .venv/bin/python bench/scheduling.py [--sqlite] [--weeks N] [--requests N]
       [--keep-db] [--no-write] [--show-queries NAME] [--profile NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
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

PG_DATABASE = "openiop_bench_scheduling"
SEED = 1
PROGRAMS = 4
TRACKS_PER_PROGRAM = 9
GROUP = 14  # patients per track (one track has 15, for the save benchmark)
STAFF = 40
STAY_DAYS = 70
SLOTS = ("09:00", "10:00", "11:00")
MARKS = (
    ("present", 82),
    ("late", 6),
    ("left_early", 4),
    ("absent_excused", 4),
    ("absent_unexcused", 4),
)


# --- Seeding -----------------------------------------------------------------------------


@dataclass
class World:
    director: Any
    program: Any  # the program whose census is measured
    track: Any  # the track of the compliance report (15 patients)
    session: Any  # today's first session of that track (the save benchmark)
    staff: Any  # a facilitator whose week calendar is measured
    today: date
    counts: dict[str, int] = field(default_factory=dict)


def _copy(model: Any, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    """COPY on PostgreSQL; batched bulk inserts elsewhere. Returns the row count."""
    from django.db import connection

    table = model._meta.db_table
    n = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        return n
    batch: list[tuple[Any, ...]] = []
    placeholders = ", ".join(["%s"] * len(columns))
    # Table and column names come from this file, never from input.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        for row in rows:
            # SQLite keeps UUIDs as 32 hex characters (Django's UUIDField there).
            batch.append(tuple(v.hex if isinstance(v, uuid.UUID) else v for v in row))
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            n += len(batch)
    return n


def _org(name: str, programs: int, staff: int) -> tuple[Any, Any, list[Any], list[Any]]:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from openiop.accounts.models import ProgramMembership, User
    from openiop.organizations.models import Organization, Program, Site

    org = Organization.objects.create(name=name)
    site = Site.objects.create(organization=org, name="Main Street")
    made = [
        Program.objects.create(site=site, name=f"Program {i + 1}", program_type="sud_iop")
        for i in range(programs)
    ]
    director = User.objects.create_user(
        username=f"director-{org.pk}",
        password="bench-password-not-secret-1",  # noqa: S106
        organization=org,
        role="program_director",
        first_name="Dana",
        last_name="Director",
    )
    TOTPDevice.objects.create(user=director, name="bench", confirmed=True)
    people = User.objects.bulk_create(
        User(
            username=f"staff-{org.pk}-{i}",
            organization=org,
            role="counselor",
            first_name="Staff",
            last_name=f"{i:02d}",
        )
        for i in range(staff - 1)
    )
    people = list(User.objects.filter(organization=org, role="counselor").order_by("pk"))
    ProgramMembership.objects.bulk_create(
        [ProgramMembership(user=director, program=p) for p in made]
        + [ProgramMembership(user=u, program=made[i % len(made)]) for i, u in enumerate(people)]
    )
    return org, site, made, people


def bench_day(today: date) -> date:
    """The day the bench treats as "today": today on a weekday, else the Friday before,
    so the measured census and roster have sessions (tracks meet Monday to Friday) and
    `make bench` measures the same thing any day of the week."""
    return today - timedelta(days=max(0, today.weekday() - 4))


def seed(weeks: int, rng: random.Random) -> tuple[World, World]:
    from django.utils import timezone

    from openiop.attendance.models import AttendanceRecord
    from openiop.episodes.models import Episode
    from openiop.patients.models import Patient
    from openiop.scheduling.models import Appointment, Enrolment, GroupSession, Room, Track

    today = bench_day(timezone.localdate())
    monday = today - timedelta(days=today.weekday())
    tz = timezone.get_current_timezone()
    stamp = datetime.now(UTC)

    def build(
        name: str, programs: int, tracks_per: int, staff: int, weeks: int, group: int
    ) -> World:
        org, site, progs, people = _org(name, programs, staff)
        start = monday - timedelta(weeks=weeks)
        end = monday + timedelta(days=7)
        rooms = Room.objects.bulk_create(
            Room(site=site, name=f"Room {i}", capacity=16) for i in range(programs * tracks_per)
        )
        tracks = [
            Track(
                program=program,
                name=f"Track {p_index + 1}.{t + 1}",
                kind="day_sud",
                population="adult",
                weekdays="01234",
                day_start=clock(9, 0),
                day_end=clock(12, 0),
                min_hours_per_week=9,
                min_days_per_week=3,
                max_group_size=16,
                typical_weeks=10,
            )
            for p_index, program in enumerate(progs)
            for t in range(tracks_per)
        ]
        tracks = Track.objects.bulk_create(tracks)
        if tracks[-1].pk is None:
            tracks = list(Track.objects.filter(program__in=progs).order_by("pk"))
        # Patients and episodes: one per stay of each slot of each track.
        stays: list[tuple[Track, int, date, date | None]] = []
        for t_index, track in enumerate(tracks):
            size = group + 1 if t_index == 0 else group
            for slot in range(size):
                first = start - timedelta(days=(slot * 5 + t_index) % STAY_DAYS)
                k = 0
                while first + timedelta(days=k * STAY_DAYS) <= today:
                    begin = first + timedelta(days=k * STAY_DAYS)
                    finish = begin + timedelta(days=STAY_DAYS)
                    stays.append((track, t_index, begin, None if finish > today else finish))
                    k += 1
        patients = Patient.objects.bulk_create(
            (
                Patient(
                    organization=org,
                    mrn=f"B{org.pk}{i:08d}",
                    legal_given_name=f"Given{i}",
                    legal_family_name=f"Bench{i:06d}",
                    date_of_birth=date(1970 + i % 35, 1 + i % 12, 1 + i % 28),
                    sex_at_birth="female" if i % 2 else "male",
                    phone=f"555-{200 + i % 700:03d}-{i % 10000:04d}",
                    phone_digits=f"555{200 + i % 700:03d}{i % 10000:04d}",
                )
                for i in range(len(stays))
            ),
            batch_size=2000,
        )
        if patients[-1].pk is None:
            patients = list(Patient.objects.filter(organization=org).order_by("pk"))
        counselor = {t.pk: people[i % len(people)] for i, t in enumerate(tracks)}
        episodes = Episode.objects.bulk_create(
            (
                Episode(
                    patient=p,
                    program_id=track.program_id,
                    status="active" if ended is None else "discharged",
                    level_of_care="2.1",
                    primary_counselor=counselor[track.pk],
                    referred_on=begin - timedelta(days=7),
                    admitted_on=begin,
                    ended_on=ended,
                )
                for p, (track, _, begin, ended) in zip(patients, stays, strict=True)
            ),
            batch_size=2000,
        )
        if episodes[-1].pk is None:
            episodes = list(Episode.objects.filter(patient__organization=org).order_by("pk"))
        Enrolment.objects.bulk_create(
            (
                Enrolment(
                    patient=p,
                    episode=e,
                    track=track,
                    start_on=begin,
                    ended_on=ended,
                    end_reason="discharge" if ended else "",
                    created_by=counselor[track.pk],
                )
                for p, e, (track, _, begin, ended) in zip(patients, episodes, stays, strict=True)
            ),
            batch_size=2000,
        )
        # Sessions: three one-hour groups a weekday, for every track.
        session_rows = []
        day = start
        while day < end:
            if day.weekday() < 5:
                for t_index, track in enumerate(tracks):
                    for s_index, slot in enumerate(SLOTS):
                        starts = datetime.combine(day, clock.fromisoformat(slot), tzinfo=tz)
                        session_rows.append(
                            GroupSession(
                                track=track,
                                program_id=track.program_id,
                                on=day,
                                starts_at=starts,
                                ends_at=starts + timedelta(hours=1),
                                room=rooms[t_index],
                                facilitator=people[(t_index * 3 + s_index) % len(people)],
                                capacity=16,
                            )
                        )
            day += timedelta(days=1)
        sessions = GroupSession.objects.bulk_create(session_rows, batch_size=5000)
        if sessions[-1].pk is None:
            sessions = list(GroupSession.objects.filter(program__in=progs).order_by("pk"))
        by_track_day: dict[tuple[int, date], list[GroupSession]] = {}
        for s in sessions:
            by_track_day.setdefault((s.track_id, s.on), []).append(s)
        # Weekly individual appointments (Tuesdays 13:00, 50 min) during each stay.
        appt_rows = []
        for p, (track, _, begin, ended) in zip(patients, stays, strict=True):
            d = begin + timedelta(days=(1 - begin.weekday()) % 7)
            last = min(ended or end, end)
            while d < last:
                starts = datetime.combine(d, clock(13, 0), tzinfo=tz)
                appt_rows.append(
                    Appointment(
                        patient=p,
                        program_id=track.program_id,
                        kind="individual",
                        staff=counselor[track.pk],
                        on=d,
                        starts_at=starts,
                        ends_at=starts + timedelta(minutes=50),
                        created_by=counselor[track.pk],
                    )
                )
                d += timedelta(days=7)
        appointments = Appointment.objects.bulk_create(appt_rows, batch_size=5000)
        if appointments and appointments[-1].pk is None:
            appointments = list(Appointment.objects.filter(program__in=progs).order_by("pk"))
        statuses = [m for m, _ in MARKS]
        weights = [w for _, w in MARKS]

        def marks() -> Iterator[tuple[Any, ...]]:
            for p, (track, _, begin, ended) in zip(patients, stays, strict=True):
                d = max(begin, start)
                stop = min(ended or today, today)  # nothing marked today yet
                recorder = counselor[track.pk].pk
                while d < stop:
                    for s in by_track_day.get((track.pk, d), ()):
                        status = rng.choices(statuses, weights)[0]
                        late = 10 if status == "late" else 0
                        early = 15 if status == "left_early" else 0
                        minutes = 0 if status.startswith("absent") else 60 - late - early
                        yield (
                            uuid.uuid4(),
                            stamp,
                            stamp,
                            p.pk,
                            track.program_id,
                            track.pk,
                            s.pk,
                            None,
                            d,
                            status,
                            late,
                            early,
                            minutes,
                            False,
                            None,
                            None,
                            recorder,
                            stamp,
                            1,
                        )
                    d += timedelta(days=1)
            for a in appointments:
                if a.on < today:
                    kept = rng.random() < 0.92
                    yield (
                        uuid.uuid4(),
                        stamp,
                        stamp,
                        a.patient_id,
                        a.program_id,
                        None,
                        None,
                        a.pk,
                        a.on,
                        "present" if kept else "absent_unexcused",
                        0,
                        0,
                        50 if kept else 0,
                        False,
                        None,
                        None,
                        a.staff_id,
                        stamp,
                        1,
                    )

        columns = [
            "public_id",
            "created_at",
            "updated_at",
            "patient_id",
            "program_id",
            "track_id",
            "session_id",
            "appointment_id",
            '"on"',
            "status",
            "late_minutes",
            "left_early_minutes",
            "minutes_attended",
            "walk_in",
            "checked_in_at",
            "checked_in_by_id",
            "recorded_by_id",
            "recorded_at",
            "version",
        ]
        rows = _copy(AttendanceRecord, columns, marks())
        first_track = tracks[0]
        first_session = by_track_day[(first_track.pk, today)][0] if today.weekday() < 5 else None
        return World(
            director=org_director(org),
            program=progs[0],
            track=first_track,
            session=first_session,
            staff=people[0],
            today=today,
            counts={
                "patients": len(patients),
                "active": sum(1 for s in stays if s[3] is None),
                "sessions": len(sessions),
                "appointments": len(appointments),
                "marks": rows,
            },
        )

    big = build("Riverside Recovery", PROGRAMS, TRACKS_PER_PROGRAM, STAFF, weeks, GROUP)
    small = build("Small Clinic", 1, 1, 3, 2, 3)
    return big, small


def org_director(org: Any) -> Any:
    from openiop.accounts.models import User

    return User.objects.get(organization=org, role="program_director")


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Measuring ---------------------------------------------------------------------------


def signed_in(user: Any) -> Any:
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    return client


@dataclass
class Page:
    name: str
    label: str
    call: Callable[[Any, World], Any]  # (client, world) -> response


def _ok(response: Any, what: str, expect: int = 200) -> Any:
    if response.status_code != expect:
        raise SystemExit(f"{what} answered {response.status_code}")
    return response


def census(client: Any, w: World) -> Any:
    return _ok(
        client.get(
            "/attendance/", {"day": w.today.isoformat(), "program": str(w.program.public_id)}
        ),
        "census",
    )


def compliance(client: Any, w: World) -> Any:
    return _ok(
        client.get(
            "/attendance/compliance/",
            {"track": str(w.track.public_id), "week": w.today.isoformat()},
        ),
        "compliance report",
    )


def staff_week(client: Any, w: World) -> Any:
    return _ok(
        client.get(
            f"/scheduling/staff/{w.staff.public_id}/calendar/", {"date": w.today.isoformat()}
        ),
        "staff week calendar",
    )


_flip = {"n": 0}


def save_group(client: Any, w: World) -> Any:
    """POST the roster of today's session (15 patients), alternating marks so every
    save changes every line; the version is read from the database as the form has it."""
    from openiop.attendance.models import AttendanceSheet
    from openiop.scheduling.selectors import session_roster

    if w.session is None:
        raise SystemExit("no session on the bench day")
    roster = session_roster(w.session)
    sheet = AttendanceSheet.objects.filter(session=w.session).first()
    _flip["n"] += 1
    status = "present" if _flip["n"] % 2 else "late"
    data: dict[str, Any] = {
        "version": str(sheet.version if sheet else 0),
        "submission_token": str(uuid.uuid4()),
        "action": "save",
        "line": [str(e.patient.public_id) for e in roster],
    }
    for e in roster:
        data[f"status-{e.patient.public_id}"] = status
        if status == "late":
            data[f"late_minutes-{e.patient.public_id}"] = "5"
    return _ok(client.post(f"/attendance/sessions/{w.session.public_id}/", data), "save", 302)


PAGES = [
    Page("census", "Census of one program, a weekday (9 tracks, 27 groups, ~380 lines)", census),
    Page("save", "Save attendance for a group of 15 (POST, every line changed)", save_group),
    Page("staff_week", "Staff week calendar (scheduling)", staff_week),
    Page("compliance", "Weekly compliance report of a track (15 patients)", compliance),
]


def count_queries(client: Any, page: Page, w: World) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page.call(client, w)
    with CaptureQueriesContext(connection) as ctx:
        page.call(client, w)
    return len(ctx.captured_queries)


def timed(client: Any, page: Page, w: World, n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        page.call(client, w)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        page.call(client, w)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def profile(client: Any, page: Page, w: World, n: int) -> None:
    """cProfile over n requests of one page: where the server's time goes."""
    import cProfile
    import pstats

    page.call(client, w)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        page.call(client, w)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def run(args: argparse.Namespace) -> int:
    return run_on_fresh_database(
        label="scheduling and attendance",
        prefix="openiop-bench-scheduling-",
        pg_database=PG_DATABASE,
        force_sqlite=args.sqlite,
        keep=args.keep_db,
        measure=lambda vendor: measure(args, vendor),
    )


def measure(args: argparse.Namespace, vendor: str) -> int:
    django_ready()

    started = time.perf_counter()
    big, small = seed(args.weeks, random.Random(SEED))
    analyze()
    seeded = time.perf_counter() - started
    print(f"seeded {big.counts} in {seeded:.0f} s")
    if big.session is None:
        print("No session on the bench day to take attendance for; nothing measured.")
        return 1
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
        profile(big_client, next(p for p in PAGES if p.name == args.profile), big, args.requests)
        return 0
    load_before = os.getloadavg()
    rows = []
    for page in PAGES:
        samples = timed(big_client, page, big, args.requests, args.warmup)
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
            f"Run {when}: {vendor}; one organization with {PROGRAMS} programs, {STAFF} staff, "
            f"{PROGRAMS * TRACKS_PER_PROGRAM} tracks (Mon-Fri, three 1-hour groups a day), "
            f"{big.counts['active']} active patients ({big.counts['patients']} over "
            f"{args.weeks} weeks of 10-week stays), {big.counts['sessions']:,} group sessions, "
            f"{big.counts['appointments']:,} appointments, {big.counts['marks']:,} attendance "
            f"marks (seeded in {seeded:.0f} s, then ANALYZE). {args.requests} timed requests "
            f"per page after {args.warmup} warm-up; DEBUG off; persistent connections; signed "
            "in as the director of every program. Load average (1/5/15 min) "
            + " / ".join(f"{x:.1f}" for x in load_before)
            + " before, "
            + " / ".join(f"{x:.1f}" for x in os.getloadavg())
            + f" after, {os.cpu_count()} CPUs."
        )
        print()
        print("| page | median ms | p95 ms | queries | queries, small clinic |")
        print("|---|---|---|---|---|")
        for label, median, p95, count, small_count in rows:
            print(f"| {label} | {median:.1f} | {p95:.1f} | {count} | {small_count} |")
        print()
        print(
            "Small clinic: 1 program, 1 track of 3 patients, 2 weeks of history. The query "
            "counts do not grow with patients or history (also asserted in "
            "openiop/attendance/tests/test_views.py)."
        )
    report_out(
        args,
        report.getvalue(),
        name=f"scheduling-{vendor.split()[0]}",
        heading=f"Scheduling and attendance at clinic scale, {vendor.split()[0]}",
        intro="`make bench` runs `bench/scheduling.py` (issue 4): census, saving a group's "
        "attendance, a staff week calendar and the weekly compliance report.",
        what="scheduling/attendance",
    )
    return 0


def main() -> int:
    parser = bench_parser(__doc__, requests=30)
    parser.add_argument("--weeks", type=int, default=104, help="weeks of history")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--show-queries", choices=[p.name for p in PAGES], help="print a page's SQL"
    )
    parser.add_argument(
        "--profile", choices=[p.name for p in PAGES], help="cProfile a page (--requests times)"
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
