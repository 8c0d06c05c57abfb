"""Clinical notes in a real browser: a group note for six attendees with one attendee's
section copied to another (the clone warning), a signed note with an addendum shown
beside the original, a trainee's note co-signed (and another returned) by the
supervisor from the worklist, and autosave: a draft survives a reload and a session
that times out while the author is typing."""

from __future__ import annotations

import re
import time as clock
from datetime import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from openiop.accounts.roles import Role
from openiop.accounts.sessions import SessionStore
from openiop.core.middleware import SESSION_SEEN_AT
from openiop.notes.models import GroupNote, Note, NoteAddendum, NoteStatus
from openiop.notes.tests.helpers import DAY, DISTINCT, at, draft, held_session, sign
from tests.browser.helpers import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECTIONS = ("participation", "response", "progress", "risk", "plan")


def test_group_note_for_six_with_a_copied_section(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    held = held_session(world, present=6, absent=1)
    base = live_server.url
    sign_in(page, base, world.alice)
    page.goto(f"{base}/notes/sessions/{held.session.public_id}/")
    page.get_by_role("button", name="Start the group note").click()
    attendees = page.locator("fieldset.attendee")
    expect(attendees).to_have_count(6)
    absent = held.absent[0]
    expect(page.locator("main")).not_to_contain_text(absent.legal_family_name)

    page.fill("#id_topic", "Coping with cravings")
    page.fill("#id_summary", "Psychoeducation on the craving curve; urge surfing practice.")
    page.fill("#id_interventions", "CBT skills training, guided practice, feedback.")
    for i, patient in enumerate(held.present):
        ref = patient.public_id
        page.fill(f"#id_{ref}-participation", DISTINCT[i])
        page.fill(f"#id_{ref}-response", f"Responded to feedback about item {i + 1}.")
        page.fill(f"#id_{ref}-progress", f"Progress toward objective {i + 1} noted today.")
        page.fill(f"#id_{ref}-risk", "Denied thoughts of harm.")
        page.fill(f"#id_{ref}-plan", "Continue group three days a week.")
    # The second attendee's individualised section is pasted from the first's.
    first, second = held.present[0].public_id, held.present[1].public_id
    for key in SECTIONS:
        text = page.input_value(f"#id_{first}-{key}")
        page.fill(f"#id_{second}-{key}", text)
    page.get_by_role("button", name="Save draft").click()

    expect(page.locator("#clone-warning")).to_be_visible()
    expect(page.locator(f"#attendee-{second} .clone")).to_contain_text("the same as")
    expect(page.locator(f"#attendee-{first} .clone")).to_be_visible()
    expect(page.locator("fieldset.attendee.cloned")).to_have_count(2)
    # What was typed is kept.
    expect(page.locator(f"#id_{held.present[5].public_id}-participation")).to_have_value(
        DISTINCT[5]
    )
    page.locator("#clone-warning").scroll_into_view_if_needed()
    shot("notes-01-group-clone-warning")

    # Signing is refused while the clone remains.
    page.locator("#sign-group").click()
    expect(page.locator("ul.messages")).to_contain_text("identical individualised text")
    assert GroupNote.objects.get().status == NoteStatus.DRAFT

    # Rewritten for that person, the note signs and each attendee's copy is in the chart.
    page.fill(f"#id_{second}-participation", DISTINCT[10])
    page.fill(f"#id_{second}-response", "Asked a peer for a phone number for the weekend.")
    page.fill(f"#id_{second}-progress", "Used the coping card twice since Monday.")
    page.locator("#sign-group").click()
    expect(page.locator("main")).to_contain_text("each attendee's note is in their chart")
    signed = Note.objects.filter(group_note__isnull=False, status=NoteStatus.SIGNED)
    assert signed.count() == 6
    assert not Note.objects.filter(patient=absent).exists()
    shot("notes-02-group-signed")


def test_sign_then_addendum_shown_with_the_original(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.alice)
    page.goto(f"{base}/notes/patients/{pid}/new/individual/")
    page.fill("#id_service_date", DAY.isoformat())
    page.fill("#id_start_time", "13:00")
    page.fill("#id_end_time", "13:50")
    page.fill("#id_section_data", "Reported three days without use; slept better.")
    page.fill("#id_section_assessment", "Engaged; cravings lower than last week.")
    page.fill("#id_section_plan", "Continue weekly; practise urge surfing daily.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/edit/$"))
    page.get_by_role("button", name="Save and sign").click()
    page.wait_for_url(re.compile(r"/notes/patients/[0-9a-f-]+/[0-9a-f-]+/$"))
    expect(page.locator("#note")).to_contain_text("Signed electronically by")
    expect(page.get_by_role("link", name="Edit draft")).to_have_count(0)

    page.get_by_role("link", name="Add addendum").click()
    page.fill("textarea[name=text]", "Patient called after the session: slept well, no cravings.")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/notes/patients/[0-9a-f-]+/[0-9a-f-]+/$"))
    expect(page.locator("#addenda")).to_contain_text("slept well, no cravings")
    expect(page.locator("#addenda")).to_contain_text(world.alice.display_name)
    # The original is unchanged beside it.
    expect(page.locator("#note")).to_contain_text("Reported three days without use")
    note = Note.objects.get()
    assert note.status == NoteStatus.SIGNED and NoteAddendum.objects.filter(note=note).count() == 1
    assert note.sections["data"] == "Reported three days without use; slept better."
    shot("notes-03-signed-with-addendum")


def test_supervisor_cosigns_and_returns_trainee_notes(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    trainee = UserFactory(
        username="tina",
        organization=world.org,
        role=Role.COUNSELOR,
        programs=[world.program_a],
        is_trainee=True,
    )
    to_cosign = sign(world, draft(world, author=trainee), author=trainee)
    to_return = sign(
        world,
        draft(world, author=trainee, start_time=time(15, 0), end_time=time(15, 45)),
        author=trainee,
        when=at(DAY, time(16, 0)),
    )
    assert to_cosign.status == to_return.status == NoteStatus.PENDING_COSIGN
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.dana)
    page.goto(f"{base}/notes/")
    expect(page.locator("#to-cosign")).to_contain_text("Waiting for my co-signature (2)")
    shot("notes-04-worklist")

    page.goto(f"{base}/notes/patients/{pid}/{to_cosign.public_id}/")
    expect(page.locator("#note")).to_contain_text("awaiting a supervisor's co-signature")
    page.locator("#cosign").click()
    expect(page.locator("#note")).to_contain_text(f"co-signed by {world.dana.display_name}")
    to_cosign.refresh_from_db()
    assert to_cosign.status == NoteStatus.COSIGNED and to_cosign.cosigned_by == world.dana

    page.goto(f"{base}/notes/patients/{pid}/{to_return.public_id}/")
    page.get_by_role("link", name="Return with comments").click()
    page.fill("textarea[name=comment]", "Say which objective the session addressed.")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/notes/patients/[0-9a-f-]+/[0-9a-f-]+/$"))
    expect(page.locator("main")).to_contain_text("Returned by the supervisor")
    to_return.refresh_from_db()
    assert to_return.status == NoteStatus.RETURNED
    assert to_return.return_comment == "Say which objective the session addressed."
    page.goto(f"{base}/notes/")
    expect(page.locator("main")).not_to_contain_text("Waiting for my co-signature")


def _expire_session(context: BrowserContext) -> None:
    """Makes the server treat the browser's session as idle for hours (the real
    time-out path in SessionTimeoutMiddleware, not a deleted cookie)."""
    cookie = next(c for c in context.cookies() if c["name"] == "sessionid")
    store = SessionStore(session_key=cookie["value"])
    store[SESSION_SEEN_AT] = clock.time() - 24 * 3600
    store.save()


def test_autosave_survives_reload_and_session_time_out(  # type: ignore[no-untyped-def]
    page: Page, context: BrowserContext, live_server, world, shot
) -> None:
    note = draft(world)
    base = live_server.url
    pid = world.patient_a.public_id
    edit = f"{base}/notes/patients/{pid}/{note.public_id}/edit/"
    sign_in(page, base, world.alice)
    page.goto(edit)

    first = "Reported five days without use; went to two meetings."
    page.fill("#id_section_data", "")
    page.locator("#id_section_data").press_sequentially(first, delay=5)
    expect(page.locator("[data-autosave-status]")).to_contain_text("Draft saved", timeout=10_000)
    note.refresh_from_db()
    assert note.sections["data"] == first
    page.reload()
    expect(page.locator("#id_section_data")).to_have_value(first)
    expect(page.locator(".autosave-restore")).to_have_count(0)

    # The session times out while the author is typing: the save fails, the text is kept.
    _expire_session(context)
    second = " Mentioned a craving on Sunday evening and called a sponsor."
    page.locator("#id_section_data").press("Control+End")
    page.locator("#id_section_data").press_sequentially(second, delay=5)
    expect(page.locator("[data-autosave-status]")).to_contain_text("signed out", timeout=10_000)
    note.refresh_from_db()
    assert note.sections["data"] == first
    shot("notes-05-autosave-signed-out")

    # Sign in again and reopen the draft: the kept text is offered back and saved.
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    sign_in(page, base, world.alice)
    page.goto(edit)
    expect(page.locator("#id_section_data")).to_have_value(first)
    restore = page.get_by_role("button", name="Restore unsaved text")
    expect(restore).to_be_visible()
    shot("notes-06-restore-offer")
    restore.click()
    expect(page.locator("#id_section_data")).to_have_value(first + second)
    expect(page.locator("[data-autosave-status]")).to_contain_text("Draft saved", timeout=10_000)
    note.refresh_from_db()
    assert note.sections["data"] == first + second
    page.reload()
    expect(page.locator("#id_section_data")).to_have_value(first + second)
    expect(page.locator(".autosave-restore")).to_have_count(0)
