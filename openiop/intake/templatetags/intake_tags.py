"""The chart's intake section loads its own data (in a fixed number of queries)."""

from __future__ import annotations

from typing import Any

from django import template

from openiop.accounts.models import User
from openiop.intake.selectors import IntakeChart, intake_chart

register = template.Library()


@register.simple_tag(takes_context=True)
def intake_chart_data(context: template.Context, patient: Any, chart: Any) -> IntakeChart:
    """Referrals, observation visits, admissions and the episodes the viewer may admit."""
    request = context.get("request")
    user = getattr(request, "user", None)
    actor = user if isinstance(user, User) else None
    perms = context.get("perms") or set()
    episodes = list(getattr(chart, "episodes", []) or [])
    return intake_chart(patient=patient, episodes=episodes, actor=actor, perms=set(perms))
