"""What the capability benchmarks share: a throwaway database (PostgreSQL when it
answers on 127.0.0.1:5432, else SQLite in a temporary folder), the environment that
points Django at it with the benchmark settings, and the block each benchmark rewrites
in docs/PERFORMANCE.md."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def database_url(tmp: Path, force_sqlite: bool, pg_database: str) -> tuple[str, str]:
    """A fresh, empty database: (DATABASE_URL, "vendor version")."""
    if not force_sqlite and postgres_answers():
        import psycopg

        try:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {pg_database} WITH (FORCE)")
                admin.execute(f"CREATE DATABASE {pg_database}")
                version = admin.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        except psycopg.Error as error:
            print(f"PostgreSQL answered but refused ({error}); using SQLite.")
        else:
            return f"postgres://postgres@127.0.0.1:5432/{pg_database}", f"postgresql {version}"
    import sqlite3

    return f"sqlite:///{tmp / 'bench.sqlite3'}", f"sqlite {sqlite3.sqlite_version}"


def database_drop(url: str, pg_database: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {pg_database} WITH (FORCE)")


def run_on_fresh_database(
    *, label: str, prefix: str, pg_database: str, force_sqlite: bool, keep: bool,
    measure: Callable[[str], int],
) -> int:  # fmt: skip
    """measure(vendor) on a fresh database in a temporary folder, which are dropped
    afterwards unless `keep`."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    url, vendor = database_url(tmp, force_sqlite, pg_database)
    print(f"bench ({label}): {vendor}; temporary files in {tmp}")
    try:
        with environment(tmp, url):
            return measure(vendor)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not keep:
            database_drop(url, pg_database)
            shutil.rmtree(tmp, ignore_errors=True)


def bench_parser(doc: str | None, *, requests: int) -> argparse.ArgumentParser:
    """The options every capability benchmark takes; each adds its own."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument(
        "--sqlite", action="store_true", help="use SQLite even if PostgreSQL answers"
    )
    parser.add_argument("--requests", type=int, default=requests, help="timed requests per page")
    parser.add_argument("--keep-db", action="store_true", help="keep the database and temp files")
    parser.add_argument("--no-write", action="store_true", help="leave docs/PERFORMANCE.md alone")
    return parser


def report_out(
    args: argparse.Namespace, text: str, *, name: str, heading: str, intro: str, what: str
) -> None:
    """Print a benchmark's report and, unless --no-write, put it in docs/PERFORMANCE.md."""
    print(text)
    if not args.no_write:
        doc_block(name, text.strip(), heading=heading, intro=intro)
        print(f"bench: wrote the {what} results into docs/PERFORMANCE.md")


def django_ready() -> None:
    """Django set up on the benchmark settings, the schema migrated, static files
    collected (the manifest storage needs them)."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert not settings.DEBUG
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


@contextlib.contextmanager
def environment(tmp: Path, url: str) -> Iterator[None]:
    """Production-like settings (DEBUG off, persistent connections) on that database."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "OPENIOP_ENV": "development",
            "DATA_DIR": str(tmp),
            "STATIC_ROOT": str(tmp / "static"),
            "DATABASE_URL": url,
            "DB_CONN_MAX_AGE": "600",
            "DEMO_MODE": "false",
            "DEBUG": "false",
        }
    )
    sys.path.insert(0, str(ROOT))
    yield


def doc_block(name: str, text: str, *, heading: str, intro: str) -> None:
    """Replace the block `name` in docs/PERFORMANCE.md (between its markers), or append
    it under `heading` with `intro` the first time."""
    doc = ROOT / "docs" / "PERFORMANCE.md"
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    block = f"{begin}\n{text}\n{end}"
    content = doc.read_text() if doc.exists() else "# Performance\n"
    if begin in content and end in content:
        content = content[: content.index(begin)] + block + content[content.index(end) + len(end) :]
    else:
        content = content.rstrip("\n") + f"\n\n## {heading}\n\n{intro}\n\n{block}\n"
    doc.write_text(content)
