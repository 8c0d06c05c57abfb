"""The top bar's main navigation, built once per set of permissions.

Every staff page shows the same links for the same permissions; as template code they
were a tenth of a small page's rendering (nine permission tests and nine {% url %}s on
every request). The links and the permission that shows each are listed here, in order.
"""

from __future__ import annotations

import functools
from collections.abc import Collection

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from openiop.core.urlreverse import fast_reverse

register = template.Library()

# Each slot shows the first of its links whose permission the user holds ("" for anyone
# signed in): Census for those who check patients in, else Compliance for those who
# report on attendance.
MAIN_LINKS: tuple[tuple[tuple[str, str, str], ...], ...] = (
    (("", "core:home", "Home"),),
    (("patient.view", "patients:search", "Patients"),),
    (("patient.register", "patients:register", "Register patient"),),
    (("referral.manage", "intake:board", "Referrals"),),
    (("patient.view", "scheduling:home", "Schedule"),),
    (("attendance.checkin", "attendance:census", "Census"),
     ("attendance.report", "attendance:compliance", "Compliance")),
    (("dashboard.director", "core:dashboard", "Dashboard"),),
    (("audit.view", "audit:report", "Audit"),),
    (("org.manage", "organizations:home", "Settings"),),
)  # fmt: skip


def main_links(perms: Collection[str]) -> list[tuple[str, str]]:
    """(URL name, text) of the links a holder of perms sees, in order."""
    links = []
    for slot in MAIN_LINKS:
        for need, name, text in slot:
            if not need or need in perms:
                links.append((name, text))
                break
    return links


@functools.lru_cache(maxsize=256)
def _nav(perms: frozenset[str], prefix: str) -> SafeString:
    return format_html(
        '<nav aria-label="Main">{}</nav>',
        format_html_join(
            "\n", '<a href="{}">{}</a>', ((fast_reverse(n), t) for n, t in main_links(perms))
        ),
    )


@register.simple_tag
def main_nav(perms: Collection[str]) -> SafeString:
    return _nav(frozenset(perms), get_script_prefix())


@receiver(setting_changed)
def _forget(**kwargs: object) -> None:
    if kwargs.get("setting") == "ROOT_URLCONF":
        _nav.cache_clear()
