"""PostgreSQL: two staff saving the same roster at the same moment from the same version:
the session's row lock makes them take turns, one commits and the other is refused with
what the first saved."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from openiop.attendance import rules, services
from openiop.attendance.models import AttendanceRecord, AttendanceSheet

from .helpers import lines, make_group, save

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="real concurrent transactions need PostgreSQL; runs in CI's PostgreSQL pass",
    ),
]


def test_two_simultaneous_saves_from_one_version_one_commits_one_sees_the_change(
    world, transactional_db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=4)
    session = group.sessions[0]
    barrier = threading.Barrier(2, timeout=20)
    real_lock = services._lock_session

    def wait_then_lock(s):  # type: ignore[no-untyped-def]
        barrier.wait()  # both transactions are open and about to lock the session
        return real_lock(s)

    monkeypatch.setattr(services, "_lock_session", wait_then_lock)
    results: list[object] = []

    def mark(actor, status) -> None:  # type: ignore[no-untyped-def]
        try:
            results.append(save(actor, session, lines(group, *[status] * 4), version=0))
        except services.RosterConflict as conflict:
            results.append(conflict)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=mark, args=(world.alice, rules.PRESENT)),
        threading.Thread(target=mark, args=(world.dana, rules.ABSENT_EXCUSED)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    conflicts = [r for r in results if isinstance(r, services.RosterConflict)]
    assert len(results) == 2 and len(conflicts) == 1, results
    conflict = conflicts[0]
    assert len(conflict.changed) == 4  # every line differs from what the other saved
    saved = set(AttendanceRecord.objects.values_list("status", flat=True))
    assert len(saved) == 1 and AttendanceRecord.objects.count() == 4
    assert {m.status for m in conflict.current.values()} == saved
    assert AttendanceSheet.objects.get(session=session).version == 1
