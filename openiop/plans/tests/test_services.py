from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from openiop.audit.models import AuditAction, AuditEvent
from openiop.consents.tests.helpers import access_for
from openiop.core.errors import ServiceError
from openiop.plans import services
from openiop.plans.models import (
    ImmutableRecord,
    PlanObjective,
    PlanSignature,
    PlanVersion,
    PlanVersionStatus,
)
from openiop.plans.tests.helpers import DAY, make_signed_plan, plan_input, save, sign, start

pytestmark = pytest.mark.django_db


def test_first_plan_written_signed_and_in_force(world):
    version = start(world.alice, world.patient_a)
    assert version.status == "draft" and version.number == 1 and not version.is_review
    save(world.alice, world.patient_a, version, plan_input(world.alice))
    v = sign(world.alice, world.patient_a, version, "patient")
    assert v.status == PlanVersionStatus.AWAITING_SIGNATURES
    v = sign(world.alice, world.patient_a, version, "clinician")
    assert v.status == PlanVersionStatus.SIGNED
    assert v.signed_on == DAY and v.next_review_on == date(2026, 12, 2)  # default 30 days
    assert v.content_sha256
    sig = PlanSignature.objects.get(plan_version=v, role="patient")
    assert sig.method == "drawn" and bytes(sig.signature_png).startswith(b"\x89PNG")
    actions = list(
        AuditEvent.objects.filter(object_type="plan_version").values_list("action", flat=True)
    )
    assert AuditAction.CREATE in actions and AuditAction.SIGN in actions
    assert AuditAction.STATUS_CHANGE in actions


def test_objective_without_target_date_and_before_baseline_refused(world):
    version = start(world.alice, world.patient_a)
    with pytest.raises(services.PlanInvalid) as err:
        save(world.alice, world.patient_a, version, plan_input(world.alice, target_on=None))
    assert err.value.errors["p0-o0-target_on"] == "An objective needs a target date."
    with pytest.raises(services.PlanInvalid) as err:
        save(
            world.alice,
            world.patient_a,
            version,
            plan_input(world.alice, target_on=date(2026, 10, 1)),
        )
    assert "before the baseline" in err.value.errors["p0-o0-target_on"]


def test_signing_with_empty_required_sections_refused(world):
    version = start(world.alice, world.patient_a)
    save(world.alice, world.patient_a, version, plan_input(world.alice, participation=""))
    with pytest.raises(services.PlanInvalid) as err:
        sign(world.alice, world.patient_a, version, "patient")
    assert "participation" in err.value.errors
    assert not PlanSignature.objects.exists()


def test_signed_version_immutable_through_service_and_orm(world):
    v = make_signed_plan(world.alice, world.patient_a)
    with pytest.raises(ServiceError):
        save(world.alice, world.patient_a, v, plan_input(world.alice))
    v = PlanVersion.objects.get(pk=v.pk)
    v.participation = "changed"
    with pytest.raises(ImmutableRecord), transaction.atomic():
        v.save()
    with pytest.raises(ImmutableRecord), transaction.atomic():
        PlanVersion.objects.filter(pk=v.pk).update(participation="changed")
    objective = PlanObjective.objects.get(plan_version=v)
    objective.text = "changed"
    with pytest.raises(ImmutableRecord), transaction.atomic():
        objective.save()
    with pytest.raises(ImmutableRecord), transaction.atomic():
        PlanObjective.objects.filter(pk=objective.pk).update(text="changed")
    with pytest.raises(ImmutableRecord):
        v.delete()
    with pytest.raises(ImmutableRecord):
        PlanVersion.objects.filter(pk=v.pk).delete()
    sig = PlanSignature.objects.filter(plan_version=v).first()
    assert sig is not None
    with pytest.raises(ImmutableRecord):
        sig.save()
    assert PlanObjective.objects.get(pk=objective.pk).text == "Lower PHQ-9 below 10"


def test_review_creates_new_version_and_supersedes(world):
    v1 = make_signed_plan(world.alice, world.patient_a)
    later = date(2026, 11, 28)
    v2 = start(world.alice, world.patient_a, later)
    assert v2.is_review and v2.number == 2 and v2.previous_id == v1.pk
    obj1 = PlanObjective.objects.get(plan_version=v1)
    obj2 = PlanObjective.objects.get(plan_version=v2)
    assert obj2.key == obj1.key and obj2.pk != obj1.pk
    p = v2.problems.get()
    keys = [(str(p.key), str(obj2.key), str(v2.interventions.get().key))]
    data = plan_input(
        world.alice,
        written_on=later,
        keys=keys,
        review_progress={str(obj1.public_id): "progressing"},
        review_summary="Fewer cravings; PHQ-9 down.",
    )
    save(world.alice, world.patient_a, v2, data)
    sign(world.alice, world.patient_a, v2, "patient", later)
    v2 = sign(world.alice, world.patient_a, v2, "clinician", later)
    assert v2.status == "signed"
    assert PlanVersion.objects.get(pk=v1.pk).status == "superseded"
    # Earlier version still readable, unchanged.
    assert PlanObjective.objects.get(pk=obj1.pk).text == "Lower PHQ-9 below 10"
    assert v2.objective_reviews.get().progress == "progressing"


def test_review_needs_progress_on_every_objective(world):
    make_signed_plan(world.alice, world.patient_a)
    v2 = start(world.alice, world.patient_a, date(2026, 11, 28))
    p = v2.problems.get()
    keys = [(str(p.key), str(v2.objectives.get().key), str(v2.interventions.get().key))]
    save(world.alice, world.patient_a, v2, plan_input(world.alice, keys=keys))
    with pytest.raises(services.PlanInvalid) as err:
        sign(world.alice, world.patient_a, v2, "patient", date(2026, 11, 28))
    assert "review_summary" in err.value.errors
    assert any(k.endswith("-progress") for k in err.value.errors)


def test_outsider_and_auditor_refused(world):
    with pytest.raises(ServiceError):
        start(world.bob, world.patient_a)  # auditor: no plan.write
    with pytest.raises(ServiceError):
        start(world.charlie, world.patient_a)  # no episode in charlie's program


def test_double_submit_starts_one_version(world):
    import uuid

    token = uuid.uuid4()
    kwargs = dict(
        actor=world.alice,
        access=access_for(world.patient_a),
        submission_token=token,
        today=DAY,
        now=__import__("openiop.plans.tests.helpers", fromlist=["moment"]).moment(),
    )
    a = services.plan_draft_start(**kwargs)
    b = services.plan_draft_start(**kwargs)
    assert a.pk == b.pk and PlanVersion.objects.count() == 1


def test_autosave_keeps_raw_and_conflict_refused(world):
    version = start(world.alice, world.patient_a)
    from openiop.plans.tests.helpers import moment

    services.plan_draft_autosave(
        actor=world.alice,
        access=access_for(world.patient_a),
        version_public_id=version.public_id,
        raw={"p0-goal": "half typed", "p0-o0-target_on": "2026-13-"},
        base_version=version.version,
        now=moment(),
    )
    version.refresh_from_db()
    assert version.draft_data["p0-goal"] == "half typed"
    with pytest.raises(services.PlanConflict):
        services.plan_draft_autosave(
            actor=world.alice,
            access=access_for(world.patient_a),
            version_public_id=version.public_id,
            raw={},
            base_version=1,
            now=moment(),
        )
