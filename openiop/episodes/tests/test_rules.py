"""Table tests for episode transitions. Source: docs/ARCHITECTURE.md "Episodes of care"."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.episodes.models import EpisodeStatus
from openiop.episodes.rules import level_change_problem, transition_allowed, transition_problem

ALLOWED = {
    ("referred", "screening"),
    ("referred", "active"),
    ("referred", "cancelled"),
    ("screening", "referred"),
    ("screening", "active"),
    ("screening", "cancelled"),
    ("active", "discharged"),
}


@pytest.mark.parametrize("from_status", [s.value for s in EpisodeStatus])
@pytest.mark.parametrize("to_status", [s.value for s in EpisodeStatus])
def test_every_pair_of_statuses(from_status: str, to_status: str) -> None:
    assert transition_allowed(from_status, to_status) is ((from_status, to_status) in ALLOWED)


REFERRED = date(2026, 10, 1)


@pytest.mark.parametrize(
    ("from_status", "to_status", "effective", "reason", "problem"),
    [
        ("screening", "active", date(2026, 10, 5), "", None),
        ("active", "discharged", date(2026, 11, 20), "Completed program", None),
        ("active", "discharged", date(2026, 11, 20), "  ", "Give a reason"),
        ("referred", "cancelled", date(2026, 10, 2), "", "Give a reason"),
        ("active", "active", date(2026, 10, 5), "", "already has this status"),
        ("discharged", "active", date(2026, 12, 1), "back", "cannot move from discharged"),
        ("cancelled", "screening", date(2026, 12, 1), "", "cannot move from cancelled"),
        ("screening", "active", date(2026, 9, 30), "", "before the episode was opened"),
    ],
)
def test_transition_problem(
    from_status: str, to_status: str, effective: date, reason: str, problem: str | None
) -> None:
    result = transition_problem(
        from_status=from_status,
        to_status=to_status,
        effective_on=effective,
        referred_on=REFERRED,
        reason=reason,
    )
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


@pytest.mark.parametrize(
    ("status", "from_level", "to_level", "reason", "problem"),
    [
        ("active", "2.1", "2.5", "Needs more structure", None),
        ("screening", "2.1", "1", "Step-down planned", None),
        ("active", "2.1", "2.1", "x", "already at this level"),
        ("active", "2.1", "3.5", "", "Give a reason"),
        ("discharged", "2.1", "1", "x", "closed episode"),
    ],
)
def test_level_change_problem(
    status: str, from_level: str, to_level: str, reason: str, problem: str | None
) -> None:
    result = level_change_problem(
        status=status, from_level=from_level, to_level=to_level, reason=reason
    )
    assert (result is None) if problem is None else (result is not None and problem in result)
