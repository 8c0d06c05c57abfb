"""A counselor of another program neither finds nor opens patient A."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_outsider_cannot_find_or_open_patient_a(page: Page, live_server, world, shot) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    sign_in(page, base, world.charlie)

    page.goto(base + "/patients/")
    page.fill("#q", "avery")
    page.press("#q", "Enter")
    results = page.locator("#search-results")
    expect(results).to_contain_text("No patient of your programs matches")
    expect(results).not_to_contain_text("Canary-PA")
    shot("09-outsider-search")

    # The same search box does find charlie's own patient, so the empty result above
    # is the access rule and not a broken search.
    page.fill("#q", "canary")
    page.press("#q", "Enter")
    expect(page.locator("#patient-results tbody tr")).to_have_count(1)
    expect(page.locator("#patient-results")).to_contain_text("Canary-PB")
    expect(page.locator("#patient-results")).not_to_contain_text("Canary-PA")

    for tab in ("", "chart/notes/"):  # the overview and a section's tab
        response = page.goto(f"{base}/patients/{world.patient_a.public_id}/{tab}")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Not found")
        expect(page.locator("main")).not_to_contain_text("Canary-PA")
        expect(page.locator("main")).not_to_contain_text(world.patient_a.mrn)
    shot("10-outsider-404")
