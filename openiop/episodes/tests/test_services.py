"""Episode services: history rows, audit rows, refusals, concurrent edits."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.episodes import services
from openiop.episodes.models import EpisodeEvent
from openiop.patients.selectors import patient_get_for_user


def _access(world, actor):  # type: ignore[no-untyped-def]
    return patient_get_for_user(
        actor=actor, public_id=world.patient_a.public_id, now=timezone.now()
    )


def _discharge(world, actor, version=1, reason="Completed program"):  # type: ignore[no-untyped-def]
    return services.episode_change_status(
        actor=actor,
        access=_access(world, actor),
        episode_public_id=world.episode_a.public_id,
        to_status="discharged",
        effective_on=date(2026, 11, 20),
        reason=reason,
        base_version=version,
        now=timezone.now(),
    )


def test_status_change_writes_history_and_audit(world) -> None:  # type: ignore[no-untyped-def]
    episode = _discharge(world, world.alice)
    assert episode.status == "discharged" and episode.ended_on == date(2026, 11, 20)
    event = EpisodeEvent.objects.get(episode=episode, kind="status")
    assert (event.from_status, event.to_status, event.changed_by) == (
        "active",
        "discharged",
        world.alice,
    )
    audit = AuditEvent.objects.get(action="status_change", object_type="episode")
    assert (
        audit.detail == {"from": "active", "to": "discharged"} and audit.patient == world.patient_a
    )


def test_refused_transition_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    _discharge(world, world.alice)
    with pytest.raises(ServiceError, match="cannot move"):
        services.episode_change_status(
            actor=world.alice,
            access=_access(world, world.alice),
            episode_public_id=world.episode_a.public_id,
            to_status="active",
            effective_on=date(2026, 11, 21),
            reason="",
            base_version=2,
            now=timezone.now(),
        )
    assert EpisodeEvent.objects.filter(kind="status").count() == 1


def test_stale_version_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    services.episode_change_level(
        actor=world.alice,
        access=_access(world, world.alice),
        episode_public_id=world.episode_a.public_id,
        to_level="2.5",
        effective_on=date(2026, 11, 1),
        reason="More structure",
        base_version=1,
        now=timezone.now(),
    )
    with pytest.raises(ServiceError, match="Someone else"):
        _discharge(world, world.dana, version=1)


def test_read_only_roles_cannot_change_episodes(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError, match="role"):
        _discharge(world, world.bob)


def test_care_team_must_belong_to_the_program(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as raised:
        services.episode_set_care_team(
            actor=world.dana,
            access=_access(world, world.dana),
            episode_public_id=world.episode_a.public_id,
            primary_counselor=world.charlie,
            prescriber=None,
            case_manager=None,
            base_version=1,
            today=date(2026, 11, 27),
            now=timezone.now(),
        )
    assert raised.value.field == "primary_counselor"


def test_one_open_episode_per_program(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError, match="already has an open episode"):
        services.episode_open(
            actor=world.dana,
            patient=world.patient_a,
            program=world.program_a,
            status="referred",
            level_of_care="2.1",
            referred_on=date(2026, 11, 27),
            now=timezone.now(),
        )
    _discharge(world, world.dana)
    readmission = services.episode_open(
        actor=world.dana,
        patient=world.patient_a,
        program=world.program_a,
        status="screening",
        level_of_care="2.1",
        referred_on=date(2026, 11, 27),
        now=timezone.now(),
        reason="Readmission",
    )
    assert readmission.status == "screening"


def test_status_view_shows_error_next_to_field_and_keeps_input(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("episodes:status", args=[world.patient_a.public_id, world.episode_a.public_id])
    response = as_user(world.alice).post(
        url, {"to_status": "discharged", "effective_on": "2026-11-20", "reason": "", "version": 1}
    )
    assert response.status_code == 422 and b"Give a reason" in response.content
    assert b'value="2026-11-20"' in response.content
    ok = as_user(world.alice).post(
        url,
        {
            "to_status": "discharged",
            "effective_on": "2026-11-20",
            "reason": "Completed",
            "version": 1,
        },
    )
    assert ok.status_code == 302
    chart = as_user(world.alice).get(reverse("patients:chart", args=[world.patient_a.public_id]))
    assert b"Active \xe2\x86\x92 Discharged" in chart.content
