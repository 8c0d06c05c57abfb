"""The chart's assessments section, loaded in a constant number of queries."""

from __future__ import annotations

from typing import Any

from django import template

from openiop.assessments import rules, selectors
from openiop.patients.models import Patient

register = template.Library()


@register.inclusion_tag("assessments/_chart_summary.html")
def assessments_chart_section(patient: Patient, perms: Any) -> dict[str, Any]:
    summary = selectors.chart_summary(patient=patient)
    return {
        "patient": patient,
        "summary": summary,
        "can_write": "assessment.write" in (perms or ()),
        "dimensions": rules.DIMENSIONS,
    }


@register.filter
def level_label(level: str) -> str:
    """ "2.1" -> "level 2.1"; "emergency" -> "emergency evaluation"."""
    return rules.level_label(level) if level else ""


@register.filter
def dimension_name(number: int) -> str:
    return rules.DIMENSIONS.get(int(number), "")
