"""Writing audit events. Every read and write of patient data goes through here."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from openiop.audit.chain import GENESIS_HASH, event_hash
from openiop.audit.models import AuditAction, AuditChainHead, AuditEvent, AuditOutcome
from openiop.core import context

if TYPE_CHECKING:
    from openiop.accounts.models import User
    from openiop.patients.models import Patient


@dataclass(frozen=True)
class AuditEntry:
    action: AuditAction
    patient: Patient | None = None
    object_type: str = ""
    object_id: str = ""
    outcome: AuditOutcome = AuditOutcome.ALLOWED
    break_glass: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


def _normalise_ip(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    patient: Patient | None = None,
    object_type: str = "",
    object_id: object = "",
    outcome: AuditOutcome = AuditOutcome.ALLOWED,
    break_glass: bool = False,
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event. Joins the caller's transaction when there is one, so a
    change and its audit row commit or roll back together."""
    entry = AuditEntry(
        action=action,
        patient=patient,
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
        outcome=outcome,
        break_glass=break_glass,
        detail=detail or {},
    )
    return audit_record_many(actor=actor, entries=[entry], username=username)[0]


def audit_record_many(
    *, actor: User | None, entries: Sequence[AuditEntry], username: str = ""
) -> list[AuditEvent]:
    """Append several events in one locked step (a search listing 50 patients is one
    lock, one insert and one head update, whatever the number of rows). Nothing to
    record writes nothing."""
    if not entries:
        return []
    ctx = context.current()
    now = timezone.now()
    source_ip = _normalise_ip(ctx.source_ip)
    with transaction.atomic():
        head = _locked_head()
        prev = head.last_hash
        events: list[AuditEvent] = []
        for entry in entries:
            event = AuditEvent(
                public_id=uuid.uuid4(),
                occurred_at=now,
                actor=actor,
                actor_username=(actor.get_username() if actor else username)[:150],
                actor_role=actor.role if actor else "",
                action=entry.action,
                outcome=entry.outcome,
                patient=entry.patient,
                object_type=entry.object_type,
                object_id=entry.object_id,
                break_glass=entry.break_glass,
                source_ip=source_ip,
                request_id=ctx.request_id,
                detail=entry.detail,
                prev_hash=prev,
            )
            event.hash = event_hash(hashable_content(event), prev)
            prev = event.hash
            events.append(event)
        AuditEvent.objects.bulk_create(events)
        if events[-1].pk is None:  # backends without RETURNING for bulk inserts
            events = _refetch(events)
        head.last_hash = prev
        head.last_event_id = events[-1].pk
        head.count += len(events)
        head.save(update_fields=["last_hash", "last_event_id", "count"])
    return events


def _refetch(events: list[AuditEvent]) -> list[AuditEvent]:
    by_public = {
        e.public_id: e
        for e in AuditEvent.objects.filter(public_id__in=[e.public_id for e in events])
    }
    return [by_public[e.public_id] for e in events]


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(singleton=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(singleton=1, defaults={"last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(singleton=1)
    return head


def hashable_content(event: AuditEvent) -> dict[str, Any]:
    """The hashed fields of an event, in the exact form they are hashed in."""
    occurred: datetime = event.occurred_at
    return {
        "public_id": str(event.public_id),
        "occurred_at": occurred.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "actor_role": event.actor_role,
        "action": str(event.action),
        "outcome": str(event.outcome),
        "patient_id": event.patient_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "break_glass": bool(event.break_glass),
        "source_ip": _normalise_ip(event.source_ip),
        "request_id": event.request_id,
        "detail": event.detail,
    }


def audit_patients_listed(
    *, actor: User, patients: Iterable[Patient], object_type: str, detail: dict[str, Any]
) -> None:
    """One read event per patient shown in a list (search results, worklists)."""
    entries = [
        AuditEntry(
            action=AuditAction.SEARCH,
            patient=p,
            object_type=object_type,
            object_id=str(p.public_id),
            detail=detail,
        )
        for p in patients
    ]
    if entries:
        audit_record_many(actor=actor, entries=entries)
    else:
        audit_record(actor=actor, action=AuditAction.SEARCH, object_type=object_type, detail=detail)
