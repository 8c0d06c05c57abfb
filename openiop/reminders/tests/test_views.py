"""Chart pages for reminder preferences and feed URLs, and the staff feed page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.reminders.models import CalendarFeedToken, FeedStatus, ReminderPreference


def _urls(world) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    pid = world.patient_a.public_id
    return [
        ("get", reverse("reminders:preferences", args=[pid])),
        ("post", reverse("reminders:preferences", args=[pid])),
        ("post", reverse("reminders:feed_issue", args=[pid])),
        ("post", reverse("reminders:feed_revoke", args=[pid])),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
def test_outsiders_are_refused_and_audited(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    user = getattr(world, outsider)
    client = as_user(user)
    for method, url in _urls(world):
        before = AuditEvent.objects.filter(actor=user, outcome="denied").count()
        response = getattr(client, method)(url, {"lead_minutes": 60, "version": 0})
        assert response.status_code in (403, 404), (url, response.status_code)
        assert b"Canary-PA" not in response.content
        assert AuditEvent.objects.filter(actor=user, outcome="denied").count() == before + 1
    assert not ReminderPreference.objects.exists()
    assert not CalendarFeedToken.objects.exists()


@pytest.mark.django_db
def test_read_only_auditor_cannot_change(world, as_user) -> None:  # type: ignore[no-untyped-def]
    bob = as_user(world.bob)
    for method, url in _urls(world):
        assert getattr(bob, method)(url).status_code == 403


@pytest.mark.django_db
def test_anonymous_goes_to_sign_in(world, client) -> None:  # type: ignore[no-untyped-def]
    for method, url in [*_urls(world), ("get", reverse("reminders:my_calendar"))]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_preferences_saved_and_audited(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("reminders:preferences", args=[world.patient_a.public_id])
    page = client.get(url)
    assert page.status_code == 200 and b"Reminder preferences" in page.content
    response = client.post(url, {"sms_enabled": "on", "lead_minutes": "120", "version": "0"})
    assert response.status_code == 302
    pref = ReminderPreference.objects.get(patient=world.patient_a)
    assert (pref.email_enabled, pref.sms_enabled, pref.lead_minutes, pref.version) == (
        False,
        True,
        120,
        1,
    )
    event = AuditEvent.objects.filter(object_type="reminder_preference").get()
    assert event.patient_id == world.patient_a.pk and event.actor_id == world.alice.pk
    assert event.detail["email_enabled"] is False


@pytest.mark.django_db
def test_bad_lead_time_is_422_next_to_the_field_with_input_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    url = reverse("reminders:preferences", args=[world.patient_a.public_id])
    response = client.post(url, {"sms_enabled": "on", "lead_minutes": "7", "version": "0"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_lead_minutes_error"' in html
    assert 'id="id_sms_enabled" checked' in html
    assert not ReminderPreference.objects.exists()


@pytest.mark.django_db
def test_concurrent_edit_is_refused_showing_what_is_saved(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("reminders:preferences", args=[world.patient_a.public_id])
    alice, dana = as_user(world.alice), as_user(world.dana)
    assert (
        alice.post(url, {"email_enabled": "on", "lead_minutes": "60", "version": "0"}).status_code
        == 302
    )
    stale = dana.post(url, {"sms_enabled": "on", "lead_minutes": "2880", "version": "0"})
    assert stale.status_code == 422
    assert b'id="conflict"' in stale.content and b"60 minutes before" in stale.content
    assert ReminderPreference.objects.get().lead_minutes == 60


@pytest.mark.django_db
def test_issue_shows_url_once_and_revoke_stops_it(world, as_user, client) -> None:  # type: ignore[no-untyped-def]
    staff = as_user(world.alice)
    pid = world.patient_a.public_id
    response = staff.post(reverse("reminders:feed_issue", args=[pid]))
    assert response.status_code == 200
    url = response.context["feed_url"]
    assert url.startswith("http://testserver/reminders/feed/") and url.endswith(".ics")
    path = url.removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    chart = staff.get(reverse("patients:chart_section", args=[pid, "schedule"]))
    assert path not in chart.content.decode()
    revoke = staff.post(reverse("reminders:feed_revoke", args=[pid]))
    assert revoke.status_code == 302
    assert client.get(path).status_code == 404
    assert CalendarFeedToken.objects.get().status == FeedStatus.REVOKED
    actions = list(
        AuditEvent.objects.filter(object_type="calendar_feed_token")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "status_change"]


@pytest.mark.django_db
def test_staff_own_feed_page(world, as_user, client) -> None:  # type: ignore[no-untyped-def]
    alice = as_user(world.alice)
    page = alice.get(reverse("reminders:my_calendar"))
    assert page.status_code == 200 and b"no calendar feed address" in page.content
    issued = alice.post(reverse("reminders:my_feed_issue"))
    path = issued.context["feed_url"].removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    assert b"Active since" in alice.get(reverse("reminders:my_calendar")).content
    # another staff member cannot revoke alice's feed: each page acts on its own user
    as_user(world.charlie).post(reverse("reminders:my_feed_revoke"))
    assert client.get(path).status_code == 200
    alice.post(reverse("reminders:my_feed_revoke"))
    assert client.get(path).status_code == 404
    assert (
        AuditEvent.objects.filter(object_type="calendar_feed_token", actor=world.alice).count() == 2
    )


@pytest.mark.django_db
def test_feed_with_a_session_cookie_still_needs_the_token(world, as_user) -> None:  # type: ignore[no-untyped-def]
    alice = as_user(world.alice)
    assert alice.get(reverse("reminders:feed", args=["abc.def"])).status_code == 404


@pytest.mark.django_db
def test_chart_part_shows_preferences_feed_and_recent_reminders(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    chart_url = reverse("patients:chart_section", args=[world.patient_a.public_id, "schedule"])
    html = client.get(chart_url).content.decode()
    assert 'id="reminders"' in html and "Reminders 1 day before" in html and "(defaults)" in html
    assert "Create calendar feed address" in html
    client.post(reverse("reminders:feed_issue", args=[world.patient_a.public_id]))
    html = client.get(chart_url).content.decode()
    assert "Calendar feed:" in html and "active since" in html and "Revoke calendar feed" in html
    bob = as_user(world.bob).get(chart_url).content.decode()  # read-only: no buttons
    assert 'id="reminders"' in bob and "Revoke calendar feed" not in bob
