"""Consents in a real browser: a Part 2 consent drafted with a missing element (error
next to the field), signed on screen with a drawn signature, revoked; and signing with
JavaScript off (typed name plus the electronic-signature box)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from openiop.audit.models import AuditEvent
from openiop.consents.models import Consent
from tests.browser.helpers import field_error, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _draw(page: Page) -> None:
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 120)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(x + 30 + step * 12, y + 120 - (step % 5) * 14)
    page.mouse.up()


def test_part2_consent_drawn_signature_then_revocation(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.alice)
    page.goto(f"{base}/patients/{pid}/")
    page.get_by_role("navigation", name="Chart sections").get_by_role(
        "link", name="Consents"
    ).click()
    expect(page.locator("#consents-missing")).to_contain_text("Consent to treatment")
    page.locator("#consents summary").click()
    page.locator("#consents").get_by_role("link", name="42 CFR Part 2 consent to disclose").click()

    # A missing element: the error sits next to its field, and the rest stays.
    page.fill("#id_recipient_contact", "555-201-8899")
    page.fill("#id_information_description", "Diagnoses and medications for this episode.")
    page.check("#id_categories_1")
    page.check("#id_purposes_0")
    page.fill("#id_expires_on", "2099-06-30")
    page.get_by_role("button", name="Continue to signing").click()
    assert "Name the recipient" in field_error(page, "id_recipient_name")
    expect(page.locator("#id_information_description")).to_have_value(
        "Diagnoses and medications for this episode."
    )
    shot("consents-01-missing-recipient")
    page.select_option("#id_recipient_class", "outside_provider")
    page.fill("#id_recipient_name", "Lakeside Family Clinic")
    page.get_by_role("button", name="Continue to signing").click()
    page.wait_for_url(re.compile(r"/sign/$"))

    # JavaScript on: the checkbox row is hidden and the signature pad shown.
    expect(page.locator("#signature-pad")).to_be_visible()
    expect(page.locator("#id_signing_electronically")).to_be_hidden()
    expect(page.locator("#consent-text")).to_contain_text("Lakeside Family Clinic")
    _draw(page)
    page.fill("#id_typed_name", "Avery Someone")
    page.get_by_role("button", name="Sign", exact=True).click()
    assert "does not match" in field_error(page, "id_typed_name")
    # The drawing survives the error (restored from the hidden input).
    expect(page.locator("#id_signature_data")).to_have_value(re.compile(r"^data:image/png;base64,"))
    shot("consents-02-name-mismatch")
    page.fill("#id_typed_name", "Avery Canary-PA")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Consent signed")
    expect(page.locator("img.signature-image")).to_be_visible()
    shot("consents-03-signed")
    consent = Consent.objects.get()
    assert consent.status == "signed" and consent.signature_method == "drawn"
    assert consent.signer_address == "127.0.0.1"

    with page.expect_response(re.compile(r"/pdf/$")) as pdf:
        page.evaluate("url => fetch(url)", f"/consents/patients/{pid}/{consent.public_id}/pdf/")
    assert pdf.value.headers["content-type"] == "application/pdf"

    page.get_by_role("link", name="Revoke").click()
    page.check("input[name=method][value=written]")
    page.fill("#id_note", "Letter dated today")
    page.get_by_role("button", name="Record revocation").click()
    expect(page.locator(".alert.danger")).to_contain_text("Revoked")
    shot("consents-04-revoked")
    consent.refresh_from_db()
    assert consent.status == "revoked"
    page.goto(f"{base}/patients/{pid}/chart/consents/")
    expect(page.locator("#consents")).to_contain_text("Revoked")
    page.locator("#consents").screenshot(
        path=shot("consents-05-chart").parent / "consents-05-section.png"
    )
    actions = set(AuditEvent.objects.filter(object_type="consent").values_list("action", flat=True))
    assert {"create", "sign", "print", "status_change", "read"} <= actions


def test_signing_works_without_javascript(  # type: ignore[no-untyped-def]
    browser: Browser, live_server, world
) -> None:
    from openiop.consents.tests.helpers import make_consent

    draft = make_consent(
        actor=world.alice, patient=world.patient_a, program=world.program_a, sign=False
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, world.alice)
        page.goto(
            f"{live_server.url}/consents/patients/{world.patient_a.public_id}/"
            f"{draft.public_id}/sign/"
        )
        expect(page.locator("#signature-pad")).to_be_hidden()
        page.fill("#id_typed_name", "avery canary-pa")
        page.check("#id_signing_electronically")
        page.get_by_role("button", name="Sign", exact=True).click()
        expect(page.locator(".messages")).to_contain_text("Consent signed")
    finally:
        context.close()
    draft.refresh_from_db()
    assert draft.status == "signed" and draft.signature_method == "typed"
