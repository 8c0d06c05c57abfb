"""The top bar's links follow the permissions, as the template's tests did."""

from __future__ import annotations

from django.urls import reverse

from openiop.accounts.roles import Perm
from openiop.core.templatetags.main_nav import MAIN_LINKS, main_links, main_nav


def test_every_link_names_a_real_permission_and_url() -> None:
    known = {p.value for p in Perm}
    for slot in MAIN_LINKS:
        for need, name, _ in slot:
            assert not need or need in known, need
            reverse(name)  # raises when the name is wrong


def test_links_follow_the_permissions() -> None:
    assert main_links(set()) == [("core:home", "Home")]
    both = main_links({"attendance.checkin", "attendance.report", "patient.view"})
    assert ("attendance:census", "Census") in both
    assert ("attendance:compliance", "Compliance") not in both
    assert [t for _, t in main_links({"attendance.report"})] == ["Home", "Compliance"]
    assert [t for _, t in main_links({"patient.view", "audit.view"})] == [
        "Home", "Patients", "Schedule", "Audit",
    ]  # fmt: skip


def test_the_nav_is_html_with_the_real_addresses() -> None:
    html = main_nav({"patient.view"})
    assert html.startswith('<nav aria-label="Main">')
    assert f'<a href="{reverse("patients:search")}">Patients</a>' in html
    assert "Audit" not in html
