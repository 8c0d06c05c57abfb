"""Scheduling in a real browser: a director builds a track's weekly template (a bad
entry first: error next to the field, input kept), generates its sessions, a counselor
enrols a patient mid-cycle, and the patient is on future rosters but not past ones.
Screenshots of the week calendar go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.scheduling.models import GroupSession, Room, Topic, TrackTopic
from openiop.scheduling.tests.helpers import make_track
from tests.browser.helpers import field_error, sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_track_template_generate_and_rolling_enrolment(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot, browser
) -> None:
    base = live_server.url
    track = make_track(world)
    Room.objects.create(site=world.program_a.site, name="Group room 1", capacity=14)
    Room.objects.create(site=world.program_a.site, name="Office 2", capacity=3)
    topics = [
        Topic.objects.create(organization=world.org, name=n, duration_minutes=180)
        for n in ("Relapse prevention", "Coping with cravings")
    ]
    for i, t in enumerate(topics):
        TrackTopic.objects.create(track=track, topic=t, position=i)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(weeks=1)

    sign_in(page, base, world.dana)
    page.goto(f"{base}/scheduling/tracks/{track.public_id}/templates/new/")
    page.fill("#id_name", "Morning group")
    page.fill("#id_start_time", "11:00")
    page.fill("#id_end_time", "10:00")
    page.select_option("#id_room", label="Office 2")
    page.fill("#id_capacity", "9")
    page.select_option("#id_facilitator", label=world.alice.display_name)
    page.fill("#id_valid_from", start.isoformat())
    submit(page)
    assert field_error(page, "id_end_time") == "The session must end after it starts."
    assert "Office 2 seats 3" in field_error(page, "id_capacity")
    expect(page.locator("#id_name")).to_have_value("Morning group")
    page.fill("#id_start_time", "09:00")
    page.fill("#id_end_time", "12:00")
    page.select_option("#id_room", label="Group room 1")
    submit(page)
    expect(page.locator(".messages")).to_contain_text("Weekly template saved")
    # Generating starts from today: move it back so past sessions exist (as if generated
    # last week), then generate through three weeks ahead.
    through = monday + timedelta(weeks=3, days=6)
    page.fill("td form input[name=through]", through.isoformat())
    page.locator("td form button").click()
    expect(page.locator(".messages")).to_contain_text("sessions generated")
    assert GroupSession.objects.filter(track=track).count() > 0
    # Past sessions (from before today) of the same track, e.g. last week's.
    template = track.templates.get()
    for d in (start, start + timedelta(days=1), start + timedelta(days=3)):
        GroupSession.objects.create(
            track=track,
            program=track.program,
            template=template,
            on=d,
            starts_at=timezone.make_aware(timezone.datetime.combine(d, template.start_time)),
            ends_at=timezone.make_aware(timezone.datetime.combine(d, template.end_time)),
            room=template.room,
            facilitator=template.facilitator,
            capacity=12,
        )

    # A counselor enrols the patient from today (mid-cycle).
    page.context.clear_cookies()
    sign_in(page, base, world.alice)
    page.goto(f"{base}/scheduling/patients/{world.patient_a.public_id}/enrol/")
    page.select_option("#id_track", label=track.name)
    page.fill("#id_start_on", today.isoformat())
    submit(page)
    expect(page.locator("#current-track")).to_contain_text("Morning SUD")

    past = GroupSession.objects.filter(track=track, on__lt=today).order_by("on").first()
    future = GroupSession.objects.filter(track=track, on__gt=today).order_by("on").first()
    assert past is not None and future is not None
    page.goto(f"{base}/scheduling/sessions/{future.public_id}/")
    expect(page.locator("#roster")).to_contain_text("Canary-PA")
    page.goto(f"{base}/scheduling/sessions/{past.public_id}/")
    expect(page.locator("#roster")).not_to_contain_text("Canary-PA")
    expect(page.locator("#roster")).to_contain_text("Nobody enrolled")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/scheduling/tracks/{track.public_id}/calendar/?date={future.on}")
    expect(page.locator(".cal-event.kind-group.rs-9").first).to_be_visible()
    shot("scheduling-track-week")
    page.goto(f"{base}/scheduling/patients/{world.patient_a.public_id}/calendar/")
    shot("scheduling-patient-week")
    page.goto(f"{base}/scheduling/tracks/{track.public_id}/calendar/?view=day&date={future.on}")
    shot("scheduling-track-day")


def _crowd_day(world, day):  # type: ignore[no-untyped-def]
    """Many overlapping events on one day of alice's calendar: two groups she leads and
    nine appointments, seven of them at the same hour (more than the grid's lanes)."""
    from datetime import time

    from openiop.scheduling.models import Appointment
    from tests.factories import PatientFactory

    track = make_track(world, name="Crowded morning track with a long name")
    room = Room.objects.create(site=world.program_a.site, name="Big group room", capacity=20)
    tz = timezone.get_current_timezone()

    def at(t: time):  # type: ignore[no-untyped-def]
        return timezone.datetime.combine(day, t, tzinfo=tz)

    for start, end in ((time(9), time(12)), (time(9, 30), time(10, 30))):
        GroupSession.objects.create(
            track=track,
            program=track.program,
            on=day,
            starts_at=at(start),
            ends_at=at(end),
            room=room,
            facilitator=world.alice,
            capacity=12,
        )
    kinds = ["individual", "med_management", "case_management", "family"]
    slots = [(time(10), time(11))] * 7 + [(time(13), time(13, 20)), (time(15), time(17, 30))]
    for i, (start, end) in enumerate(slots):
        patient = PatientFactory(organization=world.org, legal_family_name=f"Crowd{i}")
        Appointment.objects.create(
            patient=patient,
            program=world.program_a,
            kind=kinds[i % 4],
            staff=world.alice,
            on=day,
            starts_at=at(start),
            ends_at=at(end),
            created_by=world.alice,
        )
    return track


def test_calendars_at_phone_width_with_many_overlaps(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    base = live_server.url
    today = timezone.localdate()
    day = today - timedelta(days=today.weekday()) + timedelta(days=2)  # this Wednesday
    _crowd_day(world, day)
    sign_in(page, base, world.alice)
    url = f"{base}/scheduling/staff/{world.alice.public_id}/calendar/"
    for width, name in ((390, "phone"), (1280, "desktop")):
        page.set_viewport_size({"width": width, "height": 900})
        for view in ("week", "day"):
            page.goto(f"{url}?view={view}&date={day}")
            shot(f"scheduling-crowded-{view}-{name}")
            # The page itself never scrolls sideways.
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
            agenda = page.locator("#agenda li.cal-event")
            if name == "phone" or view == "day":
                # Every event is listed, readable at full width.
                expect(page.locator("#agenda")).to_be_visible()
                assert agenda.count() == 11
                widths = [agenda.nth(i).bounding_box()["width"] for i in range(11)]  # type: ignore[index]
                assert min(widths) >= width * 0.75 - 40, widths
            if name == "phone":
                expect(page.locator(".cal")).to_be_hidden()
                continue
            # On the grid no event hides behind another: 7 at 10:00 beside the two groups
            # is more than the lanes (3 in a week's narrow columns, 6 in a day), so the
            # rest are counted as "+N more" (linking to the list) instead of overlapping.
            drawn, more = (5, 6) if view == "week" else (8, 3)
            grid = page.locator(f'.cal-day[data-day="{day}"] .cal-event')
            assert grid.count() == drawn
            expect(page.locator(".cal-head .cal-more")).to_have_text(f"+{more} more")
            boxes = [grid.nth(i).bounding_box() for i in range(grid.count())]
            for i, a in enumerate(boxes):
                assert a is not None and a["width"] >= 14 and a["height"] >= 10, a
                for b in boxes[i + 1 :]:
                    assert b is not None
                    overlap_x = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
                    overlap_y = min(a["y"] + a["height"], b["y"] + b["height"]) - max(
                        a["y"], b["y"]
                    )
                    assert overlap_x <= 1 or overlap_y <= 1, (a, b)


def test_closure_cancels_generated_sessions_and_waitlist_promotion(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    from openiop.patients.selectors import PatientAccess
    from openiop.scheduling import services
    from openiop.scheduling.models import Enrolment, ScheduleChange, WaitlistEntry
    from tests.factories import EpisodeFactory, PatientFactory

    base = live_server.url
    track = make_track(world, max_group_size=1)
    room = Room.objects.create(site=world.program_a.site, name="Group room 1", capacity=14)
    today = timezone.localdate()
    template = services.template_create(
        actor=world.dana,
        track=track,
        data=services.TemplateInput(
            name="Morning group",
            weekdays="013",
            start_time=track.day_start,
            end_time=track.day_end,
            room=room,
            facilitator=world.alice,
            co_facilitator=None,
            topic=None,
            capacity=1,
            valid_from=today,
            valid_until=None,
        ),
    )
    services.template_generate(
        actor=world.dana,
        template_public_id=template.public_id,
        through=today + timedelta(weeks=3),
        today=today,
    )
    target = GroupSession.objects.filter(track=track, on__gt=today).order_by("on").first()
    assert target is not None

    # The director records a holiday on a day that already has a session.
    sign_in(page, base, world.dana)
    page.goto(f"{base}/scheduling/closures/")
    page.fill("#id_on", target.on.isoformat())
    submit(page)
    assert field_error(page, "id_name") == "This field is required."
    expect(page.locator("#id_on")).to_have_value(target.on.isoformat())
    page.fill("#id_name", "Founders' day")
    submit(page)
    expect(page.locator(".messages")).to_contain_text("Closure recorded")
    expect(page.locator("#affected")).to_contain_text("Morning SUD")
    shot("scheduling-closure-offer")
    page.locator("#affected button").click()
    expect(page.locator(".messages")).to_contain_text("1 session cancelled by the program")
    expect(page.locator("#affected")).to_contain_text("None: nothing to cancel")
    target.refresh_from_db()
    assert target.cancelled_by == "program" and target.cancel_reason == "Closed: Founders' day"
    assert ScheduleChange.objects.filter(session=target).count() == 1
    page.goto(f"{base}/scheduling/sessions/{target.public_id}/")
    expect(page.locator("h1")).to_contain_text("cancelled by the program")

    # The track is full: enrolling a second patient puts them on the waitlist.
    services.enrolment_create(
        actor=world.alice,
        access=PatientAccess(world.patient_a, False),
        episode_public_id=world.episode_a.public_id,
        track=track,
        start_on=today,
    )
    waiting = PatientFactory(organization=world.org, legal_family_name="Canary-WAIT")
    EpisodeFactory(patient=waiting, program=world.program_a)
    page.context.clear_cookies()
    sign_in(page, base, world.alice)
    page.goto(f"{base}/scheduling/patients/{waiting.public_id}/enrol/")
    page.select_option("#id_track", label=track.name)
    page.fill("#id_start_on", today.isoformat())
    submit(page)
    expect(page.locator(".messages")).to_contain_text("on its waitlist")
    page.goto(f"{base}/scheduling/tracks/{track.public_id}/waitlist/")
    expect(page.locator("#waitlist")).to_contain_text("Canary-WAIT")
    expect(page.locator("#places")).to_contain_text("Full")
    expect(page.locator("#waitlist button")).to_have_count(0)

    # A place frees: the first patient's enrolment ends today (off the rosters from today).
    enrolment = Enrolment.objects.get(patient=world.patient_a)
    services.enrolment_end(
        actor=world.alice,
        access=PatientAccess(world.patient_a, False),
        enrolment_public_id=enrolment.public_id,
        ended_on=today,
        reason="discharge",
        base_version=enrolment.version,
    )
    page.goto(f"{base}/scheduling/tracks/{track.public_id}/")
    expect(page.locator("#places")).to_contain_text("1 place free")
    expect(page.locator("#places")).to_contain_text("1 waiting")
    page.goto(f"{base}/scheduling/tracks/{track.public_id}/waitlist/")
    shot("scheduling-waitlist-place-free")
    page.locator("#waitlist button", has_text="Enrol now").click()
    expect(page.locator(".messages")).to_contain_text("Enrolled from the waitlist")
    expect(page.locator("#waitlist")).to_contain_text("Nobody is waiting")
    assert WaitlistEntry.objects.get(patient=waiting).status == "enrolled"
    assert Enrolment.objects.filter(patient=waiting, ended_on__isnull=True).count() == 1
