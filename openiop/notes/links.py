"""What a note links to in other capabilities: the patient's own plan objectives and
the homework assigned to them.

The one place notes read treatment plans and homework (docs/PLANS.md), in one query
for any number of patients, so each attendee of a group note is offered only their
own objectives and a group of 15 costs the same as a group of 2. Read-only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class LinkChoice:
    id: str  # public id of the objective (as written in that plan version) or assignment
    text: str  # as written, kept in the note


def objectives_for_patients(patient_ids: Iterable[int]) -> dict[int, list[LinkChoice]]:
    """patient pk -> the objectives of that patient's signed plan in force (1 query)."""
    from openiop.plans.models import PlanObjective, PlanVersionStatus

    ids = list(patient_ids)
    out: dict[int, list[LinkChoice]] = defaultdict(list)
    if not ids:
        return out
    rows = (
        PlanObjective.objects.filter(
            plan_version__patient_id__in=ids,
            plan_version__status=PlanVersionStatus.SIGNED,
            removed_at__isnull=True,
        )
        .values_list("plan_version__patient_id", "public_id", "text")
        .order_by("plan_version__patient_id", "problem_id", "id")
    )
    for patient_id, public_id, text in rows:
        out[patient_id].append(LinkChoice(str(public_id), text))
    return out


def homework_for_patients(patient_ids: Iterable[int]) -> dict[int, list[LinkChoice]]:
    """patient pk -> homework assigned or completed and not yet reviewed (1 query)."""
    from openiop.homework.models import AssignmentStatus, HomeworkAssignment, HomeworkKind

    ids = list(patient_ids)
    out: dict[int, list[LinkChoice]] = defaultdict(list)
    if not ids:
        return out
    rows = (
        HomeworkAssignment.objects.filter(
            patient_id__in=ids,
            status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.COMPLETED],
        )
        .values_list("patient_id", "public_id", "kind", "due_on", "status")
        .order_by("patient_id", "due_on", "id")
    )
    for patient_id, public_id, kind, due_on, status in rows:
        label = HomeworkKind(kind).label if kind in HomeworkKind.values else kind
        out[patient_id].append(
            LinkChoice(str(public_id), f"{label}, due {due_on:%Y-%m-%d} ({status})")
        )
    return out
