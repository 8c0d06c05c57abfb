"""Referrals and their pipeline, observation visits, and admissions.

A referral is PHI from the moment it is recorded (a name, a birth date and a reason
for treatment), so it is scoped and audited like a chart. Nothing here is deleted:
stage moves and contact attempts are history rows, an observation visit recorded by
mistake is marked entered in error, and an admission is part of its episode.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openiop.core.models import PublicModel
from openiop.episodes.models import Episode
from openiop.organizations.models import LevelOfCare, Organization, Program
from openiop.patients.models import Patient


class ReferralStage(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    SCREENING_SCHEDULED = "screening_scheduled", "Screening scheduled"
    ASSESSED = "assessed", "Assessed"
    OFFERED_ADMISSION = "offered_admission", "Offered admission"
    ADMITTED = "admitted", "Admitted"
    DECLINED = "declined", "Declined"
    REFERRED_ELSEWHERE = "referred_elsewhere", "Referred elsewhere"
    UNABLE_TO_REACH = "unable_to_reach", "Unable to reach"


class ReferralSource(models.TextChoices):
    SELF = "self", "Self"
    FAMILY = "family", "Family or friend"
    PRIMARY_CARE = "primary_care", "Primary care"
    HOSPITAL = "hospital", "Hospital or emergency department"
    DETOX = "detox", "Detox / withdrawal management"
    RESIDENTIAL = "residential", "Residential program"
    COURT = "court", "Court / criminal justice"
    EMPLOYER = "employer", "Employer / EAP"
    SCHOOL = "school", "School"
    OTHER = "other", "Other"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    SOON = "soon", "Soon"
    URGENT = "urgent", "Urgent"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"


class SchedulePreference(models.TextChoices):
    DAY = "day", "Day"
    EVENING = "evening", "Evening"
    EITHER = "either", "Either / no preference"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", "Reached"
    VOICEMAIL = "voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"


class Referral(PublicModel):
    """A prospective patient sent to (or asking for) the program."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="referrals"
    )
    # Null while the referral sits in the organization's intake pool.
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    source_type = models.CharField(max_length=20, choices=ReferralSource.choices)
    referring_organization = models.CharField(max_length=200, blank=True)
    referrer_name = models.CharField("referring contact person", max_length=200, blank=True)
    referrer_phone = models.CharField("referring contact phone", max_length=40, blank=True)
    reason = models.TextField("reason for referral")
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    given_name = models.CharField("first name", max_length=100)
    family_name = models.CharField("last name", max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    preferred_contact_method = models.CharField(
        max_length=10, choices=ContactMethod.choices, blank=True
    )
    insurance_payer_name = models.CharField("insurance (as given)", max_length=200, blank=True)
    insurance_member_id = models.CharField("member id (as given)", max_length=60, blank=True)
    insurance_notes = models.TextField("insurance notes", blank=True)
    schedule_preference = models.CharField(
        max_length=10, choices=SchedulePreference.choices, default=SchedulePreference.EITHER
    )
    schedule_notes = models.CharField(max_length=300, blank=True)
    stage = models.CharField(max_length=20, choices=ReferralStage.choices, default="new")
    stage_changed_at = models.DateTimeField()
    received_at = models.DateTimeField()
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "stage", "-received_at"], name="referral_org_stage_idx"
            ),
            models.Index(
                fields=["program", "stage", "-received_at"], name="referral_prog_stage_idx"
            ),
            models.Index(fields=["patient"], name="referral_patient_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(episode__isnull=True) | models.Q(patient__isnull=False),
                name="referral_episode_needs_patient",
            )
        ]

    def __str__(self) -> str:
        # Deliberately no name: str() ends up in logs and exception messages.
        return f"Referral {self.public_id}"

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


class ReferralEvent(models.Model):
    """One change of a referral: recorded, stage move, details edited, linked to a patient."""

    class Kind(models.TextChoices):
        CREATED = "created", "Recorded"
        STAGE = "stage", "Stage changed"
        UPDATED = "updated", "Details edited"
        LINKED = "linked", "Registered as a patient"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_stage = models.CharField(max_length=20, choices=ReferralStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=ReferralStage.choices, blank=True)
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.referral_id}"


class ReferralContactAttempt(PublicModel):
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="contact_attempts"
    )
    attempted_at = models.DateTimeField()
    method = models.CharField(max_length=10, choices=ContactMethod.choices)
    outcome = models.CharField(max_length=20, choices=ContactOutcome.choices)
    note = models.TextField(blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"Contact attempt {self.public_id}"


class ObservationOutcome(models.TextChoices):
    ENROL = "decided_to_enrol", "Decided to enrol"
    UNDECIDED = "undecided", "Undecided"
    DECLINED = "declined", "Declined"


class ObservationStatus(models.TextChoices):
    RECORDED = "recorded", "Recorded"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class ObservationVisit(PublicModel):
    """A prospective patient sat in on a group to see what it is like.

    NOT attendance and NOT billable: the person is not yet admitted, no service is
    rendered to them, and they do not count toward a group's census or anyone's weekly
    hours. The two flags below are always False (a database constraint says so) so that
    the attendance, compliance and billing capabilities, and any SQL report, can exclude
    these rows explicitly: they are never to be read as a session attended.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    # Either a referral (not yet a patient) or a patient with an open, not yet active
    # episode; a referral later registered keeps its visits (the chart finds them
    # through the referral).
    referral = models.ForeignKey(
        Referral,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="observation_visits",
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit_date = models.DateField()
    visit_time = models.TimeField(null=True, blank=True)
    # Free text until scheduling exists (then: a group session).
    session_description = models.CharField("group or session", max_length=200)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=ObservationOutcome.choices)
    note = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ObservationStatus.choices, default=ObservationStatus.RECORDED
    )
    counts_toward_attendance = models.BooleanField(default=False, editable=False)
    billable = models.BooleanField(default=False, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-visit_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(referral__isnull=False) | models.Q(patient__isnull=False),
                name="observation_has_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(counts_toward_attendance=False, billable=False),
                name="observation_never_attendance_or_billing",
            ),
        ]
        indexes = [models.Index(fields=["patient"], name="observation_patient_idx")]

    def __str__(self) -> str:
        return f"Observation visit {self.public_id}"


class Admission(PublicModel):
    """How an episode became active: track, expected length, schedule preference."""

    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="admission")
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    start_date = models.DateField()
    level_of_care = models.CharField(max_length=4, choices=LevelOfCare.choices)
    # Free text until scheduling exists ("Day SUD", "Evening MH"); then a program track.
    track = models.CharField("program track", max_length=100)
    expected_weeks = models.PositiveSmallIntegerField("expected length (weeks)")
    schedule_preference = models.CharField(max_length=10, choices=SchedulePreference.choices)
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    admitted_at = models.DateTimeField()

    class Meta:
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"Admission {self.public_id}"
