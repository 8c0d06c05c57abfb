"""Template helpers for screening: the chart section's data and result labels."""

from __future__ import annotations

from django import template

from openiop.alerts.models import Alert
from openiop.patients.models import Patient
from openiop.screening import presentation, selectors

register = template.Library()


@register.simple_tag
def screening_chart(patient: Patient) -> selectors.ScreeningChart:
    """Everything the chart's screening section shows, in two queries (the chart view
    has already checked access and audited the read)."""
    return selectors.screening_chart(patient=patient)


@register.simple_tag
def risk_alerts(alerts: list[Alert]) -> list[Alert]:
    """The suicide-risk alerts among the chart's open alerts (no query)."""
    return selectors.open_risk_alerts(alerts)


@register.filter
def flag_label(flag: str) -> str:
    return presentation.flag_label(flag)


@register.filter
def band_label(administration: object) -> str:
    code = getattr(administration, "instrument_code", "")
    band = getattr(administration, "band", "")
    return presentation.band_label(code, band) if code else ""
