"""PostgreSQL: the exclusion constraint lets only one of two simultaneous bookings of
the same staff member commit, even when both passed the service's own check."""

from __future__ import annotations

import threading
from datetime import time

import pytest
from django.db import connection

from openiop.core.errors import ErrorCode, ServiceError
from openiop.patients.selectors import PatientAccess
from openiop.scheduling import services
from openiop.scheduling.models import Appointment, Occupancy
from openiop.scheduling.tests.helpers import MONDAY
from tests.factories import EpisodeFactory, PatientFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="exclusion constraint is PostgreSQL-only; runs in CI's PostgreSQL pass",
    ),
]


def test_two_concurrent_bookings_of_one_staff_member_only_one_commits(
    world, transactional_db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    other = PatientFactory(organization=world.org)
    EpisodeFactory(patient=other, program=world.program_a)
    barrier = threading.Barrier(2, timeout=20)
    real_check = services._check_conflicts

    def check_then_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        real_check(*args, **kwargs)
        barrier.wait()  # both transactions have passed the application check

    monkeypatch.setattr(services, "_check_conflicts", check_then_wait)
    results: list[object] = []

    def book(patient) -> None:  # type: ignore[no-untyped-def]
        try:
            appt = services.appointment_book(
                actor=world.alice,
                access=PatientAccess(patient, False),
                data=services.AppointmentInput(
                    kind="individual",
                    program=world.program_a,
                    staff=world.alice,
                    room=None,
                    on=MONDAY,
                    start_time=time(13),
                    end_time=time(14),
                ),
            )
            results.append(appt.pk)
        except ServiceError as error:
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(p,)) for p in (world.patient_a, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    errors = [r for r in results if isinstance(r, ServiceError)]
    assert len(results) == 2 and len(errors) == 1, results
    assert errors[0].code == ErrorCode.CONFLICT
    assert Appointment.objects.count() == 1
    assert Occupancy.objects.filter(resource_kind="staff", resource_id=world.alice.pk).count() == 1


def test_database_refuses_overlap_directly(world, transactional_db) -> None:  # type: ignore[no-untyped-def]
    from django.db import IntegrityError, transaction

    appt = services.appointment_book(
        actor=world.alice,
        access=PatientAccess(world.patient_a, False),
        data=services.AppointmentInput(
            kind="individual",
            program=world.program_a,
            staff=world.alice,
            room=None,
            on=MONDAY,
            start_time=time(13),
            end_time=time(14),
        ),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Occupancy.objects.create(
            resource_kind="staff",
            resource_id=world.alice.pk,
            starts_at=appt.starts_at,
            ends_at=appt.ends_at,
            appointment=appt,
        )
