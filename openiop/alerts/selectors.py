from __future__ import annotations

from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.alerts.models import Alert, AlertStatus, Notification, Task, TaskStatus
from openiop.patients.models import Patient


def alerts_open_for_patient(*, patient: Patient) -> list[Alert]:
    return list(
        Alert.objects.filter(patient=patient, status=AlertStatus.OPEN).order_by(
            "severity", "-raised_at"
        )
    )


def tasks_open_for_user(*, actor: User) -> QuerySet[Task]:
    return (
        Task.objects.filter(assignee=actor, status=TaskStatus.OPEN)
        .select_related("patient", "alert")
        .order_by("due_at", "created_at")
    )


def notifications_unread_for_user(*, actor: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=actor, read_at__isnull=True)
        .select_related("patient", "alert")
        .order_by("-created_at")
    )
