"""Break-the-glass grants: time-limited, reasoned access outside one's programs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openiop.core.models import PublicModel
from openiop.patients.models import Patient


class BreakGlassGrant(PublicModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "patient", "expires_at"], name="bg_lookup_idx")]

    def __str__(self) -> str:
        return f"Break-glass {self.public_id}"
