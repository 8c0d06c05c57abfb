"""The audit report (program director, auditor) and its CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.audit.forms import AuditFilterForm
from openiop.audit.models import AuditAction, AuditEvent
from openiop.audit.selectors import AuditFilter, audit_event_list
from openiop.audit.services import audit_record
from openiop.core.http import actor_of

PAGE_SIZE = 50
CSV_COLUMNS = [
    "occurred_at",
    "event_id",
    "actor",
    "actor_role",
    "action",
    "outcome",
    "patient_mrn",
    "object_type",
    "object_id",
    "break_glass",
    "source_ip",
    "request_id",
    "detail",
]


def _filters(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilter | None]:
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        return form, AuditFilter()
    return form, form.filters() if form.is_valid() else None


@staff(Perm.AUDIT_VIEW)
def audit_report(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form, filters = _filters(request)
    page = None
    if filters is not None:
        assert actor.organization_id is not None
        events = audit_event_list(organization_id=actor.org_id, filters=filters)
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
        audit_record(
            actor=actor,
            action=AuditAction.READ,
            object_type="audit_report",
            detail={"filters": request.GET.urlencode()[:500]},
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/report.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=422 if form.errors else 200,
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: Iterator[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for e in events:
        yield writer.writerow(
            [
                e.occurred_at.isoformat(),
                e.public_id,
                e.actor_username,
                e.actor_role,
                e.action,
                e.outcome,
                e.patient.mrn if e.patient else "",
                e.object_type,
                e.object_id,
                "yes" if e.break_glass else "",
                e.source_ip or "",
                e.request_id,
                e.detail,
            ]
        )


@staff(Perm.AUDIT_VIEW)
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    actor = actor_of(request)
    form, filters = _filters(request)
    if filters is None:
        return render(request, "audit/report.html", {"form": form, "page": None}, status=422)
    assert actor.organization_id is not None
    events = audit_event_list(organization_id=actor.org_id, filters=filters)
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="audit_report",
        detail={"filters": request.GET.urlencode()[:500], "format": "csv"},
    )
    response = StreamingHttpResponse(
        _csv_rows(events.iterator(chunk_size=2000)), content_type="text/csv"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
