"""PreparedQuery gives what its queryset gives, for any key, in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.core.db import traffic
from openiop.core.prepared import PreparedQuery
from openiop.episodes.models import Episode
from openiop.patients.models import Patient
from tests.factories import EpisodeFactory, PatientFactory


def _episodes(patient_id: int):  # type: ignore[no-untyped-def]
    return (
        Episode.objects.filter(patient_id=patient_id)
        .select_related("program__site", "primary_counselor")
        .only("public_id", "status", "patient_id", "program__name", "program__site__name",
              "primary_counselor__first_name", "primary_counselor__last_name")
        .order_by("id")
    )  # fmt: skip


def _shown(e: Episode) -> tuple[object, ...]:
    counselor = e.primary_counselor.first_name if e.primary_counselor else None
    return (e.pk, e.status, e.program.name, e.program.site.name, counselor)


def test_same_rows_and_related_objects_as_the_queryset_for_every_key(world) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedQuery(_episodes)
    for _ in range(3):
        EpisodeFactory(patient=world.patient_a, program=world.program_b, status="discharged")
    patients = [world.patient_a, world.patient_b, PatientFactory(organization=world.org)]
    for patient in patients * 2:  # the second round runs the SQL compiled in the first
        expected = list(_episodes(patient.pk))
        with CaptureQueriesContext(connection) as ctx:
            got = prepared(patient.pk)
            shown = [_shown(e) for e in got]
        assert len(ctx.captured_queries) == 1  # related objects came with the rows
        assert shown == [_shown(e) for e in expected]
    assert len(prepared(world.patient_a.pk)) == 4
    assert prepared(10**9) == []


def test_a_queryset_that_ignores_its_key_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="does not use its key"):
        PreparedQuery(lambda key: Patient.objects.filter(status="active"))(1)


def test_reads_run_together_give_what_each_gives_alone(world) -> None:  # type: ignore[no-untyped-def]
    from openiop.core.prepared import run_together
    from openiop.patients.models import EmergencyContact

    contacts = PreparedQuery(
        lambda key: EmergencyContact.objects.filter(patient_id=key).order_by("id")
    )
    episodes = PreparedQuery(_episodes)
    EmergencyContact.objects.create(patient=world.patient_a, name="Kim", relationship="sister",
                                    phone="555-0100")  # fmt: skip
    for patient in (world.patient_a, world.patient_b):
        with traffic(connection) as sent:
            got_episodes, got_contacts = run_together(
                (episodes, patient.pk), (contacts, patient.pk)
            )
            shown = ([_shown(e) for e in got_episodes], [c.name for c in got_contacts])
        # One round trip on PostgreSQL (statements sent together), two elsewhere.
        assert sent.round_trips == (1 if connection.vendor == "postgresql" else 2)
        assert shown == (
            [_shown(e) for e in _episodes(patient.pk)],
            [c.name for c in EmergencyContact.objects.filter(patient_id=patient.pk)],
        )
    assert [c.name for c in run_together((contacts, world.patient_a.pk))[0]] == ["Kim"]


@pytest.mark.django_db(transaction=True)
def test_a_query_compiled_on_one_thread_runs_on_another(world) -> None:  # type: ignore[no-untyped-def]
    """Servers run requests on several threads, each with its own database connection;
    the compiled query must use the running thread's (it failed with "DatabaseWrapper
    objects created in a thread can only be used in that same thread")."""
    import threading

    from django.db import connections

    prepared = PreparedQuery(_episodes)
    here = [_shown(e) for e in prepared(world.patient_a.pk)]
    there: list[object] = []

    def other_thread() -> None:
        try:
            there.extend(_shown(e) for e in prepared(world.patient_a.pk))
        except Exception as error:  # reported below, in the test's thread
            there.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert there == here and here
