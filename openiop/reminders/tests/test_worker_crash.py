"""A real django-q2 cluster (`manage.py qcluster`, separate worker processes) killed
mid-job, then the queue's retry: messages counted at a real SMTP server.

Each scenario migrates a throwaway SQLite database (the embedded default, ORM broker),
enqueues one email reminder, and starts a cluster whose worker calls `os._exit` at
one point of `send_reminder` (once: a marker file records it). django-q2 hands the
unacknowledged job out again after `retry` (JOB_TIMEOUT_SECONDS 2 + grace 1 = 3 s).

- after_claim (claimed, nothing sent): the retry takes over the stale claim, sends once.
- before_ack (sent and recorded, job not acknowledged): the retry finds it sent: once.
- after_send (the SMTP server has the message, "sent" not yet recorded): the retry
  sends again. This is the documented at-least-once window (docs/REMINDERS.md); the
  test pins it so that a change in behaviour is noticed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openiop.reminders.jobs import CRASH_AT_ENV, CRASH_MARKER_ENV
from openiop.reminders.tests.smtp_server import smtp_server

ROOT = Path(__file__).resolve().parents[3]
DEADLINE_SECONDS = 60
DELIVERY_SQL = "SELECT {} FROM reminders_reminderdelivery WHERE id = ?"


def _env(tmp: Path, port: int, crash_at: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "OPENIOP_ENV": "test",
            "SECRET_KEY": "worker-crash-test-key-not-secret-0123456789-abcdefghij",
            "DATA_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "JOB_BROKER": "orm",
            "JOB_WORKERS": "1",
            "JOB_TIMEOUT_SECONDS": "2",
            "JOB_RETRY_GRACE_SECONDS": "1",
            "LOG_LEVEL": "INFO",
            CRASH_AT_ENV: crash_at,
            CRASH_MARKER_ENV: str(tmp / "crashed"),
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


def _row(db: Path, sql: str, params: tuple = ()) -> tuple:  # type: ignore[type-arg]
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute(sql, params).fetchone()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("crash_at", "expected_messages", "expected_attempts"),
    [("after_claim", 1, 2), ("before_ack", 1, 1), ("after_send", 2, 2)],
)
def test_killed_worker_then_retry(tmp_path, crash_at, expected_messages, expected_attempts) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "db.sqlite3"
    with smtp_server() as inbox:
        env = _env(tmp_path, inbox.port, crash_at)
        _run(["manage.py", "migrate", "--noinput", "-v", "0"], env)
        delivery_id = int(_run(["-m", "openiop.reminders.tests.worker_harness"], env).strip())
        log = (tmp_path / "qcluster.log").open("w")
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline:
                if cluster.poll() is not None:
                    pytest.fail(
                        "qcluster exited:\n" + (tmp_path / "qcluster.log").read_text()[-3000:]
                    )
                (state,) = _row(db, DELIVERY_SQL.format("state"), (delivery_id,))
                (queued,) = _row(db, "SELECT count(*) FROM django_q_ormq")
                (results,) = _row(
                    db, "SELECT count(*) FROM django_q_task WHERE func LIKE '%send_reminder'"
                )
                if (tmp_path / "crashed").exists() and state == "sent" and not queued and results:
                    break
                time.sleep(0.3)
            else:
                pytest.fail(
                    f"no settled outcome: state={state} queued={queued} results={results}\n"
                    + (tmp_path / "qcluster.log").read_text()[-3000:]
                )
            time.sleep(1.0)  # let any stray duplicate arrive before counting
        finally:
            os.killpg(cluster.pid, signal.SIGTERM)
            try:
                cluster.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(cluster.pid, signal.SIGKILL)
                cluster.wait(timeout=10)
            log.close()
        received = inbox.snapshot()
    assert (tmp_path / "crashed").read_text() == crash_at
    cluster_log = (tmp_path / "qcluster.log").read_text()
    assert "reincarnated worker" in cluster_log  # the worker really died and was replaced
    assert len(received) == expected_messages, cluster_log[-3000:]
    assert {r.envelope_to[0] for r in received} == {"wren.canary@example.org"}
    assert _row(db, DELIVERY_SQL.format("attempts"), (delivery_id,)) == (expected_attempts,)
    (sent_audits,) = _row(
        db, "SELECT count(*) FROM audit_auditevent WHERE object_type='reminder_delivery'"
    )
    assert sent_audits == 1  # one "sent" record whatever the number of attempts
    assert "Canary" not in cluster_log and "wren.canary" not in cluster_log
