from __future__ import annotations

from datetime import date

from django import template
from django.utils import timezone

from openiop.patients.rules import age_on

register = template.Library()


@register.filter
def age_years(born: date | None) -> int | str:
    """Age today in completed years, for headers."""
    return age_on(born, timezone.localdate()) if born else ""
