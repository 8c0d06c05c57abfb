"""Organizations, their sites and programs, and the payers they bill."""

from __future__ import annotations

from django.db import models

from openiop.core.models import PublicModel


class LevelOfCare(models.TextChoices):
    """ASAM levels of care (codes only; ASAM's descriptive text is not shipped)."""

    L0_5 = "0.5", "0.5"
    L1 = "1", "1"
    L2_1 = "2.1", "2.1"
    L2_5 = "2.5", "2.5"
    L3_1 = "3.1", "3.1"
    L3_5 = "3.5", "3.5"
    L3_7 = "3.7", "3.7"
    L4 = "4", "4"
    WM = "WM", "Withdrawal management"


class Organization(PublicModel):
    name = models.CharField(max_length=200)
    mrn_prefix = models.CharField(
        max_length=4, blank=True, help_text="Optional letters put before every MRN."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Site(PublicModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="site_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ProgramType(models.TextChoices):
    SUD_IOP = "sud_iop", "SUD IOP"
    MH_IOP = "mh_iop", "Mental health IOP"
    DUAL_DIAGNOSIS = "dual_diagnosis", "Dual diagnosis IOP"
    ADOLESCENT = "adolescent", "Adolescent IOP"


class Program(PublicModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="programs")
    name = models.CharField(max_length=200)
    program_type = models.CharField(max_length=20, choices=ProgramType.choices)
    level_of_care = models.CharField(
        max_length=4, choices=LevelOfCare.choices, default=LevelOfCare.L2_1
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="program_unique_name_per_site")
        ]

    def __str__(self) -> str:
        return self.name


class PlanType(models.TextChoices):
    PRIVATE = "private", "Private"
    MEDICAID = "medicaid", "Medicaid"
    MEDICARE = "medicare", "Medicare"
    SELF_PAY = "self_pay", "Self-pay"
    OTHER = "other", "Other"


class Payer(PublicModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="payers")
    name = models.CharField(max_length=200)
    payer_code = models.CharField(
        max_length=40, blank=True, help_text="Clearinghouse payer id, when known."
    )
    plan_type = models.CharField(max_length=20, choices=PlanType.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="payer_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
