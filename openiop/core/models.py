"""Building blocks shared by every domain app."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class PublicModel(models.Model):
    """A record with a UUID for URLs and APIs; the integer key stays internal."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SubmissionReceipt(models.Model):
    """Remembers a form submission token so a double submit creates one record.

    Each create form carries a random token; the service that creates the record
    stores the token with the new record's public id in the same transaction, and a
    repeated submission finds the receipt instead of creating a second record.
    """

    token = models.UUIDField(unique=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    kind = models.CharField(max_length=64)
    object_public_id = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.object_public_id}"
