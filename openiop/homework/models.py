"""CBT homework between sessions.

The kinds of homework (thought record, trigger log, craving log, coping plan,
relaxation practice, self-help meeting attendance) are data: `openiop.homework.kinds`
defines each kind's fields with their types and limits, and `kinds.validate_entry`
checks an entry against them. A clinician assigns homework (`HomeworkAssignment`) with
a due date, from a session (group session or appointment) or from a treatment-plan
objective; each completed sheet is a `HomeworkEntry` whose `data` holds the validated
fields. Completion is recorded by staff now and by the patient in the portal later:
`HomeworkEntry.recorded_by_kind` says which, and the service takes either actor.
Completed homework is reviewed in a later session (`reviewed_at`, `review_note`) and
the note can reference the assignment.

Nothing is deleted: an assignment is `cancelled` or `entered_in_error`, an entry is
`entered_in_error`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from openiop.core.models import PublicModel
from openiop.episodes.models import Episode
from openiop.patients.models import Patient
from openiop.plans.models import PlanObjective
from openiop.scheduling.models import Appointment, GroupSession


class HomeworkKind(models.TextChoices):
    THOUGHT_RECORD = "thought_record", "Thought record"
    TRIGGER_LOG = "trigger_log", "Trigger log"
    CRAVING_LOG = "craving_log", "Craving log"
    COPING_PLAN = "coping_plan", "Coping plan"
    RELAXATION_LOG = "relaxation_log", "Relaxation practice log"
    MEETING_ATTENDANCE = "meeting_attendance", "Self-help meeting attendance"


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    COMPLETED = "completed", "Completed"
    REVIEWED = "reviewed", "Reviewed in session"
    CANCELLED = "cancelled", "Cancelled"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class HomeworkAssignment(PublicModel):
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="homework_assignments"
    )
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=HomeworkKind.choices)
    instructions = models.TextField(blank=True)
    assigned_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(
        max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED
    )
    # Where it was assigned from (at most one of each; all may be blank).
    objective = models.ForeignKey(
        PlanObjective, on_delete=models.PROTECT, null=True, blank=True, related_name="homework"
    )
    group_session = models.ForeignKey(
        GroupSession, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.TextField(blank=True)
    status_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["patient", "status", "due_on"], name="homework_patient_due_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_on__gte=models.F("assigned_on")),
                name="homework_due_after_assigned",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["completed", "reviewed"])
                | models.Q(completed_at__isnull=False),
                name="homework_completed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Homework {self.public_id}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Clinical records are never deleted.")


class RecordedBy(models.TextChoices):
    STAFF = "staff", "Staff, with the patient"
    PATIENT = "patient", "The patient (portal)"


class EntryStatus(models.TextChoices):
    RECORDED = "recorded", "Recorded"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class HomeworkEntry(PublicModel):
    """One completed sheet (a thought record, a day of a craving log...)."""

    assignment = models.ForeignKey(
        HomeworkAssignment, on_delete=models.PROTECT, related_name="entries"
    )
    data = models.JSONField(default=dict)
    kind_version = models.PositiveSmallIntegerField(
        default=1, help_text="Version of the kind's field list the data was validated against."
    )
    status = models.CharField(
        max_length=20, choices=EntryStatus.choices, default=EntryStatus.RECORDED
    )
    recorded_by_kind = models.CharField(max_length=10, choices=RecordedBy.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member (blank when the patient recorded it in the portal).",
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"Homework entry {self.public_id}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Clinical records are never deleted.")
