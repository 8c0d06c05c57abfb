"""Screening pages: outsiders refused, roles checked, errors beside items with every
answer kept, the alert banner, safety plans, and constant query counts on the chart."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.alerts.models import Alert
from openiop.audit.models import AuditEvent
from openiop.patients.selectors import patient_get_for_user
from openiop.screening import services
from openiop.screening.models import InstrumentAdministration, RiskResponse, SafetyPlan
from openiop.screening.rules import CRISIS_LINE, SafetyPlanContent

PHQ9 = {1: 1, 2: 2, 3: 1, 4: 1, 5: 0, 6: 1, 7: 0, 8: 0, 9: 1}
CSSRS_HIGH = {1: 1, 2: 1, 3: 1, 4: 1, 5: 0, 6: 0}
NOT_UUID = "00000000-0000-0000-0000-000000000001"


def _post_data(answers, action="score", **extra):  # type: ignore[no-untyped-def]
    data = {f"item_{k}": str(v) for k, v in answers.items()}
    return (
        data
        | {
            "action": action,
            "submission_token": str(uuid.uuid4()),
            "administered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        }
        | extra
    )


def _give(world, code, answers, finish=True):  # type: ignore[no-untyped-def]
    return services.administration_save(
        actor=world.alice,
        access=patient_get_for_user(
            actor=world.alice, public_id=world.patient_a.public_id, now=timezone.now()
        ),
        data=services.AdministrationInput(
            instrument_code=code, answers=answers, administered_at=timezone.now()
        ),
        finish=finish,
        submission_token=uuid.uuid4(),
        now=timezone.now(),
    )


def _plan(world):  # type: ignore[no-untyped-def]
    return services.safety_plan_save(
        actor=world.alice,
        access=patient_get_for_user(
            actor=world.alice, public_id=world.patient_a.public_id, now=timezone.now()
        ),
        content=SafetyPlanContent(
            warning_signs=("Not sleeping",),
            coping_strategies=("Long walk",),
            social_distractions=(),
            help_contacts=(),
            professional_contacts=(CRISIS_LINE,),
            environment_safety=("Medicines kept by a family member",),
        ),
        base_number=0,
        submission_token=uuid.uuid4(),
        now=timezone.now(),
    )


def _count(client, url) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _urls(world, administration, alert, plan):  # type: ignore[no-untyped-def]
    pid = world.patient_a.public_id
    aid = administration.public_id
    return [
        ("get", reverse("screening:choose", args=[pid])),
        ("get", reverse("screening:administration_new", args=[pid, "PHQ-9"])),
        ("post", reverse("screening:administration_new", args=[pid, "PHQ-9"])),
        ("get", reverse("screening:history", args=[pid])),
        ("get", reverse("screening:administration_detail", args=[pid, aid])),
        ("get", reverse("screening:administration_edit", args=[pid, aid])),
        ("post", reverse("screening:administration_edit", args=[pid, aid])),
        ("get", reverse("screening:administration_entered_in_error", args=[pid, aid])),
        ("post", reverse("screening:administration_entered_in_error", args=[pid, aid])),
        ("get", reverse("screening:risk_response", args=[pid, alert.public_id])),
        ("post", reverse("screening:risk_response", args=[pid, alert.public_id])),
        ("get", reverse("screening:risk_alert_resolve", args=[pid, alert.public_id])),
        ("post", reverse("screening:risk_alert_resolve", args=[pid, alert.public_id])),
        ("get", reverse("screening:safety_plan", args=[pid])),
        ("get", reverse("screening:safety_plan_edit", args=[pid])),
        ("post", reverse("screening:safety_plan_edit", args=[pid])),
        ("get", reverse("screening:safety_plan_version", args=[pid, plan.public_id])),
    ]


@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
def test_outsiders_get_an_audited_404_everywhere(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    outcome = _give(world, "C-SSRS", CSSRS_HIGH, finish=False)
    plan = _plan(world)
    user = getattr(world, outsider)
    client = as_user(user)
    for method, url in _urls(world, outcome.administration, outcome.alert, plan):
        before = AuditEvent.objects.filter(actor=user, outcome="denied").count()
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert b"Canary-PA" not in response.content
        assert AuditEvent.objects.filter(actor=user, outcome="denied").count() == before + 1, url
    assert InstrumentAdministration.objects.count() == 1
    assert not RiskResponse.objects.exists() and SafetyPlan.objects.count() == 1


def test_auditor_reads_but_cannot_write(world, as_user) -> None:  # type: ignore[no-untyped-def]
    outcome = _give(world, "C-SSRS", CSSRS_HIGH, finish=False)
    plan = _plan(world)
    client = as_user(world.bob)
    readable = {"screening:history", "screening:administration_detail", "screening:safety_plan"}
    for method, url in _urls(world, outcome.administration, outcome.alert, plan):
        response = getattr(client, method)(url)
        name = f"screening:{response.resolver_match.url_name}" if response.resolver_match else ""
        if method == "get" and (name in readable or "safety-plan/" + str(plan.public_id) in url):
            assert response.status_code == 200, url
        else:
            assert response.status_code == 403, (method, url)


def test_form_shows_every_item_with_options_and_skip_notes(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "C-SSRS"])
    response = as_user(world.alice).get(url)
    html = response.content.decode()
    assert response.status_code == 200
    for number in range(1, 7):
        assert f'name="item_{number}"' in html
    assert "Answer only if item 2 is &quot;Yes&quot;." in html
    assert "Yes, within the past 3 months" in html
    assert "js/screening.js" in html and "Save draft" in html and "Score" in html


def test_unknown_instrument_is_404(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "PHQ-99"])
    assert as_user(world.alice).get(url).status_code == 404


def test_scoring_phq9_positive_shows_result_and_banner(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "PHQ-9"])
    response = client.post(url, _post_data(PHQ9, self_reported="on"))
    administration = InstrumentAdministration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "screening:administration_detail",
        args=[world.patient_a.public_id, administration.public_id],
    )
    assert administration.self_reported and administration.total == 7
    page = client.get(response["Location"]).content.decode()
    assert "Suicide-risk alert raised" in page and "risk-banner" in page
    assert "Mild depression" in page and "Suicide risk</span>" in page
    assert "Pfizer" in page  # attribution
    assert Alert.objects.count() == 1


def test_result_page_shows_non_commercial_terms(world, as_user) -> None:  # type: ignore[no-untyped-def]
    administration = _give(world, "DAST-10", dict.fromkeys(range(1, 11), 0)).administration
    url = reverse(
        "screening:administration_detail",
        args=[world.patient_a.public_id, administration.public_id],
    )
    page = as_user(world.bob).get(url).content.decode()
    assert "Non-commercial use only" in page and "Skinner" in page
    assert administration.total == 1  # item 3 is reverse-scored
    assert AuditEvent.objects.filter(
        actor=world.bob, action="read", object_type="instrument_administration"
    ).exists()


def test_out_of_range_answer_is_shown_next_to_its_item_and_answers_are_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "PHQ-9"])
    response = as_user(world.alice).post(url, _post_data(PHQ9 | {4: 7}))
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="item_4_error"' in html and "PHQ-9 item 4" in html
    assert 'id="id_item_2_2" name="item_2" value="2" checked' in html
    assert 'id="id_item_9_1" name="item_9" value="1" checked' in html
    assert 'name="item_4" value="7" checked' in html  # the bad value is kept too
    assert not InstrumentAdministration.objects.exists()


def test_scoring_with_missing_items_marks_each(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "GAD-7"])
    response = as_user(world.alice).post(url, _post_data({1: 2, 2: 1}))
    html = response.content.decode()
    assert response.status_code == 422
    for number in (3, 4, 5, 6, 7):
        assert f'id="item_{number}_error"' in html
    assert 'id="id_item_1_2" name="item_1" value="2" checked' in html


def test_draft_saves_without_score_and_continues(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "PHQ-9"])
    response = client.post(url, _post_data({1: 2}, action="draft"))
    draft = InstrumentAdministration.objects.get()
    assert response.status_code == 302 and "edit" in response["Location"]
    assert draft.status == "draft" and draft.total is None
    page = client.get(response["Location"]).content.decode()
    assert 'id="id_item_1_2" name="item_1" value="2" checked' in page
    response = client.post(
        response["Location"], _post_data(PHQ9 | {9: 0}, version=str(draft.version))
    )
    draft.refresh_from_db()
    assert response.status_code == 302 and draft.status == "completed" and draft.total == 6


def test_stale_draft_page_reports_conflict_and_keeps_answers(world, as_user) -> None:  # type: ignore[no-untyped-def]
    draft = _give(world, "PHQ-9", {1: 1}, finish=False).administration
    url = reverse(
        "screening:administration_edit", args=[world.patient_a.public_id, draft.public_id]
    )
    client = as_user(world.alice)
    assert client.post(url, _post_data({1: 2}, action="draft", version="1")).status_code == 302
    response = client.post(url, _post_data({1: 3, 2: 3}, action="draft", version="1"))
    html = response.content.decode()
    assert response.status_code == 422 and 'id="conflict"' in html
    assert 'id="id_item_2_3" name="item_2" value="3" checked' in html


def test_cssrs_skipped_answers_are_dropped_with_a_message(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "C-SSRS"])
    response = client.post(url, _post_data({1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 0}), follow=True)
    assert b"Not recorded: the answers to item(s) 3, 4, 5" in response.content
    assert InstrumentAdministration.objects.get().answers == {"1": 1, "2": 0, "6": 0}


def test_double_post_creates_one_administration(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("screening:administration_new", args=[world.patient_a.public_id, "PHQ-9"])
    data = _post_data(PHQ9)
    first = client.post(url, data)
    second = client.post(url, data)
    assert first["Location"] == second["Location"]
    assert InstrumentAdministration.objects.count() == 1 and Alert.objects.count() == 1


def test_entered_in_error_page(world, as_user) -> None:  # type: ignore[no-untyped-def]
    administration = _give(world, "PHQ-2", {1: 1, 2: 1}).administration
    url = reverse(
        "screening:administration_entered_in_error",
        args=[world.patient_a.public_id, administration.public_id],
    )
    client = as_user(world.alice)
    response = client.post(url, {"version": "1", "reason": ""})
    assert response.status_code == 422 and b'id="id_reason_error"' in response.content
    response = client.post(url, {"version": "1", "reason": "Wrong patient chosen"})
    administration.refresh_from_db()
    assert response.status_code == 302 and administration.status == "entered_in_error"


def test_chart_shows_scores_per_instrument_and_resolve_link_to_screening(world, as_user) -> None:  # type: ignore[no-untyped-def]
    _give(world, "PHQ-9", PHQ9)
    _give(world, "GAD-7", dict.fromkeys(range(1, 8), 2))
    alert = Alert.objects.get()
    page = (
        as_user(world.alice)
        .get(reverse("patients:chart_section", args=[world.patient_a.public_id, "screening"]))
        .content.decode()
    )
    assert 'id="scores-phq-9"' in page and 'id="scores-gad-7"' in page
    assert "Moderate anxiety" in page
    resolve = reverse(
        "screening:risk_alert_resolve", args=[world.patient_a.public_id, alert.public_id]
    )
    assert f'href="{resolve}"' in page
    generic = reverse("alerts:resolve", args=[world.patient_a.public_id, alert.public_id])
    assert f'href="{generic}"' not in page


def test_generic_resolve_page_sends_suicide_alerts_to_screening(world, as_user) -> None:  # type: ignore[no-untyped-def]
    alert = _give(world, "C-SSRS", CSSRS_HIGH).alert
    url = reverse("alerts:resolve", args=[world.patient_a.public_id, alert.public_id])
    response = as_user(world.alice).post(url, {"note": "Trying to skip the safety checks"})
    assert response.status_code == 302 and "/screening/" in response["Location"]
    alert.refresh_from_db()
    assert alert.status == "open"


def test_chart_query_count_is_constant_with_1_or_20_administrations(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("patients:chart_section", args=[world.patient_a.public_id, "screening"])
    _give(world, "PHQ-9", PHQ9 | {9: 0})
    _plan(world)
    _count(client, url)
    one = _count(client, url)
    for index in range(19):
        code = ("PHQ-9", "GAD-7", "PHQ-2")[index % 3]
        answers = {"PHQ-9": PHQ9 | {9: 0}, "GAD-7": dict.fromkeys(range(1, 8), 1)}.get(
            code, {1: 1, 2: 1}
        )
        _give(world, code, answers, finish=index % 5 != 0)
    assert InstrumentAdministration.objects.count() == 20
    assert _count(client, url) == one


def test_history_query_count_is_constant(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("screening:history", args=[world.patient_a.public_id])
    _give(world, "PHQ-2", {1: 1, 2: 1})
    _count(client, url)
    one = _count(client, url)
    for _ in range(10):
        _give(world, "PHQ-2", {1: 2, 2: 1})
    assert _count(client, url) == one


def test_high_risk_workflow_response_plan_then_resolve(world, as_user) -> None:  # type: ignore[no-untyped-def]
    alert = _give(world, "C-SSRS", CSSRS_HIGH).alert
    pid = world.patient_a.public_id
    client = as_user(world.alice)
    resolve_url = reverse("screening:risk_alert_resolve", args=[pid, alert.public_id])
    response = client.post(resolve_url, {"note": "Seen and safe for now, follow-up booked."})
    html = response.content.decode()
    assert response.status_code == 422 and "Record the risk response" in html
    assert "Seen and safe for now" in html  # the note is kept

    response_url = reverse("screening:risk_response", args=[pid, alert.public_id])
    bad = client.post(
        response_url,
        {
            "submission_token": str(uuid.uuid4()),
            "assessed_by": world.alice.pk,
            "assessed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "disposition": "other",
            "notes": "",
        },
    )
    assert bad.status_code == 422 and b'id="id_notes_error"' in bad.content
    assert re.search(r'value="other"[^>]*checked', bad.content.decode())
    ok = client.post(
        response_url,
        {
            "submission_token": str(uuid.uuid4()),
            "assessed_by": world.alice.pk,
            "assessed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "disposition": "emergency_evaluation",
            "notes": "Walked to the ED with a family member.",
        },
    )
    assert ok.status_code == 302 and RiskResponse.objects.count() == 1

    plan_url = reverse("screening:safety_plan_edit", args=[pid])
    form_page = client.get(plan_url).content.decode()
    assert "988 Suicide &amp; Crisis Lifeline" in form_page
    bad = client.post(
        plan_url,
        {
            "submission_token": str(uuid.uuid4()),
            "base_number": "0",
            "warning_signs": "Not sleeping\nSkipping meals",
            "coping_strategies": "",
            "help_name_0": "Sam (brother)",
            "help_phone_0": "",
            "professional_name_0": CRISIS_LINE.name,
            "professional_phone_0": "988",
            "environment_safety": "Medicines kept by a family member",
            "developed_with_patient": "on",
        },
    )
    html = bad.content.decode()
    assert bad.status_code == 422 and 'id="id_coping_strategies_error"' in html
    assert "Skipping meals" in html and 'value="Sam (brother)"' in html
    ok = client.post(
        plan_url,
        {
            "submission_token": str(uuid.uuid4()),
            "base_number": "0",
            "warning_signs": "Not sleeping\nSkipping meals",
            "coping_strategies": "Long walk",
            "help_name_0": "Sam (brother)",
            "help_phone_0": "555-0100",
            "professional_name_0": CRISIS_LINE.name,
            "professional_phone_0": "988",
            "environment_safety": "Medicines kept by a family member",
            "developed_with_patient": "on",
        },
    )
    assert ok.status_code == 302
    plan = SafetyPlan.objects.get()
    assert plan.help_contacts == [{"name": "Sam (brother)", "phone": "555-0100"}]
    assert plan.warning_signs == ["Not sleeping", "Skipping meals"]

    response = client.post(resolve_url, {"note": "Evaluated in ED, discharged with the plan."})
    alert.refresh_from_db()
    assert response.status_code == 302 and alert.status == "resolved"


def test_safety_plan_update_makes_a_new_version_and_keeps_the_old(world, as_user) -> None:  # type: ignore[no-untyped-def]
    first = _plan(world)
    pid = world.patient_a.public_id
    client = as_user(world.alice)
    edit = client.get(reverse("screening:safety_plan_edit", args=[pid])).content.decode()
    assert "Not sleeping" in edit and 'name="base_number" value="1"' in edit
    data = {
        "submission_token": str(uuid.uuid4()),
        "base_number": "1",
        "warning_signs": "Not sleeping\nArguments at home",
        "coping_strategies": "Long walk",
        "professional_name_0": CRISIS_LINE.name,
        "professional_phone_0": "988",
        "environment_safety": "Medicines kept by a family member",
    }
    assert client.post(reverse("screening:safety_plan_edit", args=[pid]), data).status_code == 302
    stale = client.post(
        reverse("screening:safety_plan_edit", args=[pid]),
        data | {"submission_token": str(uuid.uuid4()), "warning_signs": "Mine"},
    )
    assert stale.status_code == 422 and b'id="conflict"' in stale.content
    assert b"Mine" in stale.content and b'name="base_number" value="2"' in stale.content
    old = client.get(reverse("screening:safety_plan_version", args=[pid, first.public_id]))
    assert b"earlier version" in old.content
    current = client.get(reverse("screening:safety_plan", args=[pid])).content.decode()
    assert "Arguments at home" in current and "Version 2" in current


def test_missing_resources_are_404(world, as_user) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_a.public_id
    client = as_user(world.alice)
    for url in (
        reverse("screening:administration_detail", args=[pid, NOT_UUID]),
        reverse("screening:risk_response", args=[pid, NOT_UUID]),
        reverse("screening:risk_alert_resolve", args=[pid, NOT_UUID]),
        reverse("screening:safety_plan_version", args=[pid, NOT_UUID]),
    ):
        assert client.get(url).status_code == 404, url
