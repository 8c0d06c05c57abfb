"""Resolving alerts (from the chart), completing tasks and clearing notifications."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.alerts import services
from openiop.alerts.models import Alert, AlertKind
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, now
from openiop.patients.selectors import patient_get_for_user


@staff(Perm.ALERT_RESOLVE)
def alert_resolve(request: HttpRequest, public_id: UUID, alert_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_get_for_user(actor=actor, public_id=public_id, now=now(), purpose="edit")
    alert = Alert.objects.filter(patient=access.patient, public_id=alert_id).first()
    if alert is not None and alert.kind == AlertKind.SUICIDE_RISK:
        # Suicide-risk alerts resolve through screening, which checks that a high-risk one
        # has a documented response and a safety plan first.
        return redirect("screening:risk_alert_resolve", public_id=public_id, alert_id=alert_id)
    error = None
    if request.method == "POST":
        try:
            services.alert_resolve(
                actor=actor,
                access=access,
                alert_public_id=alert_id,
                note=request.POST.get("note", ""),
                now=now(),
            )
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, "Alert resolved.")
            return redirect("patients:chart", public_id=public_id)
    return render(
        request,
        "alerts/resolve.html",
        {
            "patient": access.patient,
            "alert": alert,
            "error": error,
            "note": request.POST.get("note", ""),
        },
        status=422 if error else (200 if alert else 404),
    )


@staff()
@require_POST
def task_complete(request: HttpRequest, task_id: UUID) -> HttpResponse:
    try:
        services.task_complete(
            actor=actor_of(request),
            task_public_id=task_id,
            note=request.POST.get("note", ""),
            now=now(),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Task done.")
    return redirect("core:home")


@staff()
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_read(actor=actor_of(request), now=now())
    return redirect("core:home")
