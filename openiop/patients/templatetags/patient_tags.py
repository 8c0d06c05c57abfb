from __future__ import annotations

import functools
from datetime import date
from typing import Any
from uuid import UUID

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from openiop.core.urlreverse import fast_reverse
from openiop.episodes.models import EpisodeEvent
from openiop.patients import chart_sections
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


@register.filter
def timeline_item(event: EpisodeEvent) -> SafeString:
    """One entry of an episode's timeline on the chart (who changed what, when, why), in
    one format_html call that escapes every value: the overview's timelines were most
    of its template time at a dozen template variables an entry."""
    kind = event.kind
    if kind == EpisodeEvent.Kind.OPENED:
        what = format_html(
            "Opened as {} at level {}", event.get_to_status_display(), event.to_level
        )
    elif kind == EpisodeEvent.Kind.STATUS:
        what = format_html(
            "{} → {}", event.get_from_status_display(), event.get_to_status_display()
        )
    elif kind == EpisodeEvent.Kind.LEVEL_OF_CARE:
        what = format_html("Level {} → {}", event.from_level, event.to_level)
    else:
        what = format_html("Care team changed ({})", event.reason)
    why = (
        format_html(' <span class="muted">({})</span>', event.reason)
        if event.reason and kind != EpisodeEvent.Kind.CARE_TEAM
        else ""
    )
    return format_html(
        '<li><time>{}</time> {}{} <span class="muted">by {}</span></li>',
        event.effective_on.isoformat(),
        what,
        why,
        event.changed_by.display_name,
    )


@register.simple_tag
def chart_tab_links(public_id: UUID, current: str) -> SafeString:
    """The chart's tab bar links (chart_sections.SECTIONS after the overview), the
    current one marked for assistive technology: built once per tab and address
    prefix for a stand-in patient, then given this patient's id."""
    links = _tab_links(current, get_script_prefix())
    return SafeString(links.replace(str(_PLACEHOLDER), str(UUID(str(public_id)))))


@functools.lru_cache(maxsize=64)
def _tab_links(current: str, prefix: str) -> str:
    tabs = [(fast_reverse("patients:chart", args=[_PLACEHOLDER]), chart_sections.OVERVIEW,
             "Overview")] + [
        (fast_reverse("patients:chart_section", args=[_PLACEHOLDER, tab.key]), tab.key,
         tab.label)
        for tab in chart_sections.SECTIONS
    ]  # fmt: skip
    return "\n".join(
        format_html(
            '<a href="{}"{}>{}</a>',
            url,
            SafeString(' aria-current="page"') if key == current else "",
            label,
        )
        for url, key, label in tabs
    )
