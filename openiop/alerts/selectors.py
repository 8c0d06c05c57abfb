from __future__ import annotations

from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.alerts.models import Alert, AlertStatus, Notification, Task, TaskStatus
from openiop.core.prepared import PreparedQuery
from openiop.patients.models import Patient

# A patient's open alerts, worst first: read on every chart tab, so compiled once per
# process (openiop/core/prepared.py); patients.selectors sends it with the tab's other
# reads in one round trip.
open_alerts_read: PreparedQuery[Alert] = PreparedQuery(
    lambda patient_id: Alert.objects.filter(
        patient_id=patient_id, status=AlertStatus.OPEN
    ).order_by("severity", "-raised_at")
)


def alerts_open_for_patient(*, patient: Patient) -> list[Alert]:
    return open_alerts_read(patient.pk)


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
