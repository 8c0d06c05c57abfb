from __future__ import annotations

import functools
from datetime import date
from typing import Any
from uuid import UUID

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from openiop.patients.rules import age_on

register = template.Library()


@register.filter
def age_years(born: date | None) -> int | str:
    """Age today in completed years, for headers."""
    return age_on(born, timezone.localdate()) if born else ""


_PLACEHOLDER = UUID(int=0)


@functools.cache
def _chart_url_pattern() -> str:
    return reverse("patients:chart", args=[_PLACEHOLDER])


@register.filter
def chart_url(public_id: UUID | str) -> str:
    """The chart's address for a public id: what {% url 'patients:chart' id %} gives,
    built by substitution (a list of fifty patients spent more time in reverse() than
    in its query)."""
    return _chart_url_pattern().replace(str(_PLACEHOLDER), str(UUID(str(public_id))))


@register.filter
def search_row(patient: Any) -> SafeString:
    """One row of the patient search results (patients/search.html), built in one
    format_html call, which escapes every value: the search is the app's busiest list,
    and a row of a dozen template variables cost more than the row's query."""
    pronouns = (
        format_html(' <span class="muted">({})</span>', patient.pronouns)
        if patient.pronouns
        else ""
    )
    status = (
        format_html(
            '<span class="badge status-{}">{}</span>',
            patient.current_status,
            patient.current_status_label,
        )
        if patient.current_status
        else ""
    )
    born = patient.date_of_birth
    return format_html(
        '<tr><td><a href="{}">{}</a>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}</td></tr>",
        chart_url(patient.public_id),
        patient.display_name,
        pronouns,
        born.isoformat() if born else "",
        patient.mrn,
        patient.current_program or "—",
        status,
        patient.phone,
    )
