"""The chart's treatment-plan section in a fixed number of queries (plan 3, homework 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

from openiop.accounts.roles import Perm
from openiop.core.http import today
from openiop.homework.models import HomeworkAssignment
from openiop.homework.selectors import homework_open_for_chart
from openiop.patients.models import Patient
from openiop.plans import selectors

register = template.Library()


@dataclass(frozen=True)
class ChartPlanSection:
    plan: selectors.ChartPlan
    homework: list[HomeworkAssignment]
    homework_to_review: list[HomeworkAssignment]
    can_write: bool


@register.simple_tag(takes_context=True)
def plans_chart(context: dict[str, Any], patient: Patient) -> ChartPlanSection:
    user = context["request"].user
    due, to_review = homework_open_for_chart(patient=patient, on=today())
    return ChartPlanSection(
        plan=selectors.chart_plan(patient=patient),
        homework=due,
        homework_to_review=to_review,
        can_write=user.has_perm_code(Perm.PLAN_WRITE),
    )
