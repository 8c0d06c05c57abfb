"""Writes for reminders and calendar feeds: preferences, feed tokens, deliveries.

Each staff-facing service is keyword-only, runs in one transaction with its audit row,
checks the permission and the patient's program scope again (the view checked them
too). The delivery services are called by background jobs (openiop/reminders/jobs.py)
and implement the claim -> sent state machine described in docs/REMINDERS.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.reminders import rules
from openiop.reminders.models import (
    CalendarFeedToken,
    DeliveryState,
    FeedStatus,
    ReminderDelivery,
    ReminderPreference,
    WorkerHeartbeat,
)

FEED_AUDIT_USERNAME = "calendar-feed"
JOB_AUDIT_USERNAME = "reminder-job"


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _require_patient(actor: User, access: PatientAccess) -> Patient:
    if access.patient.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "This patient is not in your organization.")
    return access.patient


# ----- preferences ----------------------------------------------------------------------


class PreferenceConflict(ServiceError):
    def __init__(self, current: ReminderPreference) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else changed these reminder preferences while you were editing. Your "
            "entries are kept below; check them against what is now saved, then save again.",
        )
        self.current = current


@dataclass(frozen=True)
class PreferenceInput:
    email_enabled: bool
    sms_enabled: bool
    lead_minutes: int


def preference_for(patient: Patient) -> ReminderPreference:
    """The saved preference, or an unsaved one with the defaults (version 0)."""
    pref = ReminderPreference.objects.filter(patient=patient).first()
    if pref is None:
        pref = ReminderPreference(
            patient=patient, lead_minutes=rules.DEFAULT_LEAD_MINUTES, version=0
        )
    return pref


@transaction.atomic
def preference_update(
    *, actor: User, access: PatientAccess, data: PreferenceInput, version: int
) -> ReminderPreference:
    _require(actor, Perm.PATIENT_EDIT)
    patient = _require_patient(actor, access)
    if data.lead_minutes not in rules.LEAD_MINUTES:
        raise ServiceError(
            ErrorCode.INVALID, "Choose one of the listed lead times.", field="lead_minutes"
        )
    pref = ReminderPreference.objects.select_for_update().filter(patient=patient).first()
    current_version = pref.version if pref else 0
    if current_version != version:
        if pref is None:
            raise ServiceError(ErrorCode.CONFLICT, "These preferences changed; reload the page.")
        raise PreferenceConflict(pref)
    if pref is None:
        pref = ReminderPreference(patient=patient, version=0)
    changed = [
        name
        for name in ("email_enabled", "sms_enabled", "lead_minutes")
        if pref.pk is None or getattr(pref, name) != getattr(data, name)
    ]
    pref.email_enabled = data.email_enabled
    pref.sms_enabled = data.sms_enabled
    pref.lead_minutes = data.lead_minutes
    pref.updated_by = actor
    pref.version = current_version + 1
    pref.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if current_version else AuditAction.CREATE,
        patient=patient,
        object_type="reminder_preference",
        object_id=pref.public_id,
        break_glass=access.via_break_glass,
        detail={
            "changed": changed,
            "email_enabled": data.email_enabled,
            "sms_enabled": data.sms_enabled,
            "lead_minutes": data.lead_minutes,
        },
    )
    return pref


# ----- calendar feed tokens -------------------------------------------------------------


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class IssuedFeed:
    token: CalendarFeedToken
    url_token: str  # "<selector>.<secret>": shown once, never stored


def _issue(*, actor: User, patient: Patient | None, user: User | None) -> IssuedFeed:
    selector = secrets.token_urlsafe(12)  # 16 characters
    secret = secrets.token_urlsafe(32)  # 256 bits
    row = CalendarFeedToken.objects.create(
        patient=patient,
        user=user,
        selector=selector,
        secret_sha256=_sha256(secret),
        issued_by=actor,
    )
    return IssuedFeed(row, f"{selector}.{secret}")


def _revoke_active(
    *, actor: User, now: datetime, patient: Patient | None, user: User | None
) -> list[CalendarFeedToken]:
    owner = Q(patient=patient) if patient is not None else Q(user=user)
    rows = list(
        CalendarFeedToken.objects.select_for_update().filter(owner, status=FeedStatus.ACTIVE)
    )
    for row in rows:
        row.status = FeedStatus.REVOKED
        row.revoked_at = now
        row.revoked_by = actor
        row.save(update_fields=["status", "revoked_at", "revoked_by", "updated_at"])
    return rows


@transaction.atomic
def feed_issue_for_patient(*, actor: User, access: PatientAccess, now: datetime) -> IssuedFeed:
    """A new feed URL for the patient; any previous one stops working."""
    _require(actor, Perm.PATIENT_EDIT)
    patient = _require_patient(actor, access)
    revoked = _revoke_active(actor=actor, now=now, patient=patient, user=None)
    issued = _issue(actor=actor, patient=patient, user=None)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="calendar_feed_token",
        object_id=issued.token.public_id,
        break_glass=access.via_break_glass,
        detail={"owner": "patient", "replaced": [str(r.public_id) for r in revoked]},
    )
    return issued


@transaction.atomic
def feed_revoke_for_patient(*, actor: User, access: PatientAccess, now: datetime) -> int:
    _require(actor, Perm.PATIENT_EDIT)
    patient = _require_patient(actor, access)
    revoked = _revoke_active(actor=actor, now=now, patient=patient, user=None)
    if not revoked:
        raise ServiceError(ErrorCode.INVALID, "This patient has no calendar feed to revoke.")
    for row in revoked:
        audit_record(
            actor=actor,
            action=AuditAction.STATUS_CHANGE,
            patient=patient,
            object_type="calendar_feed_token",
            object_id=row.public_id,
            break_glass=access.via_break_glass,
            detail={"owner": "patient", "status": FeedStatus.REVOKED},
        )
    return len(revoked)


@transaction.atomic
def feed_issue_for_self(*, actor: User, now: datetime) -> IssuedFeed:
    if not actor.is_active or not actor.role:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your account has no role.")
    revoked = _revoke_active(actor=actor, now=now, patient=None, user=actor)
    issued = _issue(actor=actor, patient=None, user=actor)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="calendar_feed_token",
        object_id=issued.token.public_id,
        detail={"owner": "staff", "replaced": [str(r.public_id) for r in revoked]},
    )
    return issued


@transaction.atomic
def feed_revoke_for_self(*, actor: User, now: datetime) -> int:
    revoked = _revoke_active(actor=actor, now=now, patient=None, user=actor)
    if not revoked:
        raise ServiceError(ErrorCode.INVALID, "You have no calendar feed to revoke.")
    for row in revoked:
        audit_record(
            actor=actor,
            action=AuditAction.STATUS_CHANGE,
            object_type="calendar_feed_token",
            object_id=row.public_id,
            detail={"owner": "staff", "status": FeedStatus.REVOKED},
        )
    return len(revoked)


def feed_token_resolve(url_token: str) -> CalendarFeedToken | None:
    """The active token for `<selector>.<secret>`, or None (revoked, unknown, malformed).

    The row is found by its selector (not secret); the secret's hash is then compared
    with `hmac.compare_digest`, so the time taken does not depend on how much of a
    guessed secret is right. A guess that names no selector still hashes once.
    """
    selector, dot, secret = (url_token or "").partition(".")
    if not dot or not selector or not secret or len(url_token) > 200:
        return None
    row = (
        CalendarFeedToken.objects.filter(selector=selector, status=FeedStatus.ACTIVE)
        .select_related("patient", "user")
        .first()
    )
    expected = row.secret_sha256 if row is not None else "0" * 64
    ok = hmac.compare_digest(expected, _sha256(secret))
    if row is None or not ok:
        return None
    if row.user is not None and not row.user.is_active:
        return None
    return row


@transaction.atomic
def feed_fetched(*, token: CalendarFeedToken, now: datetime, events: int) -> None:
    """Audit one fetch of a feed (patients' always; staff feeds too, they show when a
    patient appointment is) and note when it was last used."""
    CalendarFeedToken.objects.filter(pk=token.pk).update(last_fetched_at=now)
    audit_record(
        actor=token.user,
        username=FEED_AUDIT_USERNAME,
        action=AuditAction.READ,
        patient=token.patient,
        object_type="calendar_feed",
        object_id=token.public_id,
        detail={"owner": "patient" if token.patient_id else "staff", "events": events},
    )


# ----- deliveries (called by background jobs) ------------------------------------------


def claim_lease() -> timedelta:
    """How long a claim protects a delivery: the job time-out, after which django-q2
    has killed the job (and only after `retry` > time-out hands it out again)."""
    return timedelta(seconds=int(settings.JOB_TIMEOUT_SECONDS))


def delivery_claim(*, delivery_id: int, now: datetime) -> ReminderDelivery | None:
    """Take a delivery for sending, committed before anything is sent.

    Succeeds for a pending delivery, or one whose claim is older than the lease (its
    worker died between claim and send, or while sending). Returns None when the
    delivery was sent, failed, skipped, or is being sent by a live worker.
    """
    stale_before = now - claim_lease()
    with transaction.atomic():
        taken = ReminderDelivery.objects.filter(
            Q(state=DeliveryState.PENDING)
            | Q(state=DeliveryState.CLAIMED, claimed_at__lte=stale_before),
            pk=delivery_id,
        ).update(state=DeliveryState.CLAIMED, claimed_at=now, attempts=F("attempts") + 1)
    if not taken:
        return None
    return ReminderDelivery.objects.select_related("patient").get(pk=delivery_id)


@transaction.atomic
def delivery_mark_sent(*, delivery: ReminderDelivery, now: datetime) -> None:
    ReminderDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SENT, sent_at=now, last_error=""
    )
    audit_record(
        actor=None,
        username=JOB_AUDIT_USERNAME,
        action=AuditAction.DISCLOSE,
        patient=delivery.patient,
        object_type="reminder_delivery",
        object_id=delivery.public_id,
        detail={
            "channel": delivery.channel,
            "event_kind": delivery.event_kind,
            "event_id": str(delivery.event_id),
            "attempt": delivery.attempts,
            "recipient": "patient",
        },
    )


@transaction.atomic
def delivery_release(*, delivery: ReminderDelivery, error: str, max_attempts: int) -> str:
    """After a refused send: back to pending for the queue's retry, or failed."""
    state = DeliveryState.FAILED if delivery.attempts >= max_attempts else DeliveryState.PENDING
    ReminderDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.CLAIMED).update(
        state=state, last_error=error[:120]
    )
    if state == DeliveryState.FAILED:
        audit_record(
            actor=None,
            username=JOB_AUDIT_USERNAME,
            action=AuditAction.STATUS_CHANGE,
            patient=delivery.patient,
            object_type="reminder_delivery",
            object_id=delivery.public_id,
            detail={"channel": delivery.channel, "status": "failed", "error": error[:120]},
        )
    return state


@transaction.atomic
def delivery_skip(*, delivery: ReminderDelivery, reason: str) -> None:
    ReminderDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SKIPPED, last_error=reason[:120]
    )


def heartbeat(*, now: datetime, enqueued: int) -> None:
    WorkerHeartbeat.objects.update_or_create(
        singleton=1, defaults={"last_seen_at": now, "last_scan_enqueued": enqueued}
    )
