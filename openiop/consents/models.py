"""Consents and releases of information, their signatures and their history.

A consent is drafted by staff (kind, recipient, purposes, information, expiry), then
signed by the patient on screen or recorded as a witnessed verbal consent. Signing
stores the exact text shown and its SHA-256, so a later change to a template never
changes what was signed; a signed consent is never edited again, only revoked (or
marked entered in error), and every change is kept in `ConsentEvent`.

The structured columns (recipient, purposes, information categories, dates, status)
are what `rules.disclosure_permitted` evaluates; the text is what the patient read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openiop.core.models import PublicModel
from openiop.organizations.models import Program
from openiop.patients.models import Patient


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Consent to treatment"
    FINANCIAL = "financial", "Financial responsibility"
    PROGRAM_RULES = "program_rules", "Program rules"
    PART2_DISCLOSURE = "part2_disclosure", "42 CFR Part 2 consent to disclose"
    ROI_FAMILY = "roi_family", "Release of information: family member"
    ROI_SPONSOR = "roi_sponsor", "Release of information: self-help sponsor"
    ROI_PROVIDER = "roi_provider", "Release of information: outside provider"
    # 42 CFR Part 2 (2024): consent for SUD counseling notes must stand alone.
    SUD_COUNSELING_NOTES = "sud_counseling_notes", "Consent to disclose SUD counseling notes"


# Without a program setting, admission needs these three (issue 3, part 8 and 9).
DEFAULT_ADMISSION_KINDS: tuple[str, ...] = (
    ConsentKind.TREATMENT,
    ConsentKind.FINANCIAL,
    ConsentKind.PROGRAM_RULES,
)

# Kinds that authorize a disclosure and so must carry every §2.31(a) element.
DISCLOSURE_KINDS: frozenset[str] = frozenset(
    {
        ConsentKind.PART2_DISCLOSURE,
        ConsentKind.ROI_FAMILY,
        ConsentKind.ROI_SPONSOR,
        ConsentKind.ROI_PROVIDER,
        ConsentKind.SUD_COUNSELING_NOTES,
    }
)


class ConsentStatus(models.TextChoices):
    DRAFT = "draft", "Draft (not signed)"
    SIGNED = "signed", "Signed"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class RecipientClass(models.TextChoices):
    """Who receives: a named person or organization, or a class (§2.31(a)(4))."""

    NAMED_INDIVIDUAL = "named_individual", "A named person"
    NAMED_ORGANIZATION = "named_organization", "A named organization"
    FAMILY_MEMBER = "family_member", "Family member"
    SELF_HELP_SPONSOR = "self_help_sponsor", "Self-help sponsor"
    OUTSIDE_PROVIDER = "outside_provider", "Outside treating provider"
    HEALTH_PLAN = "health_plan", "Health plan or third-party payer"
    # The single TPO consent may describe recipients generally.
    TPO_GENERAL = (
        "tpo_general",
        "Treating providers, health plans, third-party payers and people helping operate the "
        "program",
    )


class Purpose(models.TextChoices):
    """Purposes of use (v3-ActReason codes where one exists)."""

    TREAT = "TREAT", "Treatment"
    HPAYMT = "HPAYMT", "Payment"
    HOPERAT = "HOPERAT", "Health care operations"
    ETREAT = "ETREAT", "Emergency treatment"
    PATRQT = "PATRQT", "At the request of the patient"
    FAMRQT = "FAMRQT", "Family involvement in care"
    COC = "COC", "Coordination of care"


class InfoCategory(models.TextChoices):
    ALL_RECORDS = "all_records", "All records (except SUD counseling notes)"
    DIAGNOSES = "diagnoses", "Diagnoses"
    MEDICATIONS = "medications", "Medications"
    ATTENDANCE = "attendance", "Attendance and participation"
    TREATMENT_PLAN = "treatment_plan", "Treatment plan and progress"
    TOXICOLOGY = "toxicology", "Drug screen results"
    ASSESSMENTS = "assessments", "Assessments and screening results"
    DISCHARGE = "discharge", "Discharge summary and aftercare plan"
    BILLING = "billing", "Billing and claims information"
    SUD_COUNSELING_NOTES = "sud_counseling_notes", "SUD counseling notes"


class ExpiryEvent(models.TextChoices):
    NONE_SET = "", "No event (an expiry date is given)"
    END_OF_TREATMENT = "end_of_treatment", "End of treatment"
    NO_EXPIRY = "none", "None (single TPO consent only)"
    OTHER = "other", "Another event (described)"


class SignatureMethod(models.TextChoices):
    DRAWN = "drawn", "Typed name and drawn signature"
    TYPED = "typed", "Typed name, signed electronically"
    VERBAL_WITNESSED = "verbal_witnessed", "Verbal consent with witnesses"


class RevocationMethod(models.TextChoices):
    WRITTEN = "written", "In writing"
    VERBAL = "verbal", "Verbally"


class ProgramConsentSettings(models.Model):
    """Which consent kinds a program requires before admission.

    A program without a row requires DEFAULT_ADMISSION_KINDS. The Part 2 disclosure
    consent is never allowed here: treatment cannot be conditioned on it.
    """

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="consent_settings"
    )
    required_kinds = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Consent settings {self.program_id}"


class Consent(PublicModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    # Who may disclose (§2.31(a)(2)): the program, and its name as printed.
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    discloser_name = models.CharField("who may disclose", max_length=300)
    kind = models.CharField(max_length=30, choices=ConsentKind.choices)
    status = models.CharField(
        max_length=20, choices=ConsentStatus.choices, default=ConsentStatus.DRAFT
    )
    # The single consent for all future treatment, payment and health care operations.
    is_tpo = models.BooleanField("single TPO consent", default=False)

    recipient_name = models.CharField(max_length=200, blank=True)
    recipient_class = models.CharField(max_length=30, choices=RecipientClass.choices, blank=True)
    recipient_relationship = models.CharField(max_length=100, blank=True)
    recipient_contact = models.CharField(max_length=300, blank=True)
    purposes = models.JSONField(default=list, blank=True)
    purpose_description = models.CharField(max_length=500, blank=True)
    information_categories = models.JSONField(default=list, blank=True)
    information_description = models.TextField(blank=True)
    effective_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    expiry_event = models.CharField(
        max_length=20, choices=ExpiryEvent.choices, blank=True, default=ExpiryEvent.NONE_SET
    )
    expiry_event_description = models.CharField(max_length=200, blank=True)

    # Filled at signing and never changed afterwards.
    template_key = models.CharField(max_length=60, blank=True)
    text = models.TextField(blank=True)
    text_sha256 = models.CharField(max_length=64, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    signature_method = models.CharField(max_length=20, choices=SignatureMethod.choices, blank=True)
    signed_name = models.CharField(max_length=300, blank=True)
    signature_png = models.BinaryField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signer_address = models.GenericIPAddressField(null=True, blank=True)
    signer_user_agent = models.CharField(max_length=400, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    second_witness_name = models.CharField(max_length=200, blank=True)
    unable_to_sign_reason = models.CharField(max_length=300, blank=True)

    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_method = models.CharField(
        max_length=10, choices=RevocationMethod.choices, blank=True
    )
    revocation_received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revocation_note = models.CharField(max_length=500, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "kind", "status"], name="consent_patient_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True)
                | models.Q(expires_on__gte=models.F("effective_on")),
                name="consent_expiry_after_effective",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="revoked") | models.Q(revoked_at__isnull=False),
                name="consent_revoked_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft")
                | models.Q(status="entered_in_error")
                | (models.Q(signed_at__isnull=False) & ~models.Q(text_sha256="")),
                name="consent_signed_has_signature",
            ),
        ]

    def __str__(self) -> str:
        return f"Consent {self.public_id}"


class ConsentEvent(models.Model):
    """One step in a consent's life: drafted, edited, signed, revoked, printed..."""

    class Kind(models.TextChoices):
        DRAFTED = "drafted", "Drafted"
        EDITED = "edited", "Draft edited"
        SIGNED = "signed", "Signed"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"
        PRINTED = "printed", "Printed"

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    effective_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.consent_id}"
