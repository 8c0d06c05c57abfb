"""The append-only, hash-chained audit trail (ASTM E2147 content, HIPAA 164.312(b))."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    SEARCH = "search", "Search"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    STATUS_CHANGE = "status_change", "Status change"
    PRINT = "print", "Print"
    EXPORT = "export", "Export"
    DISCLOSE = "disclose", "Disclose"
    SIGN = "sign", "Sign"
    BREAK_GLASS = "break_glass", "Break the glass"
    LOGIN = "login", "Log in"
    LOGIN_FAILED = "login_failed", "Failed log in"
    LOGOUT = "logout", "Log out"
    SESSION_TIMEOUT = "session_timeout", "Session timed out"
    MFA_ENROLL = "mfa_enroll", "MFA enrolled"
    MFA_VERIFY = "mfa_verify", "MFA verified"
    MFA_FAILED = "mfa_failed", "MFA failed"
    PRIVILEGE_CHANGE = "privilege_change", "Role or membership change"
    ACCESS_DENIED = "access_denied", "Access denied"


class AuditOutcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"


class AuditEvent(models.Model):
    """One audited action. Rows are never updated or deleted (a PostgreSQL trigger
    refuses both); each row's hash covers its content and the previous row's hash."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    # The composite (actor, time) and (patient, time) indexes serve lookups by actor or
    # patient, so the foreign keys carry no index of their own: every index is paid for
    # on each of the many inserts (a search writes one row per patient listed). Nor do
    # they carry a database constraint: checking two foreign keys per row at commit
    # cost more than the insert itself, the ids always come from rows just read, and
    # the ORM's PROTECT still refuses deleting a user or patient that has events.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    break_glass = models.BooleanField(default=False)
    source_ip = models.GenericIPAddressField(null=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Non-PHI detail only: ids, field names changed, counts, reasons typed by staff.
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["patient", "occurred_at"], name="audit_patient_time_idx"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time_idx"),
            models.Index(fields=["action", "occurred_at"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.public_id}"


class AuditChainHead(models.Model):
    """The newest link of the chain: locked while appending, so rows chain in order,
    and kept with a row count, so removing the newest rows is detected too."""

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit head at {self.last_event_id}"
