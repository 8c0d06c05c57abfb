"""The chart's "Reminders and calendar" part, in three queries."""

from __future__ import annotations

from typing import Any

from django import template

from openiop.accounts.roles import Perm
from openiop.patients.models import Patient
from openiop.reminders.selectors import ReminderSummary, reminder_summary

register = template.Library()


@register.simple_tag(takes_context=True)
def reminders_chart(context: dict[str, Any], patient: Patient) -> dict[str, Any]:
    summary: ReminderSummary = reminder_summary(patient=patient)
    perms = context.get("perms") or set()
    return {"s": summary, "can_edit": Perm.PATIENT_EDIT.value in perms}
