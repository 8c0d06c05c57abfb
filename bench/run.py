"""`make bench`: server time and queries of patient search and the chart, 10,000 patients.

Runs in-process with django.test.Client against a fresh database: PostgreSQL when it
answers on 127.0.0.1:5432 (database openiop_bench, created and dropped here), else
SQLite in a temporary directory. DEBUG is off and connections are persistent.

The goal (docs/PERFORMANCE.md, after the performance baseline's G1 and G2): constant
query counts, and each page's median server time at most twice the baseline's. The
baseline is a bare Django view (bench/urls.py) that renders a page of the same size
from one indexed query; there is one sized like the chart and one like the search.

Usage: .venv/bin/python bench/run.py [--sqlite] [--patients N] [--requests N]
       [--no-write] [--keep-db] [--show-queries] [--profile PAGE]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
PG_DATABASE = "openiop_bench"
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
SEED = 1
GOAL_RATIO = 2.0
_CHART_LINK = re.compile(rb'href="/patients/[0-9a-f-]{36}/"')


# --- The database -----------------------------------------------------------------------


@dataclass
class Database:
    vendor: str  # "postgresql" or "sqlite"
    url: str
    version: str = ""


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def database_prepare(tmp: Path, force_sqlite: bool, reuse: bool = False) -> Database:
    if not force_sqlite and postgres_answers():
        import psycopg

        try:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                exists = admin.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)
                ).fetchone()
                if not (reuse and exists):
                    admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
                    admin.execute(f"CREATE DATABASE {PG_DATABASE}")
                row = admin.execute("SHOW server_version").fetchone()
        except psycopg.Error as error:
            print(f"bench: PostgreSQL answered but refused ({error}); using SQLite.")
        else:
            version = str(row[0]).split()[0] if row else ""
            return Database(
                "postgresql", f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}", version
            )
    import sqlite3

    return Database("sqlite", f"sqlite:///{tmp / 'bench.sqlite3'}", sqlite3.sqlite_version)


def database_drop(db: Database) -> None:
    if db.vendor == "postgresql":
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def environment_set(tmp: Path, db: Database) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "OPENIOP_ENV": "development",
            "DATA_DIR": str(tmp),
            "STATIC_ROOT": str(tmp / "static"),
            "DATABASE_URL": db.url,
            "DB_CONN_MAX_AGE": "600",
            "DEMO_MODE": "false",
            "DEBUG": "false",
        }
    )
    sys.path.insert(0, str(ROOT))


# --- Measuring pages ------------------------------------------------------------------------


@dataclass
class Page:
    key: str
    label: str
    make_url: Callable[[random.Random], str]
    client: Any  # django.test.Client
    baseline: str = ""  # key of the same-size baseline page; "" for a baseline
    times_ms: list[float] = field(default_factory=list)
    round_medians: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_ms, n=20)[18]


def get(client: Any, url: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"bench: GET {url} answered {response.status_code}")
    return response


def measure(pages: list[Page], requests: int, rounds: int, warmup: int) -> None:
    """Interleaved rounds, page order rotated each round, random keys per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(SEED)
    for page in pages:
        for _ in range(warmup):
            get(page.client, page.make_url(rng))
    per_round = max(1, requests // rounds)
    for number in range(rounds):
        shift = number % len(pages)
        for page in pages[shift:] + pages[:shift]:
            samples = []
            for _ in range(per_round):
                url = page.make_url(rng)
                started = time.perf_counter()
                response = get(page.client, url)
                samples.append((time.perf_counter() - started) * 1000)
                page.sizes.append(len(response.content))
                page.rows.append(len(_CHART_LINK.findall(response.content)))
            page.times_ms.extend(samples)
            page.round_medians.append(statistics.median(samples))
    # Queries in a pass of their own: recording them costs time. Round trips: statements
    # sent together in one pipeline count once (openiop.core.db.traffic).
    from openiop.core.db import traffic

    for page in pages:
        for _ in range(max(20, requests // 10)):
            with CaptureQueriesContext(connection) as ctx, traffic(connection) as sent:
                get(page.client, page.make_url(rng))
            page.queries.append(len(ctx.captured_queries))
            page.round_trips.append(sent.round_trips)


def count_queries(client: Any, url: str) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get(client, url)
    with CaptureQueriesContext(connection) as ctx:
        response = get(client, url)
    return len(ctx.captured_queries), len(_CHART_LINK.findall(response.content))


def show_queries(pages: list[Page]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(SEED)
    for page in pages:
        url = page.make_url(rng)
        get(page.client, url)
        with CaptureQueriesContext(connection) as ctx:
            get(page.client, url)
        print(f"\n--- {len(ctx.captured_queries)} queries: {page.label} ---")
        for query in ctx.captured_queries:
            print(f"[{float(query['time']) * 1000:.0f} ms] {query['sql'][:300]}")


def profile(page: Page) -> None:
    rng = random.Random(SEED)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(100):
        get(page.client, page.make_url(rng))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(
        os.environ.get("BENCH_SORT", "cumulative")
    ).print_stats(int(os.environ.get("BENCH_LINES", "45")))
    print(f"\n--- cProfile, 100 requests of {page.label} ---")
    print(out.getvalue())


# --- Where the time goes ----------------------------------------------------------------------


def timed(call: Callable[[], object], repeat: int = 40) -> tuple[float, float]:
    """(min, median) milliseconds of a call, after one warm-up call."""
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return min(samples), statistics.median(samples)


def breakdown(
    staff_client: Any, anonymous: Any, director: Any, visible: list[tuple[Any, str, str]]
) -> list[tuple[str, str, float, float]]:
    """The parts of each page timed on their own, the way the views call them."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.utils import timezone

    from openiop.audit.models import AuditAction
    from openiop.audit.services import audit_patients_listed, audit_record
    from openiop.patients import selectors
    from openiop.patients.models import Patient
    from openiop.patients.rules import parse_search

    rng = random.Random(SEED + 1)
    director.is_verified = lambda: True  # what OTPMiddleware sets on a verified user
    request = RequestFactory().get("/")
    request.user = director

    def search_term() -> str:
        _, given, family = rng.choice(visible)
        return rng.choice((given, family))[:4].lower()

    def chart_access() -> Any:
        return selectors.patient_get_for_user(
            actor=director, public_id=rng.choice(visible)[0], now=timezone.now()
        )

    results = selectors.patient_search(actor=director, terms=parse_search("an"), now=timezone.now())
    access = chart_access()
    chart = selectors.chart_get(access=access, actor=director, now=timezone.now())
    chart_context = {
        "chart": chart,
        "patient": chart.patient,
        "age": 40,
        "can_edit": True,
        "can_cover": True,
        "can_manage": True,
    }
    search_context = {"query": "an", "results": results, "limit": 50, "today": timezone.now()}
    baseline_rows = list(Patient.objects.order_by("pk")[:50])
    parts: list[tuple[str, str, Callable[[], object]]] = [
        ("both", "`/healthz` anonymous (middleware floor, 1 query)",
         lambda: get(anonymous, "/healthz")),
        ("both", "`/healthz` signed in: + session, user and OTP device (1 statement)",
         lambda: get(staff_client, "/healthz")),
        ("search", "`patient_search` selector, 4-letter name part (1 query)",
         lambda: selectors.patient_search(
             actor=director, terms=parse_search(search_term()), now=timezone.now())),
        ("search", f"audit: one event per listed patient ({len(results)} rows, one append)",
         lambda: audit_patients_listed(actor=director, patients=results,
                                       object_type="bench", detail={})),
        ("search", f"render `patients/search.html`, {len(results)} rows",
         lambda: render_to_string("patients/search.html", search_context, request)),
        ("chart", "`patient_get_for_user` (access check, 1 query)", chart_access),
        ("chart", "access check + `chart_get` (5 reads; 1 round trip on PostgreSQL)",
         lambda: selectors.chart_get(access=chart_access(), actor=director, now=timezone.now())),
        ("chart", "audit: one read event alone (the page sends it with its reads)",
         lambda: audit_record(actor=director, action=AuditAction.READ, patient=access.patient,
                              object_type="bench")),
        ("chart", "render `patients/chart.html`",
         lambda: render_to_string("patients/chart.html", chart_context, request)),
        ("baseline", "baseline: the one query, 50 rows",
         lambda: list(Patient.objects.filter(pk__gt=rng.randint(0, 5000)).order_by("pk")[:50])),
        ("baseline", "baseline: render 50 rows",
         lambda: render_to_string("bench/baseline.html", {"patients": baseline_rows}, request)),
    ]  # fmt: skip
    return [(page, label, *timed(call)) for page, label, call in parts]


# --- The run ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    import django

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc or str(os.cpu_count()),
        "cpu": cpu or platform.processor() or "unknown CPU",
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return "n/a"


def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="openiop-bench-"))
    db = database_prepare(tmp, args.sqlite, reuse=args.reuse_db)
    print(f"bench: database {db.vendor} {db.version}; temporary files in {tmp}")
    try:
        environment_set(tmp, db)
        return measure_all(args, db)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not (args.keep_db or args.reuse_db):
            database_drop(db)
            shutil.rmtree(tmp, ignore_errors=True)


def measure_all(args: argparse.Namespace, db: Database) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from openiop.accounts.models import User
    from openiop.core.middleware import SESSION_AUTH_AT, SESSION_SEEN_AT
    from openiop.patients.models import Patient
    from openiop.patients.selectors import SEARCH_LIMIT, patient_visible_qs

    assert not settings.DEBUG
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    out = io.StringIO()
    started = time.perf_counter()
    if not (args.reuse_db and Patient.objects.exists()):
        call_command(
            "demo_data", patients=args.patients, seed=SEED, allow_non_demo=True, stdout=out
        )
    seed_seconds = time.perf_counter() - started
    print(out.getvalue().rstrip())
    # Planner statistics and visibility maps, as autovacuum keeps them on a live
    # database: without them PostgreSQL misjudges every filter on freshly bulk-loaded
    # tables and index-only scans visit the heap. (VACUUM cannot run in a transaction;
    # Django's connection is in autocommit here.)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    # Signed in as the director, password and second factor (as conftest.verified_client).
    director = User.objects.get(username="director")
    device = TOTPDevice.objects.get(user=director, confirmed=True)
    staff_client = Client()
    staff_client.force_login(director)
    session = staff_client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    # The idle clock is written back at most every 30 s (three queries when it is);
    # start it a day ahead so that no measured request carries that write.
    now = timezone.now().timestamp()
    session[SESSION_AUTH_AT] = now
    session[SESSION_SEEN_AT] = now + 86_400
    session.save()
    anonymous = Client()

    visible = list(
        patient_visible_qs(actor=director, now=timezone.now()).values_list(
            "public_id", "legal_given_name", "legal_family_name"
        )
    )
    patient_pks = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    print(f"bench: director sees {len(visible)} of {len(patient_pks)} patients")

    def search_url(rng: random.Random) -> str:
        _, given, family = rng.choice(visible)
        name = rng.choice((given, family))
        return f"/patients/?q={name[: rng.randint(3, 6)].lower()}"

    def chart_url(rng: random.Random) -> str:
        return f"/patients/{rng.choice(visible)[0]}/"

    # Each baseline renders as many rows as make a page of its real page's size.
    calibration = random.Random(SEED)
    one_row = len(get(anonymous, "/bench/baseline/?rows=1").content)
    per_row = (len(get(anonymous, "/bench/baseline/?rows=41").content) - one_row) / 40

    def baseline_for(make_url: Callable[[random.Random], str]) -> Callable[[random.Random], str]:
        size = statistics.median(
            len(get(staff_client, make_url(calibration)).content) for _ in range(50)
        )
        rows = max(1, round(1 + (size - one_row) / per_row))
        last = patient_pks[max(0, len(patient_pks) - rows - 1)]
        return lambda rng: f"/bench/baseline/?rows={rows}&after={rng.randint(0, last)}"

    chart_baseline = baseline_for(chart_url)
    search_baseline = baseline_for(search_url)
    rows_of = {
        url_maker: int(url_maker(calibration).split("rows=")[1].split("&")[0])
        for url_maker in (chart_baseline, search_baseline)
    }
    pages = [
        Page(
            "baseline-chart",
            f"Baseline sized like the chart: bare view, 1 query, {rows_of[chart_baseline]} rows",
            chart_baseline,
            anonymous,
        ),
        Page(
            "baseline-search",
            f"Baseline sized like the search: bare view, 1 query, {rows_of[search_baseline]} rows",
            search_baseline,
            anonymous,
        ),
        Page(
            "search",
            "Patient search `/patients/?q=<3-6 letters of a name>`",
            search_url,
            staff_client,
            baseline="baseline-search",
        ),
        Page("chart", "Chart `/patients/<uuid>/`", chart_url, staff_client, "baseline-chart"),
    ]
    # The chart's other tabs, each against a baseline of its own size (informational:
    # the goal names the chart page, which is the overview tab).
    from openiop.patients.chart_sections import SECTIONS

    for section in SECTIONS if args.tabs else ():
        if section.placeholder:
            continue

        def tab_url(rng: random.Random, key: str = section.key) -> str:
            return f"/patients/{rng.choice(visible)[0]}/chart/{key}/"

        tab_baseline = baseline_for(tab_url)
        rows = int(tab_baseline(calibration).split("rows=")[1].split("&")[0])
        pages += [
            Page(f"baseline-{section.key}", f"Baseline sized like the {section.key} tab, "
                 f"{rows} rows", tab_baseline, anonymous),
            Page(f"tab-{section.key}", f"Chart tab `/patients/<uuid>/chart/{section.key}/`",
                 tab_url, staff_client, f"baseline-{section.key}"),
        ]  # fmt: skip
    if args.profile:
        profile(next(p for p in pages if p.key == args.profile))
        return 0
    if args.show_queries:
        show_queries(pages)
        return 0

    load_before = load_average()
    measure(pages, args.requests, args.rounds, args.warmup)

    # The same number of queries for a one-row result as for a full page of results.
    unique_names = {}
    for _, given, family in visible:
        unique_names[(given, family)] = (given, family) not in unique_names
    given, family = next(name for name, unique in unique_names.items() if unique)
    few = count_queries(staff_client, f"/patients/?q={family.lower()}+{given.lower()}")
    many = count_queries(staff_client, "/patients/?q=an")
    assert many[1] == SEARCH_LIMIT, many

    parts = breakdown(staff_client, anonymous, director, visible)
    facts = machine() | {
        "database": f"{db.vendor} {db.version}",
        "patients": str(args.patients),
        "seed_seconds": f"{seed_seconds:.1f}",
        "load": f"{load_before} before, {load_average()} after",
    }
    report = report_markdown(pages, facts, args, (*few, *many), parts)
    print()
    print(report)
    if not args.no_write:
        doc_update(db.vendor, report)
        print(f"\nbench: wrote the {db.vendor} results into {DOC.relative_to(ROOT)}")
    if few[0] != many[0]:
        print("bench: FAIL: the search's query count grows with its results")
        return 1
    return 0


def report_markdown(
    pages: list[Page],
    facts: dict[str, str],
    args: argparse.Namespace,
    search_check: tuple[int, int, int, int],
    parts: list[tuple[str, str, float, float]],
) -> str:
    by_key = {page.key: page for page in pages}
    lines = [
        f"Run {facts['date']}: {facts['nproc']} CPUs ({facts['cpu']}), Python "
        f"{facts['python']}, Django {facts['django']}, {facts['database']}; load average "
        f"(1/5/15 min) {facts['load']}. {facts['patients']} patients from "
        f"`demo_data --seed {SEED}`, loaded in {facts['seed_seconds']} s. "
        f"{len(pages[0].times_ms)} timed requests per page in {args.rounds} interleaved "
        f"rounds after {args.warmup} warm-up requests, random keys; DEBUG off, persistent "
        "connections; signed in as `director` (password and TOTP verified).",
        "",
        "| page | median ms | p95 ms | queries per request (median (min-max)) | round trips "
        "| bytes | rows | median / same-size baseline [range over rounds] | p95 / baseline p95 "
        "| goal 2x |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for page in pages:
        queries, trips = _spread(page.queries), _spread(page.round_trips)
        ratio_cells = "| — | — | — |"
        if page.baseline:
            base = by_key[page.baseline]
            ratio = page.median / base.median
            rounds = [m / b for m, b in zip(page.round_medians, base.round_medians, strict=True)]
            verdict = "met" if ratio <= GOAL_RATIO else "**missed**"
            ratio_cells = (
                f"| {ratio:.2f}x [{min(rounds):.2f}-{max(rounds):.2f}] "
                f"| {page.p95 / base.p95:.2f}x | {verdict} |"
            )
        rows = statistics.median(page.rows)
        lines.append(
            f"| {page.label} | {page.median:.2f} | {page.p95:.2f} | {queries} | {trips} "
            f"| {statistics.median(page.sizes):,.0f} | {f'{rows:g}' if rows else '—'} "
            + ratio_cells
        )
    few_q, few_rows, many_q, many_rows = search_check
    same = "the same" if few_q == many_q else "**different**"
    lines += [
        "",
        f"Search queries: {few_q} for a {few_rows}-row result, {many_q} for a {many_rows}-row "
        f"result ({same}).",
        "",
        "Where the time goes (each part timed on its own, in-process, 40 calls; min / median ms):",
        "",
        "| page | part | min ms | median ms |",
        "|---|---|---|---|",
    ]
    lines += [f"| {page} | {label} | {low:.2f} | {mid:.2f} |" for page, label, low, mid in parts]
    return "\n".join(lines)


def _spread(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return f"{low}" if low == high else f"{statistics.median(counts):g} ({low}-{high})"


def doc_update(vendor: str, report: str) -> None:
    """Replace this database's block in docs/PERFORMANCE.md (between its markers)."""
    begin, end = f"<!-- bench:{vendor}:begin -->", f"<!-- bench:{vendor}:end -->"
    block = f"{begin}\n{report}\n{end}"
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n### Results on {vendor}\n\n{block}\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="SQLite even if PostgreSQL answers")
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="leave docs/PERFORMANCE.md alone")
    parser.add_argument(
        "--no-tabs", dest="tabs", action="store_false", help="only search, chart and baselines"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database and temp files")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="PostgreSQL: keep the database between runs and load the demo only when empty",
    )
    parser.add_argument("--show-queries", action="store_true", help="print each page's SQL")
    parser.add_argument(
        "--profile",
        choices=["baseline-chart", "baseline-search", "search", "chart"],
        help="cProfile 100 requests of one page instead of measuring",
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
