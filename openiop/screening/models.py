"""Standardized instruments given to a patient, suicide-risk responses and safety plans.

Scoring itself lives in the pure `openiop.instruments` engine; these rows record what
was asked, what was answered and what the engine said, with who gave it and when.
Nothing here is deleted: an administration or safety plan made in error keeps its row
with status `entered_in_error` and a reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openiop.alerts.models import Alert
from openiop.core.models import PublicModel
from openiop.episodes.models import Episode
from openiop.patients.models import Patient


class AdministrationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class InstrumentAdministration(PublicModel):
    """One instrument given once: every item answer, and the score once completed."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations")
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="administrations"
    )
    instrument_code = models.CharField(max_length=20)
    definition_version = models.CharField(max_length=20)
    status = models.CharField(
        max_length=20, choices=AdministrationStatus.choices, default=AdministrationStatus.DRAFT
    )
    # Option values keyed by item number as text ({"1": 2, "9": 1}); every answer given.
    answers = models.JSONField(default=dict, blank=True)
    # The score: empty on drafts.
    total = models.IntegerField(null=True, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    band = models.CharField(max_length=40, blank=True)
    flags = models.JSONField(default=list, blank=True)
    risk_level = models.CharField(max_length=10, blank=True)
    # Thresholds in force when scored (defaults merged with overrides), for the record.
    thresholds = models.JSONField(default=dict, blank=True)
    administered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    administered_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    self_reported = models.BooleanField(
        default=False, help_text="The patient completed it themselves (not read out by staff)."
    )
    entered_in_error_reason = models.TextField(blank=True)
    entered_in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-administered_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "instrument_code", "administered_at"],
                name="admin_patient_code_time_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="completed") | models.Q(completed_at__isnull=False),
                name="admin_completed_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="entered_in_error")
                | ~models.Q(entered_in_error_reason=""),
                name="admin_error_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code} {self.public_id}"

    @property
    def is_draft(self) -> bool:
        return self.status == AdministrationStatus.DRAFT

    @property
    def is_completed(self) -> bool:
        return self.status == AdministrationStatus.COMPLETED

    def answer_values(self) -> dict[int, int]:
        return {int(key): value for key, value in self.answers.items()}


class Disposition(models.TextChoices):
    SAFETY_PLAN_OUTPATIENT = (
        "safety_plan_outpatient",
        "Safety plan completed; outpatient follow-up",
    )
    EMERGENCY_EVALUATION = "emergency_evaluation", "Emergency evaluation / ED referral"
    CRISIS_LINE_988 = "crisis_line_988", "988 Suicide & Crisis Lifeline contacted"
    HOSPITALIZATION = "hospitalization", "Hospitalization"
    OTHER = "other", "Other (described in the notes)"


class RiskResponse(PublicModel):
    """The documented clinical response to a suicide-risk screen."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="risk_responses")
    administration = models.ForeignKey(
        InstrumentAdministration,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="risk_responses",
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField()
    disposition = models.CharField(max_length=30, choices=Disposition.choices)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-assessed_at", "-id"]

    def __str__(self) -> str:
        return f"Risk response {self.public_id}"


class SafetyPlanStatus(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"


class SafetyPlan(PublicModel):
    """One version of a patient's safety plan (the six steps of the Stanley-Brown
    intervention, in our own words). Saving makes a new version; older ones stay."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="safety_plans")
    number = models.PositiveIntegerField(help_text="Version number, from 1 per patient.")
    status = models.CharField(
        max_length=20, choices=SafetyPlanStatus.choices, default=SafetyPlanStatus.CURRENT
    )
    # 1-3 and 6 are lists of short lines; 4 and 5 are lists of {"name", "phone"}.
    warning_signs = models.JSONField(default=list, blank=True)
    coping_strategies = models.JSONField(default=list, blank=True)
    social_distractions = models.JSONField(default=list, blank=True)
    help_contacts = models.JSONField(default=list, blank=True)
    professional_contacts = models.JSONField(default=list, blank=True)
    environment_safety = models.JSONField(default=list, blank=True)
    reasons_for_living = models.TextField(blank=True)
    developed_with_patient = models.BooleanField(default=True)
    administration = models.ForeignKey(
        InstrumentAdministration,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="safety_plans",
    )
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "number"], name="safety_plan_number_unique"),
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status="current"),
                name="safety_plan_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"Safety plan {self.public_id} v{self.number}"
