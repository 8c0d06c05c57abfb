"""The demo's attendance: marks on past sessions, one disengagement alert whose
history matches the rule, and every week judged by the compliance selectors."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from openiop.alerts.models import Alert, AlertKind
from openiop.attendance import rules, selectors
from openiop.attendance.models import AttendanceRecord
from openiop.scheduling.models import Track

TODAY = date(2026, 11, 18)


@pytest.fixture
def demo(db: None, settings) -> str:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = True
    out = StringIO()
    call_command("demo_data", "--patients", "60", "--seed", "3", "--today", str(TODAY), stdout=out)
    return out.getvalue()


def test_demo_attendance_is_consistent_with_the_rules(demo: str) -> None:
    assert "attendance:" in demo
    assert AttendanceRecord.objects.filter(on__gte=TODAY).count() == 0  # only the past
    statuses = set(AttendanceRecord.objects.values_list("status", flat=True))
    assert {rules.PRESENT, rules.LATE, rules.ABSENT_UNEXCUSED} <= statuses
    history: dict[int, list[str]] = defaultdict(list)
    for pid, status in AttendanceRecord.objects.order_by("on", "id").values_list(
        "patient_id", "status"
    ):
        history[pid].append(status)
    flagged = {pid for pid, marks in history.items() if rules.disengaged(marks, threshold=2)}
    alerted = set(
        Alert.objects.filter(kind=AlertKind.DISENGAGEMENT).values_list("patient_id", flat=True)
    )
    assert flagged == alerted and len(alerted) == 1
    track = Track.objects.order_by("pk").first()
    assert track is not None
    report = selectors.track_week_report(
        track=track,
        week=rules.week_start(TODAY) - (TODAY - TODAY.replace(day=TODAY.day)),
        organization_id=track.program.site.organization_id,
    )
    assert report.rows and any(row.compliance.hours > 0 for row in report.rows)
