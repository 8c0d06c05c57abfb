"""The chart's and the director dashboard's attendance sections load their own data,
in a fixed number of queries whatever the patient's history."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from openiop.accounts.models import User
from openiop.attendance.selectors import (
    ChartAttendance,
    DashboardAttendance,
    audit_listed,
    chart_attendance,
    dashboard_attendance,
)

register = template.Library()


@register.simple_tag
def attendance_chart_data(patient: Any) -> ChartAttendance:
    """This week's hours against the rules, recent attendance, outreach, disengagement."""
    return chart_attendance(patient=patient, today=timezone.localdate())


@register.simple_tag(takes_context=True)
def attendance_dashboard_data(context: template.Context) -> DashboardAttendance | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return None
    data = dashboard_attendance(actor=user, today=timezone.localdate())
    audit_listed(
        actor=user,
        patients=[a.patient for a in data.alerts],
        object_type="dashboard_disengagement",
        detail={"shown": len(data.alerts)},
    )
    return data
