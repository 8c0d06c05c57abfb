"""Break-the-glass: emergency access to a patient outside one's programs."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import transaction

from openiop.access.models import BreakGlassGrant
from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.patients.models import Patient

MIN_REASON_LENGTH = 10


@transaction.atomic
def break_glass_grant(
    *, actor: User, patient_public_id: UUID, reason: str, now: datetime
) -> BreakGlassGrant:
    if not actor.has_perm_code(Perm.BREAK_GLASS):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role cannot use emergency access.")
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ServiceError(
            ErrorCode.INVALID,
            f"State the reason for emergency access (at least {MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    patient = Patient.objects.filter(
        public_id=patient_public_id, organization_id=actor.org_id
    ).first()
    if patient is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such patient.")
    grant = BreakGlassGrant.objects.create(
        user=actor,
        patient=patient,
        reason=reason,
        granted_at=now,
        expires_at=now + settings.BREAK_GLASS_DURATION,
    )
    audit_record(
        actor=actor,
        action=AuditAction.BREAK_GLASS,
        patient=patient,
        object_type="break_glass_grant",
        object_id=grant.public_id,
        break_glass=True,
        detail={"reason": reason, "expires_at": grant.expires_at.isoformat()},
    )
    return grant
