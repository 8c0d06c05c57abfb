"""Reading homework (not scoped to an actor: the caller has scoped the patient)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.db.models import Prefetch

from openiop.homework.models import (
    AssignmentStatus,
    EntryStatus,
    HomeworkAssignment,
    HomeworkEntry,
)
from openiop.patients.models import Patient

_ENTRIES = Prefetch(
    "entries",
    queryset=HomeworkEntry.objects.filter(status=EntryStatus.RECORDED).select_related(
        "recorded_by"
    ),
    to_attr="entry_list",
)


def homework_due(*, patient: Patient, on: date) -> list[HomeworkAssignment]:
    """Assignments still open (not completed, cancelled or voided), earliest due first;
    `.is_overdue` is set against `on`. 1 query."""
    rows = list(
        HomeworkAssignment.objects.filter(patient=patient, status=AssignmentStatus.ASSIGNED)
        .select_related("assigned_by", "objective")
        .order_by("due_on", "id")
    )
    for row in rows:
        row.is_overdue = row.due_on < on  # type: ignore[attr-defined]
    return rows


def homework_completed_for_review(*, patient: Patient) -> list[HomeworkAssignment]:
    """Completed and not yet reviewed in a session; `.entry_list` holds the entries.
    2 queries."""
    return list(
        HomeworkAssignment.objects.filter(patient=patient, status=AssignmentStatus.COMPLETED)
        .select_related("assigned_by", "objective")
        .prefetch_related(_ENTRIES)
        .order_by("completed_at", "id")
    )


def homework_for_patient(*, patient: Patient) -> list[HomeworkAssignment]:
    """Every assignment, newest first, with its entries. 2 queries."""
    return list(
        HomeworkAssignment.objects.filter(patient=patient)
        .select_related("assigned_by", "reviewed_by", "objective")
        .prefetch_related(_ENTRIES)
        .order_by("-assigned_on", "-id")
    )


def assignment_get(*, patient: Patient, public_id: UUID | str) -> HomeworkAssignment | None:
    return (
        HomeworkAssignment.objects.filter(patient=patient, public_id=public_id)
        .select_related("assigned_by", "reviewed_by", "objective")
        .prefetch_related(_ENTRIES)
        .first()
    )
