"""Consent pages: scoping, permissions, errors next to fields, signing, PDF, query counts."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.consents.models import Consent
from openiop.consents.tests.helpers import (
    make_consent,
    part2_input,
    pdf_text,
    png_data_url,
    tiny_png,
)

PART2_POST = {
    "effective_on": "2026-11-02",
    "recipient_name": "Lakeside Family Clinic",
    "recipient_class": "outside_provider",
    "recipient_contact": "555-201-8899",
    "information_description": "Diagnoses and medications during this episode.",
    "categories": ["diagnoses", "medications"],
    "purposes": ["TREAT"],
    "expires_on": "2099-01-31",
    "submission_token": "5b8f2d0e-1c8a-4f5e-9d43-2a6b7c8d9e0f",
}


@pytest.fixture
def signed(world):  # type: ignore[no-untyped-def]
    return make_consent(
        actor=world.alice,
        patient=world.patient_a,
        program=world.program_a,
        kind="part2_disclosure",
        data=part2_input(world.program_a),
    )


@pytest.fixture
def draft(world):  # type: ignore[no-untyped-def]
    return make_consent(
        actor=world.alice, patient=world.patient_a, program=world.program_a, sign=False
    )


def _urls(world, consent) -> list[str]:  # type: ignore[no-untyped-def]
    p = world.patient_a.public_id
    c = consent.public_id
    return [
        reverse("consents:list", args=[p]),
        reverse("consents:new", args=[p, "treatment"]),
        reverse("consents:new", args=[p, "part2_disclosure"]),
        reverse("consents:detail", args=[p, c]),
        reverse("consents:edit", args=[p, c]),
        reverse("consents:sign", args=[p, c]),
        reverse("consents:verbal", args=[p, c]),
        reverse("consents:revoke", args=[p, c]),
        reverse("consents:void", args=[p, c]),
        reverse("consents:pdf", args=[p, c]),
    ]


@pytest.mark.parametrize("who", ["charlie", "olivia"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_outsiders_are_refused_on_every_url(world, as_user, signed, who, method) -> None:  # type: ignore[no-untyped-def]
    user = getattr(world, who)
    client = as_user(user)
    for url in _urls(world, signed):
        before = AuditEvent.objects.filter(actor=user, action="access_denied").count()
        response = getattr(client, method)(url)
        # olivia (another organization) lacks nothing in role but sees nothing; charlie
        # is a counselor of program B.
        assert response.status_code == 404, url
        assert b"Canary-PA" not in response.content
        after = AuditEvent.objects.filter(actor=user, action="access_denied").count()
        assert after == before + 1, url
    signed.refresh_from_db()
    assert signed.status == "signed"


@pytest.mark.parametrize("name", ["new", "edit", "sign", "verbal", "revoke", "void", "pdf"])
def test_a_role_without_consent_manage_gets_403(world, as_user, signed, name) -> None:  # type: ignore[no-untyped-def]
    p, c = world.patient_a.public_id, signed.public_id
    args = [p, "treatment"] if name == "new" else [p, c]
    client = as_user(world.bob)
    assert client.get(reverse(f"consents:{name}", args=args)).status_code == 403
    assert client.post(reverse(f"consents:{name}", args=args)).status_code == 403


def test_auditor_may_read_list_and_detail(world, as_user, signed) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.bob)
    listing = client.get(reverse("consents:list", args=[world.patient_a.public_id]))
    assert listing.status_code == 200 and b"Lakeside Family Clinic" in listing.content
    assert b"Sign a new consent" not in listing.content
    detail = client.get(
        reverse("consents:detail", args=[world.patient_a.public_id, signed.public_id])
    )
    assert detail.status_code == 200
    assert signed.text_sha256.encode() in detail.content
    assert AuditEvent.objects.filter(actor=world.bob, action="read", object_type="consent").exists()


def test_program_settings_page(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("consents:program_settings", args=[world.program_a.public_id])
    assert as_user(world.alice).get(url).status_code == 403
    assert as_user(world.olivia).get(url).status_code == 404
    client = as_user(world.dana)
    page = client.get(url)
    assert page.status_code == 200 and b"part2_disclosure" not in page.content
    assert client.post(url, {"required_kinds": ["treatment"]}).status_code == 302
    from openiop.consents.selectors import consents_missing_for_admission

    assert consents_missing_for_admission(
        patient=world.patient_a, program=world.program_a, on=signed_date()
    ) == ["Consent to treatment"]


def signed_date():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.date(2026, 11, 2)


def test_new_part2_with_missing_elements_keeps_input_and_shows_errors(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:new", args=[world.patient_a.public_id, "part2_disclosure"])
    data = PART2_POST | {
        "program": world.program_a.pk,
        "recipient_name": "",
        "purposes": [],
        "expires_on": "2020-01-01",
    }
    response = client.post(url, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="id_recipient_name_error"[^>]*>Name the recipient', html)
    assert re.search(r'id="id_purposes_error"[^>]*>Choose at least one purpose', html)
    assert re.search(r'id="id_expires_on_error"[^>]*>The expiry date is in the past', html)
    assert "Diagnoses and medications during this episode." in html
    assert (
        'value="555-201-8899"' in html
        and 'value="medications" id="id_categories_2" checked' in html
    )
    assert not Consent.objects.exists()


def test_new_part2_without_expiry_date_or_event(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:new", args=[world.patient_a.public_id, "part2_disclosure"])
    response = client.post(url, PART2_POST | {"program": world.program_a.pk} | {"expires_on": ""})
    assert response.status_code == 422
    assert b"Give an expiry date or an expiry event." in response.content


def test_new_consent_then_sign_without_javascript(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:new", args=[world.patient_a.public_id, "part2_disclosure"])
    form = client.get(url)
    assert form.status_code == 200 and b"Recipient name" in form.content
    data = PART2_POST | {"program": world.program_a.pk}
    response = client.post(url, data)
    again = client.post(url, data)
    assert response.status_code == 302 and again["Location"] == response["Location"]
    consent = Consent.objects.get()
    sign_url = reverse("consents:sign", args=[world.patient_a.public_id, consent.public_id])
    assert response["Location"] == sign_url
    page = client.get(sign_url)
    html = page.content.decode()
    assert "Lakeside Family Clinic" in html and "revoke" in html
    assert "js/consents.js" in html and "<script>" not in html and "style=" not in html
    shown = re.search(r'name="shown_text_sha256" value="([0-9a-f]{64})"', html).group(1)  # type: ignore[union-attr]
    # No JavaScript: typed name plus the electronic-signature box.
    done = client.post(
        sign_url,
        {
            "shown_text_sha256": shown,
            "typed_name": "avery canary-pa",
            "signing_electronically": "on",
        },
        REMOTE_ADDR="198.51.100.23",
        HTTP_USER_AGENT="Kiosk tablet",
    )
    assert done.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "signed" and consent.signature_method == "typed"
    assert consent.signer_address == "198.51.100.23" and consent.signer_user_agent == "Kiosk tablet"
    # A repeated submission does not sign twice.
    repeat = client.post(sign_url, {"shown_text_sha256": shown, "typed_name": "x"})
    assert repeat.status_code == 302
    assert AuditEvent.objects.filter(action="sign").count() == 1


def test_sign_with_wrong_name_keeps_drawing_and_says_why(world, as_user, draft) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    sign_url = reverse("consents:sign", args=[world.patient_a.public_id, draft.public_id])
    html = client.get(sign_url).content.decode()
    shown = re.search(r'name="shown_text_sha256" value="([0-9a-f]{64})"', html).group(1)  # type: ignore[union-attr]
    drawing = png_data_url()
    response = client.post(
        sign_url,
        {"shown_text_sha256": shown, "typed_name": "Blake Someone", "signature_data": drawing},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert re.search(r'id="id_typed_name_error"[^>]*>The typed name does not match', body)
    assert 'value="Blake Someone"' in body and drawing in body
    response = client.post(
        sign_url,
        {"shown_text_sha256": shown, "typed_name": "Avery Canary-PA", "signature_data": drawing},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.signature_method == "drawn" and bytes(draft.signature_png) == tiny_png()


def test_sign_without_drawing_or_box_is_refused(world, as_user, draft) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    sign_url = reverse("consents:sign", args=[world.patient_a.public_id, draft.public_id])
    html = client.get(sign_url).content.decode()
    shown = re.search(r'name="shown_text_sha256" value="([0-9a-f]{64})"', html).group(1)  # type: ignore[union-attr]
    response = client.post(sign_url, {"shown_text_sha256": shown, "typed_name": "Avery Canary-PA"})
    assert response.status_code == 422
    assert re.search(
        r'id="id_signing_electronically_error"[^>]*>Draw your signature', response.content.decode()
    )


def test_verbal_consent_page(world, as_user, draft) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:verbal", args=[world.patient_a.public_id, draft.public_id])
    html = client.get(url).content.decode()
    shown = re.search(r'name="shown_text_sha256" value="([0-9a-f]{64})"', html).group(1)  # type: ignore[union-attr]
    bad = client.post(url, {"shown_text_sha256": shown, "unable_to_sign_reason": "Hand injury"})
    assert bad.status_code == 422 and b"Name the second witness." in bad.content
    assert b'value="Hand injury"' in bad.content
    ok = client.post(
        url,
        {
            "shown_text_sha256": shown,
            "unable_to_sign_reason": "Hand injury",
            "second_witness_name": "Sam Rivera, RN",
            "read_aloud": "on",
        },
    )
    assert ok.status_code == 302
    draft.refresh_from_db()
    assert draft.signature_method == "verbal_witnessed" and draft.witness == world.alice


def test_signed_consent_edit_page_refuses(world, as_user, signed) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:edit", args=[world.patient_a.public_id, signed.public_id])
    response = client.post(
        url, PART2_POST | {"recipient_name": "Someone Else", "version": signed.version}
    )
    assert response.status_code == 302
    signed.refresh_from_db()
    assert signed.recipient_name == "Lakeside Family Clinic"


def test_draft_edit_conflict_keeps_entries(world, as_user) -> None:  # type: ignore[no-untyped-def]
    consent = make_consent(
        actor=world.alice,
        patient=world.patient_a,
        program=world.program_a,
        kind="part2_disclosure",
        data=part2_input(world.program_a),
        sign=False,
    )
    Consent.objects.filter(pk=consent.pk).update(version=2)
    client = as_user(world.alice)
    url = reverse("consents:edit", args=[world.patient_a.public_id, consent.public_id])
    data = PART2_POST | {
        "recipient_name": "Clinic Two",
        "version": 1,
        "program": world.program_a.pk,
    }
    response = client.post(url, data)
    assert response.status_code == 422
    assert b"Someone else changed this consent" in response.content
    assert b'value="Clinic Two"' in response.content
    assert client.post(url, data | {"version": 2}).status_code == 302
    consent.refresh_from_db()
    assert consent.recipient_name == "Clinic Two"


def test_revoke_page(world, as_user, signed) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:revoke", args=[world.patient_a.public_id, signed.public_id])
    bad = client.post(url, {"method": "verbal", "note": ""})
    assert bad.status_code == 422 and b"For a verbal revocation" in bad.content
    ok = client.post(url, {"method": "written", "note": "Letter dated 2026-11-03"})
    assert ok.status_code == 302
    signed.refresh_from_db()
    assert signed.status == "revoked" and signed.revoked_at is not None
    detail = client.get(
        reverse("consents:detail", args=[world.patient_a.public_id, signed.public_id])
    )
    assert b"Revoked" in detail.content and b"Letter dated 2026-11-03" in detail.content


def test_void_page(world, as_user, draft) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:void", args=[world.patient_a.public_id, draft.public_id])
    assert client.post(url, {"reason": ""}).status_code == 422
    assert client.post(url, {"reason": "Duplicate"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "entered_in_error"


def test_pdf_view(world, as_user, signed) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    response = client.get(
        reverse("consents:pdf", args=[world.patient_a.public_id, signed.public_id])
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "Canary" not in response["Content-Disposition"]
    flat = pdf_text(response.content)
    assert (
        "Avery Canary-PA" in flat
        and "Lakeside Family Clinic" in flat
        and "Riverside Recovery" in flat
    )
    assert AuditEvent.objects.filter(actor=world.alice, action="print").count() == 1


def test_pdf_of_a_draft_redirects_with_a_message(world, as_user, draft) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    response = client.get(
        reverse("consents:pdf", args=[world.patient_a.public_id, draft.public_id])
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="print").exists()


def test_unknown_kind_is_404(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("consents:new", args=[world.patient_a.public_id, "bogus"])
    assert as_user(world.alice).get(url).status_code == 404


def test_chart_section_lists_consents_and_missing_kinds(world, as_user, signed) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.alice).get(
        reverse("patients:chart_section", args=[world.patient_a.public_id, "consents"])
    )
    html = response.content.decode()
    assert "42 CFR Part 2 consent to disclose" in html and "Lakeside Family Clinic" in html
    assert "Required consents not on file" in html and "Consent to treatment" in html
    assert reverse("consents:new", args=[world.patient_a.public_id, "roi_sponsor"]) in html
    assert reverse("consents:revoke", args=[world.patient_a.public_id, signed.public_id]) in html
    bob = as_user(world.bob).get(
        reverse("patients:chart_section", args=[world.patient_a.public_id, "consents"])
    )
    assert b"Sign a new consent" not in bob.content


def _count(client, url) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["chart", "list"])
def test_query_count_does_not_grow_with_consents(world, as_user, page) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    if page == "chart":
        url = reverse("patients:chart_section", args=[world.patient_a.public_id, "consents"])
    else:
        url = reverse("consents:list", args=[world.patient_a.public_id])
    make_consent(actor=world.alice, patient=world.patient_a, program=world.program_a)
    _count(client, url)
    before = _count(client, url)
    for kind in ("financial", "program_rules", "treatment", "financial"):
        make_consent(actor=world.alice, patient=world.patient_a, program=world.program_a, kind=kind)
    make_consent(
        actor=world.alice,
        patient=world.patient_a,
        program=world.program_a,
        kind="part2_disclosure",
        data=part2_input(world.program_a),
    )
    assert _count(client, url) == before


@pytest.mark.parametrize("kind", ["treatment", "financial", "program_rules"])
def test_new_admission_consent_is_created_once(world, as_user, kind) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("consents:new", args=[world.patient_a.public_id, kind])
    form = client.get(url)
    assert form.status_code == 200
    token = re.search(r'name="submission_token" value="([0-9a-f-]{36})"', form.content.decode())
    assert token is not None, "the form must carry its submission token"
    version = re.search(r'name="version" value="(\d+)"', form.content.decode())
    effective = re.search(r'name="effective_on" value="([0-9-]{10})"', form.content.decode())
    assert effective is not None
    data = {
        "program": world.program_a.pk,
        "submission_token": token.group(1),
        "effective_on": effective.group(1),
    }
    if version:
        data["version"] = version.group(1)
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == 302, first.content.decode()[:2000]
    assert second["Location"] == first["Location"]
    assert Consent.objects.filter(patient=world.patient_a, kind=kind).count() == 1
