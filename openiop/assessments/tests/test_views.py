"""Assessment pages: scoping, permissions, errors next to fields with input kept,
double submits, HTMX fragments and constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.assessments import services
from openiop.assessments.models import (
    BiopsychosocialAssessment,
    Diagnosis,
    EligibilityCheck,
    LevelOfCareAssessment,
    LevelOfCareTable,
)
from openiop.audit.models import AuditEvent
from openiop.patients.selectors import PatientAccess
from tests.factories import EpisodeFactory, PatientFactory

NOW = timezone.now()
TODAY = timezone.localdate()


@pytest.fixture
def records(world, example_table):  # type: ignore[no-untyped-def]
    access = PatientAccess(world.patient_a, via_break_glass=False)
    bps = services.biopsychosocial_create(
        actor=world.alice,
        access=access,
        data=services.BiopsychosocialInput(assessed_on=TODAY, presenting_problem="Canary text"),
        substances=[],
        treatments=[],
        complete=False,
        submission_token=None,
        today=TODAY,
        now=NOW,
    )
    dx = services.diagnosis_add(
        actor=world.alice,
        access=access,
        code="F10.20",
        rank="primary",
        onset_on=None,
        submission_token=None,
        today=TODAY,
        now=NOW,
    )
    loc = services.loc_record(
        actor=world.alice,
        access=access,
        data=services.LevelOfCareInput(
            assessed_on=TODAY,
            ratings=dict.fromkeys(range(1, 7), 1),
            rationales={},
            imminent_danger=False,
            chosen_level="1",
        ),
        submission_token=None,
        today=TODAY,
        now=NOW,
    )
    check = services.eligibility_check_record(
        actor=world.alice,
        access=access,
        program=world.program_a,
        exclusion_answers={},
        submission_token=None,
        today=TODAY,
    )
    return {"bps": bps, "dx": dx, "loc": loc, "check": check}


def _urls(world, records) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    """(method, url, writes) for every patient page of the app."""
    p = world.patient_a.public_id
    b, d, lo, c = (records[k].public_id for k in ("bps", "dx", "loc", "check"))
    return [
        ("get", reverse("assessments:patient", args=[p]), False),
        ("get", reverse("assessments:bps_new", args=[p]), True),
        ("get", reverse("assessments:bps_detail", args=[p, b]), False),
        ("get", reverse("assessments:bps_edit", args=[p, b]), True),
        ("post", reverse("assessments:bps_revise", args=[p, b]), True),
        ("get", reverse("assessments:bps_error", args=[p, b]), True),
        ("get", reverse("assessments:diagnosis_new", args=[p]), True),
        ("get", reverse("assessments:diagnosis_edit", args=[p, d]), True),
        ("get", reverse("assessments:loc_new", args=[p]), True),
        ("get", reverse("assessments:loc_detail", args=[p, lo]), False),
        ("get", reverse("assessments:loc_error", args=[p, lo]), True),
        ("get", reverse("assessments:eligibility", args=[p]), False),
        ("post", reverse("assessments:eligibility_record", args=[p]), True),
        ("get", reverse("assessments:eligibility_check", args=[p, c]), False),
    ]


def test_outsiders_get_an_audited_404_everywhere(world, as_user, records) -> None:  # type: ignore[no-untyped-def]
    for outsider in (world.charlie, world.olivia):
        client = as_user(outsider)
        for method, url, _ in _urls(world, records):
            response = getattr(client, method)(url, {"program": str(world.program_a.public_id)})
            assert response.status_code == 404, (outsider.username, url)
            assert b"Canary" not in response.content
        denied = AuditEvent.objects.filter(
            actor=outsider, action="access_denied", object_id=str(world.patient_a.public_id)
        ).count()
        assert denied == len(_urls(world, records)), outsider.username


def test_read_only_role_reads_but_cannot_write(world, as_user, records) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.bob)
    for method, url, writes in _urls(world, records):
        response = getattr(client, method)(url)
        assert response.status_code == (403 if writes else 200), url


def test_pages_render_for_the_clinician(world, as_user, records) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    for method, url, _ in _urls(world, records):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_reads_are_audited(world, as_user, records) -> None:  # type: ignore[no-untyped-def]
    as_user(world.bob).get(
        reverse(
            "assessments:loc_detail", args=[world.patient_a.public_id, records["loc"].public_id]
        )
    )
    assert AuditEvent.objects.filter(
        actor=world.bob,
        action="read",
        object_type="level_of_care_assessment",
        patient=world.patient_a,
    ).exists()


# --- Biopsychosocial --------------------------------------------------------------


def _bps_post(**extra: str) -> dict[str, str]:
    data = {
        "submission_token": "0b4d3f52-8f6e-4a43-b1f5-0d3c93b4b7aa",
        "assessed_on": TODAY.isoformat(),
        "presenting_problem": "Daily drinking, lost job in March",
        "readiness_stage": "preparation",
        "patient_goals": "Get my license back",
        "substances-TOTAL_FORMS": "2",
        "substances-INITIAL_FORMS": "0",
        "substances-0-substance": "alcohol",
        "substances-0-frequency": "daily",
        "substances-0-age_first_use": "15",
        "substances-0-last_use_on": "1985-01-01",
        "substances-0-amount": "A fifth of vodka",
        "substances-1-substance": "cocaine",
        "substances-1-age_first_use": "50",
        "treatments-TOTAL_FORMS": "1",
        "treatments-INITIAL_FORMS": "0",
        "treatments-0-treatment_type": "withdrawal_management",
        "treatments-0-facility": "County Detox",
        "treatments-0-started_on": "2026-09-20",
        "treatments-0-ended_on": "2026-09-01",
        "treatments-0-outcome": "completed",
    }
    return data | extra


def test_impossible_dates_show_next_to_the_field_and_keep_everything(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:bps_new", args=[world.patient_a.public_id])
    response = as_user(world.alice).post(url, _bps_post())
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_substances-0-last_use_on_error"' in html
    assert "is before the patient&#x27;s date of birth (1990-05-17)" in html
    assert 'id="id_substances-1-age_first_use_error"' in html
    assert "above the patient&#x27;s current age" in html
    assert 'id="id_treatments-0-ended_on_error"' in html
    assert "The end date (2026-09-01) is before the start date (2026-09-20)." in html
    for kept in (
        'value="1985-01-01"',
        'value="A fifth of vodka"',
        'value="County Detox"',
        "Daily drinking, lost job in March",
        'value="50"',
    ):
        assert kept in html, kept
    assert not BiopsychosocialAssessment.objects.exists()


def test_add_a_row_keeps_input_and_saves_nothing(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:bps_new", args=[world.patient_a.public_id])
    response = as_user(world.alice).post(url, _bps_post(action="add_substances"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="substances-2-substance"' in html and 'value="A fifth of vodka"' in html
    assert not BiopsychosocialAssessment.objects.exists()


def test_complete_then_double_submit_creates_one(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:bps_new", args=[world.patient_a.public_id])
    data = _bps_post(
        action="complete",
        **{
            "substances-0-last_use_on": "2026-09-30",
            "substances-1-age_first_use": "19",
            "treatments-0-started_on": "2026-09-01",
            "treatments-0-ended_on": "2026-09-06",
        },
    )
    client = as_user(world.alice)
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == 302 and first["Location"] == second["Location"]
    assessment = BiopsychosocialAssessment.objects.get()
    assert assessment.status == "completed" and assessment.substance_rows.count() == 2


def test_edit_draft_conflict_keeps_input_and_shows_saved(world, as_user, records) -> None:  # type: ignore[no-untyped-def]
    bps = records["bps"]
    url = reverse("assessments:bps_edit", args=[world.patient_a.public_id, bps.public_id])
    base = {
        "version": "1",
        "assessed_on": TODAY.isoformat(),
        "substances-TOTAL_FORMS": "0",
        "substances-INITIAL_FORMS": "0",
        "treatments-TOTAL_FORMS": "0",
        "treatments-INITIAL_FORMS": "0",
    }
    assert as_user(world.dana).post(url, base | {"housing": "Sober living"}).status_code == 302
    response = as_user(world.alice).post(url, base | {"housing": "Shelter"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="conflict"' in html and "Sober living" in html and "Shelter" in html
    assert 'name="version" value="2"' in html
    bps.refresh_from_db()
    assert bps.housing == "Sober living"


# --- Diagnoses --------------------------------------------------------------------


def test_icd_search_fragment_and_full_page(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("assessments:icd10_search")
    fragment = client.get(url, {"q": "alcohol dependence"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content and b"F10.20" in fragment.content
    assert b'name="choose" value="F10.20"' in fragment.content
    page = client.get(url, {"q": "F10.2"})
    assert b"<html" in page.content and b"F10.20" in page.content
    assert as_user(world.sam).get(url, {"q": "F10"}).status_code == 403


def test_diagnosis_page_search_without_js_then_choose_then_save(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("assessments:diagnosis_new", args=[world.patient_a.public_id])
    page = client.get(url, {"q": "opioid dependence uncomplicated"})
    assert b'value="F11.20"' in page.content
    token = page.context["form"].initial["submission_token"]
    chosen = client.post(url, {"choose": "F11.20", "rank": "primary", "submission_token": token})
    assert chosen.status_code == 200 and b'id="chosen-code"' in chosen.content
    assert b'name="code" value="F11.20"' in chosen.content and not Diagnosis.objects.exists()
    saved = client.post(url, {"code": "F11.20", "rank": "primary", "submission_token": token})
    assert saved.status_code == 302
    again = client.post(url, {"code": "F11.20", "rank": "primary", "submission_token": token})
    assert again.status_code == 302 and Diagnosis.objects.count() == 1


def test_non_billable_code_error_next_to_the_field(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:diagnosis_new", args=[world.patient_a.public_id])
    response = as_user(world.alice).post(
        url, {"code": "F10.2", "rank": "primary", "onset_on": "2020-02-03"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_code_error"' in html and "is a category, not a billable code" in html
    assert 'value="F10.2"' in html and 'value="2020-02-03"' in html


def test_dual_diagnosis_badge_on_chart_and_overview(world, as_user, records) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    chart = reverse("patients:chart_section", args=[world.patient_a.public_id, "assessments"])
    assert b'id="dual-diagnosis-badge"' not in client.get(chart).content
    url = reverse("assessments:diagnosis_new", args=[world.patient_a.public_id])
    client.post(url, {"code": "F33.1", "rank": "secondary"})
    html = client.get(chart).content.decode()
    assert 'id="dual-diagnosis-badge"' in html and "F33.1" in html and "Primary" in html
    overview = client.get(reverse("assessments:patient", args=[world.patient_a.public_id]))
    assert b'id="dual-diagnosis-badge"' in overview.content


# --- Level of care ----------------------------------------------------------------


def _loc_post(**extra: str) -> dict[str, str]:
    data = {
        "submission_token": "6f1c7d1e-6a7b-4c4e-9a53-2b8b1f1d2e3a",
        "assessed_on": TODAY.isoformat(),
        "d1_rating": "1",
        "d2_rating": "0",
        "d3_rating": "5",
        "d4_rating": "1",
        "d5_rating": "2",
        "d6_rating": "1",
        "d3_rationale": "Panic attacks most days",
        "d5_rationale": "Relapsed twice after detox",
        "chosen_level": "2.1",
    }
    return data | extra


def test_rating_outside_0_to_4_error_next_to_that_dimension(world, as_user, example_table) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:loc_new", args=[world.patient_a.public_id])
    response = as_user(world.alice).post(url, _loc_post())
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_d3_rating_error"' in html
    assert "Rate Dimension 3 from 0 (none) to 4 (severe)." in html
    assert 'name="d3_rating" value="5"' in html and "Relapsed twice after detox" in html
    assert 'id="id_d1_rating_error"' not in html
    assert not LevelOfCareAssessment.objects.exists()


def test_preview_then_record(world, as_user, example_table) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("assessments:loc_new", args=[world.patient_a.public_id])
    preview = client.post(url, _loc_post(d3_rating="2", action="preview"))
    assert preview.status_code == 200 and b'id="recommendation"' in preview.content
    assert b"set by Dimension 3, Dimension 5" in preview.content
    assert not LevelOfCareAssessment.objects.exists()
    saved = client.post(url, _loc_post(d3_rating="2"))
    assert saved.status_code == 302
    detail = client.get(saved["Location"]).content.decode()
    assert "Based on the ratings in Dimension 3" in detail and "Example only" in detail


def test_override_without_reason_is_refused_next_to_the_field(
    world, as_user, example_table
) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:loc_new", args=[world.patient_a.public_id])
    response = as_user(world.alice).post(url, _loc_post(d3_rating="2", chosen_level="1"))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_override_reason_error"' in html and 'id="id_override_note_error"' in html


def test_no_table_says_so(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:loc_new", args=[world.patient_a.public_id])
    assert b'id="no-table"' in as_user(world.alice).get(url).content
    response = as_user(world.alice).post(url, _loc_post(d3_rating="2"))
    assert response.status_code == 422 and b"no complete level-of-care table" in response.content


# --- Eligibility ------------------------------------------------------------------


def test_eligibility_page_shows_rules_with_evidence(world, as_user, example_table) -> None:  # type: ignore[no-untyped-def]
    services.eligibility_rule_save(
        actor=world.dana,
        program=world.program_a,
        data=services.EligibilityRuleInput(min_age=18, exclusions="Active psychosis"),
        base_version=None,
    )
    client = as_user(world.alice)
    url = reverse("assessments:eligibility", args=[world.patient_a.public_id])
    page = client.get(url, {"program": str(world.program_a.public_id)})
    html = page.content.decode()
    assert "Age 18 or older" in html and "required 18 or older" in html
    assert "Not: Active psychosis" in html and "not yet assessed" in html
    token = page.context["form"].initial["submission_token"]
    record = reverse("assessments:eligibility_record", args=[world.patient_a.public_id])
    data = {
        "program": str(world.program_a.public_id),
        "exclusion_0": "absent",
        "submission_token": token,
    }
    first = client.post(record, data)
    assert first.status_code == 302 and client.post(record, data)["Location"] == first["Location"]
    check = EligibilityCheck.objects.get()
    assert check.overall == "met"
    assert b"marked absent" in client.get(first["Location"]).content
    assert client.get(url, {"program": str(world.patient_b.public_id)}).status_code == 404


# --- Settings ---------------------------------------------------------------------


def test_settings_need_org_manage(world, as_user) -> None:  # type: ignore[no-untyped-def]
    for name in ("assessments:settings", "assessments:level_table"):
        assert as_user(world.alice).get(reverse(name)).status_code == 403
        assert as_user(world.dana).get(reverse(name)).status_code == 200
    rule_url = reverse("assessments:eligibility_rule", args=[world.program_a.public_id])
    assert as_user(world.olivia).get(rule_url).status_code == 404
    assert as_user(world.sam).get(rule_url).status_code == 200


def test_level_table_load_edit_and_bad_cell(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    assert client.post(reverse("assessments:level_table_example")).status_code == 302
    table = LevelOfCareTable.objects.get(organization=world.org)
    page = client.get(reverse("assessments:level_table"))
    assert b"Example only" in page.content
    data = dict(page.context["form"].initial.items()) | {"is_example": ""}
    bad = client.post(reverse("assessments:level_table"), data | {"d2_r3": "9.9"})
    assert bad.status_code == 422 and b"Choose a level." in bad.content
    ok = client.post(reverse("assessments:level_table"), data | {"d2_r3": "3.5"})
    assert ok.status_code == 302
    table.refresh_from_db()
    assert not table.is_example and table.cells.get(dimension=2, rating=3).min_level == "3.5"


def test_eligibility_rule_form_errors_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("assessments:eligibility_rule", args=[world.program_a.public_id])
    response = as_user(world.dana).post(
        url,
        {
            "min_age": "40",
            "max_age": "18",
            "step_down_within_days": "30",
            "exclusions": "Active psychosis",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_max_age_error"' in html and "Active psychosis" in html


# --- Query counts -----------------------------------------------------------------


def _count(client, url) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _more_records(world, n: int) -> None:  # type: ignore[no-untyped-def]
    access = PatientAccess(world.patient_a, via_break_glass=False)
    codes = ["F33.1", "F41.1", "F43.10", "F11.20", "F14.20", "F12.20"]
    for i in range(n):
        services.biopsychosocial_create(
            actor=world.alice,
            access=access,
            data=services.BiopsychosocialInput(assessed_on=TODAY),
            substances=[services.SubstanceRowInput(substance="alcohol")],
            treatments=[],
            complete=False,
            submission_token=None,
            today=TODAY,
            now=NOW,
        )
        services.loc_record(
            actor=world.alice,
            access=access,
            data=services.LevelOfCareInput(
                assessed_on=TODAY,
                ratings=dict.fromkeys(range(1, 7), 1),
                rationales={},
                imminent_danger=False,
                chosen_level="1",
            ),
            submission_token=None,
            today=TODAY,
            now=NOW,
        )
        services.diagnosis_add(
            actor=world.alice,
            access=access,
            code=codes[i],
            rank="secondary",
            onset_on=None,
            submission_token=None,
            today=TODAY,
            now=NOW,
        )


def test_overview_and_chart_query_counts_do_not_grow(world, as_user, records) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    urls = [
        reverse("assessments:patient", args=[world.patient_a.public_id]),
        reverse("patients:chart_section", args=[world.patient_a.public_id, "assessments"]),
    ]
    for url in urls:
        _count(client, url)
    before = [_count(client, url) for url in urls]
    _more_records(world, 5)
    EpisodeFactory(patient=PatientFactory(organization=world.org), program=world.program_a)
    after = [_count(client, url) for url in urls]
    assert before == after


def test_chart_section_uses_three_queries(world, records) -> None:  # type: ignore[no-untyped-def]
    from openiop.assessments.selectors import chart_summary

    with CaptureQueriesContext(connection) as ctx:
        summary = chart_summary(patient=world.patient_a)
    assert len(ctx.captured_queries) == 3
    assert summary.level_of_care == records["loc"] and summary.diagnoses == [records["dx"]]


def test_selectors_for_other_apps(world, records) -> None:  # type: ignore[no-untyped-def]
    from openiop.assessments.selectors import diagnoses_active, loc_latest

    assert loc_latest(patient=world.patient_a) == records["loc"]
    assert diagnoses_active(patient=world.patient_a) == [records["dx"]]
    assert loc_latest(patient=world.patient_b) is None
