"""Assessment services: side effects, audit rows, refusals, concurrency, double submits."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from django.utils import timezone

from openiop.alerts.models import Alert
from openiop.assessments import services
from openiop.assessments.models import (
    BiopsychosocialAssessment,
    Diagnosis,
    EligibilityRule,
    LevelOfCareAssessment,
    SubstanceUse,
    TreatmentHistory,
)
from openiop.assessments.services import (
    BiopsychosocialInput,
    FieldProblems,
    LevelOfCareInput,
    SubstanceRowInput,
    TreatmentRowInput,
)
from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.patients.selectors import PatientAccess

TODAY = date(2026, 10, 27)
NOW = timezone.make_aware(datetime(2026, 10, 27, 10, 0))


def _access(world) -> PatientAccess:  # type: ignore[no-untyped-def]
    return PatientAccess(world.patient_a, via_break_glass=False)


def _bps(world, actor=None, complete=False, token=None, **kw):  # type: ignore[no-untyped-def]
    data = BiopsychosocialInput(
        assessed_on=TODAY,
        presenting_problem="Drinking daily since losing job.",
        readiness_stage="preparation",
        patient_goals="I want to be there for my kids.",
    )
    return services.biopsychosocial_create(
        actor=actor or world.alice,
        access=_access(world),
        data=kw.pop("data", data),
        substances=kw.pop(
            "substances",
            [SubstanceRowInput(substance="alcohol", frequency="daily", age_first_use=15)],
        ),
        treatments=kw.pop(
            "treatments",
            [
                TreatmentRowInput(
                    treatment_type="withdrawal_management",
                    started_on=date(2026, 10, 2),
                    ended_on=date(2026, 10, 6),
                    outcome="completed",
                )
            ],
        ),
        complete=complete,
        submission_token=token,
        today=TODAY,
        now=NOW,
    )


# --- Biopsychosocial --------------------------------------------------------------


def test_create_draft_with_rows_and_audit(world) -> None:  # type: ignore[no-untyped-def]
    a = _bps(world)
    assert a.status == "draft" and a.version == 1
    assert a.substance_rows.get().substance == "alcohol"
    assert a.treatment_rows.get().outcome == "completed"
    event = AuditEvent.objects.get(object_type="biopsychosocial", action="create")
    assert event.patient == world.patient_a and event.detail["rows_added"] == 2


def test_double_submit_creates_one_assessment(world) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    assert _bps(world, token=token) == _bps(world, token=token)
    assert BiopsychosocialAssessment.objects.count() == 1


def test_impossible_dates_are_refused_with_every_problem(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldProblems) as caught:
        _bps(
            world,
            substances=[
                SubstanceRowInput(substance="alcohol"),
                SubstanceRowInput(substance="cannabis", last_use_on=date(1985, 1, 1)),
                SubstanceRowInput(substance="cocaine", age_first_use=50),
                SubstanceRowInput(substance="other"),
            ],
            treatments=[
                TreatmentRowInput(
                    treatment_type="residential",
                    started_on=date(2026, 9, 20),
                    ended_on=date(2026, 9, 1),
                ),
                TreatmentRowInput(treatment_type="iop", started_on=date(2027, 1, 1)),
            ],
        )
    rows = caught.value.rows
    assert sorted(rows["substances"]) == [1, 2, 3]
    assert "before the patient's date of birth" in rows["substances"][1]["last_use_on"]
    assert "above the patient's current age (36)" in rows["substances"][2]["age_first_use"]
    assert rows["substances"][3] == {"substance_other": "Name the other substance."}
    assert "before the start date" in rows["treatments"][0]["ended_on"]
    assert "future" in rows["treatments"][1]["started_on"]
    assert not BiopsychosocialAssessment.objects.exists()


def test_completing_needs_problem_stage_and_goals(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldProblems) as caught:
        _bps(world, complete=True, data=BiopsychosocialInput(assessed_on=TODAY))
    assert sorted(caught.value.fields) == ["patient_goals", "presenting_problem", "readiness_stage"]
    done = _bps(world, complete=True)
    assert done.status == "completed" and done.completed_by == world.alice


def test_future_assessment_date_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldProblems) as caught:
        _bps(world, data=BiopsychosocialInput(assessed_on=date(2026, 12, 1)))
    assert caught.value.fields["assessed_on"] == "The assessment date cannot be in the future."


def _update(world, a, version, **kw):  # type: ignore[no-untyped-def]
    return services.biopsychosocial_update(
        actor=kw.pop("actor", world.alice),
        access=_access(world),
        assessment_public_id=a.public_id,
        data=kw.pop("data", BiopsychosocialInput(assessed_on=TODAY, housing="Stable")),
        substances=kw.pop("substances", []),
        treatments=kw.pop("treatments", []),
        complete=kw.pop("complete", False),
        base_version=version,
        today=TODAY,
        now=NOW,
    )


def test_update_changes_removes_and_adds_rows_without_deleting(world) -> None:  # type: ignore[no-untyped-def]
    a = _bps(world)
    row = a.substance_rows.get()
    _update(
        world,
        a,
        1,
        substances=[
            SubstanceRowInput(substance="alcohol", row_id=row.public_id, remove=True),
            SubstanceRowInput(substance="fentanyl", route="smoked"),
        ],
    )
    a.refresh_from_db()
    assert a.version == 2 and a.housing == "Stable"
    assert SubstanceUse.objects.filter(assessment=a).count() == 2  # removed row kept
    assert list(
        SubstanceUse.objects.filter(assessment=a, removed_at__isnull=True).values_list(
            "substance", flat=True
        )
    ) == ["fentanyl"]
    # Rows not named in a save are left alone (another person's new row survives).
    assert TreatmentHistory.objects.filter(assessment=a, removed_at__isnull=True).count() == 1
    event = AuditEvent.objects.get(object_type="biopsychosocial", action="update")
    assert event.detail["rows_removed"] == 1 and event.detail["rows_added"] == 1
    assert "housing" in event.detail["fields"]


def test_concurrent_edit_is_refused_not_overwritten(world) -> None:  # type: ignore[no-untyped-def]
    a = _bps(world)
    _update(world, a, 1, actor=world.dana)
    with pytest.raises(services.VersionConflict) as caught:
        _update(world, a, 1, data=BiopsychosocialInput(assessed_on=TODAY, housing="Shelter"))
    assert caught.value.current_version == 2 and "housing" in caught.value.changed
    a.refresh_from_db()
    assert a.housing == "Stable"


def test_completed_is_not_edited_and_a_revision_copies_it(world) -> None:  # type: ignore[no-untyped-def]
    a = _bps(world, complete=True)
    with pytest.raises(ServiceError):
        _update(world, a, 1)
    revise = dict(
        actor=world.alice,
        access=_access(world),
        assessment_public_id=a.public_id,
        today=TODAY,
        now=NOW,
    )
    draft = services.biopsychosocial_revise(**revise)  # type: ignore[arg-type]
    assert draft.status == "draft" and draft.revises == a
    assert draft.presenting_problem == a.presenting_problem
    assert draft.substance_rows.count() == 1 and draft.treatment_rows.count() == 1
    assert services.biopsychosocial_revise(**revise) == draft  # type: ignore[arg-type]


def test_entered_in_error_keeps_the_record(world) -> None:  # type: ignore[no-untyped-def]
    a = _bps(world)
    with pytest.raises(ServiceError):
        services.biopsychosocial_mark_error(
            actor=world.alice, access=_access(world), assessment_public_id=a.public_id, reason=""
        )
    services.biopsychosocial_mark_error(
        actor=world.alice,
        access=_access(world),
        assessment_public_id=a.public_id,
        reason="Wrong patient",
    )
    a.refresh_from_db()
    assert a.status == "entered_in_error" and a.status_reason == "Wrong patient"
    assert AuditEvent.objects.filter(object_type="biopsychosocial", action="status_change").exists()


def test_a_role_without_the_permission_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        _bps(world, actor=world.bob)
    assert caught.value.code == "not_allowed"


# --- Diagnoses --------------------------------------------------------------------


def _dx(world, code, rank="primary", token=None, onset=None):  # type: ignore[no-untyped-def]
    return services.diagnosis_add(
        actor=world.alice,
        access=_access(world),
        code=code,
        rank=rank,
        onset_on=onset,
        submission_token=token,
        today=TODAY,
        now=NOW,
    )


def test_first_diagnosis_must_be_primary_then_a_new_primary_demotes(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldProblems) as caught:
        _dx(world, "F10.20", rank="secondary")
    assert "no active primary" in caught.value.fields["rank"]
    first = _dx(world, "f1020")
    assert (first.code, first.description) == ("F10.20", "Alcohol dependence, uncomplicated")
    assert first.code_set_release.startswith("ICD-10-CM (simple_icd_10_cm")
    _dx(world, "F33.1", rank="secondary")
    third = _dx(world, "F43.10", rank="primary")
    first.refresh_from_db()
    assert first.rank == "secondary" and first.version == 2 and third.rank == "primary"
    assert Diagnosis.objects.filter(patient=world.patient_a, rank="primary").count() == 1
    assert AuditEvent.objects.filter(object_type="diagnosis", action="update").count() == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "F10.2",
            "F10.2 (Alcohol dependence) is a category, not a billable code: choose a "
            "more specific code, such as F10.20, F10.21, F10.220, F10.221.",
        ),
        ("Q99.99", "Q99.99 is not an ICD-10-CM code."),
        ("hello", "HEL.LO is not an ICD-10-CM code."),
        ("", "Enter an ICD-10-CM code, or search for one above."),
    ],
)
def test_only_billable_codes_are_accepted(world, code, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldProblems) as caught:
        _dx(world, code)
    assert caught.value.fields["code"] == message


def test_same_active_code_twice_and_bad_onset_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    _dx(world, "F10.20")
    with pytest.raises(FieldProblems) as caught:
        _dx(world, "F10.20", rank="secondary", onset=date(1980, 1, 1))
    assert "already an active diagnosis" in caught.value.fields["code"]
    assert "before the patient's date of birth" in caught.value.fields["onset_on"]


def test_diagnosis_double_submit(world) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    assert _dx(world, "F10.20", token=token) == _dx(world, "F10.20", token=token)


def _change(world, d, **kw):  # type: ignore[no-untyped-def]
    d.refresh_from_db()
    args = dict(rank=d.rank, status=d.status, onset_on=d.onset_on, reason="")
    return services.diagnosis_update(
        actor=world.alice,
        access=_access(world),
        diagnosis_public_id=d.public_id,
        base_version=kw.pop("base_version", d.version),
        today=TODAY,
        **(args | kw),
    )


def test_exactly_one_primary_among_active(world) -> None:  # type: ignore[no-untyped-def]
    primary = _dx(world, "F10.20")
    secondary = _dx(world, "F33.1", rank="secondary")
    with pytest.raises(FieldProblems) as caught:
        _change(world, primary, status="resolved")
    assert "make another active diagnosis primary first" in caught.value.fields["status"]
    with pytest.raises(FieldProblems):
        _change(world, primary, rank="secondary")
    _change(world, secondary, rank="primary")
    primary.refresh_from_db()
    assert primary.rank == "secondary"
    _change(world, primary, status="resolved")
    with pytest.raises(FieldProblems) as caught:
        _change(world, secondary, status="entered_in_error")
    assert caught.value.fields["reason"] == "Say why it was entered in error."
    _change(world, secondary, status="entered_in_error", reason="Wrong code")
    assert not Diagnosis.objects.filter(status="active").exists()
    assert Diagnosis.objects.count() == 2  # nothing deleted


def test_diagnosis_version_conflict(world) -> None:  # type: ignore[no-untyped-def]
    d = _dx(world, "F10.20")
    _change(world, d, onset_on=date(2020, 1, 1))
    with pytest.raises(services.VersionConflict):
        _change(world, d, onset_on=date(2021, 1, 1), base_version=1)


# --- Level of care ----------------------------------------------------------------


def _loc(world, ratings=(1, 0, 2, 1, 2, 1), chosen="2.1", token=None, **kw):  # type: ignore[no-untyped-def]
    return services.loc_record(
        actor=world.alice,
        access=_access(world),
        data=LevelOfCareInput(
            assessed_on=TODAY,
            ratings=dict(zip(range(1, 7), ratings, strict=True)),
            rationales=kw.pop("rationales", {n: f"Reason {n}" for n in range(1, 7)}),
            imminent_danger=kw.pop("imminent_danger", False),
            chosen_level=chosen,
            **kw,
        ),
        submission_token=token,
        today=TODAY,
        now=NOW,
    )


def test_loc_records_the_transparent_recommendation(world, example_table) -> None:  # type: ignore[no-untyped-def]
    a = _loc(world)
    assert a.recommended_level == "2.1" and a.driving_dimensions == [3, 5]
    assert a.minimum_levels == {"1": "1", "2": "0.5", "3": "2.1", "4": "1", "5": "2.1", "6": "1"}
    assert a.table_was_example and a.episode == world.episode_a
    assert "Dimension 3" in a.medical_necessity and "Level 2.1 was chosen." in a.medical_necessity
    event = AuditEvent.objects.get(object_type="level_of_care_assessment")
    assert event.detail["recommended"] == "2.1" and event.patient == world.patient_a


def test_loc_choice_that_differs_needs_reason_and_note(world, example_table) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldProblems) as caught:
        _loc(world, ratings=(0, 0, 2, 0, 3, 0), chosen="2.1")
    assert sorted(caught.value.fields) == ["override_note", "override_reason"]
    a = _loc(
        world,
        ratings=(0, 0, 2, 0, 3, 0),
        chosen="2.1",
        override_reason="not_available",
        override_note="No PHP within 50 miles",
    )
    assert a.recommended_level == "2.5" and a.differs
    assert "because of level not available: No PHP within 50 miles." in a.medical_necessity


def test_loc_out_of_range_rating_and_missing_rationale(world, example_table) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FieldProblems) as caught:
        _loc(world, ratings=(1, 0, 5, 1, 2, 1), rationales={})
    assert caught.value.fields["d3_rating"] == "Rate Dimension 3 from 0 (none) to 4 (severe)."
    assert "d5_rationale" in caught.value.fields and "d1_rationale" not in caught.value.fields
    assert not LevelOfCareAssessment.objects.exists()


def test_open_high_suicide_risk_alert_forces_emergency(world, example_table) -> None:  # type: ignore[no-untyped-def]
    Alert.objects.create(
        patient=world.patient_a,
        kind="suicide_risk",
        severity="high",
        title="C-SSRS high",
        raised_at=NOW,
    )
    with pytest.raises(FieldProblems) as caught:
        _loc(world)  # chose 2.1 but the recommendation is now an emergency evaluation
    assert "override_reason" in caught.value.fields
    a = _loc(world, chosen="emergency")
    assert a.imminent_danger and a.imminent_danger_from_alert
    assert a.recommended_level == "emergency" and a.driving_dimensions == []
    assert "open high suicide-risk alert" in a.medical_necessity


def test_moderate_or_resolved_alert_does_not_force_it(world, example_table) -> None:  # type: ignore[no-untyped-def]
    for severity, status in (("moderate", "open"), ("high", "resolved")):
        Alert.objects.create(
            patient=world.patient_a,
            kind="suicide_risk",
            severity=severity,
            status=status,
            title="x",
            raised_at=NOW,
        )
    assert _loc(world).recommended_level == "2.1"


def test_loc_without_a_table_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError, match="no complete level-of-care table"):
        _loc(world)


def test_loc_double_submit(world, example_table) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    assert _loc(world, token=token) == _loc(world, token=token)
    assert LevelOfCareAssessment.objects.count() == 1


def test_level_table_edit_conflict_and_example_label(world, example_table) -> None:  # type: ignore[no-untyped-def]
    cells = {
        (d, r): c
        for (d, r), c in ((k, "2.1") for k in [(d, r) for d in range(1, 7) for r in range(5)])
    }
    table = services.level_table_update(
        actor=world.dana, cells=cells, is_example=False, base_version=1
    )
    assert not table.is_example and table.version == 2
    assert {c.min_level for c in table.cells.all()} == {"2.1"}
    with pytest.raises(services.VersionConflict):
        services.level_table_update(actor=world.dana, cells=cells, is_example=False, base_version=1)
    with pytest.raises(ServiceError):
        services.level_table_update(
            actor=world.alice, cells=cells, is_example=False, base_version=2
        )
    with pytest.raises(FieldProblems):
        services.level_table_update(
            actor=world.dana, cells=cells | {(1, 0): "WM"}, is_example=False, base_version=2
        )
    assert AuditEvent.objects.filter(object_type="level_of_care_table", action="update").exists()


def test_loading_the_example_twice_keeps_one_table(world) -> None:  # type: ignore[no-untyped-def]
    first = services.level_table_load_example(organization=world.org)
    assert services.level_table_load_example(organization=world.org) == first
    assert first.cells.count() == 30 and first.is_example


# --- Eligibility ------------------------------------------------------------------


def test_eligibility_rule_and_check_with_evidence(world, example_table) -> None:  # type: ignore[no-untyped-def]
    rule = services.eligibility_rule_save(
        actor=world.dana,
        program=world.program_a,
        data=services.EligibilityRuleInput(
            min_age=18,
            prior_care_types=("withdrawal_management",),
            prior_care_must_be_completed=True,
            prior_care_within_days=30,
            require_level_2_1_or_step_down=True,
            exclusions="Active psychosis\nNeeds inpatient detox",
        ),
        base_version=None,
    )
    assert rule.version == 1
    _bps(world, complete=True)
    _loc(world)
    check = services.eligibility_check_record(
        actor=world.alice,
        access=_access(world),
        program=world.program_a,
        exclusion_answers={"0": "absent", "1": "absent"},
        submission_token=None,
        today=TODAY,
    )
    assert check.overall == "met"
    evidence = {r["key"]: r["evidence"] for r in check.results}
    assert evidence["prior_care"] == (
        "completed withdrawal management 2026-10-02 to 2026-10-06, 21 days ago"
    )
    assert evidence["age"] == "age 36 (required 18 or older)"
    assert AuditEvent.objects.filter(object_type="eligibility_check").exists()


def test_eligibility_rule_conflict_and_bad_ages(world) -> None:  # type: ignore[no-untyped-def]
    data = services.EligibilityRuleInput(min_age=18)
    services.eligibility_rule_save(
        actor=world.dana, program=world.program_a, data=data, base_version=None
    )
    with pytest.raises(services.VersionConflict):
        services.eligibility_rule_save(
            actor=world.dana, program=world.program_a, data=data, base_version=None
        )
    with pytest.raises(FieldProblems) as caught:
        services.eligibility_rule_save(
            actor=world.dana,
            program=world.program_a,
            data=services.EligibilityRuleInput(min_age=30, max_age=20),
            base_version=1,
        )
    assert "max_age" in caught.value.fields
    with pytest.raises(ServiceError):
        services.eligibility_rule_save(
            actor=world.olivia, program=world.program_a, data=data, base_version=1
        )
    assert EligibilityRule.objects.get().version == 1
