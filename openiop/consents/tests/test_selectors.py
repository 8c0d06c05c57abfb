"""consents_missing_for_admission and the rule input built from stored consents."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.utils import timezone

from openiop.consents import rules, selectors, services
from openiop.consents.models import Consent, ProgramConsentSettings
from openiop.consents.tests.helpers import access_for, make_consent, part2_input
from openiop.episodes.models import Episode
from tests.factories import EpisodeFactory

pytestmark = pytest.mark.django_db

ON = date(2026, 11, 2)
ALL_THREE = ["Consent to treatment", "Financial responsibility", "Program rules"]


def _missing(world, on: date = ON) -> list[str]:  # type: ignore[no-untyped-def]
    return selectors.consents_missing_for_admission(
        patient=world.patient_a, program=world.program_a, on=on
    )


def test_none_signed_lists_all_three(world) -> None:  # type: ignore[no-untyped-def]
    assert _missing(world) == ALL_THREE


def test_signed_consents_are_not_listed(world) -> None:  # type: ignore[no-untyped-def]
    for kind in ("treatment", "financial"):
        make_consent(actor=world.alice, patient=world.patient_a, program=world.program_a, kind=kind)
    assert _missing(world) == ["Program rules"]


def test_a_draft_does_not_count(world) -> None:  # type: ignore[no-untyped-def]
    make_consent(
        actor=world.alice,
        patient=world.patient_a,
        program=world.program_a,
        kind="program_rules",
        sign=False,
    )
    assert "Program rules" in _missing(world)


def test_revoked_is_listed_again(world) -> None:  # type: ignore[no-untyped-def]
    consent = make_consent(
        actor=world.alice, patient=world.patient_a, program=world.program_a, kind="treatment"
    )
    assert "Consent to treatment" not in _missing(world)
    services.consent_revoke(
        actor=world.alice,
        access=access_for(world.patient_a),
        consent_public_id=consent.public_id,
        method="written",
        note="Letter dated 2026-11-02",
        now=timezone.make_aware(datetime(2026, 11, 2, 15, 0)),
    )
    assert "Consent to treatment" in _missing(world)


def test_expired_is_listed(world) -> None:  # type: ignore[no-untyped-def]
    make_consent(
        actor=world.alice,
        patient=world.patient_a,
        program=world.program_a,
        kind="financial",
        data=services.ConsentInput(
            program=world.program_a, effective_on=ON, expires_on=date(2026, 11, 30)
        ),
    )
    assert "Financial responsibility" not in _missing(world, date(2026, 11, 30))
    assert "Financial responsibility" in _missing(world, date(2026, 12, 1))


def test_consent_from_an_ended_episode_does_not_carry_over(world) -> None:  # type: ignore[no-untyped-def]
    make_consent(
        actor=world.alice, patient=world.patient_a, program=world.program_a, kind="treatment"
    )
    Episode.objects.filter(pk=world.episode_a.pk).update(
        status="discharged", ended_on=date(2026, 12, 1)
    )
    EpisodeFactory(
        patient=world.patient_a,
        program=world.program_a,
        status="referred",
        referred_on=date(2027, 1, 5),
    )
    assert "Consent to treatment" not in _missing(world, date(2026, 11, 30))
    assert "Consent to treatment" in _missing(world, date(2027, 1, 6))


def test_consent_in_another_program_does_not_count(world) -> None:  # type: ignore[no-untyped-def]
    EpisodeFactory(patient=world.patient_a, program=world.program_b)
    from openiop.accounts.models import ProgramMembership

    ProgramMembership.objects.create(user=world.alice, program=world.program_b)
    make_consent(
        actor=world.alice, patient=world.patient_a, program=world.program_b, kind="treatment"
    )
    assert "Consent to treatment" in _missing(world)


def test_program_setting_changes_the_required_kinds(world) -> None:  # type: ignore[no-untyped-def]
    ProgramConsentSettings.objects.create(program=world.program_a, required_kinds=["treatment"])
    assert _missing(world) == ["Consent to treatment"]
    ProgramConsentSettings.objects.filter(program=world.program_a).update(required_kinds=[])
    assert _missing(world) == []


def test_a_disclosure_consent_is_never_required(world) -> None:  # type: ignore[no-untyped-def]
    # Even if a row were stored by hand, treatment is never conditioned on Part 2 consent.
    ProgramConsentSettings.objects.create(
        program=world.program_a, required_kinds=["treatment", "part2_disclosure", "roi_family"]
    )
    assert _missing(world) == ["Consent to treatment"]


def test_selector_query_count_is_constant(world, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for kind in ("treatment", "financial", "program_rules"):
        make_consent(actor=world.alice, patient=world.patient_a, program=world.program_a, kind=kind)
    with django_assert_max_num_queries(3):
        assert _missing(world) == []


def test_facts_for_patient_feed_the_rule(world) -> None:  # type: ignore[no-untyped-def]
    consent = make_consent(
        actor=world.alice,
        patient=world.patient_a,
        program=world.program_a,
        kind="part2_disclosure",
        data=part2_input(world.program_a),
    )
    facts = selectors.consent_facts_for_patient(patient=world.patient_a)
    decision = rules.disclosure_permitted(
        facts,
        recipient=rules.Recipient("Lakeside Family Clinic", "outside_provider"),
        purpose="TREAT",
        category="medications",
        on=date(2026, 11, 10),
    )
    assert decision.allowed and decision.consent_ref == str(consent.public_id)
    assert Consent.objects.count() == 1
