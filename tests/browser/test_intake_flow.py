"""The whole intake in one browser walk, as staff do it (issue 3, "Quality bar").

Ivy, the intake coordinator, records a referral, moves it on the pipeline board,
registers the person as a patient (episode in screening) and gives a PHQ-9 with item 9
positive: the suicide-risk alert fires. Dana, the program director and a clinician,
writes the safety plan, the biopsychosocial assessment, a diagnosis and the
level-of-care assessment, has the patient sign the three admission consents on screen,
and admits. Then charlie, a counselor of another program, finds none of it, and the
audit trail holds an allowed row for every step, his denials, and an intact chain.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, Notification, Task
from openiop.assessments.models import BiopsychosocialAssessment, Diagnosis, LevelOfCareAssessment
from openiop.assessments.services import level_table_load_example
from openiop.audit.models import AuditEvent
from openiop.consents.models import Consent
from openiop.episodes.models import Episode
from openiop.intake.models import Referral
from openiop.patients.models import Patient
from openiop.screening.models import InstrumentAdministration, SafetyPlan
from tests.browser.helpers import sign_in, submit
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GIVEN, FAMILY = "Rowan", "Canary-Flow"
INTAKE_TAB = re.compile(r"/patients/([0-9a-f-]{36})/chart/intake/$")
ADMISSION_CONSENTS = ("Consent to treatment", "Financial responsibility", "Program rules")
# A PHQ-9 of 12 (moderate) with item 9 ("thoughts that you would be better off dead")
# answered "several days".
PHQ9 = {1: 2, 2: 2, 3: 1, 4: 2, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1}


def _draw_signature(page: Page) -> None:
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 40, y + 110)
    page.mouse.down()
    for step in range(1, 36):
        page.mouse.move(x + 40 + step * 14, y + 110 - (step % 6) * 12)
    page.mouse.up()


def _sign_out(page: Page) -> None:
    page.locator("form.signout").get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_referral_to_admission_then_outsider_sees_nothing_and_all_is_audited(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    base = live_server.url
    today = timezone.localdate()
    level_table_load_example(organization=world.org)  # the organization's configuration
    ivy = UserFactory(
        username="ivy",
        organization=world.org,
        role=Role.INTAKE_COORDINATOR,
        programs=[world.program_a],
    )

    # 1. Ivy records the referral from the board.
    sign_in(page, base, ivy)
    page.get_by_role("link", name="Referrals").click()
    page.wait_for_url(base + "/intake/")
    page.get_by_role("link", name="Record a referral").click()
    page.select_option("#id_program", label="Morning SUD IOP")
    page.select_option("#id_urgency", "urgent")
    page.fill("#id_given_name", GIVEN)
    page.fill("#id_family_name", FAMILY)
    page.fill("#id_date_of_birth", "1990-03-14")
    page.fill("#id_phone", "555-404-1212")
    page.select_option("#id_source_type", "hospital")
    page.fill("#id_referring_organization", "County General ED")
    page.fill("#id_reason", "Daily drinking, low mood; seen in the ED after a fall.")
    page.select_option("#id_schedule_preference", "evening")
    page.fill("#id_schedule_notes", "Works days at a warehouse")
    page.fill("#id_insurance_payer_name", "Acme Health Plan")
    submit(page)
    expect(page.locator("#referral-header")).to_contain_text(f"{FAMILY}, {GIVEN}")
    referral = Referral.objects.get(family_name=FAMILY)
    assert referral.stage == "new"
    shot("flow-01-referral")

    # 2. On the board: contacted, then screening scheduled (htmx swaps the board).
    page.get_by_role("link", name="Back to the board").click()
    page.wait_for_url(base + "/intake/")
    expect(page.locator("#stage-new")).to_contain_text(f"{FAMILY}, {GIVEN}")
    for stage, label in (
        ("contacted", "Contacted"),
        ("screening_scheduled", "Screening scheduled"),
    ):
        card = page.locator(f"#card-{referral.public_id}")
        card.locator("select").select_option(stage)
        card.get_by_role("button", name="Move").click()
        expect(page.locator(f"#stage-{stage}")).to_contain_text(f"{FAMILY}, {GIVEN}")
        expect(page.locator(".board-notice")).to_contain_text(f"moved to {label}")
    shot("flow-02-board")
    referral.refresh_from_db()
    assert referral.stage == "screening_scheduled"

    # 3. Registered as a patient from the referral: the episode opens in screening.
    page.locator(f"#card-{referral.public_id}").get_by_role(
        "link", name=f"{FAMILY}, {GIVEN}"
    ).click()
    page.get_by_role("link", name="Register as patient").click()
    expect(page.locator("#id_legal_family_name")).to_have_value(FAMILY)
    expect(page.locator("#id_initial_status")).to_have_value("screening")
    page.select_option("#id_sex_at_birth", "female")
    submit(page)
    page.wait_for_url(INTAKE_TAB)  # where the linked referral shows
    patient = Patient.objects.get(legal_family_name=FAMILY)
    referral.refresh_from_db()
    assert referral.patient == patient and referral.episode is not None
    episode = referral.episode
    assert episode.status == "screening" and episode.program == world.program_a
    chart_url = f"{base}/patients/{patient.public_id}/"

    def tab(key: str) -> str:
        return f"{chart_url}chart/{key}/"

    tabs = page.get_by_role("navigation", name="Chart sections")
    expect(page.locator("#intake")).to_contain_text("Hospital or emergency department")
    expect(page.locator("#chart-header .header-facts")).to_contain_text("Screening")
    tabs.get_by_role("link", name="Overview").click()
    expect(page.locator(f"#episode-{episode.public_id}")).to_contain_text("Screening")
    shot("flow-03-registered")

    # 4. PHQ-9 with item 9 positive: the alert is raised at once.
    tabs.get_by_role("link", name="Screening").click()
    page.locator("#screening").get_by_role("link", name="Give an instrument").click()
    page.get_by_role("link", name=re.compile("^PHQ-9")).click()
    for item, value in PHQ9.items():
        page.check(f"#id_item_{item}_{value}")
    page.get_by_role("button", name="Score").click()
    banner = page.locator(".risk-banner")
    expect(banner).to_contain_text("Suicide-risk alert raised")
    expect(page.locator("#result")).to_contain_text("12")
    # Ivy may not write clinical plans: the banner offers her no safety-plan link.
    expect(banner.get_by_role("link", name="Write a safety plan")).to_have_count(0)
    shot("flow-04-phq9-alert")
    phq9 = InstrumentAdministration.objects.get(patient=patient, instrument_code="PHQ-9")
    alert = Alert.objects.get(patient=patient, kind="suicide_risk")
    assert phq9.total == 12 and alert.status == "open"
    # The director is notified; with no primary clinician yet and an intake coordinator
    # (who cannot resolve alerts) raising it, the task goes to the program director.
    assert list(Notification.objects.filter(alert=alert).values_list("recipient", flat=True)) == [
        world.dana.pk
    ]
    assert [t.assignee for t in Task.objects.filter(alert=alert)] == [world.dana]
    page.goto(chart_url)
    expect(page.locator("#chart-alerts .chart-alert[data-alert-kind=suicide_risk]")).to_be_visible()
    _sign_out(page)

    # 5. Dana (director, clinician) writes the safety plan from the result page's banner.
    sign_in(page, base, world.dana)
    page.goto(tab("screening"))
    expect(page.locator("#chart-alerts .chart-alert")).to_contain_text("Suicide")
    page.locator("#scores-phq-9 tbody a").first.click()
    page.locator(".risk-banner").get_by_role("link", name="Write a safety plan").click()
    expect(page.locator("#id_professional_phone_0")).to_have_value("988")
    page.fill("#id_warning_signs", "Lying awake after midnight\nSkipping meals")
    page.fill("#id_coping_strategies", "Walk the dog\nShower and music")
    page.fill("#id_social_distractions", "Sister's kitchen\nPublic library")
    page.fill("#id_help_name_0", "Morgan (sister)")
    page.fill("#id_help_phone_0", "555-0142")
    page.fill("#id_professional_name_1", "Evening IOP counselor")
    page.fill("#id_professional_phone_1", "555-0199")
    page.fill("#id_environment_safety", "Sleeping pills kept by my sister")
    page.fill("#id_reasons_for_living", "My daughter")
    page.get_by_role("button", name="Save safety plan").click()
    plan = page.locator(".safety-plan")
    for text in ("Lying awake", "Walk the dog", "Public library", "Morgan (sister)", "988"):
        expect(plan).to_contain_text(text)
    expect(plan).to_contain_text("Sleeping pills kept by my sister")
    shot("flow-05-safety-plan")
    assert SafetyPlan.objects.get(patient=patient).number == 1

    # 6. Biopsychosocial assessment with one substance.
    page.goto(tab("assessments"))
    page.locator("#assessments").get_by_role("link", name="New").first.click()
    page.fill("#id_presenting_problem", "Daily drinking since a layoff; a fall while drunk.")
    page.select_option("#id_substances-0-substance", "alcohol")
    page.select_option("#id_substances-0-route", "oral")
    page.select_option("#id_substances-0-frequency", "daily")
    page.fill("#id_substances-0-age_first_use", "16")
    page.fill("#id_substances-0-last_use_on", (today - timedelta(days=3)).isoformat())
    page.fill("#id_substances-0-amount", "Eight to ten beers")
    page.select_option("#id_readiness_stage", "preparation")
    page.fill("#id_patient_goals", "Stop drinking and keep my job.")
    page.get_by_role("button", name="Save and mark completed").click()
    expect(page.get_by_text("Biopsychosocial assessment completed.")).to_be_visible()
    shot("flow-06-biopsychosocial")
    bps = BiopsychosocialAssessment.objects.get(patient=patient)
    assert bps.status == "completed" and bps.substance_rows.count() == 1

    # 7. An ICD-10-CM diagnosis found with the code search.
    page.goto(tab("assessments"))
    page.locator("#assessments").get_by_role("link", name="Add a diagnosis").click()
    page.fill("#icd-q", "alcohol dependence unc")
    page.locator("button[name=choose][value='F10.20']").click()
    expect(page.locator("#chosen-code")).to_contain_text("F10.20")
    page.get_by_role("button", name="Record diagnosis").click()
    expect(page.get_by_text("Diagnosis recorded.")).to_be_visible()
    assert Diagnosis.objects.get(patient=patient, status="active").code == "F10.20"

    # 8. Level of care: six ratings, the recommendation, then the level chosen.
    page.goto(tab("assessments"))
    page.locator("#assessments").get_by_role("link", name="New").nth(1).click()
    page.wait_for_url(re.compile(r"/level-of-care/new/$"))
    for n, rating in zip(range(1, 7), ("1", "0", "2", "1", "2", "1"), strict=True):
        page.fill(f"#id_d{n}_rating", rating)
    page.fill(
        "#id_d3_rationale", "PHQ-9 of 12 with passive thoughts of death; safety plan written."
    )
    page.fill("#id_d5_rationale", "Drinks daily; no sober period in a year.")
    page.get_by_role("button", name="Show the recommendation").click()
    expect(page.locator("#recommendation")).to_contain_text("set by Dimension 3, Dimension 5")
    page.select_option("#id_chosen_level", "2.1")
    page.get_by_role("button", name="Record assessment").click()
    expect(page.locator("#medical-necessity")).to_contain_text("Level 2.1 was chosen.")
    shot("flow-07-level-of-care")
    loc = LevelOfCareAssessment.objects.get(patient=patient)
    assert loc.recommended_level == "2.1" and loc.chosen_level == "2.1"

    # 9. The three admission consents, each signed on screen: typed name and drawing.
    page.goto(tab("consents"))
    expect(page.locator("#consents-missing")).to_contain_text("Consent to treatment")
    for number, label in enumerate(ADMISSION_CONSENTS, start=1):
        page.goto(tab("consents"))
        page.locator("#consents summary").click()
        page.locator("#consents").get_by_role("link", name=label, exact=True).click()
        page.get_by_role("button", name="Continue to signing").click()
        page.wait_for_url(re.compile(r"/sign/$"))
        expect(page.locator("#signature-pad")).to_be_visible()
        _draw_signature(page)
        page.fill("#id_typed_name", f"{GIVEN} {FAMILY}")
        if number == 1:
            shot("flow-08-consent-signing")
        page.get_by_role("button", name="Sign", exact=True).click()
        expect(page.locator(".messages")).to_contain_text("Consent signed")
        expect(page.locator("img.signature-image")).to_be_visible()
    consents = Consent.objects.filter(patient=patient)
    assert sorted(consents.values_list("kind", flat=True)) == [
        "financial",
        "program_rules",
        "treatment",
    ]
    assert {(c.status, c.signature_method) for c in consents} == {("signed", "drawn")}

    # 10. Admission: active at level 2.1, and the referral closes as admitted.
    page.goto(tab("consents"))
    expect(page.locator("#consents")).to_be_visible()
    expect(page.locator("#consents-missing")).to_have_count(0)
    tabs.get_by_role("link", name="Intake").click()
    page.locator("#intake").get_by_role("link", name="Admit to Morning SUD IOP").click()
    expect(page.locator("#id_level_of_care")).to_have_value("2.1")
    page.fill("#id_track", "Evening SUD")
    page.select_option("#id_primary_counselor", label=world.alice.display_name)
    submit(page)
    page.wait_for_url(INTAKE_TAB)
    expect(page.locator(".messages")).to_contain_text("Admitted: the episode is active.")
    expect(page.locator("#intake")).to_contain_text("Admitted")
    expect(page.locator("#chart-header")).to_contain_text("Active")
    # The PHQ-9 alert stays on the chart until a clinician resolves it.
    expect(page.locator("#chart-alerts .chart-alert[data-alert-kind=suicide_risk]")).to_be_visible()
    shot("flow-09-chart-admitted")
    tabs.get_by_role("link", name="Overview").click()
    card = page.locator(f"#episode-{episode.public_id}")
    expect(card).to_contain_text("Active")
    expect(card).to_contain_text("Level 2.1")
    episode = Episode.objects.get(pk=episode.pk)
    referral.refresh_from_db()
    assert (episode.status, episode.level_of_care) == ("active", "2.1")
    assert episode.primary_counselor == world.alice
    assert referral.stage == "admitted"
    _sign_out(page)

    # 11. Charlie, a counselor of another program, finds none of it.
    sign_in(page, base, world.charlie)
    page.goto(base + "/intake/")
    expect(page.locator("#board")).to_be_visible()
    expect(page.locator(f"#card-{referral.public_id}")).to_have_count(0)
    expect(page.locator("#board")).not_to_contain_text(FAMILY)
    for url in (chart_url, tab("screening"), f"{base}/intake/referrals/{referral.public_id}/"):
        response = page.goto(url)
        assert response is not None and response.status == 404, url
        expect(page.locator("body")).not_to_contain_text(FAMILY)
    shot("flow-10-outsider-404")

    # 12. Every step is audited, the refusals too, and the chain is intact.
    patient_rows = AuditEvent.objects.filter(patient=patient)
    allowed = Counter(patient_rows.filter(outcome="allowed").values_list("object_type", "action"))
    expected = {
        ("patient", "create"): 1,
        ("episode", "create"): 1,
        ("referral", "update"): 1,  # linked to the new patient
        ("instrument_administration", "create"): 1,
        ("alert", "create"): 1,
        ("safety_plan", "create"): 1,
        ("biopsychosocial", "create"): 1,
        ("diagnosis", "create"): 1,
        ("level_of_care_assessment", "create"): 1,
        ("consent", "create"): 3,
        ("consent", "sign"): 3,
        ("episode", "status_change"): 1,
        ("admission", "create"): 1,
        ("referral", "status_change"): 1,  # to admitted, by the admission
    }
    missing = {k: n for k, n in expected.items() if allowed[k] < n}
    assert not missing, f"steps without their audit rows: {missing}; have {dict(allowed)}"
    to_active = patient_rows.get(object_type="episode", action="status_change")
    assert to_active.detail == {"from": "screening", "to": "active"}
    signed = patient_rows.filter(object_type="consent", action="sign")
    assert sorted(e.detail["kind"] for e in signed) == ["financial", "program_rules", "treatment"]
    # The referral's own rows: recorded before there was a patient, moved twice, admitted.
    referral_rows = AuditEvent.objects.filter(object_type="referral", object_id=referral.public_id)
    assert referral_rows.filter(action="create", outcome="allowed", actor=ivy).count() == 1
    moves = [e.detail["to"] for e in referral_rows.filter(action="status_change").order_by("id")]
    assert moves == ["contacted", "screening_scheduled", "admitted"]
    # Who did what: Ivy screened, Dana wrote the clinical record and admitted.
    assert patient_rows.get(object_type="instrument_administration", action="create").actor == ivy
    assert patient_rows.get(object_type="admission").actor == world.dana
    # Charlie's two refusals, tied to the patient, and nothing he was allowed to see.
    denied = patient_rows.filter(actor=world.charlie, outcome="denied")
    assert set(denied.values_list("object_type", "action")) == {
        ("patient", "access_denied"),
        ("referral", "access_denied"),
    }
    assert not patient_rows.filter(actor=world.charlie, outcome="allowed").exists()
    call_command("audit_verify")
