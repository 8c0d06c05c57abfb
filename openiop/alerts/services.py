"""Raising and resolving alerts; completing tasks; reading notifications."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import transaction

from openiop.accounts.models import User
from openiop.accounts.roles import Perm, Role
from openiop.alerts.models import (
    Alert,
    AlertStatus,
    Notification,
    Task,
    TaskStatus,
)
from openiop.alerts.rules import alert_assignees
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess

OPEN_EPISODE = [EpisodeStatus.REFERRED, EpisodeStatus.SCREENING, EpisodeStatus.ACTIVE]


def _primary_clinician(patient: Patient) -> User | None:
    episode = (
        Episode.objects.filter(patient=patient, status__in=OPEN_EPISODE)
        .select_related("primary_counselor")
        .order_by("-referred_on", "-id")
        .first()
    )
    return episode.primary_counselor if episode else None


def _directors(patient: Patient) -> list[User]:
    return list(
        User.objects.filter(
            role=Role.PROGRAM_DIRECTOR,
            is_active=True,
            memberships__program__episodes__patient=patient,
            memberships__program__episodes__status__in=OPEN_EPISODE,
        ).distinct()
    )


@transaction.atomic
def alert_raise(
    *,
    actor: User | None,
    patient: Patient,
    kind: str,
    severity: str,
    title: str,
    source_type: str,
    source_id: str,
    now: datetime,
    requires_response: bool = False,
    task_title: str = "",
) -> Alert:
    """Raise an alert (once per source): a task for the primary clinician (or the
    actor when there is none) and a notification for each program director."""
    existing = Alert.objects.filter(
        patient=patient, source_type=source_type, source_id=source_id, status=AlertStatus.OPEN
    ).first()
    if existing is not None:
        return existing
    alert = Alert.objects.create(
        patient=patient,
        kind=kind,
        severity=severity,
        title=title,
        source_type=source_type,
        source_id=source_id,
        requires_response=requires_response,
        raised_by=actor,
        raised_at=now,
    )
    directors = _directors(patient)
    assignees = alert_assignees(
        primary_clinician=_primary_clinician(patient),
        actor=actor if actor is not None and actor.has_perm_code(Perm.ALERT_RESOLVE) else None,
        directors=directors,
    )
    Task.objects.bulk_create(
        Task(
            assignee=assignee,
            patient=patient,
            alert=alert,
            kind=f"alert_{kind}",
            title=task_title or f"Respond to alert: {title}",
            due_at=now,
            created_by=actor,
        )
        for assignee in assignees
    )
    recipients = {u.pk: u for u in directors}
    Notification.objects.bulk_create(
        Notification(recipient=u, patient=patient, alert=alert, title=title)
        for u in recipients.values()
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="alert",
        object_id=alert.public_id,
        detail={"kind": kind, "severity": severity, "notified": len(recipients)},
    )
    return alert


@transaction.atomic
def alert_resolve(
    *, actor: User, access: PatientAccess, alert_public_id: UUID, note: str, now: datetime
) -> Alert:
    if not actor.has_perm_code(Perm.ALERT_RESOLVE):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role cannot resolve clinical alerts.")
    alert = (
        Alert.objects.select_for_update()
        .filter(patient=access.patient, public_id=alert_public_id)
        .first()
    )
    if alert is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such alert.")
    if alert.status != AlertStatus.OPEN:
        raise ServiceError(ErrorCode.CONFLICT, "This alert was already resolved.")
    if len(note.strip()) < 10:
        raise ServiceError(
            ErrorCode.INVALID, "Describe how the alert was addressed (a short note).", field="note"
        )
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by = actor
    alert.resolved_at = now
    alert.resolution_note = note.strip()
    alert.save()
    Task.objects.filter(alert=alert, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, completed_by=actor, completed_at=now
    )
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="alert",
        object_id=alert.public_id,
        break_glass=access.via_break_glass,
        detail={"to": "resolved"},
    )
    return alert


@transaction.atomic
def task_complete(*, actor: User, task_public_id: UUID, note: str, now: datetime) -> Task:
    task = Task.objects.select_for_update().filter(public_id=task_public_id, assignee=actor).first()
    if task is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such task.")
    if task.status != TaskStatus.OPEN:
        raise ServiceError(ErrorCode.CONFLICT, "This task is already closed.")
    if task.alert_id and task.alert and task.alert.status == AlertStatus.OPEN:
        raise ServiceError(
            ErrorCode.CONFLICT, "Resolve the alert on the chart; its task closes with it."
        )
    task.status = TaskStatus.DONE
    task.completed_by = actor
    task.completed_at = now
    task.outcome_note = note.strip()
    task.save()
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=task.patient,
        object_type="task",
        object_id=task.public_id,
        detail={"to": "done"},
    )
    return task


def notifications_mark_read(*, actor: User, now: datetime) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=now)
