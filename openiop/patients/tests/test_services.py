"""Registry services: side effects, audit rows, refusals."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.episodes.models import EpisodeEvent
from openiop.patients import services
from openiop.patients.models import Patient
from openiop.patients.rules import mrn_is_valid
from openiop.patients.selectors import patient_get_for_user

TODAY = date(2026, 11, 27)


def _data(**overrides: object) -> services.Demographics:
    base = dict(
        legal_given_name="Jordan",
        legal_family_name="Rivera",
        date_of_birth=date(1991, 3, 4),
        sex_at_birth="male",
        phone="555-201-3344",
    )
    return services.Demographics(**(base | overrides))  # type: ignore[arg-type]


def _register(world, actor=None, token=None, confirm=False, **overrides):  # type: ignore[no-untyped-def]
    return services.patient_register(
        actor=actor or world.dana,
        data=_data(**overrides),
        program=world.program_a,
        initial_status="referred",
        submission_token=token or uuid.uuid4(),
        confirmed_not_duplicate=confirm,
        today=TODAY,
        now=timezone.now(),
        contact=services.ContactInput(
            name="Sam Rivera", relationship="Brother", phone="555-201-0000"
        ),
    )


def test_register_creates_patient_episode_history_contact_and_audit(world) -> None:  # type: ignore[no-untyped-def]
    patient = _register(world)
    assert mrn_is_valid(patient.mrn) and patient.phone_digits == "5552013344"
    episode = patient.episodes.get()
    assert episode.status == "referred" and episode.program == world.program_a
    assert EpisodeEvent.objects.filter(episode=episode, kind="opened").count() == 1
    assert patient.contacts.count() == 1
    actions = set(AuditEvent.objects.filter(patient=patient).values_list("object_type", "action"))
    assert {("patient", "create"), ("episode", "create")} <= actions


def test_mrns_are_unique_and_sequential(world) -> None:  # type: ignore[no-untyped-def]
    first = _register(world, legal_given_name="A")
    second = _register(world, legal_given_name="B")
    assert first.mrn != second.mrn and int(second.mrn[:7]) == int(first.mrn[:7]) + 1


def test_same_submission_token_creates_one_patient(world) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    first = _register(world, token=token)
    second = _register(world, token=token)
    assert first.pk == second.pk
    assert Patient.objects.filter(legal_family_name="Rivera").count() == 1


def test_duplicate_name_and_birth_date_needs_confirmation(world) -> None:  # type: ignore[no-untyped-def]
    _register(world)
    with pytest.raises(services.DuplicateSuspected) as raised:
        _register(world, legal_given_name="JORDAN", legal_family_name="rivera")
    assert len(raised.value.matches) == 1
    assert _register(world, confirm=True).pk is not None
    assert Patient.objects.filter(legal_family_name="Rivera").count() == 2


def test_duplicate_in_a_program_the_user_cannot_see_is_flagged_but_not_linked(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.DuplicateSuspected) as raised:
        _register(
            world,
            legal_given_name=world.patient_b.legal_given_name,
            legal_family_name=world.patient_b.legal_family_name,
            date_of_birth=world.patient_b.date_of_birth,
        )
    assert raised.value.visible_ids == set()


def test_register_refuses_other_programs_and_read_only_roles(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError, match="own programs"):
        services.patient_register(
            actor=world.olivia,
            data=_data(),
            program=world.program_a,
            initial_status="referred",
            submission_token=uuid.uuid4(),
            confirmed_not_duplicate=False,
            today=TODAY,
            now=timezone.now(),
        )
    with pytest.raises(ServiceError, match="role"):
        _register(world, actor=world.bob)


def test_birth_date_in_the_future_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as raised:
        _register(world, date_of_birth=date(2027, 1, 1))
    assert raised.value.field == "date_of_birth"


def test_update_refuses_a_stale_version_and_names_the_fields(world) -> None:  # type: ignore[no-untyped-def]
    access = patient_get_for_user(
        actor=world.alice, public_id=world.patient_a.public_id, now=timezone.now()
    )
    current = services.demographics_of(world.patient_a)
    services.patient_update(
        actor=world.alice,
        access=access,
        data=services.Demographics(**(current.__dict__ | {"phone": "555-000-1111"})),
        base_version=1,
    )
    with pytest.raises(services.VersionConflict) as raised:
        services.patient_update(
            actor=world.alice,
            access=access,
            data=services.Demographics(**(current.__dict__ | {"city": "Dayton"})),
            base_version=1,
        )
    assert set(raised.value.changed_fields) == {"phone", "city"}
    world.patient_a.refresh_from_db()
    assert (
        world.patient_a.phone == "555-000-1111"
        and world.patient_a.city == ""
        and world.patient_a.version == 2
    )
    event = AuditEvent.objects.filter(patient=world.patient_a, action="update").get()
    assert event.detail == {"fields": ["phone"]}


def test_coverage_rules(world) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import PayerFactory

    access = patient_get_for_user(
        actor=world.dana, public_id=world.patient_a.public_id, now=timezone.now()
    )
    payer = PayerFactory(organization=world.org)
    base = dict(
        payer=payer,
        plan_type="private",
        member_id="XJ123",
        group_number="",
        subscriber_name="",
        relationship_to_subscriber="self",
        effective_start=date(2026, 1, 1),
        effective_end=None,
        priority=1,
    )
    coverage = services.coverage_add(
        actor=world.dana, access=access, data=services.CoverageInput(**base)
    )  # type: ignore[arg-type]
    assert AuditEvent.objects.filter(object_id=str(coverage.public_id), action="create").exists()
    for bad, field in [
        ({"member_id": ""}, "member_id"),
        ({"payer": None}, "payer"),
        ({"effective_end": date(2025, 1, 1)}, "effective_end"),
        ({"payer": PayerFactory()}, "payer"),  # another organization's payer
    ]:
        with pytest.raises(ServiceError) as raised:
            services.coverage_add(
                actor=world.dana, access=access, data=services.CoverageInput(**(base | bad))
            )  # type: ignore[arg-type]
        assert raised.value.field == field
    self_pay = services.CoverageInput(
        **(base | {"payer": None, "plan_type": "self_pay", "member_id": ""})
    )  # type: ignore[arg-type]
    assert services.coverage_add(actor=world.dana, access=access, data=self_pay).pk
    ended = services.coverage_set_status(
        actor=world.dana,
        access=access,
        coverage_public_id=coverage.public_id,
        status="ended",
        today=TODAY,
    )
    assert ended.status == "ended" and ended.effective_end == TODAY
