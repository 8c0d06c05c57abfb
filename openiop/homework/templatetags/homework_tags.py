"""Labels for where homework was assigned (a group session or an appointment)."""

from __future__ import annotations

from django import template

from openiop.homework import selectors
from openiop.scheduling.models import Appointment, GroupSession

register = template.Library()


@register.filter
def session_label(session: GroupSession) -> str:
    return selectors.session_label(session)


@register.filter
def appointment_label(appointment: Appointment) -> str:
    return selectors.appointment_label(appointment)
