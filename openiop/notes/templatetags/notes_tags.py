"""The chart's notes section in a fixed number of queries (recent notes, unsigned count)."""

from __future__ import annotations

from typing import Any

from django import template

from openiop.accounts.roles import Perm
from openiop.notes.selectors import ChartNotes, chart_notes
from openiop.patients.models import Patient

register = template.Library()


@register.simple_tag(takes_context=True)
def notes_chart(context: dict[str, Any], patient: Patient) -> ChartNotes | None:
    """3 queries whatever the number of notes; None when the role reads no notes."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm_code(Perm.NOTE_VIEW):
        return None
    return chart_notes(actor=user, patient=patient)
