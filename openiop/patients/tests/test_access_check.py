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
