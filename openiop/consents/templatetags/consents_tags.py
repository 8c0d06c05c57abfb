"""What the consents section of the chart shows, in a constant number of queries."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from django import template

from openiop.accounts.roles import Perm
from openiop.consents import rules, selectors
from openiop.consents.models import Consent, ConsentKind, ConsentStatus, InfoCategory, Purpose
from openiop.core.http import today
from openiop.organizations.models import Program
from openiop.patients.models import Patient

register = template.Library()


@dataclass(frozen=True)
class ChartConsents:
    rows: list[selectors.ConsentRow]
    program: Program | None
    missing: list[str]
    can_manage: bool
    kinds: list[tuple[str, str]]


@register.simple_tag(takes_context=True)
def consents_chart(context: dict[str, Any], patient: Patient, chart: Any) -> ChartConsents:
    """Two queries whatever the number of consents: the consents, and the current
    program's admission requirements."""
    on = today()
    consents = list(
        Consent.objects.filter(patient=patient)
        .exclude(status=ConsentStatus.ENTERED_IN_ERROR)
        .select_related("program")
        .defer(*selectors.LIST_FIELDS_DEFERRED)
        .order_by("-created_at", "-id")
    )
    episodes = list(getattr(chart, "episodes", None) or [])
    episode = getattr(chart, "current_episode", None)
    program = episode.program if episode is not None and episode.is_open else None
    missing: list[str] = []
    if program is not None:
        required = selectors.required_kinds_for_program(program)
        facts = [
            selectors.consent_facts(c, episodes) for c in consents if c.program_id == program.pk
        ]
        missing = [str(ConsentKind(k).label) for k in rules.missing_kinds(required, facts, on=on)]
    perms = context.get("perms") or set()
    return ChartConsents(
        rows=selectors.consent_rows(consents, on=on, episodes=episodes),
        program=program,
        missing=missing,
        can_manage=Perm.CONSENT_MANAGE.value in perms,
        kinds=list(ConsentKind.choices),
    )


@register.filter
def png_data_url(value: bytes | memoryview | None) -> str:
    if not value:
        return ""
    return "data:image/png;base64," + base64.b64encode(bytes(value)).decode("ascii")


@register.filter
def purpose_labels(codes: list[str]) -> list[str]:
    return [str(Purpose(c).label) if c in Purpose.values else c for c in codes or []]


@register.filter
def category_labels(codes: list[str]) -> list[str]:
    return [str(InfoCategory(c).label) if c in InfoCategory.values else c for c in codes or []]
