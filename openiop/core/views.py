"""Home pages per role, the director's dashboard, and the health check."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from openiop.access.policy import public, staff
from openiop.access.selectors import break_glass_recent
from openiop.accounts.models import User
from openiop.accounts.roles import Perm, Role
from openiop.alerts.selectors import notifications_unread_for_user, tasks_open_for_user
from openiop.audit.models import AuditEvent, AuditOutcome
from openiop.core.http import actor_of, now
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import Program
from openiop.reminders.selectors import worker_status


@public
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "unhealthy", "database": "unreachable"}, status=503)
    # Background worker: "ok", "stale" or "never" (reported, not a failure of the web).
    worker = worker_status(now=now())
    return JsonResponse({"status": "ok", "database": "ok", "worker": worker})


@staff()
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context: dict[str, object] = {"role_label": Role(actor.role).label if actor.role else ""}
    if actor.has_perm_code(Perm.PATIENT_VIEW):
        context["caseload"] = _caseload(actor)
    context["tasks"] = list(tasks_open_for_user(actor=actor)[:50])
    context["notifications"] = list(notifications_unread_for_user(actor=actor)[:20])
    return render(request, "core/home.html", context)


def _caseload(actor: User) -> list[Episode]:
    return list(
        Episode.objects.filter(
            Q(primary_counselor=actor) | Q(prescriber=actor) | Q(case_manager=actor),
            status__in=[EpisodeStatus.REFERRED, EpisodeStatus.SCREENING, EpisodeStatus.ACTIVE],
            program__memberships__user=actor,
        )
        .select_related("patient", "program")
        .order_by("patient__legal_family_name", "patient__legal_given_name")[:100]
    )


@staff(Perm.DIRECTOR_DASHBOARD)
def director_dashboard(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    moment = now()
    programs = list(
        Program.objects.filter(memberships__user=actor).select_related("site").order_by("name")
    )
    counts = (
        Episode.objects.filter(program__in=programs)
        .values("program_id", "status")
        .annotate(n=Count("id"))
    )
    by_program: dict[int, dict[str, int]] = {p.pk: {} for p in programs}
    for row in counts:
        by_program[row["program_id"]][row["status"]] = row["n"]
    rows = [(p, [by_program[p.pk].get(s.value, 0) for s in EpisodeStatus]) for p in programs]
    since = moment - timedelta(days=7)
    return render(
        request,
        "core/dashboard.html",
        {
            "statuses": list(EpisodeStatus),
            "rows": rows,
            "break_glass": list(break_glass_recent(actor=actor, since=since)[:50]),
            "denied": list(
                AuditEvent.objects.filter(
                    outcome=AuditOutcome.DENIED,
                    occurred_at__gte=since,
                    actor__organization_id=actor.org_id,
                ).order_by("-id")[:20]
            ),
            "now": moment,
        },
    )
