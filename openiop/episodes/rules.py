"""Pure rules for episodes of care (no ORM, no clock)."""

from __future__ import annotations

from datetime import date

# Allowed status transitions. Referred may go straight to active for a planned
# admission (a step-down from residential care arrives already assessed). Discharged
# and cancelled are final: a return to care is a new episode (a readmission), so
# each stay keeps its own dates and outcome (TEDS treats each admission as a record).
# Source: product decision, docs/ARCHITECTURE.md "Episodes of care".
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "referred": frozenset({"screening", "active", "cancelled"}),
    "screening": frozenset({"referred", "active", "cancelled"}),
    "active": frozenset({"discharged"}),
    "discharged": frozenset(),
    "cancelled": frozenset(),
}

OPEN_STATUSES = frozenset({"referred", "screening", "active"})


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())


def transition_problem(
    *, from_status: str, to_status: str, effective_on: date, referred_on: date, reason: str
) -> str | None:
    """Why a status change may not be made, or None when it may."""
    if from_status == to_status:
        return "The episode already has this status."
    if not transition_allowed(from_status, to_status):
        return f"An episode cannot move from {from_status} to {to_status}."
    if effective_on < referred_on:
        return "The change cannot take effect before the episode was opened."
    if to_status in {"discharged", "cancelled"} and not reason.strip():
        return "Give a reason for ending the episode."
    return None


def level_change_problem(*, status: str, from_level: str, to_level: str, reason: str) -> str | None:
    if status not in OPEN_STATUSES:
        return "The level of care of a closed episode cannot change."
    if from_level == to_level:
        return "The episode is already at this level of care."
    if not reason.strip():
        return "Give a reason for the level-of-care change."
    return None
