"""Patient views: scoping, audit, errors next to fields, constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.access.models import BreakGlassGrant
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.factories import EpisodeFactory, PatientFactory

VALID = {
    "legal_given_name": "Morgan",
    "legal_family_name": "Okafor",
    "date_of_birth": "1988-07-09",
    "sex_at_birth": "female",
    "pronouns": "she/her",
    "phone": "555-301-4455",
    "postal_code": "43215",
    "preferred_language": "English",
    "initial_status": "referred",
    "submission_token": "6f1c7d1e-6a7b-4c4e-9a53-2b8b1f1d2e3a",
}


def test_search_shows_only_own_programs_and_audits_each_listed_patient(world, as_user) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.alice).get(reverse("patients:search"), {"q": "canary"})
    assert b"Canary-PA" in response.content and b"Canary-PB" not in response.content
    event = AuditEvent.objects.get(actor=world.alice, action="search")
    assert event.patient == world.patient_a


@pytest.mark.parametrize("query", ["avery", "1990-05-17", "Canary-PA avery"])
def test_search_finds_by_name_and_birth_date(world, as_user, query) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.alice).get(reverse("patients:search"), {"q": query})
    assert b"Canary-PA" in response.content


def test_search_by_mrn_and_phone(world, as_user) -> None:  # type: ignore[no-untyped-def]
    Patient.objects.filter(pk=world.patient_a.pk).update(
        phone="555-777-1212", phone_digits="5557771212"
    )
    client = as_user(world.alice)
    assert b"Canary-PA" in client.get(reverse("patients:search"), {"q": "(555) 777-1212"}).content
    assert (
        b"Canary-PA" in client.get(reverse("patients:search"), {"q": world.patient_a.mrn}).content
    )


def test_search_htmx_returns_only_the_results_fragment(world, as_user) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.alice).get(
        reverse("patients:search"),
        {"q": "canary"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="search-results",
    )
    assert b"<html" not in response.content and b"Canary-PA" in response.content


def _count(client, url, params=None) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)


def test_search_query_count_does_not_grow_with_results(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("patients:search")
    _count(client, url, {"q": "warm-up"})
    few = _count(client, url, {"q": "canary"})
    for _ in range(30):
        EpisodeFactory(
            patient=PatientFactory(organization=world.org, legal_family_name="Canary-X"),
            program=world.program_a,
        )
    many = _count(client, url, {"q": "canary"})
    # session, user and device 3; the search with each row's newest episode 1; the
    # audit rows' append 5 (begin, lock the head, insert, update the head, commit).
    assert few == many and many <= 9


def test_search_row_shows_the_newest_episode(world, as_user) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    patient = PatientFactory(organization=world.org, legal_family_name="Newest-Ep")
    EpisodeFactory(patient=patient, program=world.program_a, status="discharged",
                   referred_on=date(2025, 1, 5))  # fmt: skip
    EpisodeFactory(patient=patient, program=world.program_b, status="screening",
                   referred_on=date(2026, 3, 1))  # fmt: skip
    response = as_user(world.alice).get(reverse("patients:search"), {"q": "newest-ep"})
    row = response.content.decode().split("Newest-Ep", 1)[1].split("</tr>", 1)[0]
    assert world.program_b.name in row and "Screening" in row
    assert world.program_a.name not in row and "Discharged" not in row
    assert f'href="/patients/{patient.public_id}/"' in response.content.decode()


def test_chart_query_count_does_not_grow_with_history(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("patients:chart", args=[world.patient_a.public_id])
    _count(client, url)
    before = _count(client, url)
    for _ in range(5):
        EpisodeFactory(
            patient=world.patient_a,
            program=world.program_a,
            status="discharged",
            primary_counselor=world.alice,
        )
    after = _count(client, url)
    # The overview tab only (the capability sections have their own tabs, counted in
    # test_chart_tabs.py): session, user and device 3, patient 1, episodes with their
    # events 2, coverage 1, contacts 1, open alerts 1, the audit row's append 5. It was
    # 41 when every section was on the chart.
    assert before == after and before <= 14


def test_chart_read_is_audited(world, as_user) -> None:  # type: ignore[no-untyped-def]
    as_user(world.bob).get(reverse("patients:chart", args=[world.patient_a.public_id]))
    event = AuditEvent.objects.get(actor=world.bob, action="read", object_type="patient_chart")
    assert (
        event.patient == world.patient_a and event.actor_role == "auditor" and not event.break_glass
    )
    assert event.detail == {"section": "overview"}


def test_register_with_a_bad_field_keeps_everything_else(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    data = VALID | {"program": world.program_a.pk, "postal_code": "4321"}
    response = client.post(reverse("patients:register"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter a 5-digit ZIP code" in html
    assert (
        'value="Morgan"' in html and 'value="555-301-4455"' in html and 'value="1988-07-09"' in html
    )
    assert not Patient.objects.filter(legal_family_name="Okafor").exists()
    response = client.post(reverse("patients:register"), data | {"postal_code": "43215"})
    assert response.status_code == 302
    patient = Patient.objects.get(legal_family_name="Okafor")
    assert response["Location"] == reverse("patients:chart", args=[patient.public_id])


def test_register_double_submit_creates_one_patient(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    data = VALID | {"program": world.program_a.pk}
    first = client.post(reverse("patients:register"), data)
    second = client.post(reverse("patients:register"), data)
    assert first["Location"] == second["Location"]
    assert Patient.objects.filter(legal_family_name="Okafor").count() == 1


def test_register_duplicate_warning_then_confirm(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    data = VALID | {
        "program": world.program_a.pk,
        "legal_given_name": "Avery",
        "legal_family_name": "Canary-PA",
        "date_of_birth": "1990-05-17",
        "submission_token": "0b4d3f52-8f6e-4a43-b1f5-0d3c93b4b7aa",
    }
    response = client.post(reverse("patients:register"), data)
    assert response.status_code == 422 and b'id="duplicate-warning"' in response.content
    assert world.patient_a.mrn.encode() in response.content
    response = client.post(reverse("patients:register"), data | {"confirm_not_duplicate": "on"})
    assert response.status_code == 302
    assert Patient.objects.filter(legal_family_name="Canary-PA").count() == 2


def test_register_is_refused_into_another_program(world, as_user) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.dana).post(
        reverse("patients:register"), VALID | {"program": world.program_b.pk}
    )
    assert response.status_code == 422
    assert not Patient.objects.filter(legal_family_name="Okafor").exists()


def test_edit_conflict_shows_the_other_change_and_keeps_input(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("patients:edit", args=[world.patient_a.public_id])
    alice, dana = as_user(world.alice), as_user(world.dana)
    form = alice.get(url).context["form"].initial
    base = {k: ("" if v is None else v) for k, v in form.items()} | {"date_of_birth": "1990-05-17"}
    assert dana.post(url, base | {"city": "Columbus"}).status_code == 302
    response = alice.post(url, base | {"phone": "555-444-3333"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="conflict"' in html and "Columbus" in html and 'value="555-444-3333"' in html
    world.patient_a.refresh_from_db()
    assert world.patient_a.city == "Columbus" and world.patient_a.phone == ""


def test_break_the_glass_grants_time_limited_audited_access(world, as_user, settings) -> None:  # type: ignore[no-untyped-def]
    import time_machine

    charlie = as_user(world.charlie)
    chart = reverse("patients:chart", args=[world.patient_a.public_id])
    assert charlie.get(chart).status_code == 404
    bad = charlie.post(
        reverse("patients:break_glass"),
        {"mrn": world.patient_a.mrn, "date_of_birth": "1990-05-17", "reason": "short"},
    )
    assert bad.status_code == 422 and not BreakGlassGrant.objects.exists()
    ok = charlie.post(
        reverse("patients:break_glass"),
        {
            "mrn": world.patient_a.mrn,
            "date_of_birth": "1990-05-17",
            "reason": "Patient in crisis at front desk",
        },
    )
    assert ok.status_code == 302
    response = charlie.get(chart)
    assert response.status_code == 200 and b"Emergency access" in response.content
    assert AuditEvent.objects.filter(
        actor=world.charlie, patient=world.patient_a, break_glass=True, action="read"
    ).exists()
    dashboard = as_user(world.dana).get(reverse("core:dashboard"))
    assert b"Patient in crisis at front desk" in dashboard.content
    with time_machine.travel(BreakGlassGrant.objects.get().expires_at, tick=False):
        assert charlie.get(chart).status_code in (302, 404)


def test_wrong_mrn_or_birth_date_grants_nothing(world, as_user) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.charlie).post(
        reverse("patients:break_glass"),
        {
            "mrn": world.patient_a.mrn,
            "date_of_birth": "1990-05-18",
            "reason": "Patient in crisis at front desk",
        },
    )
    assert response.status_code == 422 and not BreakGlassGrant.objects.exists()


def test_search_row_escapes_what_staff_typed(world, as_user) -> None:  # type: ignore[no-untyped-def]
    patient = PatientFactory(
        organization=world.org,
        legal_family_name="Esc<b>ape",
        legal_given_name='Quo"te',
        pronouns="<i>they</i>",
        phone="555<script>",
    )
    EpisodeFactory(patient=patient, program=world.program_a)
    html = as_user(world.alice).get(reverse("patients:search"), {"q": "esc"}).content.decode()
    assert "Esc&lt;b&gt;ape, Quo&quot;te" in html and "<b>ape" not in html
    assert "(&lt;i&gt;they&lt;/i&gt;)" in html and "555&lt;script&gt;" in html
    assert "<script>" not in html.split("<main", 1)[1]


def test_the_timeline_shows_each_change_and_escapes_what_staff_typed(world, as_user) -> None:  # type: ignore[no-untyped-def]
    from openiop.episodes.models import EpisodeEvent

    episode = world.episode_a
    from django.utils import timezone

    base = {
        "episode": episode,
        "effective_on": episode.referred_on,
        "changed_by": world.alice,
        "changed_at": timezone.now(),
    }
    EpisodeEvent.objects.create(
        **base,
        kind=EpisodeEvent.Kind.STATUS,
        from_status="referred",
        to_status="screening",
        reason="<b>triage</b> & call",
    )
    EpisodeEvent.objects.create(
        **base, kind=EpisodeEvent.Kind.LEVEL_OF_CARE, from_level="1", to_level="2.1"
    )
    EpisodeEvent.objects.create(**base, kind=EpisodeEvent.Kind.CARE_TEAM, reason="new <i>lead</i>")
    html = as_user(world.alice).get(reverse("patients:chart", args=[world.patient_a.public_id]))
    text = html.content.decode()
    assert (
        'Referred → Screening <span class="muted">(&lt;b&gt;triage&lt;/b&gt; &amp; call)</span>'
        in text
    )
    assert "Level 1 → 2.1" in text
    assert "Care team changed (new &lt;i&gt;lead&lt;/i&gt;)" in text
    assert "<b>triage" not in text and "<i>lead" not in text
    assert f'<span class="muted">by {world.alice.display_name}</span>' in text
