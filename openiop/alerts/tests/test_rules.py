"""Who gets the task when an alert is raised. Source: product decision, docs/SCREENING.md."""

from __future__ import annotations

import pytest

from openiop.alerts.rules import alert_assignees


@pytest.mark.parametrize(
    ("primary", "actor", "directors", "expected"),
    [
        ("counselor", "nurse", ["dir1"], ["counselor"]),
        (None, "nurse", ["dir1"], ["nurse"]),
        (None, None, ["dir1", "dir2"], ["dir1", "dir2"]),
        (None, None, [], []),
    ],
)
def test_alert_assignees(primary, actor, directors, expected) -> None:  # type: ignore[no-untyped-def]
    assert alert_assignees(primary_clinician=primary, actor=actor, directors=directors) == expected
