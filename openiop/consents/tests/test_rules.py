"""Pure consent rules, table-tested. Source for each table in its docstring."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.consents import rules, texts
from openiop.consents.rules import ConsentDraft, ConsentFacts, Recipient

ON = date(2026, 11, 20)


def facts(**changes: object) -> ConsentFacts:
    values: dict[str, object] = {
        "ref": "c1",
        "kind": "part2_disclosure",
        "status": "signed",
        "effective_on": date(2026, 11, 1),
        "purposes": frozenset({"TREAT"}),
        "categories": frozenset({"diagnoses", "medications"}),
        "recipient_name": "Lakeside Family Clinic",
        "recipient_class": "outside_provider",
        "expires_on": date(2027, 11, 1),
    }
    values.update(changes)
    return ConsentFacts(**values)  # type: ignore[arg-type]


CLINIC = Recipient("Lakeside Family Clinic", "outside_provider")
PAYER = Recipient("Acme Health Plan", "health_plan")
TPO = facts(
    ref="tpo",
    is_tpo=True,
    recipient_name="",
    recipient_class="tpo_general",
    purposes=frozenset({"TREAT", "HPAYMT", "HOPERAT"}),
    categories=frozenset({"all_records"}),
    expires_on=None,
    expiry_event="none",
)


# 42 CFR 2.31(a) (2024): a consent names recipient, purpose, information and expiry;
# §2.31(a)(4)(ii) single TPO consent; §2.31(b) SUD counseling notes consent is separate.
@pytest.mark.parametrize(
    ("consents", "recipient", "purpose", "category", "allowed", "reason"),
    [
        ([facts()], CLINIC, "TREAT", "diagnoses", True, "consent in force"),
        ([facts()], CLINIC, "TREAT", "DIAGNOSES".lower(), True, "consent in force"),
        (
            [facts()],
            Recipient("lakeside  family CLINIC", "outside_provider"),
            "TREAT",
            "medications",
            True,
            "consent in force",
        ),
        ([facts(expires_on=date(2026, 11, 19))], CLINIC, "TREAT", "diagnoses", False, "expired"),
        ([facts(expires_on=ON)], CLINIC, "TREAT", "diagnoses", True, "consent in force"),
        ([facts(status="revoked", revoked_on=ON)], CLINIC, "TREAT", "diagnoses", False, "revoked"),
        ([facts(revoked_on=ON)], CLINIC, "TREAT", "diagnoses", False, "revoked"),
        (
            [facts(revoked_on=date(2026, 11, 21))],
            CLINIC,
            "TREAT",
            "diagnoses",
            True,
            "consent in force",
        ),
        ([facts(status="draft")], CLINIC, "TREAT", "diagnoses", False, "not signed"),
        (
            [facts(status="entered_in_error")],
            CLINIC,
            "TREAT",
            "diagnoses",
            False,
            "entered in error",
        ),
        (
            [facts(effective_on=date(2026, 12, 1))],
            CLINIC,
            "TREAT",
            "diagnoses",
            False,
            "not yet in effect",
        ),
        ([facts()], CLINIC, "HPAYMT", "diagnoses", False, "purpose not covered"),
        ([facts()], CLINIC, "ETREAT", "diagnoses", True, "consent in force"),
        ([facts()], CLINIC, "TREAT", "toxicology", False, "information not covered"),
        ([facts()], PAYER, "TREAT", "diagnoses", False, "recipient not covered"),
        ([TPO], PAYER, "HPAYMT", "diagnoses", True, "consent in force"),
        ([TPO], CLINIC, "TREAT", "toxicology", True, "consent in force"),
        (
            [TPO],
            Recipient("Cousin Pat", "family_member"),
            "TREAT",
            "diagnoses",
            False,
            "recipient not covered",
        ),
        ([TPO], PAYER, "PATRQT", "diagnoses", False, "purpose not covered"),
        (
            [TPO],
            PAYER,
            "HPAYMT",
            "sud_counseling_notes",
            False,
            "SUD counseling notes need their own consent",
        ),
        (
            [facts(categories=frozenset({"all_records", "sud_counseling_notes"}))],
            CLINIC,
            "TREAT",
            "sud_counseling_notes",
            False,
            "SUD counseling notes need their own consent",
        ),
        (
            [facts(kind="sud_counseling_notes", categories=frozenset({"sud_counseling_notes"}))],
            CLINIC,
            "TREAT",
            "sud_counseling_notes",
            True,
            "consent in force",
        ),
        (
            [facts(kind="treatment")],
            CLINIC,
            "TREAT",
            "diagnoses",
            False,
            "no consent to disclose on file",
        ),
        ([], CLINIC, "TREAT", "diagnoses", False, "no consent to disclose on file"),
        (
            [
                facts(
                    kind="roi_family",
                    recipient_name="Jordan Canary",
                    recipient_class="family_member",
                    purposes=frozenset({"FAMRQT"}),
                    categories=frozenset({"attendance"}),
                )
            ],
            Recipient("Jordan Canary", "family_member"),
            "FAMRQT",
            "attendance",
            True,
            "consent in force",
        ),
        (
            [
                facts(
                    expiry_event="end_of_treatment",
                    expires_on=None,
                    expiry_event_on=date(2026, 11, 15),
                )
            ],
            CLINIC,
            "TREAT",
            "diagnoses",
            False,
            "expired",
        ),
        (
            [facts(expiry_event="end_of_treatment", expires_on=None)],
            CLINIC,
            "TREAT",
            "diagnoses",
            True,
            "consent in force",
        ),
    ],
)
def test_disclosure_permitted(consents, recipient, purpose, category, allowed, reason) -> None:  # type: ignore[no-untyped-def]
    decision = rules.disclosure_permitted(
        consents, recipient=recipient, purpose=purpose, category=category, on=ON
    )
    assert decision.allowed is allowed
    assert decision.reason == reason
    assert (decision.consent_ref is not None) is allowed


def test_the_allowing_consent_is_named_among_several() -> None:
    revoked = facts(ref="old", status="revoked", revoked_on=date(2026, 11, 10))
    current = facts(ref="new")
    decision = rules.disclosure_permitted(
        [revoked, current], recipient=CLINIC, purpose="TREAT", category="diagnoses", on=ON
    )
    assert decision.allowed and decision.consent_ref == "new"
    assert decision.considered == (("old", "revoked"),)


def test_most_specific_reason_is_reported() -> None:
    decision = rules.disclosure_permitted(
        [facts(ref="a", status="revoked", revoked_on=ON), facts(ref="b")],
        recipient=CLINIC,
        purpose="HPAYMT",
        category="diagnoses",
        on=ON,
    )
    assert not decision.allowed and decision.reason == "purpose not covered"


# Admission requires signed, unexpired, unrevoked consents of each required kind (issue 3).
@pytest.mark.parametrize(
    ("consents", "missing"),
    [
        ([], ["treatment", "financial", "program_rules"]),
        ([facts(kind="treatment", expires_on=None)], ["financial", "program_rules"]),
        (
            [facts(kind="treatment", status="revoked", revoked_on=ON)],
            ["treatment", "financial", "program_rules"],
        ),
        (
            [facts(kind="treatment", expires_on=date(2026, 1, 1), effective_on=date(2025, 1, 1))],
            ["treatment", "financial", "program_rules"],
        ),
        (
            [facts(kind=k, expires_on=None) for k in ("treatment", "financial", "program_rules")],
            [],
        ),
        ([facts(kind="part2_disclosure")], ["treatment", "financial", "program_rules"]),
    ],
)
def test_missing_kinds(consents, missing) -> None:  # type: ignore[no-untyped-def]
    assert (
        rules.missing_kinds(["treatment", "financial", "program_rules"], consents, on=ON) == missing
    )


def draft(**changes: object) -> ConsentDraft:
    values: dict[str, object] = {
        "kind": "part2_disclosure",
        "patient_name": "Avery Canary",
        "discloser_name": "Morning SUD IOP, Riverside Recovery",
        "effective_on": ON,
        "recipient_name": "Lakeside Family Clinic",
        "recipient_class": "outside_provider",
        "purposes": ("TREAT",),
        "categories": ("diagnoses",),
        "information_description": "Diagnoses during this episode.",
        "expires_on": date(2027, 1, 1),
    }
    values.update(changes)
    return ConsentDraft(**values)  # type: ignore[arg-type]


# 42 CFR 2.31(a)(1)-(9) (2024 text): every element present; expiry date or event.
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, None),
        ({"patient_name": " "}, "patient"),
        ({"discloser_name": ""}, "discloser_name"),
        ({"recipient_name": ""}, "recipient_name"),
        ({"recipient_class": ""}, "recipient_class"),
        ({"purposes": ()}, "purposes"),
        ({"categories": ()}, "categories"),
        ({"information_description": ""}, "information_description"),
        ({"expires_on": None}, "expires_on"),
        ({"expires_on": date(2026, 11, 19)}, "expires_on"),
        ({"expires_on": None, "expiry_event": "end_of_treatment"}, None),
        ({"expires_on": None, "expiry_event": "none"}, "expiry_event"),
        ({"expires_on": None, "expiry_event": "other"}, "expiry_event_description"),
        ({"expiry_event": "end_of_treatment"}, "expiry_event"),
        ({"categories": ("diagnoses", "sud_counseling_notes")}, "categories"),
        (
            {"kind": "sud_counseling_notes", "categories": ("sud_counseling_notes", "diagnoses")},
            "categories",
        ),
        ({"kind": "sud_counseling_notes", "categories": ("sud_counseling_notes",)}, None),
        ({"is_tpo": True, "purposes": ("TREAT",)}, "purposes"),
        (
            {
                "is_tpo": True,
                "purposes": ("TREAT", "HPAYMT", "HOPERAT"),
                "recipient_name": "",
                "recipient_class": "tpo_general",
                "expires_on": None,
                "expiry_event": "none",
            },
            None,
        ),
        ({"kind": "roi_family", "is_tpo": True}, "is_tpo"),
        ({"kind": "roi_family", "recipient_class": "family_member"}, "recipient_relationship"),
        ({"kind": "treatment", "recipient_name": "", "purposes": (), "expires_on": None}, None),
    ],
)
def test_draft_errors(changes, field) -> None:  # type: ignore[no-untyped-def]
    errors = rules.draft_errors(draft(**changes), today=ON)
    if field is None:
        assert errors == {}
    else:
        assert field in errors, errors


@pytest.mark.parametrize(
    ("typed", "ok"),
    [
        ("Avery Lee Canary", True),
        ("avery lee canary", True),
        ("  AVERY   LEE  CANARY ", True),
        ("Avery Canary", True),
        ("Avery", False),
        ("", False),
        ("Avery Canary-PB", False),
    ],
)
def test_signed_name_matches(typed: str, ok: bool) -> None:
    assert rules.signed_name_matches(typed, ["Avery Lee Canary", "Avery Canary"]) is ok


def test_effective_status_shows_expiry() -> None:
    assert rules.effective_status(facts(expires_on=date(2026, 11, 1)), ON) == "expired"
    assert rules.effective_status(facts(), ON) == "signed"
    assert rules.effective_status(facts(status="revoked", revoked_on=ON), ON) == "revoked"


def test_content_digest_changes_with_any_field_or_signature() -> None:
    base = rules.content_digest({"a": 1, "d": date(2026, 1, 1)}, b"png")
    assert base == rules.content_digest({"d": date(2026, 1, 1), "a": 1}, b"png")
    assert base != rules.content_digest({"a": 2, "d": date(2026, 1, 1)}, b"png")
    assert base != rules.content_digest({"a": 1, "d": date(2026, 1, 1)}, b"png2")


def test_part2_text_carries_every_element() -> None:
    text = texts.render(
        "part2_disclosure",
        texts.TextValues(
            patient_name="Avery Canary",
            date_of_birth=date(1990, 5, 17),
            organization_name="Riverside Recovery",
            discloser_name="Morning SUD IOP, Riverside Recovery",
            effective_on=ON,
            recipient_name="",
            recipient_class_label="Treating providers, health plans",
            purpose_labels=("Treatment", "Payment", "Health care operations"),
            category_labels=("All records",),
            information_description="My whole record except counseling notes.",
            expiry_event="none",
            is_tpo=True,
        ),
    )
    body = text.body
    for needle in [
        "Avery Canary",
        "Morning SUD IOP, Riverside Recovery",
        "My whole record except counseling notes.",
        "Treating providers, health plans",
        "treatment, payment and health care operations",
        "revoke",
        "in writing",
        "already done in reliance",
        "redisclosed",
        "HIPAA",
        "proceedings against you",
        "never (no expiry date",
        "will not refuse or condition your treatment",
    ]:
        assert needle in body, needle
    assert text.key == "part2_disclosure.v1"


@pytest.mark.parametrize("kind", list(texts.TEMPLATES))
def test_every_kind_renders(kind: str) -> None:
    text = texts.render(
        kind,
        texts.TextValues(
            patient_name="Avery Canary",
            date_of_birth=date(1990, 5, 17),
            organization_name="Riverside Recovery",
            discloser_name="Morning SUD IOP",
            effective_on=ON,
            recipient_name="Jordan",
            expires_on=date(2027, 1, 1),
        ),
    )
    assert "Avery Canary" in text.body and "{" not in text.body
