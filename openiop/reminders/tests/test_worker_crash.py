"""A real django-q2 cluster (`manage.py qcluster`, separate worker processes) killed
mid-job, then the retry: messages counted at a real SMTP server. On each production
broker:

- the ORM broker on a throwaway SQLite database (the embedded default);
- the ORM broker on a throwaway PostgreSQL database (marked `postgres`: runs in CI's
  PostgreSQL pass, on the server DATABASE_URL names);
- the Redis broker (marked `redis`), on its own Redis db number and a unique queue
  name, with the application database on PostgreSQL when the suite runs there, else
  SQLite. CI fails rather than skips when Redis does not answer.

Each scenario starts from a migrated template (migrated once per module: a copied
SQLite file, or `CREATE DATABASE ... TEMPLATE`), enqueues one email reminder and starts
a cluster whose worker calls `os._exit` at one point of `send_reminder` (once: a marker
file records it).

The retry differs by broker. The ORM broker hands an unacknowledged job out again after
`retry` (JOB_TIMEOUT_SECONDS 2 + grace 1 = 3 s here). The Redis broker has no
acknowledgement: the dead worker's job is gone, and the periodic scan re-enqueues the
delivery once its claim is older than `retry` (the test enqueues the scan job on the
broker, as the schedule does every REMINDER_SCAN_MINUTES).

- after_claim (claimed, nothing sent): the retry takes over the stale claim, sends once.
- before_ack (sent and recorded, job not acknowledged): the retry, if any, finds it
  sent: once.
- after_send (the SMTP server has the message, "sent" not yet recorded): the retry
  sends again. This is the documented at-least-once window (docs/REMINDERS.md); the
  test pins it so that a change in behaviour is noticed.

What kept a scenario at ~30 s was not the queue: the module migrated a fresh database
per scenario (~8 s) and stopped the cluster with SIGTERM to its whole process group,
which kills the workers under the sentinel and leaves it waiting on its task queue
until the 20 s SIGKILL. Now the template is migrated once and only the cluster's main
process gets SIGTERM (a graceful stop in about a second); the job time-out and retry are
the smallest django-q2 and the settings accept.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from openiop.reminders.jobs import CRASH_AT_ENV, CRASH_MARKER_ENV
from openiop.reminders.tests.smtp_server import smtp_server

ROOT = Path(__file__).resolve().parents[3]
DEADLINE_SECONDS = 60
RETRY_SECONDS = 3  # JOB_TIMEOUT_SECONDS + JOB_RETRY_GRACE_SECONDS below
# A Redis db number of its own, so that nothing here touches another user's keys; only
# the test's own queue key is deleted.
REDIS_URL = os.environ.get("OPENIOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SCENARIOS = [("after_claim", 1, 2), ("before_ack", 1, 1), ("after_send", 2, 2)]
PARAMS = ("crash_at", "expected_messages", "expected_attempts")


def _on_postgres() -> bool:
    return bool(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


# --- databases -----------------------------------------------------------------------


@dataclass
class Database:
    url: str
    query: Callable[[str], tuple]  # type: ignore[type-arg]
    drop: Callable[[], None] = field(default=lambda: None)


def _sqlite(path: Path) -> Database:
    def query(sql: str) -> tuple:  # type: ignore[type-arg]
        with sqlite3.connect(path, timeout=10) as conn:
            return conn.execute(sql).fetchone()  # type: ignore[no-any-return]

    return Database(url=f"sqlite:///{path}", query=query)


def _pg_url(name: str) -> str:
    """The suite's PostgreSQL server and credentials (DATABASE_URL), another database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _postgres(name: str) -> Database:
    import psycopg

    def query(sql: str) -> tuple:  # type: ignore[type-arg]
        with psycopg.connect(_pg_url(name), autocommit=True) as conn:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
            assert row is not None
            return tuple(row)

    def drop() -> None:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return Database(url=_pg_url(name), query=query, drop=drop)


def _base_env(tmp: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "OPENIOP_ENV": "test",
            "SECRET_KEY": "worker-crash-test-key-not-secret-0123456789-abcdefghij",
            "DATA_DIR": str(tmp),
            "DATABASE_URL": database_url,
            "JOB_BROKER": "orm",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _migrate(tmp: Path, database_url: str) -> None:
    _run(["manage.py", "migrate", "--noinput", "-v", "0"], _base_env(tmp, database_url))


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("worker-template")
    _migrate(tmp, f"sqlite:///{tmp / 'template.sqlite3'}")
    return tmp / "template.sqlite3"


@pytest.fixture(scope="module")
def postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = _unique("openiop_wcrash_tpl")
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        _migrate(tmp_path_factory.mktemp("worker-pg-template"), _pg_url(name))
        yield name
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlite_from(template: Path, tmp: Path) -> Database:
    shutil.copyfile(template, tmp / "db.sqlite3")
    return _sqlite(tmp / "db.sqlite3")


def _postgres_from(template: str) -> Database:
    name = _unique("openiop_wcrash")
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _postgres(name)


# --- brokers -------------------------------------------------------------------------


@dataclass
class Broker:
    env: dict[str, str]
    queued: Callable[[Database], int]
    acknowledges: bool  # False: a dead worker's job is lost, the scan re-enqueues it


ORM = Broker(
    env={"JOB_BROKER": "orm"},
    queued=lambda db: int(db.query("SELECT count(*) FROM django_q_ormq")[0]),
    acknowledges=True,
)


def _redis_client():  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def _redis_answers() -> bool:
    import redis

    try:
        return bool(_redis_client().ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_broker() -> Iterator[Broker]:
    if not _redis_answers():
        message = f"Redis does not answer at {REDIS_URL} (install and start redis-server)"
        if os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}:
            pytest.fail(message + ": CI must run the Redis broker tests")
        pytest.skip(message)
    queue = _unique("openiop_test")
    key = f"django_q:{queue}:q"  # django-q2's list key for the queue
    client = _redis_client()
    try:
        yield Broker(
            env={"JOB_BROKER": "redis", "REDIS_URL": REDIS_URL, "JOB_QUEUE_NAME": queue},
            queued=lambda _db: int(client.llen(key)),
            acknowledges=False,
        )
    finally:
        client.delete(key)
        client.close()


# --- the scenario --------------------------------------------------------------------


def _stop(cluster: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """SIGTERM to the cluster's main process only: it stops its workers, pusher and
    monitor in order. (SIGTERM to the whole group kills the workers first and leaves
    the sentinel waiting.) Anything left after 20 s is killed."""
    if cluster.poll() is None:
        os.kill(cluster.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            cluster.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(cluster.pid, signal.SIGKILL)  # stragglers of this session only
    cluster.wait(timeout=10)


def _crash_scenario(
    tmp: Path,
    db: Database,
    broker: Broker,
    crash_at: str,
    expected_messages: int,
    expected_attempts: int,
) -> None:
    delivery_sql = "SELECT {} FROM reminders_reminderdelivery WHERE id = %d"
    results_sql = "SELECT count(*) FROM django_q_task WHERE func LIKE '%send_reminder'"
    with smtp_server() as inbox:
        env = _base_env(tmp, db.url)
        env.update(broker.env)
        env.update(
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(inbox.port),
                "JOB_WORKERS": "1",
                "JOB_TIMEOUT_SECONDS": "2",
                "JOB_RETRY_GRACE_SECONDS": "1",
                "LOG_LEVEL": "INFO",
                CRASH_AT_ENV: crash_at,
                CRASH_MARKER_ENV: str(tmp / "crashed"),
            }
        )
        delivery_id = int(_run(["-m", "openiop.reminders.tests.worker_harness"], env).strip())
        log_path = tmp / "qcluster.log"
        scans = 0
        with log_path.open("w") as log:
            cluster = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                crashed_seen = None
                last_scan = 0.0
                deadline = time.monotonic() + DEADLINE_SECONDS
                while time.monotonic() < deadline:
                    if cluster.poll() is not None:
                        pytest.fail("qcluster exited:\n" + log_path.read_text()[-3000:])
                    (state,) = db.query(delivery_sql.format("state") % delivery_id)
                    queued = broker.queued(db)
                    (results,) = db.query(results_sql)
                    crashed = (tmp / "crashed").exists()
                    if crashed and crashed_seen is None:
                        crashed_seen = time.monotonic()
                    # On Redis a job lost with its worker leaves no result to wait for.
                    settled = results or not broker.acknowledges
                    if crashed and state == "sent" and not queued and settled:
                        break
                    now = time.monotonic()
                    if (
                        not broker.acknowledges
                        and crashed_seen is not None
                        and state == "claimed"
                        and not queued
                        and now - crashed_seen > RETRY_SECONDS
                        and now - last_scan > 1.5
                    ):
                        _run(["-m", "openiop.reminders.tests.worker_harness", "scan"], env)
                        scans += 1
                        last_scan = now
                    time.sleep(0.3)
                else:
                    pytest.fail(
                        f"no settled outcome: state={state} queued={queued} results={results}"
                        f" scans={scans}\n" + log_path.read_text()[-3000:]
                    )
                time.sleep(1.0)  # let any stray duplicate arrive before counting
            finally:
                _stop(cluster)
        received = inbox.snapshot()
    assert (tmp / "crashed").read_text() == crash_at
    cluster_log = log_path.read_text()
    assert "reincarnated worker" in cluster_log  # the worker really died and was replaced
    assert len(received) == expected_messages, cluster_log[-3000:]
    assert {r.envelope_to[0] for r in received} == {"wren.canary@example.org"}
    assert db.query(delivery_sql.format("attempts") % delivery_id) == (expected_attempts,)
    (sent_audits,) = db.query(
        "SELECT count(*) FROM audit_auditevent WHERE object_type='reminder_delivery'"
    )
    assert sent_audits == 1  # one "sent" record whatever the number of attempts
    assert "Canary" not in cluster_log and "wren.canary" not in cluster_log
    if not broker.acknowledges and crash_at != "before_ack":
        assert scans >= 1  # the scan, not the broker, handed the delivery out again


@pytest.mark.parametrize(PARAMS, SCENARIOS)
def test_killed_worker_then_retry(  # type: ignore[no-untyped-def]
    tmp_path, sqlite_template, crash_at, expected_messages, expected_attempts
) -> None:
    db = _sqlite_from(sqlite_template, tmp_path)
    _crash_scenario(tmp_path, db, ORM, crash_at, expected_messages, expected_attempts)


@pytest.mark.postgres
@pytest.mark.parametrize(PARAMS, SCENARIOS)
def test_killed_worker_then_retry_orm_broker_on_postgres(  # type: ignore[no-untyped-def]
    request, tmp_path, crash_at, expected_messages, expected_attempts
) -> None:
    if not _on_postgres():
        pytest.skip("needs the PostgreSQL server in DATABASE_URL; runs in CI's PostgreSQL pass")
    db = _postgres_from(request.getfixturevalue("postgres_template"))
    try:
        _crash_scenario(tmp_path, db, ORM, crash_at, expected_messages, expected_attempts)
    finally:
        db.drop()


@pytest.mark.redis
@pytest.mark.parametrize(PARAMS, SCENARIOS)
def test_killed_worker_then_retry_redis_broker(  # type: ignore[no-untyped-def]
    request, tmp_path, redis_broker, crash_at, expected_messages, expected_attempts
) -> None:
    if _on_postgres():
        db = _postgres_from(request.getfixturevalue("postgres_template"))
    else:
        db = _sqlite_from(request.getfixturevalue("sqlite_template"), tmp_path)
    try:
        _crash_scenario(tmp_path, db, redis_broker, crash_at, expected_messages, expected_attempts)
    finally:
        db.drop()
