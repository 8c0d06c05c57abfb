"""The patient registry: demographics, contacts and insurance coverage.

Patients are never deleted: a record created by mistake is marked entered in error
and kept, with its audit trail.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower

from openiop.core.models import PublicModel
from openiop.organizations.models import Organization, Payer, PlanType


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown"
    DECLINED = "declined", "Declined to answer"


class GenderIdentity(models.TextChoices):
    WOMAN = "woman", "Woman"
    MAN = "man", "Man"
    NONBINARY = "nonbinary", "Non-binary"
    TRANSGENDER_WOMAN = "transgender_woman", "Transgender woman"
    TRANSGENDER_MAN = "transgender_man", "Transgender man"
    OTHER = "other", "Another identity"
    DECLINED = "declined", "Declined to answer"
    UNKNOWN = "unknown", "Unknown"


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class Patient(PublicModel):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="patients"
    )
    mrn = models.CharField("MRN", max_length=20)
    status = models.CharField(
        max_length=20, choices=PatientStatus.choices, default=PatientStatus.ACTIVE
    )
    legal_given_name = models.CharField("legal first name", max_length=100)
    legal_middle_name = models.CharField("legal middle name", max_length=100, blank=True)
    legal_family_name = models.CharField("legal last name", max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    pronouns = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=20, choices=SexAtBirth.choices)
    gender_identity = models.CharField(max_length=30, choices=GenderIdentity.choices, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # Digits only, for search by any formatting of the number.
    phone_digits = models.CharField(max_length=20, blank=True, editable=False)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    preferred_language = models.CharField(max_length=40, default="English")
    # Optimistic concurrency: an update names the version it started from, and is
    # refused when someone else saved in between.
    version = models.PositiveIntegerField(default=1)
    # The three names in one column, kept by the database, for search: one trigram
    # index to probe instead of three (patients migration 0003).
    search_name = models.GeneratedField(
        expression=Concat(
            "legal_given_name", Value(" "), "legal_family_name", Value(" "), "preferred_name"
        ),
        output_field=models.CharField(max_length=302),
        db_persist=True,
    )

    class Meta:
        ordering = ["legal_family_name", "legal_given_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "mrn"], name="patient_unique_mrn"),
        ]
        indexes = [
            models.Index(Lower("legal_family_name"), name="patient_family_lower_idx"),
            models.Index(fields=["date_of_birth"], name="patient_dob_idx"),
            models.Index(fields=["phone_digits"], name="patient_phone_idx"),
        ]

    def __str__(self) -> str:
        # Deliberately no name: str() ends up in logs and exception messages.
        return f"Patient {self.public_id}"

    @property
    def full_name(self) -> str:
        parts = [self.legal_given_name, self.legal_middle_name, self.legal_family_name]
        return " ".join(p for p in parts if p)

    @property
    def display_name(self) -> str:
        if self.preferred_name and self.preferred_name != self.legal_given_name:
            return f"{self.legal_family_name}, {self.legal_given_name} ({self.preferred_name})"
        return f"{self.legal_family_name}, {self.legal_given_name}"


class MrnSequence(models.Model):
    """The last MRN number issued per organization (row-locked while issuing)."""

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT)
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"MRN sequence {self.organization_id}"


class EmergencyContact(PublicModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=60)
    phone = models.CharField(max_length=40)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Contact {self.public_id}"


class SubscriberRelationship(models.TextChoices):
    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    OTHER = "other", "Other"


class CoverageStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class Coverage(PublicModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coverages")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, null=True, blank=True)
    plan_type = models.CharField(max_length=20, choices=PlanType.choices)
    member_id = models.CharField(max_length=60, blank=True)
    group_number = models.CharField(max_length=60, blank=True)
    subscriber_name = models.CharField(max_length=200, blank=True)
    relationship_to_subscriber = models.CharField(
        max_length=20, choices=SubscriberRelationship.choices, default=SubscriberRelationship.SELF
    )
    effective_start = models.DateField()
    effective_end = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(default=1, help_text="1 = primary")
    status = models.CharField(
        max_length=20, choices=CoverageStatus.choices, default=CoverageStatus.ACTIVE
    )

    class Meta:
        ordering = ["priority", "-effective_start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_end__isnull=True)
                | models.Q(effective_end__gte=models.F("effective_start")),
                name="coverage_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"Coverage {self.public_id}"
