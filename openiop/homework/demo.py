"""Demo homework: craving logs, thought records and meeting attendance assigned to
patients with a signed plan; about half completed with entries, a few reviewed.
Bulk inserts: a bounded number of queries."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from openiop.homework.models import AssignmentStatus, HomeworkAssignment, HomeworkEntry
from openiop.plans.models import PlanObjective, PlanVersionStatus

ENTRIES = {
    "craving_log": {
        "when": "{day}T20:15",
        "intensity": 6,
        "trigger": "Drove past the old bar after work",
        "coping": "Called my sponsor and went for a walk",
        "outcome": "did_not_use",
    },
    "thought_record": {
        "situation": "Boss asked to see me",
        "automatic_thought": "I'm going to be fired",
        "emotion": "fear",
        "intensity": 85,
        "evidence_for": "I was late twice this month",
        "evidence_against": "He praised my work last week",
        "balanced_thought": "He may just want an update",
        "rerated": 40,
    },
    "meeting_attendance": {"on": "{day}", "meeting_type": "aa", "spoke_with_sponsor": True},
}


def load(*, seed: int, today: date) -> str:
    rng = random.Random(seed * 3571 + 2)  # noqa: S311 (demo data, not security)
    objectives = list(
        PlanObjective.objects.filter(
            plan_version__status=PlanVersionStatus.SIGNED, removed_at__isnull=True
        )
        .select_related("plan_version__plan")
        .order_by("plan_version_id", "position", "id")
    )
    seen: set[int] = set()
    assignments: list[HomeworkAssignment] = []
    for o in objectives:
        plan = o.plan_version.plan
        if plan.patient_id in seen:
            continue
        seen.add(plan.patient_id)
        kind = rng.choice(tuple(ENTRIES))
        assigned = today - timedelta(days=rng.randint(2, 12))
        due = assigned + timedelta(days=7)
        done = rng.random() < 0.5
        completed_at = (
            timezone.make_aware(datetime.combine(min(due, today), time(18, 0))) if done else None
        )
        assignments.append(
            HomeworkAssignment(
                patient_id=plan.patient_id,
                episode_id=plan.episode_id,
                kind=kind,
                instructions="Fill one in each time it happens this week.",
                assigned_on=assigned,
                due_on=due,
                objective=o,
                assigned_by_id=o.plan_version.created_by_id,
                status=AssignmentStatus.COMPLETED if done else AssignmentStatus.ASSIGNED,
                completed_at=completed_at,
            )
        )
    assignments = HomeworkAssignment.objects.bulk_create(assignments)
    entries = []
    for a in assignments:
        if a.completed_at is None:
            continue
        day = a.completed_at.date().isoformat()
        data = {
            k: (v.format(day=day) if isinstance(v, str) else v) for k, v in ENTRIES[a.kind].items()
        }
        entries.append(
            HomeworkEntry(
                assignment=a,
                data=data,
                recorded_by_kind="staff",
                recorded_by_id=a.assigned_by_id,
                recorded_at=a.completed_at,
            )
        )
    HomeworkEntry.objects.bulk_create(entries)
    reviewed = [a for a in assignments if a.completed_at is not None][::3]
    for a in reviewed:
        a.status = AssignmentStatus.REVIEWED
        a.reviewed_at = a.completed_at
        a.reviewed_by_id = a.assigned_by_id
        a.review_note = "Went through it together in group."
    HomeworkAssignment.objects.bulk_update(
        reviewed, ["status", "reviewed_at", "reviewed_by", "review_note"]
    )
    return (
        f"homework: {len(assignments)} assigned, {len(entries)} completed "
        f"({len(reviewed)} reviewed in session)"
    )
