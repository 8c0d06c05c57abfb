"""Biopsychosocial assessments, ICD-10-CM diagnoses, level-of-care assessments and
program eligibility rules.

Nothing here is hard-deleted: assessments and diagnoses end as `entered_in_error`
(kept, with who and why), rows removed from a draft keep a `removed_at` stamp, and a
completed assessment is never edited (a revision is a new draft that copies it).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from openiop.core.models import PublicModel
from openiop.episodes.models import Episode
from openiop.organizations.models import LevelOfCare, Organization, Program
from openiop.patients.models import Patient

# --- Biopsychosocial assessment ---------------------------------------------------


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class Substance(models.TextChoices):
    ALCOHOL = "alcohol", "Alcohol"
    CANNABIS = "cannabis", "Cannabis"
    HEROIN = "heroin", "Opioids: heroin"
    FENTANYL = "fentanyl", "Opioids: fentanyl"
    PRESCRIPTION_OPIOIDS = "prescription_opioids", "Opioids: prescription"
    COCAINE = "cocaine", "Stimulants: cocaine"
    METHAMPHETAMINE = "methamphetamine", "Stimulants: methamphetamine"
    BENZODIAZEPINES = "benzodiazepines", "Benzodiazepines"
    NICOTINE = "nicotine", "Nicotine"
    OTHER = "other", "Other"


class Route(models.TextChoices):
    ORAL = "oral", "Oral (by mouth)"
    SMOKED = "smoked", "Smoked"
    INHALED = "inhaled", "Inhaled or vaped"
    INTRANASAL = "intranasal", "Intranasal (snorted)"
    INJECTED = "injected", "Injected"
    OTHER = "other", "Other"


class UseFrequency(models.TextChoices):
    NONE_PAST_MONTH = "none_past_month", "No use in the past 30 days"
    LESS_THAN_WEEKLY = "less_than_weekly", "Less than weekly"
    WEEKLY = "weekly", "1-2 days a week"
    SEVERAL_WEEKLY = "several_weekly", "3-6 days a week"
    DAILY = "daily", "Daily"
    SEVERAL_DAILY = "several_daily", "Several times a day"


class TreatmentType(models.TextChoices):
    WITHDRAWAL_MANAGEMENT = "withdrawal_management", "Detox / withdrawal management"
    RESIDENTIAL = "residential", "Residential"
    INPATIENT_PSYCHIATRIC = "inpatient_psychiatric", "Inpatient psychiatric"
    PHP = "php", "Partial hospitalization (PHP)"
    IOP = "iop", "Intensive outpatient (IOP)"
    OUTPATIENT = "outpatient", "Outpatient"
    MAT = "mat", "Medication for addiction treatment (MAT)"


class TreatmentOutcome(models.TextChoices):
    COMPLETED = "completed", "Completed"
    LEFT_EARLY = "left_early", "Left before completion"
    TRANSFERRED = "transferred", "Transferred"
    ONGOING = "ongoing", "Ongoing"
    UNKNOWN = "unknown", "Not known"


class ReadinessStage(models.TextChoices):
    PRECONTEMPLATION = "precontemplation", "Precontemplation"
    CONTEMPLATION = "contemplation", "Contemplation"
    PREPARATION = "preparation", "Preparation"
    ACTION = "action", "Action"
    MAINTENANCE = "maintenance", "Maintenance"


# The narrative sections of the form, in the order the page shows them.
NARRATIVE_FIELDS = (
    "presenting_problem",
    "withdrawal_history",
    "overdose_history",
    "psychiatric_history",
    "medical_history",
    "current_medications",
    "family",
    "housing",
    "employment",
    "education",
    "legal",
    "military",
    "trauma",
    "strengths",
    "patient_goals",
)


class BiopsychosocialAssessment(PublicModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="biopsychosocials")
    status = models.CharField(
        max_length=20, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT
    )
    version = models.PositiveIntegerField(default=1)
    assessed_on = models.DateField()
    revises = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="revisions"
    )
    presenting_problem = models.TextField(blank=True)
    withdrawal_history = models.TextField(
        "withdrawal history", blank=True, help_text="Past withdrawal, seizures, delirium."
    )
    overdose_history = models.TextField(blank=True)
    last_overdose_on = models.DateField("date of last overdose", null=True, blank=True)
    psychiatric_history = models.TextField(blank=True)
    medical_history = models.TextField(blank=True)
    current_medications = models.TextField(blank=True)
    family = models.TextField("family and relationships", blank=True)
    housing = models.TextField(blank=True)
    employment = models.TextField(blank=True)
    education = models.TextField(blank=True)
    legal = models.TextField("legal", blank=True)
    military = models.TextField("military service", blank=True)
    trauma = models.TextField(blank=True)
    strengths = models.TextField(blank=True)
    readiness_stage = models.CharField(
        "readiness to change", max_length=20, choices=ReadinessStage.choices, blank=True
    )
    patient_goals = models.TextField("the patient's goals, in their own words", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-assessed_on", "-id"]
        indexes = [
            models.Index(fields=["patient", "status", "assessed_on"], name="bps_patient_status_idx")
        ]

    def __str__(self) -> str:
        return f"Biopsychosocial {self.public_id}"

    @property
    def is_editable(self) -> bool:
        return self.status == AssessmentStatus.DRAFT


class SubstanceUse(PublicModel):
    """One substance in the substance use history of an assessment."""

    assessment = models.ForeignKey(
        BiopsychosocialAssessment, on_delete=models.PROTECT, related_name="substance_rows"
    )
    position = models.PositiveSmallIntegerField(default=0)
    substance = models.CharField(max_length=30, choices=Substance.choices)
    substance_other = models.CharField("other substance", max_length=100, blank=True)
    route = models.CharField(max_length=20, choices=Route.choices, blank=True)
    frequency = models.CharField(max_length=20, choices=UseFrequency.choices, blank=True)
    age_first_use = models.PositiveSmallIntegerField("age of first use", null=True, blank=True)
    last_use_on = models.DateField("date of last use", null=True, blank=True)
    amount = models.CharField("typical amount", max_length=200, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Substance row {self.public_id}"


class TreatmentHistory(PublicModel):
    """One earlier treatment episode named in an assessment (detox, residential, ...)."""

    assessment = models.ForeignKey(
        BiopsychosocialAssessment, on_delete=models.PROTECT, related_name="treatment_rows"
    )
    position = models.PositiveSmallIntegerField(default=0)
    treatment_type = models.CharField("type", max_length=30, choices=TreatmentType.choices)
    facility = models.CharField(max_length=200, blank=True)
    started_on = models.DateField("start date", null=True, blank=True)
    ended_on = models.DateField("end date", null=True, blank=True)
    outcome = models.CharField(
        max_length=20, choices=TreatmentOutcome.choices, default=TreatmentOutcome.UNKNOWN
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "treatment history rows"

    def __str__(self) -> str:
        return f"Treatment history row {self.public_id}"


# --- Diagnoses --------------------------------------------------------------------


class DiagnosisRank(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"


class DiagnosisStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESOLVED = "resolved", "Resolved"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class Diagnosis(PublicModel):
    """An ICD-10-CM diagnosis. The description is a snapshot of the code set's text
    when it was recorded, with the release it came from."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diagnoses")
    code = models.CharField(max_length=8)
    description = models.TextField()
    code_set_release = models.CharField(max_length=80)
    rank = models.CharField(max_length=10, choices=DiagnosisRank.choices)
    onset_on = models.DateField("onset date", null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=DiagnosisStatus.choices, default=DiagnosisStatus.ACTIVE
    )
    status_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["rank", "code", "id"]
        verbose_name_plural = "diagnoses"
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(rank="primary", status="active"),
                name="diagnosis_one_active_primary",
            ),
            models.UniqueConstraint(
                fields=["patient", "code"],
                condition=Q(status="active"),
                name="diagnosis_active_code_unique",
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="diagnosis_patient_status_idx")]

    def __str__(self) -> str:
        return f"Diagnosis {self.public_id}"


# --- Level of care ----------------------------------------------------------------

EMERGENCY = "emergency"
PLACEMENT_CHOICES = [*LevelOfCare.choices, (EMERGENCY, "Emergency evaluation")]
DIMENSION_NUMBERS = (1, 2, 3, 4, 5, 6)


class OverrideReason(models.TextChoices):
    PATIENT_PREFERENCE = "patient_preference", "Patient preference"
    NOT_AVAILABLE = "not_available", "Level not available"
    PAYER = "payer", "Payer"
    CLINICAL_JUDGEMENT = "clinical_judgement", "Clinical judgement"


class LevelOfCareTable(PublicModel):
    """An organization's `min_level[dimension][rating]` table (30 cells)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="level_of_care_table"
    )
    is_example = models.BooleanField(
        default=True, help_text="Still the example shipped with OpenIOP (not ASAM's table)."
    )
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Level-of-care table {self.public_id}"


class LevelOfCareTableCell(models.Model):
    table = models.ForeignKey(LevelOfCareTable, on_delete=models.CASCADE, related_name="cells")
    dimension = models.PositiveSmallIntegerField()
    rating = models.PositiveSmallIntegerField()
    min_level = models.CharField(max_length=4, choices=LevelOfCare.choices)

    class Meta:
        ordering = ["dimension", "rating"]
        constraints = [
            models.UniqueConstraint(
                fields=["table", "dimension", "rating"], name="loc_cell_unique"
            ),
            models.CheckConstraint(
                condition=Q(dimension__gte=1, dimension__lte=6), name="loc_cell_dimension_1_6"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=0, rating__lte=4), name="loc_cell_rating_0_4"
            ),
        ]

    def __str__(self) -> str:
        return f"D{self.dimension} rating {self.rating}: {self.min_level}"


def _rating_check(n: int) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"d{n}_rating__gte": 0, f"d{n}_rating__lte": 4}),
        name=f"loc_d{n}_rating_0_4",
    )


class LevelOfCareStatus(models.TextChoices):
    COMPLETED = "completed", "Completed"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class LevelOfCareAssessment(PublicModel):
    """A six-dimension assessment with its recommendation, the level chosen and the
    medical-necessity statement, all fixed when recorded."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="level_of_care_assessments"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessed_on = models.DateField()
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    d1_rating = models.PositiveSmallIntegerField()
    d2_rating = models.PositiveSmallIntegerField()
    d3_rating = models.PositiveSmallIntegerField()
    d4_rating = models.PositiveSmallIntegerField()
    d5_rating = models.PositiveSmallIntegerField()
    d6_rating = models.PositiveSmallIntegerField()
    d1_rationale = models.TextField(blank=True)
    d2_rationale = models.TextField(blank=True)
    d3_rationale = models.TextField(blank=True)
    d4_rationale = models.TextField(blank=True)
    d5_rationale = models.TextField(blank=True)
    d6_rationale = models.TextField(blank=True)
    imminent_danger = models.BooleanField(default=False)
    imminent_danger_from_alert = models.BooleanField(default=False)
    minimum_levels = models.JSONField(default=dict, blank=True)  # {"1": "2.1", ...}
    driving_dimensions = models.JSONField(default=list, blank=True)  # [3, 5]; [] if danger
    table_was_example = models.BooleanField(default=False)
    table_version = models.PositiveIntegerField(default=0)
    recommended_level = models.CharField(max_length=12, choices=PLACEMENT_CHOICES)
    chosen_level = models.CharField(max_length=12, choices=PLACEMENT_CHOICES)
    override_reason = models.CharField(max_length=30, choices=OverrideReason.choices, blank=True)
    override_note = models.TextField(blank=True)
    medical_necessity = models.TextField()
    status = models.CharField(
        max_length=20, choices=LevelOfCareStatus.choices, default=LevelOfCareStatus.COMPLETED
    )
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-assessed_on", "-id"]
        constraints = [_rating_check(n) for n in DIMENSION_NUMBERS]
        indexes = [
            models.Index(fields=["patient", "status", "assessed_on"], name="loc_patient_status_idx")
        ]

    def __str__(self) -> str:
        return f"Level-of-care assessment {self.public_id}"

    def ratings(self) -> dict[int, int]:
        return {n: getattr(self, f"d{n}_rating") for n in DIMENSION_NUMBERS}

    def rationales(self) -> dict[int, str]:
        return {n: getattr(self, f"d{n}_rationale") for n in DIMENSION_NUMBERS}

    @property
    def differs(self) -> bool:
        return self.chosen_level != self.recommended_level


# --- Eligibility ------------------------------------------------------------------


class EligibilityRule(PublicModel):
    """A program's admission rules. Empty parts are not checked."""

    program = models.OneToOneField(
        Program, on_delete=models.PROTECT, related_name="eligibility_rule"
    )
    min_age = models.PositiveSmallIntegerField("minimum age", null=True, blank=True)
    max_age = models.PositiveSmallIntegerField("maximum age", null=True, blank=True)
    prior_care_types = models.JSONField(
        default=list, blank=True, help_text="Treatment types of which one is required."
    )
    prior_care_must_be_completed = models.BooleanField(default=False)
    prior_care_within_days = models.PositiveIntegerField(null=True, blank=True)
    require_level_2_1_or_step_down = models.BooleanField(default=False)
    step_down_within_days = models.PositiveIntegerField(default=30)
    exclusions = models.TextField(blank=True, help_text="One exclusion per line.")
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Eligibility rule {self.public_id}"

    def exclusion_list(self) -> list[str]:
        return [line.strip() for line in self.exclusions.splitlines() if line.strip()]


class EligibilityOverall(models.TextChoices):
    MET = "met", "All rules met"
    NOT_MET = "not_met", "A rule is not met"
    UNKNOWN = "unknown", "Incomplete: some rules unknown"


class EligibilityCheck(PublicModel):
    """A recorded eligibility check: the results as they were shown, with the
    exclusions the clinician marked present or absent."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    checked_on = models.DateField()
    results = models.JSONField(default=list, blank=True)
    exclusion_answers = models.JSONField(default=dict, blank=True)
    overall = models.CharField(max_length=10, choices=EligibilityOverall.choices)

    class Meta:
        ordering = ["-checked_on", "-id"]

    def __str__(self) -> str:
        return f"Eligibility check {self.public_id}"
