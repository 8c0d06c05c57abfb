"""Treatment plans (the golden thread) and relapse-prevention plans.

A `TreatmentPlan` is a patient's plan for one episode. Its content lives in numbered
`PlanVersion`s: a version is a draft while it is being written, then collects
signatures (patient, responsible clinician, and the prescriber where the program's
settings require it); once every required signature is there it is `signed` and never
changes again. A review starts a new draft version from the last signed one (each row
keeps its `key`, stable across versions, so progress can be followed), records the
progress of every objective in `ObjectiveReview`, and when signed supersedes the
earlier version, which stays readable.

Structure of a version: `PlanProblem` (statement, linked diagnosis, level-of-care
dimensions, the long-term goal in the patient's own words) -> `PlanObjective`
(measurable: measure, baseline, target, target date) and `PlanIntervention` (modality,
frequency, responsible staff member, the objectives it serves).

Signed content is immutable through every path: services refuse, and the models'
`save()`/`delete()` and their querysets' `update()`/`delete()` raise
`ImmutableRecord` for signed or superseded versions and their rows. Nothing clinical is
deleted: rows removed from a draft get `removed_at`, versions get `entered_in_error`.

Deadlines are data (`PlanDeadlineSetting`), matched per program, payer, payer plan
type and jurisdiction by the pure rules in `rules.py`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from openiop.assessments.models import Diagnosis
from openiop.core.models import PublicModel
from openiop.episodes.models import Episode
from openiop.organizations.models import Organization, Payer, PlanType, Program
from openiop.patients.models import Patient
from openiop.screening.models import SafetyPlan


class ImmutableRecord(Exception):
    """Raised when code tries to change or delete signed clinical content."""


# --- deadline settings ---------------------------------------------------------------


class PlanDeadlineSetting(PublicModel):
    """One requirement on plan deadlines, e.g. "Medicare: review at least every 60 days"
    or "Kansas: plan within 7 days of admission".

    Blank scope fields match everything. A patient's deadlines are the strictest of the
    settings that match their program, payers (or payer plan types) and jurisdiction;
    with none, the defaults in `rules.DEFAULT_DUE_DAYS` / `DEFAULT_REVIEW_DAYS` apply.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="plan_deadline_settings"
    )
    label = models.CharField(max_length=200, help_text="Where the requirement comes from.")
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    plan_type = models.CharField(
        "payer plan type", max_length=20, choices=PlanType.choices, blank=True
    )
    jurisdiction = models.CharField(
        max_length=2, blank=True, help_text="US state (two letters) of the patient's address."
    )
    due_within_days = models.PositiveSmallIntegerField(
        "plan due within (days of admission)", null=True, blank=True
    )
    review_every_days = models.PositiveSmallIntegerField(
        "review at least every (days)", null=True, blank=True
    )
    prescriber_signature_required = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_within_days__isnull=True) | models.Q(due_within_days__gte=1),
                name="plan_deadline_due_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(review_every_days__isnull=True)
                | models.Q(review_every_days__gte=1),
                name="plan_deadline_review_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Plan deadline setting {self.public_id}"


# --- immutability helpers --------------------------------------------------------------


class _GuardedQuerySet(models.QuerySet[Any]):
    """Bulk update/delete would skip `save()`: refuse them on locked rows."""

    locked_filter: str = ""

    def _locked(self) -> bool:
        return self.filter(**{self.locked_filter: True}).exists()

    def update(self, **kwargs: Any) -> int:
        allowed = set(getattr(self.model, "MUTABLE_AFTER_SIGNING", ()))
        if set(kwargs) - allowed and self._locked():
            raise ImmutableRecord("Signed plan content cannot be changed.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRecord("Clinical records are never deleted.")


class PlanVersionQuerySet(_GuardedQuerySet):
    locked_filter = "is_locked"


class PlanRowQuerySet(_GuardedQuerySet):
    locked_filter = "plan_version__is_locked"


# --- treatment plans -----------------------------------------------------------------


class TreatmentPlan(PublicModel):
    """A patient's treatment plan for one episode (its content is in versions)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_plans")
    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="treatment_plan")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Treatment plan {self.public_id}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRecord("Clinical records are never deleted.")


class PlanVersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_SIGNATURES = "awaiting_signatures", "Awaiting signatures"
    SIGNED = "signed", "Signed (current)"
    SUPERSEDED = "superseded", "Superseded by a later version"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


LOCKED_STATUSES = frozenset({PlanVersionStatus.SIGNED, PlanVersionStatus.SUPERSEDED})


class PlanVersion(PublicModel):
    """One version of a treatment plan: the first plan, or the result of a review."""

    # Only these may change once the version is signed (supersession, voiding).
    MUTABLE_AFTER_SIGNING = ("status", "status_reason", "superseded_at", "updated_at")

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="versions")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(help_text="1 for the first plan, +1 per review.")
    status = models.CharField(
        max_length=24, choices=PlanVersionStatus.choices, default=PlanVersionStatus.DRAFT
    )
    is_locked = models.BooleanField(default=False, editable=False)
    previous = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    is_review = models.BooleanField(default=False)
    written_on = models.DateField()
    strengths = models.TextField("strengths and preferences", blank=True)
    participation = models.TextField(
        "the patient's participation",
        blank=True,
        help_text="How the patient took part in writing the plan, in their words where possible.",
    )
    review_summary = models.TextField(blank=True)
    referrals = models.TextField(blank=True)
    # Deadlines that applied when it was signed (from the settings), and the next review.
    review_every_days = models.PositiveSmallIntegerField(null=True, blank=True)
    prescriber_signature_required = models.BooleanField(default=False)
    signed_on = models.DateField(null=True, blank=True, help_text="Last required signature.")
    next_review_on = models.DateField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    # Autosave: the raw form as last typed, kept until a valid save turns it into rows.
    draft_data = models.JSONField(default=dict, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Edit counter (conflicts).")

    objects = PlanVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number_unique"),
            models.UniqueConstraint(
                fields=["plan"],
                condition=models.Q(status="signed"),
                name="plan_version_one_signed",
            ),
            models.UniqueConstraint(
                fields=["plan"],
                condition=models.Q(status__in=["draft", "awaiting_signatures"]),
                name="plan_version_one_open",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["signed", "superseded"])
                | (models.Q(signed_on__isnull=False) & ~models.Q(content_sha256="")),
                name="plan_version_signed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Plan version {self.public_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = (
                PlanVersion.objects.filter(pk=self.pk).values_list("is_locked", flat=True).first()
            )
            if stored:
                fields = kwargs.get("update_fields")
                if fields is None or set(fields) - set(self.MUTABLE_AFTER_SIGNING):
                    raise ImmutableRecord("A signed plan version cannot be changed.")
        self.is_locked = self.status in LOCKED_STATUSES or (
            self.status == PlanVersionStatus.ENTERED_IN_ERROR and self.is_locked
        )
        if kwargs.get("update_fields") is not None and "status" in kwargs["update_fields"]:
            kwargs["update_fields"] = list({*kwargs["update_fields"], "is_locked"})
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRecord("Clinical records are never deleted.")


class _PlanRow(PublicModel):
    """A row of a plan version; frozen once the version is signed."""

    key = models.UUIDField(
        default=uuid.uuid4, help_text="The same across versions (follows one row over reviews)."
    )
    position = models.PositiveSmallIntegerField(default=0)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = PlanRowQuerySet.as_manager()

    MUTABLE_AFTER_SIGNING: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        locked = PlanVersion.objects.filter(pk=self.plan_version_id, is_locked=True).exists()  # type: ignore[attr-defined]
        if locked:
            raise ImmutableRecord("A signed plan version cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRecord("Clinical records are never deleted.")


class PlanProblem(_PlanRow):
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="problems")
    statement = models.TextField("problem")
    diagnosis = models.ForeignKey(
        Diagnosis, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Level-of-care dimensions (1-6) this problem addresses, e.g. [3, 5].
    dimensions = models.JSONField(default=list, blank=True)
    goal = models.TextField("long-term goal, in the patient's own words")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Plan problem {self.public_id}"


class Measure(models.TextChoices):
    PHQ9 = "phq9", "PHQ-9 score"
    GAD7 = "gad7", "GAD-7 score"
    DAYS_ABSTINENT = "days_abstinent", "Days abstinent"
    SESSIONS_ATTENDED = "sessions_attended", "Sessions attended"
    NEGATIVE_SCREENS = "negative_screens", "Negative drug screens"
    OTHER = "other", "Other (described)"


# Measures read from the screening record (instrument code in openiop.instruments).
MEASURE_INSTRUMENT: dict[str, str] = {Measure.PHQ9: "phq9", Measure.GAD7: "gad7"}


class PlanObjective(_PlanRow):
    """A measurable short-term objective."""

    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, related_name="objectives"
    )
    problem = models.ForeignKey(PlanProblem, on_delete=models.PROTECT, related_name="objectives")
    text = models.TextField("objective")
    measure = models.CharField(max_length=24, choices=Measure.choices)
    measure_other = models.CharField("measure (other)", max_length=200, blank=True)
    baseline = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    baseline_on = models.DateField("baseline date")
    target = models.DecimalField(max_digits=7, decimal_places=1)
    target_on = models.DateField("target date")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target_on__gte=models.F("baseline_on")),
                name="plan_objective_target_after_baseline",
            )
        ]

    def __str__(self) -> str:
        return f"Plan objective {self.public_id}"


class Modality(models.TextChoices):
    CBT = "cbt", "Cognitive behavioural therapy"
    RELAPSE_PREVENTION = "relapse_prevention", "Relapse prevention"
    MAT = "mat", "Medication-assisted treatment"
    CASE_MANAGEMENT = "case_management", "Case management"
    FAMILY_EDUCATION = "family_education", "Family education"
    GROUP_THERAPY = "group_therapy", "Group therapy"
    INDIVIDUAL_THERAPY = "individual_therapy", "Individual therapy"
    MEDICATION_MANAGEMENT = "medication_management", "Medication management"
    PEER_SUPPORT = "peer_support", "Peer support"
    OTHER = "other", "Other (described)"


class PlanIntervention(_PlanRow):
    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, related_name="interventions"
    )
    problem = models.ForeignKey(PlanProblem, on_delete=models.PROTECT, related_name="interventions")
    modality = models.CharField(max_length=30, choices=Modality.choices)
    description = models.TextField(blank=True)
    frequency = models.CharField(max_length=120, help_text="e.g. 3 groups a week")
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Plan intervention {self.public_id}"


class SignerRole(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLINICIAN = "clinician", "Responsible clinician"
    PRESCRIBER = "prescriber", "Prescriber"


class PlanSignatureMethod(models.TextChoices):
    DRAWN = "drawn", "Typed name and drawn signature"
    TYPED = "typed", "Typed name, signed electronically"


class PlanSignature(PublicModel):
    """One signature on a plan version (never changed or deleted)."""

    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, related_name="signatures"
    )
    role = models.CharField(max_length=12, choices=SignerRole.choices)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who signed (blank for the patient).",
    )
    signed_name = models.CharField(max_length=300)
    credentials = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=10, choices=PlanSignatureMethod.choices)
    signature_png = models.BinaryField(null=True, blank=True)
    signed_at = models.DateTimeField()
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    content_sha256 = models.CharField(
        max_length=64, help_text="Digest of the version content this signature covers."
    )
    signer_address = models.GenericIPAddressField(null=True, blank=True)
    signer_user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan_version", "role"], name="plan_signature_one_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"Plan signature {self.public_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableRecord("A signature cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRecord("Clinical records are never deleted.")


class Progress(models.TextChoices):
    MET = "met", "Met"
    PROGRESSING = "progressing", "Progressing"
    NOT_PROGRESSING = "not_progressing", "Not progressing"
    REVISED = "revised", "Revised"
    DISCONTINUED = "discontinued", "Discontinued"


class ObjectiveReview(_PlanRow):
    """Progress on one objective of the previous version, recorded in a review version."""

    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, related_name="objective_reviews"
    )
    objective = models.ForeignKey(
        PlanObjective,
        on_delete=models.PROTECT,
        related_name="reviews",
        help_text="The objective as it stood in the reviewed (previous) version.",
    )
    progress = models.CharField(max_length=20, choices=Progress.choices, blank=True)
    current_value = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    # What the record showed when the review was written: [{"label", "value", "on"}].
    evidence = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan_version", "objective"], name="objective_review_once"
            )
        ]

    def __str__(self) -> str:
        return f"Objective review {self.public_id}"


class PlanEvent(models.Model):
    """History of a plan: drafted, saved, signed (per signer), reviewed, printed, voided."""

    class Kind(models.TextChoices):
        DRAFTED = "drafted", "Drafted"
        SAVED = "saved", "Draft saved"
        SIGNED = "signed", "Signature added"
        COMPLETED = "completed", "All signatures: version in force"
        REVIEW_STARTED = "review_started", "Review started"
        PRINTED = "printed", "Printed"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="events")
    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.plan_id}"


# --- relapse-prevention plans ----------------------------------------------------------


class RelapsePlanStatus(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"


class RelapsePreventionPlan(PublicModel):
    """One version of a patient's relapse-prevention plan. Saving makes a new version;
    older ones stay (like the safety plan)."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="relapse_prevention_plans"
    )
    number = models.PositiveIntegerField(help_text="Version number, from 1 per patient.")
    status = models.CharField(
        max_length=20, choices=RelapsePlanStatus.choices, default=RelapsePlanStatus.CURRENT
    )
    # Lists of short lines; people_to_call is a list of {"name", "phone"}.
    triggers = models.JSONField(default=list, blank=True)
    warning_signs = models.JSONField(default=list, blank=True)
    coping_strategies = models.JSONField(default=list, blank=True)
    people_to_call = models.JSONField(default=list, blank=True)
    self_help_group = models.CharField(max_length=300, blank=True)
    sponsor_name = models.CharField(max_length=200, blank=True)
    sponsor_phone = models.CharField(max_length=40, blank=True)
    after_lapse = models.TextField("what to do after a lapse", blank=True)
    safety_plan = models.ForeignKey(
        SafetyPlan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The patient's current safety plan when this version was written.",
    )
    developed_with_patient = models.BooleanField(default=True)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "number"], name="relapse_plan_number_unique"
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status="current"),
                name="relapse_plan_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"Relapse-prevention plan {self.public_id} v{self.number}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRecord("Clinical records are never deleted.")
