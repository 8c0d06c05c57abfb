"""Consent services: validation, signing, immutability, revocation, audit, PDF."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.consents import rules, selectors, services
from openiop.consents.models import Consent, ConsentEvent
from openiop.consents.tests.helpers import (
    access_for,
    make_consent,
    part2_input,
    pdf_text,
    png_data_url,
    tiny_png,
)
from openiop.core.errors import ServiceError
from openiop.patients.models import Patient

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 2)
NOW = timezone.make_aware(datetime(2026, 11, 2, 10, 0))
LATER = timezone.make_aware(datetime(2026, 11, 2, 16, 30))
CLINIC = rules.Recipient("Lakeside Family Clinic", "outside_provider")


def _draft(world, kind="part2_disclosure", data=None):  # type: ignore[no-untyped-def]
    return make_consent(
        actor=world.alice,
        patient=world.patient_a,
        program=world.program_a,
        kind=kind,
        data=data or part2_input(world.program_a),
        sign=False,
    )


def _signature(consent: Consent, **changes: object) -> services.SignatureInput:
    consent = Consent.objects.get(pk=consent.pk)
    values: dict[str, object] = {
        "typed_name": "Avery Canary-PA",
        "signature_data_url": png_data_url(),
        "signing_electronically": False,
        "shown_text_sha256": rules.sha256_text(services.consent_text(consent).body),
        "signer_address": "192.0.2.10",
        "user_agent": "Tablet browser",
    }
    values.update(changes)
    return services.SignatureInput(**values)  # type: ignore[arg-type]


def _sign(world, consent, **changes):  # type: ignore[no-untyped-def]
    return services.consent_sign(
        actor=world.alice,
        access=access_for(world.patient_a),
        consent_public_id=consent.public_id,
        signature=_signature(consent, **changes),
        today=TODAY,
        now=NOW,
    )


def test_draft_is_created_and_audited(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    assert consent.status == "draft"
    assert consent.discloser_name == "Morning SUD IOP, Riverside Recovery"
    event = AuditEvent.objects.get(action="create", object_type="consent")
    assert event.patient == world.patient_a and event.object_id == str(consent.public_id)
    assert ConsentEvent.objects.get(consent=consent).kind == "drafted"


def test_draft_double_submit_creates_one(world) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    kwargs = {
        "actor": world.alice,
        "access": access_for(world.patient_a),
        "kind": "part2_disclosure",
        "data": part2_input(world.program_a),
        "submission_token": token,
        "today": TODAY,
        "now": NOW,
    }
    first = services.consent_draft_create(**kwargs)  # type: ignore[arg-type]
    second = services.consent_draft_create(**kwargs)  # type: ignore[arg-type]
    assert first.pk == second.pk and Consent.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipient_name": ""}, "recipient_name"),
        ({"purposes": ()}, "purposes"),
        ({"expires_on": None}, "expires_on"),
        ({"expires_on": date(2026, 11, 1)}, "expires_on"),
        ({"information_description": "  "}, "information_description"),
        ({"categories": ()}, "categories"),
        ({"purposes": ("BOGUS",)}, "purposes"),
    ],
)
def test_a_part2_consent_missing_an_element_is_refused(world, changes, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.ConsentInvalid) as caught:
        _draft(world, data=part2_input(world.program_a, **changes))
    assert field in caught.value.errors
    assert not Consent.objects.exists()


def test_sud_counseling_notes_cannot_be_combined(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.ConsentInvalid) as caught:
        _draft(
            world,
            kind="sud_counseling_notes",
            data=part2_input(world.program_a, categories=("sud_counseling_notes", "diagnoses")),
        )
    assert "categories" in caught.value.errors


def test_outsider_program_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        _draft(world, data=part2_input(world.program_b))
    assert caught.value.field == "program"


def test_role_without_permission_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        make_consent(actor=world.bob, patient=world.patient_a, program=world.program_a)
    assert caught.value.code == "not_allowed"


def test_sign_stores_text_hash_signature_and_device(world) -> None:  # type: ignore[no-untyped-def]
    consent = _sign(world, _draft(world))
    consent.refresh_from_db()
    assert consent.status == "signed" and consent.signature_method == "drawn"
    assert bytes(consent.signature_png) == tiny_png()
    assert consent.signer_address == "192.0.2.10" and consent.signer_user_agent == "Tablet browser"
    assert consent.signed_at == NOW and consent.collected_by == world.alice
    assert consent.text_sha256 == rules.sha256_text(consent.text)
    assert "Lakeside Family Clinic" in consent.text and "Avery Canary-PA" in consent.text
    assert services.consent_integrity_ok(consent)
    event = AuditEvent.objects.get(action="sign")
    assert event.patient == world.patient_a and event.detail["method"] == "drawn"


def test_signature_name_mismatch_is_refused_next_to_the_name(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    with pytest.raises(ServiceError) as caught:
        _sign(world, consent, typed_name="Blake Canary-PB")
    assert caught.value.field == "typed_name"
    assert "does not match the patient's legal name" in caught.value.message
    assert Consent.objects.get(pk=consent.pk).status == "draft"


def test_name_match_ignores_case(world) -> None:  # type: ignore[no-untyped-def]
    consent = _sign(world, _draft(world), typed_name="  avery   CANARY-pa ")
    assert consent.signed_name == "avery CANARY-pa"


def test_without_drawing_the_electronic_box_is_needed(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    with pytest.raises(ServiceError) as caught:
        _sign(world, consent, signature_data_url="")
    assert caught.value.field == "signing_electronically"
    signed = _sign(world, consent, signature_data_url="", signing_electronically=True)
    assert signed.signature_method == "typed" and signed.signature_png is None


def test_a_bad_drawing_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        _sign(world, _draft(world), signature_data_url="data:image/png;base64,bm90IGEgcG5n")
    assert caught.value.field == "signature_data"


def test_text_changed_since_shown_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    with pytest.raises(ServiceError) as caught:
        _sign(world, consent, shown_text_sha256=rules.sha256_text("an older text"))
    assert caught.value.code == "conflict"


def test_template_edit_never_changes_a_signed_consent(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from openiop.consents import texts

    consent = _sign(world, _draft(world))
    signed_text = consent.text
    key, title, body = texts.TEMPLATES["part2_disclosure"]
    monkeypatch.setitem(texts.TEMPLATES, "part2_disclosure", (key, title, "CHANGED " + body))
    consent.refresh_from_db()
    assert consent.text == signed_text and "CHANGED" not in consent.text
    assert services.consent_integrity_ok(consent)


def test_a_signed_consent_cannot_be_changed(world) -> None:  # type: ignore[no-untyped-def]
    consent = _sign(world, _draft(world))
    with pytest.raises(ServiceError) as caught:
        services.consent_draft_update(
            actor=world.alice,
            access=access_for(world.patient_a),
            consent_public_id=consent.public_id,
            data=part2_input(world.program_a, recipient_name="Someone Else"),
            base_version=consent.version,
            today=TODAY,
            now=NOW,
        )
    assert "cannot be changed" in caught.value.message
    consent.refresh_from_db()
    assert consent.recipient_name == "Lakeside Family Clinic"
    # Signing twice is refused too (a second signature would replace the first).
    other = Consent.objects.get(pk=consent.pk)
    with pytest.raises(ServiceError):
        services.consent_sign(
            actor=world.dana,
            access=access_for(world.patient_a),
            consent_public_id=other.public_id,
            signature=_signature(other, shown_text_sha256=other.text_sha256),
            today=TODAY,
            now=LATER,
        )


def test_tampering_is_detected_by_the_content_hash(world) -> None:  # type: ignore[no-untyped-def]
    consent = _sign(world, _draft(world))
    Consent.objects.filter(pk=consent.pk).update(recipient_name="Someone Else")
    consent.refresh_from_db()
    assert not services.consent_integrity_ok(consent)
    Consent.objects.filter(pk=consent.pk).update(
        recipient_name="Lakeside Family Clinic", text=consent.text + " extra"
    )
    consent.refresh_from_db()
    assert not services.consent_integrity_ok(consent)


def test_draft_update_with_stale_version_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    common = {
        "actor": world.alice,
        "access": access_for(world.patient_a),
        "consent_public_id": consent.public_id,
        "today": TODAY,
        "now": NOW,
    }
    services.consent_draft_update(
        data=part2_input(world.program_a, recipient_name="Clinic Two"),
        base_version=1,
        **common,  # type: ignore[arg-type]
    )
    with pytest.raises(services.VersionConflict):
        services.consent_draft_update(
            data=part2_input(world.program_a, recipient_name="Clinic Three"),
            base_version=1,
            **common,  # type: ignore[arg-type]
        )
    assert Consent.objects.get(pk=consent.pk).recipient_name == "Clinic Two"


def test_verbal_consent_with_witnesses(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    shown = rules.sha256_text(services.consent_text(Consent.objects.get(pk=consent.pk)).body)
    kwargs = {
        "actor": world.alice,
        "access": access_for(world.patient_a),
        "consent_public_id": consent.public_id,
        "today": TODAY,
        "now": NOW,
    }
    with pytest.raises(services.ConsentInvalid) as caught:
        services.consent_record_verbal(
            verbal=services.VerbalConsentInput("", "", False, shown),
            **kwargs,  # type: ignore[arg-type]
        )
    assert set(caught.value.errors) == {
        "second_witness_name",
        "unable_to_sign_reason",
        "read_aloud",
    }
    signed = services.consent_record_verbal(
        verbal=services.VerbalConsentInput(
            "Sam Rivera, RN", "Broken right wrist in a cast", True, shown
        ),
        **kwargs,  # type: ignore[arg-type]
    )
    assert signed.status == "signed" and signed.signature_method == "verbal_witnessed"
    assert signed.witness == world.alice and signed.second_witness_name == "Sam Rivera, RN"
    assert AuditEvent.objects.filter(action="sign", detail__method="verbal_witnessed").exists()


def test_revocation_takes_effect_immediately_and_keeps_history(world) -> None:  # type: ignore[no-untyped-def]
    consent = _sign(world, _draft(world))

    def permitted() -> bool:
        facts = selectors.consent_facts_for_patient(patient=world.patient_a)
        return rules.disclosure_permitted(
            facts, recipient=CLINIC, purpose="TREAT", category="diagnoses", on=TODAY
        ).allowed

    assert permitted()
    revoked = services.consent_revoke(
        actor=world.dana,
        access=access_for(world.patient_a),
        consent_public_id=consent.public_id,
        method="verbal",
        note="Told me at the front desk; heard by Sam Rivera.",
        now=LATER,
    )
    assert revoked.status == "revoked" and revoked.revoked_at == LATER
    assert revoked.revocation_received_by == world.dana and revoked.revocation_method == "verbal"
    assert not permitted()
    kinds = list(ConsentEvent.objects.filter(consent=consent).values_list("kind", flat=True))
    assert kinds == ["drafted", "signed", "revoked"]
    assert AuditEvent.objects.filter(action="status_change", detail__to="revoked").exists()
    revoked.refresh_from_db()
    assert services.consent_integrity_ok(revoked)  # what was signed is unchanged


def test_verbal_revocation_needs_a_note(world) -> None:  # type: ignore[no-untyped-def]
    consent = _sign(world, _draft(world))
    with pytest.raises(ServiceError) as caught:
        services.consent_revoke(
            actor=world.alice,
            access=access_for(world.patient_a),
            consent_public_id=consent.public_id,
            method="verbal",
            note="",
            now=LATER,
        )
    assert caught.value.field == "note"


def test_a_draft_cannot_be_revoked_but_can_be_voided(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    with pytest.raises(ServiceError):
        services.consent_revoke(
            actor=world.alice,
            access=access_for(world.patient_a),
            consent_public_id=consent.public_id,
            method="written",
            note="",
            now=LATER,
        )
    voided = services.consent_mark_entered_in_error(
        actor=world.alice,
        access=access_for(world.patient_a),
        consent_public_id=consent.public_id,
        reason="Wrong patient chosen",
        now=LATER,
    )
    assert voided.status == "entered_in_error" and Consent.objects.filter(pk=consent.pk).exists()


def test_tpo_consent_covers_a_payer(world) -> None:  # type: ignore[no-untyped-def]
    data = part2_input(
        world.program_a,
        is_tpo=True,
        recipient_name="",
        recipient_class="tpo_general",
        purposes=("TREAT", "HPAYMT", "HOPERAT"),
        categories=("all_records",),
        expires_on=None,
        expiry_event="none",
        information_description="My records, except SUD counseling notes.",
    )
    consent = _sign(world, _draft(world, data=data))
    assert "redisclosed" in consent.text
    facts = selectors.consent_facts_for_patient(patient=world.patient_a)
    payer = rules.Recipient("Acme Health Plan", "health_plan")
    assert rules.disclosure_permitted(
        facts, recipient=payer, purpose="HPAYMT", category="billing", on=TODAY
    ).allowed
    assert not rules.disclosure_permitted(
        facts, recipient=payer, purpose="HPAYMT", category="sud_counseling_notes", on=TODAY
    ).allowed


def test_print_pdf_contains_the_elements_and_is_audited(world) -> None:  # type: ignore[no-untyped-def]
    consent = _sign(world, _draft(world))
    services.consent_revoke(
        actor=world.alice,
        access=access_for(world.patient_a),
        consent_public_id=consent.public_id,
        method="written",
        note="Letter received",
        now=LATER,
    )
    _, pdf = services.consent_print(
        actor=world.alice,
        access=access_for(world.patient_a),
        consent_public_id=consent.public_id,
        now=LATER,
    )
    assert pdf.startswith(b"%PDF")
    flat = pdf_text(pdf)
    for needle in [
        "Riverside Recovery",
        "Morning SUD IOP",
        "Avery Canary-PA",
        "Lakeside Family Clinic",
        "Diagnoses, medications and attendance during this episode.",
        "Treatment",
        "2027-11-01",
        "revoke",
        "Signed electronically by: Avery Canary-PA",
        "REVOKED",
        "Letter received",
    ]:
        assert needle in flat, needle
    assert AuditEvent.objects.filter(action="print", object_id=str(consent.public_id)).exists()
    assert ConsentEvent.objects.filter(consent=consent, kind="printed").exists()


def test_a_draft_cannot_be_printed(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError):
        services.consent_print(
            actor=world.alice,
            access=access_for(world.patient_a),
            consent_public_id=_draft(world).public_id,
            now=NOW,
        )


def test_program_settings_refuse_a_disclosure_requirement(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError):
        services.program_consent_settings_update(
            actor=world.dana, program=world.program_a, required_kinds=["part2_disclosure"]
        )
    row = services.program_consent_settings_update(
        actor=world.dana, program=world.program_a, required_kinds=["program_rules", "treatment"]
    )
    assert row.required_kinds == ["treatment", "program_rules"]
    with pytest.raises(ServiceError):
        services.program_consent_settings_update(
            actor=world.alice, program=world.program_a, required_kinds=[]
        )


def test_no_patient_name_in_exception_messages(world) -> None:  # type: ignore[no-untyped-def]
    consent = _draft(world)
    with pytest.raises(ServiceError) as caught:
        _sign(world, consent, typed_name="Someone")
    assert "Canary" not in str(caught.value)
    assert Patient.objects.count() == 2
