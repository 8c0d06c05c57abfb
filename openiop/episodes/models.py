"""Episodes of care and their history of status and level-of-care changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openiop.core.models import PublicModel
from openiop.organizations.models import LevelOfCare, Program
from openiop.patients.models import Patient


class EpisodeStatus(models.TextChoices):
    REFERRED = "referred", "Referred"
    SCREENING = "screening", "Screening"
    ACTIVE = "active", "Active"
    DISCHARGED = "discharged", "Discharged"
    CANCELLED = "cancelled", "Cancelled"


class Episode(PublicModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="episodes")
    status = models.CharField(max_length=20, choices=EpisodeStatus.choices)
    level_of_care = models.CharField(max_length=4, choices=LevelOfCare.choices)
    primary_counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    case_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    referred_on = models.DateField()
    admitted_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-referred_on", "-id"]
        indexes = [
            models.Index(fields=["program", "status"], name="episode_program_status_idx"),
            models.Index(fields=["patient", "program"], name="episode_patient_program_idx"),
        ]

    def __str__(self) -> str:
        return f"Episode {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.status in {
            EpisodeStatus.REFERRED,
            EpisodeStatus.SCREENING,
            EpisodeStatus.ACTIVE,
        }


class EpisodeEvent(models.Model):
    """One change of an episode: opened, status change, level-of-care change, care team."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        STATUS = "status", "Status changed"
        LEVEL_OF_CARE = "level_of_care", "Level of care changed"
        CARE_TEAM = "care_team", "Care team changed"

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=20, choices=EpisodeStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=EpisodeStatus.choices, blank=True)
    from_level = models.CharField(max_length=4, choices=LevelOfCare.choices, blank=True)
    to_level = models.CharField(max_length=4, choices=LevelOfCare.choices, blank=True)
    effective_on = models.DateField()
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.episode_id}"
