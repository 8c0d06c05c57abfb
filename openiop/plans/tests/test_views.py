from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.consents.tests.helpers import access_for, pdf_text
from openiop.episodes.models import Episode
from openiop.homework.models import HomeworkAssignment
from openiop.plans import services
from openiop.plans.models import PlanDeadlineSetting, PlanVersion, RelapsePreventionPlan
from openiop.plans.tests.helpers import make_signed_plan, moment, start
from tests.factories import EpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(world):  # type: ignore[no-untyped-def]
    Episode.objects.filter(pk=world.episode_a.pk).update(admitted_on=date(2026, 10, 28))
    return make_signed_plan(world.alice, world.patient_a)


@pytest.fixture
def relapse(world):  # type: ignore[no-untyped-def]
    return services.relapse_plan_save(
        actor=world.alice,
        access=access_for(world.patient_a),
        data=services.RelapsePlanInput(
            triggers=("Payday", "Old friends"),
            coping_strategies=("Call Sam", "Walk"),
            people_to_call=(("Sam (sponsor)", "555-0100"),),
            after_lapse="Call my sponsor and come to group the next day.",
            self_help_group="Tuesday AA",
        ),
        base_number=0,
        submission_token=uuid.uuid4(),
        now=moment(),
    )


def _urls(world, version, relapse):  # type: ignore[no-untyped-def]
    p, v, r = world.patient_a.public_id, version.public_id, relapse.public_id
    return [
        reverse("plans:home", args=[p]),
        reverse("plans:start", args=[p]),
        reverse("plans:version", args=[p, v]),
        reverse("plans:edit", args=[p, v]),
        reverse("plans:autosave", args=[p, v]),
        reverse("plans:sign_patient", args=[p, v]),
        reverse("plans:sign_staff", args=[p, v, "clinician"]),
        reverse("plans:void", args=[p, v]),
        reverse("plans:pdf", args=[p, v]),
        reverse("plans:relapse_edit", args=[p]),
        reverse("plans:relapse", args=[p, r]),
        reverse("plans:relapse_pdf", args=[p, r]),
        reverse("homework:list", args=[p]),
        reverse("homework:assign", args=[p]),
    ]


@pytest.mark.parametrize("who", ["charlie", "olivia"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_outsiders_are_refused_on_every_url(world, as_user, signed, relapse, who, method):  # type: ignore[no-untyped-def]
    user = getattr(world, who)
    client = as_user(user)
    for url in _urls(world, signed, relapse):
        before = AuditEvent.objects.filter(actor=user, action="access_denied").count()
        response = getattr(client, method)(url)
        if response.status_code == 405:
            continue  # POST-only or GET-only: refused before any patient lookup
        assert response.status_code == 404, url
        assert b"Canary-PA" not in response.content
        after = AuditEvent.objects.filter(actor=user, action="access_denied").count()
        assert after == before + 1, url
    assert PlanVersion.objects.filter(patient=world.patient_a).count() == 1


def test_auditor_reads_but_cannot_write(world, as_user, signed):  # type: ignore[no-untyped-def]
    client = as_user(world.bob)
    p = world.patient_a.public_id
    assert client.get(reverse("plans:home", args=[p])).status_code == 200
    assert client.get(reverse("plans:version", args=[p, signed.public_id])).status_code == 200
    assert client.post(reverse("plans:start", args=[p])).status_code == 403
    assert client.get(reverse("plans:edit", args=[p, signed.public_id])).status_code == 403
    assert AuditEvent.objects.filter(
        actor=world.bob, action="read", object_type="plan_version"
    ).exists()


def test_signed_version_cannot_be_edited_through_the_view(world, as_user, signed):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    p = world.patient_a.public_id
    url = reverse("plans:edit", args=[p, signed.public_id])
    assert client.get(url).status_code == 302
    response = client.post(
        url, {"version": signed.version, "written_on": "2026-11-02", "participation": "changed"}
    )
    assert response.status_code == 302
    signed.refresh_from_db()
    assert signed.participation != "changed"
    autosave = client.post(
        reverse("plans:autosave", args=[p, signed.public_id]),
        {"version": signed.version, "participation": "x"},
    )
    assert autosave.status_code == 400 and autosave.json()["saved"] is False


def _post(client, url, version, **fields):  # type: ignore[no-untyped-def]
    data = {
        "version": version.version,
        "written_on": "2026-11-02",
        "participation": "Wrote it together",
        "p0-key": "",
        "p0-statement": "Alcohol use",
        "p0-goal": "Stay sober for my kids",
        "p0-o0-key": "",
        "p0-o0-text": "Attend groups",
        "p0-o0-measure": "sessions_attended",
        "p0-o0-baseline": "0",
        "p0-o0-baseline_on": "2026-11-02",
        "p0-o0-target": "12",
        "p0-o0-target_on": "2026-12-01",
        "p0-i0-key": "",
        "p0-i0-modality": "relapse_prevention",
        "p0-i0-frequency": "3 groups a week",
        "p0-i0-responsible": str(version.created_by.public_id),
    }
    data.update(fields)
    return client.post(url, data)


def test_bad_input_is_422_next_to_the_field_and_kept_as_draft(world, as_user):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    version = start(world.alice, world.patient_a)
    url = reverse("plans:edit", args=[world.patient_a.public_id, version.public_id])
    response = _post(
        client,
        url,
        version,
        **{"p0-o0-target_on": "2026-10-01", "p0-goal": "Stay sober for my kids TYPED"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="p0-o0-target_on_error"' in html
    assert "The target date is before the baseline date." in html
    assert "Stay sober for my kids TYPED" in html  # kept
    version.refresh_from_db()
    assert version.draft_data["p0-goal"] == "Stay sober for my kids TYPED"  # not lost
    # Missing target date.
    response = _post(client, url, version, **{"p0-o0-target_on": ""})
    assert response.status_code == 422
    assert "An objective needs a target date." in response.content.decode()
    # Valid.
    version.refresh_from_db()
    response = _post(client, url, version)
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.draft_data == {} and version.objectives.get().target_on == date(2026, 12, 1)


def test_autosave_endpoint_contract(world, as_user):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    version = start(world.alice, world.patient_a)
    url = reverse("plans:autosave", args=[world.patient_a.public_id, version.public_id])
    response = client.post(
        url, {"version": version.version, "p0-goal": "half"}, HTTP_X_AUTOSAVE="1"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["saved"] is True and body["version"] == version.version + 1
    stale = client.post(url, {"version": version.version, "p0-goal": "other"})
    assert stale.status_code == 409 and stale.json()["saved"] is False
    version.refresh_from_db()
    assert version.draft_data["p0-goal"] == "half"
    assert AuditEvent.objects.filter(object_type="plan_version", action="update").exists()


def test_pdf_shows_program_signatures_and_is_audited(world, as_user, signed, relapse):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    p = world.patient_a.public_id
    response = client.get(reverse("plans:pdf", args=[p, signed.public_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert world.program_a.name in text and "Riverside Recovery" in text
    assert "Patient: Avery Canary-PA" in text and "Responsible clinician:" in text
    assert "I want to stay sober for my kids" in text
    assert AuditEvent.objects.filter(action="print", object_type="plan_version").count() == 1
    response = client.get(reverse("plans:relapse_pdf", args=[p, relapse.public_id]))
    text = pdf_text(response.content)
    assert "Payday" in text and "Sam (sponsor): 555-0100" in text
    assert AuditEvent.objects.filter(action="print", object_type="relapse_plan").count() == 1


def test_sign_flow_through_views(world, as_user):  # type: ignore[no-untyped-def]
    from openiop.consents.tests.helpers import png_data_url

    client = as_user(world.alice)
    p = world.patient_a.public_id
    version = start(world.alice, world.patient_a)
    _post(client, reverse("plans:edit", args=[p, version.public_id]), version)
    v = services.version_with_rows(version.public_id)
    digest = services.content_sha256(v)
    bad = client.post(
        reverse("plans:sign_patient", args=[p, v.public_id]),
        {"shown_sha256": digest, "typed_name": "Someone Else", "signature_data": png_data_url()},
    )
    assert bad.status_code == 422 and "does not match" in bad.content.decode()
    ok = client.post(
        reverse("plans:sign_patient", args=[p, v.public_id]),
        {"shown_sha256": digest, "typed_name": "Avery Canary-PA", "signature_data": png_data_url()},
    )
    assert ok.status_code == 302
    no_attest = client.post(
        reverse("plans:sign_staff", args=[p, v.public_id, "clinician"]), {"shown_sha256": digest}
    )
    assert no_attest.status_code == 422
    assert (
        client.post(
            reverse("plans:sign_staff", args=[p, v.public_id, "clinician"]),
            {"shown_sha256": digest, "attest": "on"},
        ).status_code
        == 302
    )
    v.refresh_from_db()
    assert v.status == "signed"


def _count(client, url) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_constant_for_plan_page_version_and_chart(world, as_user, signed):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    p = world.patient_a.public_id
    urls = [reverse("plans:home", args=[p]), reverse("patients:chart_section", args=[p, "plan"])]
    version_url = reverse("plans:version", args=[p, signed.public_id])
    for url in [*urls, version_url]:
        _count(client, url)
    before = [_count(client, url) for url in urls]
    before_version = _count(client, version_url)
    # More history: two reviews signed, homework assigned.
    from openiop.plans.tests.helpers import plan_input, save, sign

    for day in (date(2026, 11, 20), date(2026, 11, 25)):
        v = start(world.alice, world.patient_a, day)
        problem = v.problems.get()
        keys = [(str(problem.key), str(v.objectives.get().key), str(v.interventions.get().key))]
        prev = v.objective_reviews.get().objective
        save(
            world.alice,
            world.patient_a,
            v,
            plan_input(
                world.alice,
                written_on=day,
                problems=1,
                keys=keys,
                review_progress={str(prev.public_id): "progressing"},
                review_summary="ok",
            ),
        )
        sign(world.alice, world.patient_a, v, "patient", day)
        sign(world.alice, world.patient_a, v, "clinician", day)
    for n in range(3):
        HomeworkAssignment.objects.create(
            patient=world.patient_a,
            episode=world.episode_a,
            kind="craving_log",
            assigned_on=date(2026, 11, 2),
            due_on=date(2026, 11, 9 + n),
            assigned_by=world.alice,
        )
    assert [_count(client, url) for url in urls] == before
    assert _count(client, version_url) == before_version


def test_worklist_lists_due_overdue_awaiting_with_constant_queries(world, as_user):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("plans:worklist")
    Episode.objects.filter(pk=world.episode_a.pk).update(admitted_on=date(2026, 10, 1))
    _count(client, url)
    before = _count(client, url)
    PlanDeadlineSetting.objects.create(
        organization=world.org, label="Medicare", plan_type="medicare", review_every_days=60
    )
    for n in range(4):
        patient = PatientFactory(organization=world.org)
        EpisodeFactory(patient=patient, program=world.program_a, admitted_on=date(2026, 10, n + 1))
        if n % 2:
            make_signed_plan(world.alice, patient, day=date(2026, 10, 5))
    after = _count(client, url)
    assert after == before
    response = client.get(url)
    html = response.content.decode()
    assert "Plan overdue" in html
    assert world.patient_a.mrn in html
    assert AuditEvent.objects.filter(object_type="plan_worklist", actor=world.alice).exists()
    # Outsider sees none of program A's patients.
    assert world.patient_a.mrn not in as_user(world.charlie).get(url).content.decode()


def test_relapse_plan_versions_and_bad_input(world, as_user, relapse):  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    p = world.patient_a.public_id
    url = reverse("plans:relapse_edit", args=[p])
    response = client.post(
        url,
        {
            "submission_token": uuid.uuid4(),
            "base_number": 1,
            "triggers": "Payday",
            "coping_strategies": "",
            "after_lapse": "",
        },
    )
    assert response.status_code == 422
    assert "List at least one coping strategy." in response.content.decode()
    response = client.post(
        url,
        {
            "submission_token": uuid.uuid4(),
            "base_number": 1,
            "triggers": "Payday\nBars",
            "coping_strategies": "Walk",
            "after_lapse": "Call Sam",
        },
    )
    assert response.status_code == 302
    assert list(
        RelapsePreventionPlan.objects.filter(patient=world.patient_a).values_list(
            "number", "status"
        )
    ) == [(2, "current"), (1, "superseded")]
