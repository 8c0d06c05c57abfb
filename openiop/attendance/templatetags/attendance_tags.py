"""The chart's and the director dashboard's attendance sections load their own data,
in a fixed number of queries whatever the patient's history."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from django import template
from django.urls import get_script_prefix, reverse
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


# --- Row URLs for long lists ---------------------------------------------------------------
# The census renders ~2 links per patient line; Django's reverse() costs ~30 µs each, a
# quarter of the page's rendering at ~380 lines (docs/PERFORMANCE.md). These reverse a
# URL once per name and script prefix with placeholder ids and fill in the real ones.

_PLACEHOLDERS = (
    uuid.UUID("00000000-0000-4000-8000-00000000000a"),
    uuid.UUID("00000000-0000-4000-8000-00000000000b"),
)


@lru_cache(maxsize=32)
def _url_pattern(name: str, arity: int, script_prefix: str, tail: tuple[str, ...] = ()) -> str:
    url = reverse(name, args=[*_PLACEHOLDERS[:arity], *tail])
    for placeholder in _PLACEHOLDERS[:arity]:
        url = url.replace(str(placeholder), "{}", 1)
    return url


def fast_url(name: str, *ids: object, tail: tuple[str, ...] = ()) -> str:
    """reverse(name, args=[*ids, *tail]); the ids vary per row, the tail is fixed."""
    return _url_pattern(name, len(ids), get_script_prefix(), tail).format(*ids)


@register.filter
def chart_url(patient_public_id: object) -> str:
    """The chart's schedule and attendance tab (reverse("patients:chart_section",
    args=[id, "schedule"])), without resolving the pattern each time."""
    return fast_url("patients:chart_section", patient_public_id, tail=("schedule",))


@register.simple_tag
def check_in_url(session_public_id: object, patient_public_id: object) -> str:
    return fast_url("attendance:check_in", session_public_id, patient_public_id)
