from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.consents.tests.helpers import access_for
from openiop.core.errors import ServiceError
from openiop.homework import selectors, services
from openiop.homework.models import HomeworkAssignment, HomeworkEntry
from openiop.plans.models import PlanObjective
from openiop.plans.tests.helpers import DAY, make_signed_plan, moment

pytestmark = pytest.mark.django_db

CRAVING = {
    "when": "2026-11-03T20:15",
    "intensity": "7",
    "trigger": "Payday",
    "coping": "Called my sponsor",
    "outcome": "did_not_use",
}


def _assign(world, **kw):  # type: ignore[no-untyped-def]
    values = {"kind": "craving_log", "due_on": date(2026, 11, 9)}
    values.update(kw)
    return services.homework_assign(
        actor=world.alice,
        access=access_for(world.patient_a),
        data=services.AssignmentInput(**values),
        submission_token=uuid.uuid4(),
        today=DAY,
    )


def test_assign_from_plan_objective_record_by_staff_and_by_patient_then_review(world):  # type: ignore[no-untyped-def]
    plan = make_signed_plan(world.alice, world.patient_a)
    objective = PlanObjective.objects.get(plan_version=plan)
    a = _assign(world, objective_public_id=str(objective.public_id))
    assert a.objective_id == objective.pk and a.status == "assigned"
    assert [h.pk for h in selectors.homework_due(patient=world.patient_a, on=DAY)] == [a.pk]
    services.homework_record_entry(
        by=services.CompletionActor.for_staff(world.alice),
        patient=world.patient_a,
        assignment_public_id=a.public_id,
        raw=CRAVING,
        complete=False,
        submission_token=uuid.uuid4(),
        now=moment(),
    )
    # The portal later: the patient records their own entry, same service.
    entry = services.homework_record_entry(
        by=services.CompletionActor.for_patient(world.patient_a),
        patient=world.patient_a,
        assignment_public_id=a.public_id,
        raw={**CRAVING, "intensity": "3"},
        complete=True,
        submission_token=uuid.uuid4(),
        now=moment(),
    )
    assert entry.recorded_by_kind == "patient" and entry.recorded_by is None
    assert entry.data["intensity"] == 3
    done = selectors.homework_completed_for_review(patient=world.patient_a)
    assert [h.pk for h in done] == [a.pk] and len(done[0].entry_list) == 2
    services.homework_mark_reviewed(
        actor=world.alice,
        access=access_for(world.patient_a),
        assignment_public_id=a.public_id,
        note="Went through it",
        now=moment(),
    )
    a.refresh_from_db()
    assert a.status == "reviewed"
    assert AuditEvent.objects.filter(object_type="homework").count() == 4


def test_bad_entry_and_bad_assignment_refused(world):  # type: ignore[no-untyped-def]
    with pytest.raises(services.HomeworkInvalid) as err:
        _assign(world, due_on=date(2026, 10, 1))
    assert "due_on" in err.value.errors
    a = _assign(world)
    with pytest.raises(services.HomeworkInvalid) as err:
        services.homework_record_entry(
            by=services.CompletionActor.for_staff(world.alice),
            patient=world.patient_a,
            assignment_public_id=a.public_id,
            raw={**CRAVING, "intensity": "12"},
            complete=True,
            submission_token=uuid.uuid4(),
            now=moment(),
        )
    assert err.value.errors == {"intensity": "Enter a number from 0 to 10."}
    with pytest.raises(ServiceError):
        services.homework_record_entry(
            by=services.CompletionActor.for_patient(world.patient_b),
            patient=world.patient_a,
            assignment_public_id=a.public_id,
            raw=CRAVING,
            complete=True,
            submission_token=uuid.uuid4(),
            now=moment(),
        )
    assert not HomeworkEntry.objects.exists()
    with pytest.raises(RuntimeError):
        a.delete()


def test_views_outsiders_refused_and_422_next_to_field(world, as_user):  # type: ignore[no-untyped-def]
    a = _assign(world)
    p = world.patient_a.public_id
    urls = [
        reverse("homework:list", args=[p]),
        reverse("homework:detail", args=[p, a.public_id]),
        reverse("homework:entry", args=[p, a.public_id]),
        reverse("homework:review", args=[p, a.public_id]),
        reverse("homework:cancel", args=[p, a.public_id]),
        reverse("homework:assign", args=[p]),
    ]
    for who in (world.charlie, world.olivia):
        client = as_user(who)
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                if response.status_code == 405:
                    continue
                assert response.status_code == 404, url
    client = as_user(world.alice)
    response = client.post(
        reverse("homework:entry", args=[p, a.public_id]),
        {**CRAVING, "intensity": "12", "submission_token": uuid.uuid4(), "complete": "on"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter a number from 0 to 10." in html and "Called my sponsor" in html
    ok = client.post(
        reverse("homework:entry", args=[p, a.public_id]),
        {**CRAVING, "submission_token": uuid.uuid4(), "complete": "on"},
    )
    assert ok.status_code == 302
    a.refresh_from_db()
    assert a.status == "completed"
    assert as_user(world.bob).post(reverse("homework:assign", args=[p])).status_code == 403


def test_list_query_count_constant(world, as_user):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("homework:list", args=[world.patient_a.public_id])
    _assign(world)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    count()
    before = count()
    for n in range(4):
        _assign(world, kind="thought_record", due_on=date(2026, 11, 10 + n))
    HomeworkAssignment.objects.update(instructions="x")
    assert count() == before
