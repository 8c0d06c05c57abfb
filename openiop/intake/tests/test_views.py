"""Intake pages: scoping, audit, errors next to fields with input kept, htmx swaps,
constant query counts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.episodes.models import Episode
from openiop.intake.models import Admission, ObservationVisit, Referral, ReferralContactAttempt
from openiop.intake.tests.helpers import (
    pool_referral,
    referral,
    screening_patient,
    sign_admission_consents,
)
from openiop.patients.models import Patient

# The views read the clock: pin it after the consents' effective date (2026-11-02).
pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def frozen_clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


def _count(client, url, params=None) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)


VALID_REFERRAL = {
    "program": "",
    "urgency": "soon",
    "received_at": "2026-11-20T09:15",
    "given_name": "Jordan",
    "family_name": "Canary-RA",
    "date_of_birth": "1994-06-02",
    "phone": "555-301-7788",
    "preferred_contact_method": "text",
    "source_type": "hospital",
    "referring_organization": "St. Elsewhere ED",
    "reason": "Alcohol use after an ED visit",
    "schedule_preference": "evening",
    "schedule_notes": "Works 8 to 4",
    "submission_token": "3b5c4c57-6b0e-4b7b-9a9e-4f7f0b4e9a10",
}


# --- The board ---------------------------------------------------------------------------


def test_board_shows_own_programs_and_the_pool_and_audits_each_card(world, as_user) -> None:  # type: ignore[no-untyped-def]
    mine = referral(world, family_name="Canary-RA")
    pooled = pool_referral(world, family_name="Canary-POOL")
    referral(world, program=world.program_b, family_name="Canary-RB")
    response = as_user(world.alice).get(reverse("intake:board"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Canary-RA" in html and "Canary-POOL" in html and "Canary-RB" not in html
    listed = AuditEvent.objects.filter(actor=world.alice, object_type="referral_board")
    assert {e.object_id for e in listed} == {str(mine.public_id), str(pooled.public_id)}
    assert all(e.action == "search" and e.detail["shown"] == 2 for e in listed)
    # Charlie (program B) sees the pool and program B, never program A.
    html = as_user(world.charlie).get(reverse("intake:board")).content.decode()
    assert "Canary-RB" in html and "Canary-POOL" in html and "Canary-RA" not in html


def test_board_card_shows_age_urgency_source_and_schedule(world, as_user) -> None:  # type: ignore[no-untyped-def]
    referral(
        world,
        family_name="Canary-RA",
        urgency="urgent",
        source_type="court",
        schedule_preference="evening",
        received_at=dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC),
        stage_changed_at=dt.datetime(2026, 11, 17, 9, 0, tzinfo=dt.UTC),
    )
    html = as_user(world.alice).get(reverse("intake:board")).content.decode()
    assert "10 d old" in html and "3 d in stage" in html
    assert "Urgent" in html and "Court / criminal justice" in html and "Schedule: Evening" in html


def test_board_filters_by_program_and_urgency(world, as_user) -> None:  # type: ignore[no-untyped-def]
    referral(world, family_name="Canary-URGENT", urgency="urgent")
    referral(world, family_name="Canary-ROUTINE")
    pool_referral(world, family_name="Canary-POOL", urgency="urgent")
    client = as_user(world.alice)
    html = client.get(reverse("intake:board"), {"urgency": "urgent"}).content.decode()
    assert "Canary-URGENT" in html and "Canary-POOL" in html and "Canary-ROUTINE" not in html
    html = client.get(
        reverse("intake:board"), {"program": str(world.program_a.public_id)}
    ).content.decode()
    assert "Canary-URGENT" in html and "Canary-ROUTINE" in html and "Canary-POOL" not in html
    html = client.get(reverse("intake:board"), {"program": "pool"}).content.decode()
    assert "Canary-POOL" in html and "Canary-ROUTINE" not in html
    # Someone else's program as a filter is ignored, not shown.
    referral(world, program=world.program_b, family_name="Canary-RB")
    html = client.get(
        reverse("intake:board"), {"program": str(world.program_b.public_id)}
    ).content.decode()
    assert "Canary-RB" not in html


def _seed(world, n, offset=0):  # type: ignore[no-untyped-def]
    stages = [
        "new",
        "contacted",
        "screening_scheduled",
        "assessed",
        "offered_admission",
        "declined",
    ]
    for i in range(n):
        referral(world, stage=stages[(i + offset) % len(stages)])
        if i % 4 == 0:
            pool_referral(world, stage=stages[i % len(stages)])


def test_board_query_count_does_not_grow_with_referrals(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("intake:board")
    _seed(world, 4)  # 4 in program A + 1 in the pool
    _count(client, url)
    assert Referral.objects.count() == 5
    few = _count(client, url)
    _seed(world, 44, offset=3)  # 44 + 11 more
    assert Referral.objects.count() == 60
    many = _count(client, url)
    assert few == many, (few, many)


def test_board_query_count_is_flat_once_columns_are_full(world, as_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Beyond the per-column caps nothing grows at all, whatever the database's batch
    size for the audit rows (SQLite inserts at most 66 audit rows per statement)."""
    from openiop.intake import selectors

    monkeypatch.setattr(selectors, "CARDS_PER_OPEN_STAGE", 2)
    monkeypatch.setattr(selectors, "CARDS_PER_CLOSED_STAGE", 1)
    client = as_user(world.alice)
    url = reverse("intake:board")
    _seed(world, 24)
    _count(client, url)
    full = _count(client, url)
    _seed(world, 120, offset=1)
    assert _count(client, url) == full


def test_board_limits_cards_per_column_and_links_to_the_list(world, as_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from openiop.intake import selectors

    monkeypatch.setattr(selectors, "CARDS_PER_OPEN_STAGE", 3)
    for i in range(5):
        referral(
            world,
            family_name=f"Canary-N{i}",
            received_at=dt.datetime(2026, 11, 1 + i, tzinfo=dt.UTC),
        )
    html = as_user(world.alice).get(reverse("intake:board")).content.decode()
    assert "Canary-N4" in html and "Canary-N2" in html and "Canary-N1" not in html
    assert "Newest 3 shown" in html and "?stage=new" in html
    listing = as_user(world.alice).get(reverse("intake:list"), {"stage": "new"}).content.decode()
    assert all(f"Canary-N{i}" in listing for i in range(5))


def test_list_query_count_does_not_grow_and_audits_each_row(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("intake:list")
    _seed(world, 5)
    _count(client, url, {"stage": "new"})
    few = _count(client, url, {"stage": "new"})
    _seed(world, 60)
    many = _count(client, url, {"stage": "new"})
    assert few == many
    shown = AuditEvent.objects.filter(object_type="referral_list").order_by("-id").first()
    assert shown is not None and shown.detail["stage"] == "new"


# --- Moving cards -------------------------------------------------------------------------


def test_move_without_javascript_redirects_back_to_the_filtered_board(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    response = as_user(world.alice).post(
        reverse("intake:move", args=[r.public_id]),
        {"to_stage": "contacted", "reason": "", "version": 1, "urgency": "routine"},
    )
    assert response.status_code == 302 and response["Location"] == "/intake/?urgency=routine"
    r.refresh_from_db()
    assert r.stage == "contacted" and r.events.get(kind="stage").changed_by == world.alice


def test_move_with_htmx_swaps_the_board(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, family_name="Canary-RA")
    response = as_user(world.alice).post(
        reverse("intake:move", args=[r.public_id]),
        {"to_stage": "screening_scheduled", "version": 1},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="board",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="board"' in html
    assert "Canary-RA, " in html and "moved to Screening scheduled" in html
    column = html.split('id="stage-screening_scheduled"')[1].split("</section>")[0]
    assert "Canary-RA" in column


@pytest.mark.parametrize("htmx", [False, True])
def test_refused_move_shows_the_error_on_the_card_and_keeps_the_reason(
    world, as_user, htmx
) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, family_name="Canary-RA", stage="unable_to_reach")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = as_user(world.alice).post(
        reverse("intake:move", args=[r.public_id]),
        {"to_stage": "contacted", "reason": "  ", "version": 1},
        **headers,
    )
    assert response.status_code == 422
    html = response.content.decode()
    card = html.split(f'id="card-{r.public_id}"')[1].split("</article>")[0]
    assert "Give a reason for reopening" in card and 'role="alert"' in card
    assert '<option value="contacted" selected>' in card
    assert ("<html" in html) is not htmx
    assert Referral.objects.get(pk=r.pk).stage == "unable_to_reach"


def test_move_from_the_referral_page_keeps_the_typed_reason_on_error(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    url = reverse("intake:move", args=[r.public_id])
    client = as_user(world.alice)
    response = client.post(
        url, {"to_stage": "declined", "reason": "", "version": 1, "back": "detail"}
    )
    assert response.status_code == 422 and "Give a reason for declined" in response.content.decode()
    response = client.post(
        url,
        {"to_stage": "declined", "reason": "Chose another clinic", "version": 1, "back": "detail"},
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "intake:detail", args=[r.public_id]
    )


# --- Recording, reading and editing a referral ----------------------------------------------


def test_create_with_a_bad_field_keeps_everything_typed(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    response = client.post(
        reverse("intake:create"), VALID_REFERRAL | {"date_of_birth": "2030-01-01"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Date of birth cannot be in the future" in html
    assert 'value="Canary-RA"' in html and 'value="555-301-7788"' in html and "Works 8 to 4" in html
    response = client.post(reverse("intake:create"), VALID_REFERRAL | {"phone": ""})
    assert response.status_code == 422 and "at least one way to reach" in response.content.decode()
    assert not Referral.objects.exists()
    first = client.post(reverse("intake:create"), VALID_REFERRAL)
    second = client.post(reverse("intake:create"), VALID_REFERRAL)
    assert first.status_code == 302 and first["Location"] == second["Location"]
    created = Referral.objects.get()
    assert created.program is None and created.schedule_preference == "evening"


def test_detail_is_audited_and_shows_the_history(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, family_name="Canary-RA")
    response = as_user(world.alice).get(reverse("intake:detail", args=[r.public_id]))
    assert response.status_code == 200 and "Canary-RA" in response.content.decode()
    assert AuditEvent.objects.filter(
        actor=world.alice, action="read", object_type="referral", object_id=str(r.public_id)
    ).exists()


def test_edit_conflict_shows_what_is_saved_and_keeps_input(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    url = reverse("intake:edit", args=[r.public_id])
    alice, dana = as_user(world.alice), as_user(world.dana)
    initial = alice.get(url).context["form"].initial
    base = {k: ("" if v is None else v) for k, v in initial.items()}
    base |= {
        "program": world.program_a.pk,
        "received_at": "2026-11-02T04:30",
        "date_of_birth": "1991-03-14",
    }
    assert dana.post(url, base | {"schedule_notes": "Mornings only"}).status_code == 302
    response = alice.post(url, base | {"email": "rowan@example.org"})
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        'id="conflict"' in html and "Mornings only" in html and 'value="rowan@example.org"' in html
    )
    r.refresh_from_db()
    assert r.schedule_notes == "Mornings only" and r.email == ""


def test_contact_attempts_and_the_unable_to_reach_suggestion(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    client = as_user(world.alice)
    url = reverse("intake:contact", args=[r.public_id])
    bad = client.post(
        url,
        {
            "attempted_at": "2026-11-25T10:00",
            "method": "phone",
            "outcome": "no_answer",
            "note": "Rang twice",
            "submission_token": "6a2d1b9e-0d4c-4a4f-8b1e-9d7c2e1f0a01",
        },
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "cannot be in the future" in html and "Rang twice" in html
    for n, outcome in enumerate(["no_answer", "voicemail", "wrong_number"]):
        response = client.post(
            url,
            {
                "attempted_at": f"2026-11-20T0{n + 1}:00",
                "method": "phone",
                "outcome": outcome,
                "submission_token": f"6a2d1b9e-0d4c-4a4f-8b1e-9d7c2e1f0a1{n}",
            },
        )
        assert response.status_code == 302
    assert ReferralContactAttempt.objects.filter(referral=r).count() == 3
    page = client.get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert 'id="unreached-suggestion"' in page and "3 contact attempts in a row" in page


# --- Registering the referral as a patient --------------------------------------------------


def test_convert_is_prefilled_warns_of_duplicates_then_registers(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(
        world, given_name="Avery", family_name="Canary-PA", date_of_birth=dt.date(1990, 5, 17)
    )
    url = reverse("intake:convert", args=[r.public_id])
    client = as_user(world.dana)
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and 'value="Canary-PA"' in html and 'value="1990-05-17"' in html
    data = {
        "legal_given_name": "Avery",
        "legal_family_name": "Canary-PA",
        "date_of_birth": "1990-05-17",
        "sex_at_birth": "female",
        "preferred_language": "English",
        "program": world.program_a.pk,
        "initial_status": "screening",
        "submission_token": page.context["form"].initial["submission_token"],
    }
    response = client.post(url, data)
    assert response.status_code == 422 and b'id="duplicate-warning"' in response.content
    assert world.patient_a.mrn.encode() in response.content
    response = client.post(url, data | {"confirm_not_duplicate": "on"})
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.patient is not None and r.patient != world.patient_a
    assert response["Location"] == reverse(
        "patients:chart_section", args=[r.patient.public_id, "intake"]
    )
    assert r.stage == "screening_scheduled" and r.episode.status == "screening"
    # Once linked, the page sends you to the chart.
    assert client.get(url)["Location"] == reverse(
        "patients:chart_section", args=[r.patient.public_id, "intake"]
    )


def test_convert_needs_patient_register(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    assert (
        as_user(world.alice).get(reverse("intake:convert", args=[r.public_id])).status_code == 403
    )


# --- Observation visits ------------------------------------------------------------------


def test_observation_for_a_referral_with_errors_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, stage="contacted")
    url = reverse("intake:referral_observation", args=[r.public_id])
    client = as_user(world.alice)
    data = {
        "visit_date": "2026-11-21",
        "visit_time": "18:00",
        "session_description": "Evening relapse-prevention group",
        "facilitator": world.alice.pk,
        "outcome": "undecided",
        "note": "Quiet, listened",
        "submission_token": "5b7e1e0c-4a1f-4c55-9f0e-0a9b1c2d3e4f",
    }
    response = client.post(url, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        "on or after the day" in html
        and "Evening relapse-prevention group" in html
        and "Quiet, listened" in html
    )
    response = client.post(url, data | {"visit_date": "2026-11-19"})
    assert response.status_code == 302
    visit = ObservationVisit.objects.get()
    assert visit.referral == r and not visit.counts_toward_attendance and not visit.billable
    detail = client.get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "Evening relapse-prevention group" in detail and "not attendance" in detail


def test_observation_for_a_patient_and_entered_in_error(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world, legal_family_name="Canary-SC")
    client = as_user(world.alice)
    url = reverse("intake:patient_observation", args=[patient.public_id, episode.public_id])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "visit_date": "2026-11-18",
            "session_description": "Day coping-skills group",
            "outcome": "decided_to_enrol",
            "submission_token": "1c1f7a60-1d2e-4f3a-9b8c-7d6e5f4a3b2c",
        },
    )
    assert response.status_code == 302
    visit = ObservationVisit.objects.get()
    chart = client.get(
        reverse("patients:chart_section", args=[patient.public_id, "intake"])
    ).content.decode()
    assert "Day coping-skills group" in chart and "Decided to enrol" in chart
    response = client.post(
        reverse("intake:observation_error", args=[visit.public_id]), {"reason": "Wrong person"}
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "entered_in_error"


# --- Admission ---------------------------------------------------------------------------


def _admit_data(page, **changes):  # type: ignore[no-untyped-def]
    initial = page.context["form"].initial
    return {
        "start_date": "2026-11-20",
        "level_of_care": "2.1",
        "track": "Evening SUD",
        "expected_weeks": "10",
        "schedule_preference": "evening",
        "primary_counselor": "",
        "prescriber": "",
        "case_manager": "",
        "version": initial["version"],
        "submission_token": initial["submission_token"],
    } | changes


def test_admission_refused_without_consents_keeps_the_form(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    referral(
        world,
        stage="offered_admission",
        patient=patient,
        episode=episode,
        schedule_preference="evening",
    )
    client = as_user(world.alice)
    url = reverse("intake:admit", args=[patient.public_id, episode.public_id])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["level_of_care"] == "2.1"
    assert page.context["form"].initial["schedule_preference"] == "evening"
    response = client.post(
        url, _admit_data(page, track="Evening MH", primary_counselor=world.alice.pk)
    )
    assert response.status_code == 422
    html = response.content.decode()
    top = html.split('class="grid-form"')[1].split('class="field')[0]
    assert "Admission refused" in top and "Consent to treatment" in top and "Program rules" in top
    assert 'value="Evening MH"' in html and 'id="admission-refused"' in html
    episode.refresh_from_db()
    assert episode.status == "screening" and not Admission.objects.exists()


def test_admission_succeeds_with_consents(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    r = referral(world, stage="offered_admission", patient=patient, episode=episode)
    sign_admission_consents(world, patient)
    client = as_user(world.alice)
    url = reverse("intake:admit", args=[patient.public_id, episode.public_id])
    page = client.get(url)
    response = client.post(url, _admit_data(page, primary_counselor=world.alice.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "patients:chart_section", args=[patient.public_id, "intake"]
    )
    episode.refresh_from_db()
    assert episode.status == "active" and episode.primary_counselor == world.alice
    r.refresh_from_db()
    assert r.stage == "admitted"
    chart = client.get(response["Location"]).content.decode()
    assert "Admitted</strong> 2026-11-20" in chart and "Evening SUD" in chart
    assert reverse("intake:admit", args=[patient.public_id, episode.public_id]) not in chart


def test_admission_bad_input_is_shown_next_to_the_field(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    client = as_user(world.alice)
    url = reverse("intake:admit", args=[patient.public_id, episode.public_id])
    page = client.get(url)
    response = client.post(url, _admit_data(page, expected_weeks="40", track="Day SUD"))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_expected_weeks_error"' in html and 'value="Day SUD"' in html


# --- The chart section -------------------------------------------------------------------


def test_chart_section_shows_the_referral_and_the_admit_button(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    referral(world, patient=patient, episode=episode, source_type="detox", stage="assessed")
    html = (
        as_user(world.alice)
        .get(reverse("patients:chart_section", args=[patient.public_id, "intake"]))
        .content.decode()
    )
    section = html.split('id="intake"')[1].split("</section>")[0]
    assert "Detox / withdrawal management" in section and "Assessed" in section
    assert reverse("intake:admit", args=[patient.public_id, episode.public_id]) in section
    # The auditor sees the section but no Admit button.
    html = (
        as_user(world.bob)
        .get(reverse("patients:chart_section", args=[patient.public_id, "intake"]))
        .content.decode()
    )
    section = html.split('id="intake"')[1].split("</section>")[0]
    assert "Detox / withdrawal management" in section and "/admit/" not in section


def test_chart_query_count_does_not_grow_with_intake_history(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    client = as_user(world.alice)
    url = reverse("patients:chart_section", args=[patient.public_id, "intake"])
    referral(world, patient=patient, episode=episode)
    ObservationVisit.objects.create(
        organization=world.org,
        patient=patient,
        episode=episode,
        visit_date=dt.date(2026, 11, 3),
        session_description="Group",
        outcome="undecided",
        recorded_by=world.alice,
        recorded_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
    )
    _count(client, url)
    before = _count(client, url)
    for i in range(5):
        r = referral(world, patient=patient)
        ObservationVisit.objects.create(
            organization=world.org,
            referral=r,
            visit_date=dt.date(2026, 11, 4 + i),
            session_description="Group",
            outcome="undecided",
            recorded_by=world.alice,
            recorded_at=dt.datetime(2026, 11, 4, tzinfo=dt.UTC),
            facilitator=world.dana,
        )
    old = Episode.objects.create(
        patient=patient,
        program=world.program_a,
        status="discharged",
        level_of_care="2.1",
        referred_on=dt.date(2026, 1, 1),
    )
    Admission.objects.create(
        episode=old,
        start_date=dt.date(2026, 1, 5),
        level_of_care="2.1",
        track="Day SUD",
        expected_weeks=8,
        schedule_preference="day",
        admitted_by=world.dana,
        admitted_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )
    after = _count(client, url)
    assert before == after, (before, after)


# --- Who may do what ---------------------------------------------------------------------


def _intake_urls(world):  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world, legal_family_name="Canary-SC")
    r = referral(world, family_name="Canary-RA", stage="contacted")
    visit = ObservationVisit.objects.create(
        organization=world.org,
        referral=r,
        visit_date=dt.date(2026, 11, 3),
        session_description="Group",
        outcome="undecided",
        recorded_by=world.alice,
        recorded_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
    )
    rid = r.public_id
    return [
        ("get", reverse("intake:detail", args=[rid])),
        ("get", reverse("intake:edit", args=[rid])),
        ("post", reverse("intake:edit", args=[rid])),
        ("post", reverse("intake:move", args=[rid])),
        ("post", reverse("intake:contact", args=[rid])),
        ("get", reverse("intake:convert", args=[rid])),
        ("post", reverse("intake:convert", args=[rid])),
        ("get", reverse("intake:referral_observation", args=[rid])),
        ("post", reverse("intake:referral_observation", args=[rid])),
        ("post", reverse("intake:observation_error", args=[visit.public_id])),
        ("get", reverse("intake:patient_observation", args=[patient.public_id, episode.public_id])),
        (
            "post",
            reverse("intake:patient_observation", args=[patient.public_id, episode.public_id]),
        ),
        ("get", reverse("intake:admit", args=[patient.public_id, episode.public_id])),
        ("post", reverse("intake:admit", args=[patient.public_id, episode.public_id])),
    ]


@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
def test_outsiders_are_refused_on_every_intake_url_and_audited(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    user = getattr(world, outsider)
    client = as_user(user)
    for method, url in _intake_urls(world):
        before = AuditEvent.objects.filter(actor=user, outcome="denied").count()
        response = getattr(client, method)(url)
        assert response.status_code in (403, 404), (method, url, response.status_code)
        assert b"Canary-RA" not in response.content and b"Canary-SC" not in response.content
        assert AuditEvent.objects.filter(actor=user, outcome="denied").count() == before + 1, url
    # The board and the list show them nothing of program A either.
    for url in (reverse("intake:board"), reverse("intake:list")):
        response = client.get(url)
        assert b"Canary-RA" not in response.content


@pytest.mark.parametrize("url_name", ["intake:board", "intake:list", "intake:create"])
def test_roles_without_referral_manage_get_403(world, as_user, url_name) -> None:  # type: ignore[no-untyped-def]
    for user in (world.bob, world.sam):
        response = as_user(user).get(reverse(url_name))
        assert response.status_code == 403
    assert AuditEvent.objects.filter(actor=world.bob, outcome="denied").exists()


def test_auditor_cannot_admit_or_record_visits(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    bob = as_user(world.bob)
    assert (
        bob.get(reverse("intake:admit", args=[patient.public_id, episode.public_id])).status_code
        == 403
    )
    assert (
        bob.get(
            reverse("intake:patient_observation", args=[patient.public_id, episode.public_id])
        ).status_code
        == 403
    )


def test_anonymous_is_sent_to_sign_in(world, client) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    for url in (reverse("intake:board"), reverse("intake:detail", args=[r.public_id])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_no_patient_or_referral_names_in_denied_audit_rows(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, family_name="Canary-RA")
    as_user(world.charlie).get(reverse("intake:detail", args=[r.public_id]))
    event = AuditEvent.objects.get(actor=world.charlie, outcome="denied")
    assert event.object_type == "referral" and "Canary" not in str(event.detail)
    assert Patient.objects.filter(legal_family_name="Canary-RA").count() == 0
