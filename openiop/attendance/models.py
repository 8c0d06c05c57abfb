"""Attendance: who came to each group session and appointment, for how many minutes;
check-in at the front desk; visitors; outreach after a missed session; and the
settings the weekly hours compliance rule reads (openiop/attendance/rules.py).

Rosters are scheduling's (computed from enrolments); attendance stores only what
happened. One `AttendanceSheet` per group session carries the version that two staff
saving the same roster compare, so the second never silently overwrites the first.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openiop.attendance import rules
from openiop.core.models import PublicModel
from openiop.organizations.models import Organization, Payer, PlanType, Program
from openiop.patients.models import Patient
from openiop.scheduling.models import Appointment, GroupSession, Track


class AttendanceStatus(models.TextChoices):
    PRESENT = rules.PRESENT, "Present"
    LATE = rules.LATE, "Late"
    LEFT_EARLY = rules.LEFT_EARLY, "Left early"
    ABSENT_EXCUSED = rules.ABSENT_EXCUSED, "Absent, excused"
    ABSENT_UNEXCUSED = rules.ABSENT_UNEXCUSED, "Absent, unexcused"


class AttendanceSheet(PublicModel):
    """The attendance of one group session as a whole: its version and who saved last."""

    session = models.OneToOneField(
        GroupSession, on_delete=models.PROTECT, related_name="attendance_sheet"
    )
    version = models.PositiveIntegerField(default=0)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    saved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Attendance sheet {self.public_id}"


class AttendanceRecord(PublicModel):
    """One patient at one group session or one appointment.

    `on`, `program` and `track` are copied from the session or appointment so the
    census, the chart and the weekly report read one indexed table.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="attendance")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    session = models.ForeignKey(
        GroupSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attendance_records",
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attendance_records",
    )
    on = models.DateField()
    status = models.CharField(max_length=20, choices=AttendanceStatus.choices)
    late_minutes = models.PositiveSmallIntegerField(default=0)
    left_early_minutes = models.PositiveSmallIntegerField(default=0)
    minutes_attended = models.PositiveSmallIntegerField(default=0)
    walk_in = models.BooleanField(
        default=False, help_text="Attended a session whose roster does not hold the patient."
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["on", "id"]
        indexes = [
            models.Index(fields=["patient", "on"], name="attendance_patient_on_idx"),
            models.Index(fields=["program", "on"], name="attendance_program_on_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "patient"],
                condition=models.Q(session__isnull=False),
                name="attendance_one_per_session_patient",
            ),
            models.UniqueConstraint(
                fields=["appointment"],
                condition=models.Q(appointment__isnull=False),
                name="attendance_one_per_appointment",
            ),
            models.CheckConstraint(
                condition=models.Q(session__isnull=False, appointment__isnull=True)
                | models.Q(session__isnull=True, appointment__isnull=False),
                name="attendance_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Attendance {self.public_id}"

    @property
    def attended(self) -> bool:
        return self.status in rules.ATTENDED


class AttendanceChange(models.Model):
    """History of a record: each save that changed its status or minutes."""

    record = models.ForeignKey(AttendanceRecord, on_delete=models.PROTECT, related_name="changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    from_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    to_minutes = models.PositiveSmallIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status}->{self.to_status}"


class VisitorKind(models.TextChoices):
    OBSERVATION = "observation", "Observation visit (prospective patient)"
    FAMILY = "family", "Family member"
    STUDENT = "student", "Student or trainee"
    OTHER = "other", "Other visitor"


class SessionVisitor(PublicModel):
    """Someone present at a group who is not a patient on it: never counted, never billed."""

    session = models.ForeignKey(GroupSession, on_delete=models.PROTECT, related_name="visitors")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=VisitorKind.choices)
    note = models.CharField(max_length=300, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Visitor {self.public_id}"


class OutreachMethod(models.TextChoices):
    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    IN_PERSON = "in_person", "In person"
    LETTER = "letter", "Letter"


class OutreachOutcome(models.TextChoices):
    REACHED = "reached", "Reached the patient"
    LEFT_MESSAGE = "left_message", "Left a message"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong or disconnected number"
    REACHED_CONTACT = "reached_contact", "Reached an emergency contact"


class OutreachAttempt(PublicModel):
    """One attempt to reach a patient after a missed session."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outreach")
    record = models.ForeignKey(
        AttendanceRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="outreach"
    )
    method = models.CharField(max_length=20, choices=OutreachMethod.choices)
    outcome = models.CharField(max_length=20, choices=OutreachOutcome.choices)
    note = models.TextField(blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    made_at = models.DateTimeField()

    class Meta:
        ordering = ["-made_at", "-id"]
        indexes = [models.Index(fields=["patient", "made_at"], name="outreach_patient_idx")]

    def __str__(self) -> str:
        return f"Outreach {self.public_id}"


class PartialWeekPolicy(models.TextChoices):
    PRORATE = rules.PRORATE, "Prorate the minimum over the days enrolled"
    EXEMPT = rules.EXEMPT, "Show the week but do not judge it"
    FULL = rules.FULL, "Apply the full minimum"


class AttendanceSettings(models.Model):
    """Per-program attendance settings (a program without a row uses the defaults)."""

    program = models.OneToOneField(
        Program, on_delete=models.PROTECT, related_name="attendance_settings"
    )
    absence_alert_threshold = models.PositiveSmallIntegerField(
        default=2,
        help_text="Consecutive unexcused absences that raise a disengagement alert (0: off).",
    )
    partial_week_policy = models.CharField(
        max_length=10, choices=PartialWeekPolicy.choices, default=PartialWeekPolicy.PRORATE
    )
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "attendance settings"

    def __str__(self) -> str:
        return f"Attendance settings {self.program_id}"


DEFAULT_ABSENCE_THRESHOLD = 2
DEFAULT_PARTIAL_WEEK_POLICY = rules.PRORATE


class RuleScope(models.TextChoices):
    ALL = "all", "Every patient of the organization"
    PLAN_TYPE = "plan_type", "Patients with a plan type (e.g. Medicare)"
    PAYER = "payer", "Patients covered by one payer"
    PROGRAM = "program", "Patients of one program (e.g. a state's rule)"


class HourRequirement(PublicModel):
    """A configured weekly minimum. Without rows, ASAM 2.1 (9 h adults, 6 h adolescents)
    and Medicare IOP (9 h) apply from rules.DEFAULT_RULES. A row with the code
    `asam_2_1` or `medicare_iop` replaces that default's numbers within its scope; any
    other code adds a rule (a payer's or a state's). The most specific scope wins."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="hour_requirements"
    )
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=80)
    scope = models.CharField(max_length=10, choices=RuleScope.choices, default=RuleScope.ALL)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, null=True, blank=True)
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, null=True, blank=True)
    plan_type = models.CharField(max_length=20, choices=PlanType.choices, blank=True)
    adult_min_hours = models.DecimalField(max_digits=4, decimal_places=1)
    adolescent_min_hours = models.DecimalField(max_digits=4, decimal_places=1)
    min_days = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=300, blank=True, help_text="Where the rule comes from.")
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["code", "scope"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope="all")
                | models.Q(scope="program", program__isnull=False)
                | models.Q(scope="payer", payer__isnull=False)
                | models.Q(scope="plan_type") & ~models.Q(plan_type=""),
                name="hourrequirement_scope_target",
            )
        ]

    def __str__(self) -> str:
        return self.label

    def as_configured(self) -> rules.ConfiguredRule:
        return rules.ConfiguredRule(
            rule=rules.HourRule(
                code=self.code,
                label=self.label,
                adult_hours=self.adult_min_hours,
                adolescent_hours=self.adolescent_min_hours,
                min_days=self.min_days,
                source=self.source,
            ),
            scope=self.scope,
            program_id=self.program_id,
            payer_id=self.payer_id,
            plan_type=self.plan_type,
        )
