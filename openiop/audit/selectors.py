"""Reading the audit trail: verification and the filtered report."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from openiop.audit.chain import GENESIS_HASH, ChainBreak, verify_chain
from openiop.audit.models import AuditChainHead, AuditEvent
from openiop.audit.services import hashable_content


def _rows() -> Iterator[tuple[int, Mapping[str, Any], str, str]]:
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        yield event.pk, hashable_content(event), event.prev_hash, event.hash


def audit_chain_verify() -> tuple[int, ChainBreak | None]:
    """Check the whole chain; returns (rows checked, first break or None)."""
    head = AuditChainHead.objects.filter(singleton=1).first()
    last_id, last_hash, count = (
        (head.last_event_id, head.last_hash, head.count) if head else (0, GENESIS_HASH, 0)
    )
    return count, verify_chain(
        _rows(), head_last_id=last_id, head_last_hash=last_hash, head_count=count
    )


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    patient_mrn: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_event_list(*, organization_id: int, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Events of one organization's staff and patients, newest first."""
    from django.db.models import Q

    qs = AuditEvent.objects.filter(
        Q(actor__organization_id=organization_id) | Q(patient__organization_id=organization_id)
    ).select_related("patient", "actor")
    if filters.username:
        qs = qs.filter(actor_username__iexact=filters.username)
    if filters.patient_mrn:
        qs = qs.filter(patient__mrn__iexact=filters.patient_mrn)
    if filters.action:
        qs = qs.filter(action=filters.action)
    tz = timezone.get_current_timezone()
    if filters.date_from:
        qs = qs.filter(occurred_at__gte=datetime.combine(filters.date_from, time.min, tz))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tz)
        qs = qs.filter(occurred_at__lt=end)
    return qs.order_by("-id")
