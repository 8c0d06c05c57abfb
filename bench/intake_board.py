"""The referral pipeline board with 5,000 referrals: server time and queries.

Runs in-process with django.test.Client against a fresh database, as bench/run.py
does: PostgreSQL when it answers on 127.0.0.1:5432 (database openiop_bench_intake,
created and dropped here), else SQLite in a temporary directory. DEBUG is off and
connections are persistent (bench/settings.py). Seeds one organization with three
programs, a director who belongs to all of them, and N referrals spread over the
stages, the programs and the intake pool (plus their history rows and contact
attempts), then times the board, its filters and the paginated list. A second
organization with 5 referrals gives the query count of a near-empty board.

Usage: .venv/bin/python bench/intake_board.py [--sqlite] [--referrals N] [--requests N]
       [--keep-db] [--show-queries]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    bench_parser,
    django_ready,
    report_out,
    run_on_fresh_database,
)

PG_DATABASE = "openiop_bench_intake"
SEED = 1
CLOSED = ["declined", "admitted", "unable_to_reach"]
_REFERRAL_LINK = re.compile(rb'<a href="/intake/referrals/[0-9a-f-]{36}/">')

# Roughly how a year or two of referrals settles: most are closed.
STAGE_WEIGHTS = {
    "new": 6,
    "contacted": 8,
    "screening_scheduled": 5,
    "assessed": 4,
    "offered_admission": 3,
    "admitted": 30,
    "declined": 15,
    "referred_elsewhere": 10,
    "unable_to_reach": 19,
}


def seed(referrals: int, rng: random.Random) -> dict[str, object]:
    """One organization with N referrals, and a small one with 5; returns the actors."""
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from openiop.accounts.models import ProgramMembership, User
    from openiop.intake.models import (
        ContactMethod,
        ContactOutcome,
        Referral,
        ReferralContactAttempt,
        ReferralEvent,
        ReferralSource,
        SchedulePreference,
        Urgency,
    )
    from openiop.organizations.models import Organization, Program, Site

    def organization(name: str, programs: int) -> tuple[Organization, list[Program], User]:
        org = Organization.objects.create(name=name)
        site = Site.objects.create(organization=org, name="Main Street")
        made = [
            Program.objects.create(site=site, name=f"{kind} IOP", program_type=ptype)
            for kind, ptype in (
                ("Day SUD", "sud_iop"),
                ("Evening MH", "mh_iop"),
                ("Dual", "dual_diagnosis"),
            )[:programs]
        ]
        director = User.objects.create_user(
            username=f"director-{org.pk}",
            password="bench-password-not-secret-1",  # noqa: S106
            organization=org,
            role="program_director",
            first_name="Dana",
            last_name="Director",
        )
        for program in made:
            ProgramMembership.objects.create(user=director, program=program)
        TOTPDevice.objects.create(user=director, name="bench", confirmed=True)
        return org, made, director

    def referrals_for(org: Organization, programs: list[Program], actor: User, n: int) -> None:
        now = timezone.now()
        stages = list(STAGE_WEIGHTS)
        weights = list(STAGE_WEIGHTS.values())
        rows = []
        for i in range(n):
            received = now - timedelta(days=rng.uniform(0, 730), minutes=rng.randint(0, 600))
            stage = rng.choices(stages, weights)[0]
            changed = received + (now - received) * rng.random()
            rows.append(
                Referral(
                    organization=org,
                    program=rng.choice(programs) if rng.random() < 0.8 else None,
                    source_type=rng.choice(ReferralSource.values),
                    referring_organization=rng.choice(["", "County Hospital", "Lakeside Clinic"]),
                    reason="Synthetic referral for the benchmark.",
                    urgency=rng.choices(Urgency.values, [70, 20, 10])[0],
                    given_name=f"Given{i}",
                    family_name=f"Bench{i:05d}",
                    phone=f"555-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                    preferred_contact_method=rng.choice(ContactMethod.values),
                    schedule_preference=rng.choice(SchedulePreference.values),
                    stage=stage,
                    stage_changed_at=changed,
                    received_at=received,
                    created_by=actor,
                )
            )
        made = Referral.objects.bulk_create(rows, batch_size=500)
        if made and made[-1].pk is None:  # backends without RETURNING
            made = list(Referral.objects.filter(organization=org).order_by("pk"))
        events = []
        attempts = []
        for referral in made:
            events.append(
                ReferralEvent(
                    referral=referral,
                    kind="created",
                    to_stage="new",
                    changed_by=actor,
                    changed_at=referral.received_at,
                )
            )
            if referral.stage != "new":
                events.append(
                    ReferralEvent(
                        referral=referral,
                        kind="stage",
                        from_stage="new",
                        to_stage=referral.stage,
                        changed_by=actor,
                        changed_at=referral.stage_changed_at,
                    )
                )
            attempts.extend(
                ReferralContactAttempt(
                    referral=referral,
                    attempted_at=referral.received_at + timedelta(hours=4 * (k + 1)),
                    method=rng.choice(ContactMethod.values),
                    outcome=rng.choice(ContactOutcome.values),
                    made_by=actor,
                )
                for k in range(rng.randint(0, 3))
            )
        ReferralEvent.objects.bulk_create(events, batch_size=1000)
        ReferralContactAttempt.objects.bulk_create(attempts, batch_size=1000)

    big_org, big_programs, big_director = organization("Riverside Recovery", 3)
    referrals_for(big_org, big_programs, big_director, referrals)
    small_org, small_programs, small_director = organization("Small Clinic", 1)
    referrals_for(small_org, small_programs, small_director, 5)
    return {
        "big": big_director,
        "small": small_director,
        "programs": big_programs,
    }


def signed_in(user: object) -> object:
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    return client


def get(client: object, url: str) -> object:
    response = client.get(url)  # type: ignore[attr-defined]
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return response


def queries_of(client: object, url: str) -> tuple[int, int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get(client, url)
    with CaptureQueriesContext(connection) as ctx:
        response = get(client, url)
    cards = len(_REFERRAL_LINK.findall(response.content))  # type: ignore[attr-defined]
    return (
        len(ctx.captured_queries),
        cards,
        [f"[{float(q['time']) * 1000:.1f} ms] {q['sql']}" for q in ctx.captured_queries],
    )


def timed(
    client: object, make_url: Callable[[random.Random], str], n: int, warmup: int
) -> list[float]:
    rng = random.Random(SEED)
    for _ in range(warmup):
        get(client, make_url(rng))
    samples = []
    for _ in range(n):
        url = make_url(rng)
        started = time.perf_counter()
        get(client, url)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(args: argparse.Namespace) -> int:
    return run_on_fresh_database(
        label="intake board",
        prefix="openiop-bench-intake-",
        pg_database=PG_DATABASE,
        force_sqlite=args.sqlite,
        keep=args.keep_db,
        measure=lambda vendor: measure(args, vendor),
    )


def measure(args: argparse.Namespace, vendor: str) -> int:
    django_ready()

    from openiop.intake import selectors
    from openiop.intake.models import Referral

    started = time.perf_counter()
    actors = seed(args.referrals, random.Random(SEED))
    print(f"seeded {Referral.objects.count()} referrals in {time.perf_counter() - started:.1f} s")
    big = signed_in(actors["big"])
    small = signed_in(actors["small"])
    programs = actors["programs"]
    assert isinstance(programs, list)

    pages: list[tuple[str, Callable[[random.Random], str]]] = [
        ("Board, all programs and the pool `/intake/`", lambda rng: "/intake/"),
        (
            "Board filtered by program and urgency",
            lambda rng: (
                f"/intake/?program={rng.choice(programs).public_id}"
                f"&urgency={rng.choice(['routine', 'soon', 'urgent'])}"
            ),
        ),
        (
            "List of one stage, a random page `/intake/referrals/?stage=…&page=…`",
            lambda rng: f"/intake/referrals/?stage={rng.choice(CLOSED)}&page={rng.randint(1, 10)}",
        ),
    ]
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(10):
            get(big, "/intake/")
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return 0
    if args.show_queries:
        count, cards, sql = queries_of(big, "/intake/")
        print(f"\n--- {count} queries, {cards} cards: /intake/ ---")
        for statement in sql:
            print(statement[:300])
        return 0

    load_before = os.getloadavg()
    rows = []
    for label, make_url in pages:
        samples = timed(big, make_url, args.requests, args.warmup)
        count, cards, _ = queries_of(big, make_url(random.Random(SEED)))
        rows.append(
            (
                label,
                statistics.median(samples),
                statistics.quantiles(samples, n=20)[18],
                count,
                cards,
            )
        )
    parts = time_parts(actors["big"], programs)
    small_count, small_cards, _ = queries_of(small, "/intake/")
    big_count, big_cards, _ = queries_of(big, "/intake/")
    cap = 5 * selectors.CARDS_PER_OPEN_STAGE + 4 * selectors.CARDS_PER_CLOSED_STAGE
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        _print_report(
            args,
            vendor,
            date,
            load_before,
            rows,
            parts,
            small_count,
            small_cards,
            big_count,
            big_cards,
            cap,
        )
    report_out(
        args,
        report.getvalue(),
        name=f"intake-{vendor}",
        heading=f"Intake: referral pipeline board (5,000 referrals), {vendor}",
        intro="`make bench` runs `bench/intake_board.py` after `bench/run.py`.",
        what=f"intake board ({vendor})",
    )
    return 0


def _print_report(
    args: argparse.Namespace,
    vendor: str,
    date: str,
    load_before: tuple[float, float, float],
    rows: list[tuple[str, float, float, int, int]],
    parts: list[tuple[str, float]],
    small_count: int,
    small_cards: int,
    big_count: int,
    big_cards: int,
    cap: int,
) -> None:
    print(
        f"Run {date}: {vendor}, {args.referrals} referrals in one organization "
        f"(3 programs + intake pool), {args.requests} timed requests per page after "
        f"{args.warmup} warm-up requests, DEBUG off, persistent connections, signed in "
        "as a program director of all three programs. Load average (1/5/15 min) "
        + " / ".join(f"{x:.1f}" for x in load_before)
        + " before, "
        + " / ".join(f"{x:.1f}" for x in os.getloadavg())
        + f" after, {os.cpu_count()} CPUs."
    )
    print()
    print("| page | median ms | p95 ms | queries | cards shown |")
    print("|---|---|---|---|---|")
    for label, median, p95, count, cards in rows:
        print(f"| {label} | {median:.1f} | {p95:.1f} | {count} | {cards} |")
    print()
    print(
        f"Board queries: {small_count} with 5 referrals ({small_cards} cards), {big_count} "
        f"with {args.referrals} ({big_cards} cards; at most {cap} cards are ever shown)."
    )
    print()
    print("Where the board's time goes (each part on its own, 20 calls; median ms):")
    print()
    print("| part | median ms |")
    print("|---|---|")
    for label, value in parts:
        print(f"| {label} | {value:.1f} |")


def time_parts(actor: object, programs: list[object]) -> list[tuple[str, float]]:
    """The unfiltered board's selector, audit rows and template, each timed alone."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.utils import timezone

    from openiop.intake import selectors

    filters = selectors.BoardFilters()

    def board() -> object:
        return selectors.referral_board(
            actor=actor,  # type: ignore[arg-type]
            programs=programs,  # type: ignore[arg-type]
            filters=filters,
            now=timezone.now(),
        )

    built = board()
    shown = built.referrals  # type: ignore[attr-defined]
    request = RequestFactory().get("/intake/")
    request.user = actor  # type: ignore[assignment]

    def audit() -> None:
        selectors.audit_referrals_listed(
            actor=actor,  # type: ignore[arg-type]
            referrals=shown,
            object_type="referral_board",
            detail={"shown": len(shown)},
        )

    def render() -> str:
        from openiop.intake.views import board_context

        return render_to_string("intake/board.html", board_context(built), request=request)

    def median_ms(call: Callable[[], object]) -> float:
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    return [
        ("`referral_board` selector (2 queries)", median_ms(board)),
        (f"audit: one row per card ({len(shown)} rows, 1 transaction)", median_ms(audit)),
        (f"render `intake/board.html` ({len(shown)} cards)", median_ms(render)),
    ]


def main() -> int:
    parser = bench_parser(__doc__, requests=100)
    parser.add_argument("--referrals", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--show-queries", action="store_true", help="print the board's SQL")
    parser.add_argument("--profile", action="store_true", help="cProfile 10 board requests")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
