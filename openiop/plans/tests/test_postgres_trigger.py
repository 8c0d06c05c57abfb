"""The PostgreSQL triggers of migration plans/0002: raw SQL cannot change or delete a
signed plan version or its rows, while supersession (a status change) still works."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from openiop.plans.models import PlanVersion
from openiop.plans.tests.helpers import make_signed_plan, plan_input, save, sign, start

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _refused(sql: str, params: list[object]) -> None:
    with pytest.raises(DatabaseError) as err, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    assert "signed" in str(err.value) or "never" in str(err.value)


def test_raw_sql_update_and_delete_of_signed_version_and_rows_refused(world):  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the triggers of migration plans/0002")
    v = make_signed_plan(world.alice, world.patient_a)
    problem = v.problems.get()
    objective = v.objectives.get()
    intervention = v.interventions.get()
    signature = v.signatures.first()
    assert signature is not None

    _refused("UPDATE plans_planversion SET strengths = 'changed' WHERE id = %s", [v.pk])
    _refused("UPDATE plans_planversion SET version = version + 1 WHERE id = %s", [v.pk])
    _refused("DELETE FROM plans_planversion WHERE id = %s", [v.pk])
    _refused("UPDATE plans_planproblem SET goal = 'changed' WHERE id = %s", [problem.pk])
    _refused("DELETE FROM plans_planproblem WHERE id = %s", [problem.pk])
    _refused("UPDATE plans_planobjective SET target = 1 WHERE id = %s", [objective.pk])
    _refused("DELETE FROM plans_planobjective WHERE id = %s", [objective.pk])
    _refused("UPDATE plans_planintervention SET frequency = 'x' WHERE id = %s", [intervention.pk])
    _refused("DELETE FROM plans_planintervention WHERE id = %s", [intervention.pk])
    _refused("UPDATE plans_plansignature SET signed_name = 'x' WHERE id = %s", [signature.pk])
    _refused("DELETE FROM plans_plansignature WHERE id = %s", [signature.pk])

    # Migration 0003: nor can rows be added to it (a copy of an existing row, new key).
    for table in ("plans_planproblem", "plans_planobjective", "plans_planintervention"):
        _refused(
            f"INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table},"  # noqa: S608
            f" to_jsonb(t) || jsonb_build_object('id', -t.id, 'key', gen_random_uuid(),"
            f" 'public_id', gen_random_uuid()))).* FROM {table} t WHERE plan_version_id = %s",
            [v.pk],
        )
    assert v.problems.count() == 1 and v.objectives.count() == 1

    stored = PlanVersion.objects.get(pk=v.pk)
    assert stored.strengths == "Supportive sister" and stored.version == v.version
    assert v.problems.get().goal == problem.goal


def test_draft_rows_still_editable_and_review_supersedes_under_the_trigger(world):  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the triggers of migration plans/0002")
    v1 = make_signed_plan(world.alice, world.patient_a)
    later = date(2026, 11, 28)
    v2 = start(world.alice, world.patient_a, later)
    # A draft's rows may be updated by raw SQL (the trigger only guards locked versions).
    with connection.cursor() as c:
        c.execute(
            "UPDATE plans_planproblem SET goal = 'draft goal' WHERE plan_version_id = %s", [v2.pk]
        )
    p = v2.problems.get()
    keys = [(str(p.key), str(v2.objectives.get().key), str(v2.interventions.get().key))]
    obj1 = v1.objectives.get()
    data = plan_input(
        world.alice,
        written_on=later,
        keys=keys,
        review_progress={str(obj1.public_id): "progressing"},
        review_summary="Fewer cravings.",
    )
    save(world.alice, world.patient_a, v2, data)
    sign(world.alice, world.patient_a, v2, "patient", later)
    v2 = sign(world.alice, world.patient_a, v2, "clinician", later)
    assert v2.status == "signed"
    assert PlanVersion.objects.get(pk=v1.pk).status == "superseded"
    # The superseded version is still locked against raw SQL.
    _refused("UPDATE plans_planversion SET strengths = 'changed' WHERE id = %s", [v1.pk])
    # The objective review of the signed review version too.
    review = v2.objective_reviews.get()
    _refused("UPDATE plans_objectivereview SET comment = 'x' WHERE id = %s", [review.pk])
