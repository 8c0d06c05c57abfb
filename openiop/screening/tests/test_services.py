"""Screening services: scores stored, suicide-risk alerts raised at once, responses,
safety plans, and resolution only once a high-risk alert has both."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertStatus, Notification, Task
from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.patients.selectors import patient_get_for_user
from openiop.screening import services
from openiop.screening.models import (
    AdministrationStatus,
    InstrumentAdministration,
    RiskResponse,
    SafetyPlan,
)
from openiop.screening.rules import CRISIS_LINE, SafetyPlanContent
from openiop.screening.selectors import safety_plan_current
from tests.factories import UserFactory

PHQ9_ITEM9 = {1: 1, 2: 2, 3: 1, 4: 1, 5: 0, 6: 1, 7: 0, 8: 0, 9: 1}
CSSRS_HIGH = {1: 1, 2: 1, 3: 1, 4: 1, 5: 0, 6: 0}


def _access(world, user=None):  # type: ignore[no-untyped-def]
    return patient_get_for_user(
        actor=user or world.alice, public_id=world.patient_a.public_id, now=timezone.now()
    )


def _give(world, code, answers, *, finish=True, user=None, token=None, **kwargs):  # type: ignore[no-untyped-def]
    user = user or world.alice
    return services.administration_save(
        actor=user,
        access=_access(world, user),
        data=services.AdministrationInput(
            instrument_code=code, answers=answers, administered_at=timezone.now()
        ),
        finish=finish,
        submission_token=token or uuid.uuid4(),
        now=timezone.now(),
        **kwargs,
    )


def _plan(world, user=None, base=0):  # type: ignore[no-untyped-def]
    return services.safety_plan_save(
        actor=user or world.alice,
        access=_access(world, user),
        content=SafetyPlanContent(
            warning_signs=("Not sleeping", "Pulling away from friends"),
            coping_strategies=("Long walk",),
            social_distractions=("Coffee shop on Main",),
            help_contacts=(),
            professional_contacts=(CRISIS_LINE,),
            environment_safety=("Medicines kept by a family member",),
        ),
        base_number=base,
        submission_token=uuid.uuid4(),
        now=timezone.now(),
    )


def _respond(world, alert, user=None):  # type: ignore[no-untyped-def]
    user = user or world.alice
    return services.risk_response_record(
        actor=user,
        access=_access(world, user),
        alert_public_id=alert.public_id,
        data=services.RiskResponseInput(
            assessed_by=world.alice,
            assessed_at=timezone.now(),
            disposition="emergency_evaluation",
        ),
        submission_token=uuid.uuid4(),
        now=timezone.now(),
    )


def test_phq9_item9_positive_raises_one_alert_task_and_director_notification(world) -> None:  # type: ignore[no-untyped-def]
    second_director = UserFactory(
        organization=world.org, role=Role.PROGRAM_DIRECTOR, programs=[world.program_a]
    )
    outcome = _give(world, "PHQ-9", PHQ9_ITEM9)
    administration = outcome.administration
    assert administration.status == AdministrationStatus.COMPLETED
    assert administration.total == 7 and administration.band == "mild"
    assert administration.flags == ["suicide_risk"]
    assert administration.answers == {str(k): v for k, v in PHQ9_ITEM9.items()}

    alert = Alert.objects.get()
    assert outcome.alert == alert
    assert (alert.kind, alert.severity, alert.requires_response) == (
        "suicide_risk",
        "moderate",
        False,
    )
    task = Task.objects.get()
    assert task.assignee == world.alice and task.alert == alert  # the primary counselor
    recipients = sorted(n.recipient_id for n in Notification.objects.all())
    assert recipients == sorted([world.dana.pk, second_director.pk])
    assert AuditEvent.objects.filter(object_type="alert", object_id=str(alert.public_id)).exists()
    event = AuditEvent.objects.get(object_type="instrument_administration")
    assert event.action == "create" and event.detail["alert"] == str(alert.public_id)


def test_phq9_item9_zero_raises_nothing(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _give(world, "PHQ-9", PHQ9_ITEM9 | {9: 0})
    assert outcome.alert is None
    assert not Alert.objects.exists() and not Task.objects.exists()
    assert not Notification.objects.exists()


def test_draft_with_missing_items_saves_without_score(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _give(world, "PHQ-9", {1: 2, 2: 1}, finish=False)
    draft = outcome.administration
    assert draft.status == "draft" and draft.total is None and draft.band == ""
    assert draft.answers == {"1": 2, "2": 1} and draft.flags == []
    assert not Alert.objects.exists()


def test_draft_with_item9_positive_already_alerts_and_scoring_does_not_repeat_it(world) -> None:  # type: ignore[no-untyped-def]
    draft = _give(world, "PHQ-9", {9: 2}, finish=False).administration
    assert Alert.objects.count() == 1
    finished = _give(
        world,
        "PHQ-9",
        PHQ9_ITEM9 | {9: 2},
        administration_public_id=draft.public_id,
        base_version=draft.version,
    ).administration
    assert finished.pk == draft.pk and finished.is_completed and finished.version == 2
    assert Alert.objects.count() == 1 and Task.objects.count() == 1


def test_out_of_range_answer_names_the_item_and_stores_nothing(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.AnswerErrors) as caught:
        _give(world, "PHQ-9", PHQ9_ITEM9 | {4: 7})
    assert [e.item for e in caught.value.errors] == [4]
    assert "item 4" in caught.value.errors[0].message
    assert not InstrumentAdministration.objects.exists()


def test_scoring_with_missing_items_lists_every_one(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.AnswerErrors) as caught:
        _give(world, "GAD-7", {1: 1, 2: 1, 3: 1})
    assert [e.item for e in caught.value.errors] == [4, 5, 6, 7]


def test_unasked_answers_are_dropped_and_reported(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _give(world, "C-SSRS", {1: 1, 2: 0, 3: 1, 4: 1, 5: 1, 6: 0})
    assert outcome.dropped_items == (3, 4, 5)
    assert outcome.administration.answers == {"1": 1, "2": 0, "6": 0}
    assert outcome.administration.risk_level == "low" and outcome.alert is None


def test_audit_never_drinks_records_zero_for_skipped_items(world) -> None:  # type: ignore[no-untyped-def]
    administration = _give(world, "AUDIT", {1: 0, 9: 0, 10: 0}).administration
    assert administration.total == 0 and len(administration.answers) == 10


def test_double_submit_creates_one_administration(world) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    first = _give(world, "PHQ-9", PHQ9_ITEM9, token=token)
    second = _give(world, "PHQ-9", PHQ9_ITEM9, token=token)
    assert second.repeated and second.administration.pk == first.administration.pk
    assert InstrumentAdministration.objects.count() == 1 and Alert.objects.count() == 1


def test_stale_draft_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    draft = _give(world, "PHQ-9", {1: 1}, finish=False).administration
    _give(
        world,
        "PHQ-9",
        {1: 2},
        finish=False,
        administration_public_id=draft.public_id,
        base_version=1,
    )
    with pytest.raises(services.AdministrationConflict):
        _give(
            world,
            "PHQ-9",
            {1: 3},
            finish=False,
            administration_public_id=draft.public_id,
            base_version=1,
        )
    draft.refresh_from_db()
    assert draft.answers == {"1": 2}


def test_completed_form_cannot_be_changed(world) -> None:  # type: ignore[no-untyped-def]
    done = _give(world, "PHQ-2", {1: 1, 2: 1}).administration
    with pytest.raises(ServiceError):
        _give(
            world,
            "PHQ-2",
            {1: 3, 2: 3},
            administration_public_id=done.public_id,
            base_version=done.version,
        )


def test_entered_in_error_keeps_the_row_and_needs_a_reason(world) -> None:  # type: ignore[no-untyped-def]
    done = _give(world, "PHQ-9", PHQ9_ITEM9).administration
    access = _access(world)
    kwargs = {"actor": world.alice, "access": access, "administration_public_id": done.public_id}
    with pytest.raises(ServiceError) as caught:
        services.administration_mark_entered_in_error(
            **kwargs, reason=" ", base_version=1, now=timezone.now()
        )
    assert caught.value.field == "reason"
    services.administration_mark_entered_in_error(
        **kwargs, reason="Given to the wrong patient", base_version=1, now=timezone.now()
    )
    done.refresh_from_db()
    assert done.status == "entered_in_error" and done.total == 7
    assert AuditEvent.objects.filter(action="status_change", object_id=str(done.public_id)).exists()
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_auditor_cannot_administer(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        _give(world, "PHQ-9", PHQ9_ITEM9, user=world.bob)
    assert caught.value.code == "not_allowed"


def test_cssrs_moderate_alerts_without_required_response(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _give(world, "C-SSRS", {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0})
    assert outcome.alert is not None
    assert (outcome.alert.severity, outcome.alert.requires_response) == ("moderate", False)
    services.risk_alert_resolve(
        actor=world.alice,
        access=_access(world),
        alert_public_id=outcome.alert.public_id,
        note="Assessed same day; follow-up booked.",
        now=timezone.now(),
    )


def test_cssrs_high_needs_response_and_safety_plan_before_resolving(world) -> None:  # type: ignore[no-untyped-def]
    alert = _give(world, "C-SSRS", CSSRS_HIGH).alert
    assert alert is not None and alert.severity == "high" and alert.requires_response

    def resolve():  # type: ignore[no-untyped-def]
        return services.risk_alert_resolve(
            actor=world.alice,
            access=_access(world),
            alert_public_id=alert.public_id,
            note="Evaluated; plan in place and follow-up tomorrow.",
            now=timezone.now(),
        )

    with pytest.raises(ServiceError) as caught:
        resolve()
    assert "risk response" in caught.value.message and "safety plan" in caught.value.message
    response = _respond(world, alert)
    assert response.administration is not None and response.administration.risk_level == "high"
    with pytest.raises(ServiceError) as caught:
        resolve()
    assert "safety plan" in caught.value.message and "risk response" not in caught.value.message
    _plan(world)
    resolved = resolve()
    assert resolved.status == AlertStatus.RESOLVED
    assert Task.objects.get(alert=alert).status == "done"
    assert AuditEvent.objects.filter(object_type="risk_response").count() == 1
    assert AuditEvent.objects.filter(object_type="alert", action="status_change").count() == 1


def test_cssrs_draft_escalation_raises_a_high_alert_too(world) -> None:  # type: ignore[no-untyped-def]
    draft = _give(world, "C-SSRS", {1: 1, 2: 1, 3: 1}, finish=False)
    assert draft.alert is not None and draft.alert.severity == "moderate"
    done = _give(
        world,
        "C-SSRS",
        CSSRS_HIGH,
        administration_public_id=draft.administration.public_id,
        base_version=1,
    )
    assert done.alert is not None and done.alert.severity == "high"
    assert Alert.objects.count() == 2


def test_risk_response_other_needs_notes_and_a_clinician_of_the_program(world) -> None:  # type: ignore[no-untyped-def]
    alert = _give(world, "C-SSRS", CSSRS_HIGH).alert
    assert alert is not None
    base = {
        "actor": world.alice,
        "access": _access(world),
        "alert_public_id": alert.public_id,
        "now": timezone.now(),
    }
    with pytest.raises(ServiceError) as caught:
        services.risk_response_record(
            **base,
            data=services.RiskResponseInput(
                assessed_by=world.alice, assessed_at=timezone.now(), disposition="other"
            ),
            submission_token=uuid.uuid4(),
        )
    assert caught.value.field == "notes"
    with pytest.raises(ServiceError) as caught:
        services.risk_response_record(
            **base,
            data=services.RiskResponseInput(
                assessed_by=world.charlie, assessed_at=timezone.now(), disposition="hospitalization"
            ),
            submission_token=uuid.uuid4(),
        )
    assert caught.value.field == "assessed_by"
    assert not RiskResponse.objects.exists()


def test_safety_plan_versions_and_current(world) -> None:  # type: ignore[no-untyped-def]
    assert safety_plan_current(patient=world.patient_a) is None
    first = _plan(world)
    assert first.number == 1 and first.professional_contacts[0]["phone"] == "988"
    with pytest.raises(services.SafetyPlanConflict):
        _plan(world, base=0)  # someone saved version 1 meanwhile
    second = _plan(world, base=1)
    first.refresh_from_db()
    assert (first.status, second.status, second.number) == ("superseded", "current", 2)
    assert safety_plan_current(patient=world.patient_a) == second
    assert SafetyPlan.objects.count() == 2
    assert AuditEvent.objects.filter(object_type="safety_plan", action="create").count() == 2


def test_safety_plan_needs_assessment_permission(world) -> None:  # type: ignore[no-untyped-def]
    intake = UserFactory(
        organization=world.org, role=Role.INTAKE_COORDINATOR, programs=[world.program_a]
    )
    with pytest.raises(ServiceError):
        _plan(world, user=intake)


def test_safety_plan_double_submit_makes_one_version(world) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    kwargs = {
        "actor": world.alice,
        "access": _access(world),
        "content": SafetyPlanContent(
            warning_signs=("a",),
            coping_strategies=("b",),
            social_distractions=(),
            help_contacts=(),
            professional_contacts=(CRISIS_LINE,),
            environment_safety=("c",),
        ),
        "base_number": 0,
        "submission_token": token,
        "now": timezone.now(),
    }
    assert services.safety_plan_save(**kwargs) == services.safety_plan_save(**kwargs)
    assert SafetyPlan.objects.count() == 1


def test_future_administration_time_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        services.administration_save(
            actor=world.alice,
            access=_access(world),
            data=services.AdministrationInput(
                instrument_code="PHQ-2",
                answers={1: 0, 2: 0},
                administered_at=timezone.now() + timedelta(days=1),
            ),
            finish=True,
            submission_token=uuid.uuid4(),
            now=timezone.now(),
        )
    assert caught.value.field == "administered_at"
