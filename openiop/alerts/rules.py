"""Pure rules for alerts (no ORM, no clock)."""

from __future__ import annotations

from typing import TypeVar

Person = TypeVar("Person")


def alert_assignees(
    *, primary_clinician: Person | None, actor: Person | None, directors: list[Person]
) -> list[Person]:
    """Who must respond: the primary clinician; without one, the person who raised it
    if they may resolve alerts; otherwise every program director, so that the task
    never lands with someone (an intake coordinator) who cannot act on it."""
    if primary_clinician is not None:
        return [primary_clinician]
    if actor is not None:
        return [actor]
    return directors
