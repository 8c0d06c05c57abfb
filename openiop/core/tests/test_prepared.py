"""PreparedQuery gives what its queryset gives, for any key, in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
