"""Every URL is classified, and outsiders are refused on every patient URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from openiop.access.policy import Audience, rule_for
from openiop.accounts.roles import roles_table_markdown
from openiop.audit.models import AuditEvent
from openiop.patients.chart_sections import SECTIONS

# Views that are not ours: the admin site enforces OpenIOPAdminSite.has_permission.
ADMIN_NAMESPACE = "admin"


def _walk(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace, entry.callback


def test_every_url_pattern_is_classified() -> None:
    unclassified = [
        route
        for route, namespace, callback in _walk(get_resolver())
        if namespace != ADMIN_NAMESPACE and rule_for(callback) is None
    ]
    assert unclassified == [], f"Classify these views in openiop.access.policy: {unclassified}"


def test_staff_views_name_their_permissions_or_are_role_neutral() -> None:
    public = sorted(
        route
        for route, namespace, callback in _walk(get_resolver())
        if namespace != ADMIN_NAMESPACE and rule_for(callback).audience == Audience.PUBLIC  # type: ignore[union-attr]
    )
    # A public view is a decision; this list changes only on purpose.
    # The calendar feed authenticates by its unguessable token (openiop/reminders).
    assert public == [
        "accounts/login/",
        "accounts/logout/",
        "healthz",
        "reminders/feed/<str:token>.ics",
    ]


def test_unclassified_view_is_refused(world, as_user, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ROOT_URLCONF = "tests.urls_unclassified"
    response = as_user(world.dana).get("/unclassified/")
    assert response.status_code == 403


def test_roles_doc_matches_the_code() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "ROLES.md").read_text()
    assert roles_table_markdown() in doc, "Run: python manage.py roles_table > docs/ROLES.md"


def _patient_urls(world) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    pid = world.patient_a.public_id
    eid = world.episode_a.public_id
    contact = "00000000-0000-0000-0000-000000000001"
    return [
        ("get", reverse("patients:chart", args=[pid])),
        *[("get", reverse("patients:chart_section", args=[pid, s.key])) for s in SECTIONS],
        ("get", reverse("patients:chart_section", args=[pid, "no-such-tab"])),
        ("get", reverse("patients:edit", args=[pid])),
        ("post", reverse("patients:edit", args=[pid])),
        ("get", reverse("patients:contact_add", args=[pid])),
        ("post", reverse("patients:contact_remove", args=[pid, contact])),
        ("get", reverse("patients:coverage_add", args=[pid])),
        ("post", reverse("patients:coverage_status", args=[pid, contact])),
        ("get", reverse("episodes:open", args=[pid])),
        ("get", reverse("episodes:status", args=[pid, eid])),
        ("post", reverse("episodes:status", args=[pid, eid])),
        ("get", reverse("episodes:level", args=[pid, eid])),
        ("get", reverse("episodes:care_team", args=[pid, eid])),
    ]


@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
def test_outsiders_get_404_on_every_patient_url_and_are_audited(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    user = getattr(world, outsider)
    client = as_user(user)
    for method, url in _patient_urls(world):
        before = AuditEvent.objects.filter(actor=user, outcome="denied").count()
        response = getattr(client, method)(url)
        assert response.status_code in (403, 404), (method, url, response.status_code)
        assert b"Canary-PA" not in response.content
        assert AuditEvent.objects.filter(actor=user, outcome="denied").count() == before + 1, url


def test_anonymous_is_sent_to_sign_in_everywhere(world, client) -> None:  # type: ignore[no-untyped-def]
    for _, url in _patient_urls(world):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_password_without_second_factor_reaches_only_mfa_pages(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.alice)
    response = client.get(reverse("patients:chart", args=[world.patient_a.public_id]))
    assert response.status_code == 302 and "/accounts/mfa/" in response["Location"]
    assert client.get(reverse("accounts:mfa_setup")).status_code == 200


@pytest.mark.parametrize(
    ("username", "url_name", "status"),
    [
        ("bob", "patients:register", 403),  # auditor is read-only
        ("bob", "audit:report", 200),
        ("alice", "audit:report", 403),
        ("alice", "organizations:home", 403),
        ("alice", "core:dashboard", 403),
        ("dana", "core:dashboard", 200),
        ("sam", "patients:search", 403),  # administrators read no charts
        ("sam", "organizations:home", 200),
    ],
)
def test_role_permissions_on_pages(world, as_user, username, url_name, status) -> None:  # type: ignore[no-untyped-def]
    assert as_user(getattr(world, username)).get(reverse(url_name)).status_code == status


def test_auditor_cannot_change_a_patient(world, as_user) -> None:  # type: ignore[no-untyped-def]
    bob = as_user(world.bob)
    assert bob.get(reverse("patients:chart", args=[world.patient_a.public_id])).status_code == 200
    url = reverse("patients:edit", args=[world.patient_a.public_id])
    assert bob.post(url, {"legal_given_name": "X"}).status_code == 403


def test_admin_site_is_for_system_administrators_only(world, as_user) -> None:  # type: ignore[no-untyped-def]
    assert as_user(world.sam).get("/admin/").status_code == 200
    response = as_user(world.dana).get("/admin/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_no_patient_data_model_is_registered_in_admin() -> None:
    from openiop.core.admin_site import admin_site

    labels = {m._meta.app_label for m in admin_site._registry}
    assert labels.isdisjoint({"patients", "episodes", "audit", "access"})
