"""The access check of every patient page (selectors.patient_get_for_user, one plain
statement) against the queryset form of the same rule (patient_visible_qs), case by case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from openiop.access.models import BreakGlassGrant
from openiop.audit.models import AuditEvent
from openiop.patients import selectors
from tests.factories import EpisodeFactory, PatientFactory


def _grant(world, user, patient, minutes: int) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    BreakGlassGrant.objects.create(
        user=user, patient=patient, reason="covering", granted_at=now - timedelta(hours=2),
        expires_at=now + timedelta(minutes=minutes),
    )  # fmt: skip


CASES = [
    # (actor, patient, set-up, visible, via break-the-glass)
    ("alice", "patient_a", None, True, False),
    ("alice", "patient_b", None, False, False),
    ("charlie", "patient_b", None, True, False),
    ("alice", "patient_b", "grant", True, True),
    ("alice", "patient_b", "expired_grant", False, False),
    ("alice", "patient_b", "grant_to_other_user", False, False),
    ("alice", "patient_b", "discharged_episode_in_alices_program", True, False),
    ("alice", "patient_b", "episode_in_other_org_program", False, False),
    ("olivia", "patient_a", None, False, False),  # another organization's director
]


@pytest.mark.parametrize(("actor", "patient", "setup", "visible", "via_glass"), CASES)
def test_access_check_agrees_with_the_queryset(
    world, actor, patient, setup, visible, via_glass
) -> None:  # type: ignore[no-untyped-def]
    user, target = getattr(world, actor), getattr(world, patient)
    if setup == "grant":
        _grant(world, user, target, 30)
    elif setup == "expired_grant":
        _grant(world, user, target, -1)
    elif setup == "grant_to_other_user":
        _grant(world, world.bob, target, 30)
    elif setup == "discharged_episode_in_alices_program":
        EpisodeFactory(patient=target, program=world.program_a, status="discharged")
    elif setup == "episode_in_other_org_program":
        EpisodeFactory(patient=target, program=world.olivia.memberships.get().program)
    now = timezone.now()
    in_queryset = selectors.patient_visible_qs(actor=user, now=now).filter(pk=target.pk).exists()
    assert in_queryset == visible
    if visible:
        access = selectors.patient_get_for_user(actor=user, public_id=target.public_id, now=now)
        assert access.patient == target and access.via_break_glass == via_glass
        assert access.patient.legal_family_name == target.legal_family_name
    else:
        with pytest.raises(Http404):
            selectors.patient_get_for_user(actor=user, public_id=target.public_id, now=now)
        assert AuditEvent.objects.filter(actor=user, action="access_denied").exists()


@pytest.mark.parametrize("public_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_id_is_an_audited_404(world, public_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Http404):
        selectors.patient_get_for_user(actor=world.alice, public_id=public_id, now=timezone.now())
    event = AuditEvent.objects.get(actor=world.alice, action="access_denied")
    assert event.object_id == public_id and event.patient is None


def test_same_id_in_another_organization_is_not_found(world) -> None:  # type: ignore[no-untyped-def]
    program = world.olivia.memberships.get().program
    stranger = PatientFactory(organization=program.site.organization)
    EpisodeFactory(patient=stranger, program=program)
    with pytest.raises(Http404):
        selectors.patient_get_for_user(
            actor=world.alice, public_id=stranger.public_id, now=timezone.now()
        )


def _search_world(world) -> None:  # type: ignore[no-untyped-def]
    """Patients that only the exact rule tells apart: names with LIKE's wildcards,
    MRNs in another case, inactive patients, grants live and expired, other orgs."""

    def patient(given: str, family: str, program, **extra):  # type: ignore[no-untyped-def]
        p = PatientFactory(organization=world.org, legal_given_name=given,
                           legal_family_name=family, **extra)  # fmt: skip
        if program is not None:
            EpisodeFactory(patient=p, program=program)
        return p

    patient("Ann", "Lee", world.program_a, phone_digits="5550100100")
    patient("Anna", "Lee_son", world.program_a, mrn="ab-77")
    patient("Hannah", "Le%e", world.program_a, date_of_birth="1985-02-03")
    patient("Ann", "Leeward", world.program_a, status="inactive")
    patient("Ann", "Outside", None)
    patient("Dan", "Annison", world.program_b)
    _grant(world, world.alice, patient("Annabel", "Glass", world.program_b), 30)
    _grant(world, world.alice, patient("Annette", "Expired", world.program_b), -1)
    other = world.olivia.memberships.get().program
    EpisodeFactory(patient=PatientFactory(organization=other.site.organization,
                                          legal_given_name="Ann", legal_family_name="Lee"),
                   program=other)  # fmt: skip


SEARCHES = ["ann", "lee", "ANN lee", "le_", "le%", "le%e", "son", "1985-02-03",
            "ann 1985-02-03", "555-010", "AB-77", "ab-7", "zzz", ""]  # fmt: skip


@pytest.mark.parametrize("actor", ["alice", "charlie", "olivia"])
def test_search_agrees_with_the_querysets(world, actor) -> None:  # type: ignore[no-untyped-def]
    """patient_search (one plain statement) against the ORM's form of the same search:
    the visibility rule of patient_visible_qs and Django's own lookups."""
    from openiop.patients.models import PatientStatus
    from openiop.patients.rules import parse_search

    _search_world(world)
    user, now = getattr(world, actor), timezone.now()
    for query in SEARCHES:
        terms = parse_search(query)
        qs = selectors.patient_visible_qs(actor=user, now=now).filter(status=PatientStatus.ACTIVE)
        for token in terms.name_tokens:
            qs = qs.filter(search_name__icontains=token)
        if terms.date_of_birth:
            qs = qs.filter(date_of_birth=terms.date_of_birth)
        if terms.phone:
            qs = qs.filter(phone_digits__contains=terms.phone)
        if terms.mrn:
            qs = qs.filter(mrn__iexact=terms.mrn)
        expected = list(qs.order_by("legal_family_name", "legal_given_name", "id")
                        .values_list("public_id", flat=True)[: selectors.SEARCH_LIMIT])  # fmt: skip
        got = selectors.patient_search(actor=user, terms=terms, now=now)
        assert [p.public_id for p in got] == expected, (actor, query)
    if actor == "alice":  # the world above gives the comparison something to find
        assert len(selectors.patient_search(actor=user, terms=parse_search("ann"), now=now)) >= 4
