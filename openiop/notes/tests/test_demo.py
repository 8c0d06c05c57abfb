"""The notes demo: every kind of note, drafts for the worklist, a trainee's note awaiting
co-signature, an addendum, an SUD counseling note, group notes with one note per
attendee; every signed note's hash is what signing computes; a bounded query count."""

from __future__ import annotations

from collections import Counter
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import User
from openiop.notes import demo, rules, selectors, services
from openiop.notes.models import GroupNote, Note, NoteAddendum, NoteStatus

TODAY = date(2026, 3, 4)


@pytest.mark.django_db
def test_demo_notes(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = True
    out = StringIO()
    call_command("demo_data", "--patients", "40", "--seed", "7", "--today", str(TODAY), stdout=out)
    assert "demo_data: notes:" in out.getvalue()
    notes = list(Note.objects.select_related("author"))
    kinds = Counter(n.kind for n in notes)
    assert {"individual", "med_management", "case_management", "group"} <= set(kinds)
    assert all(
        n.author.username == "prescriber" or n.author.role == "prescriber"
        for n in notes
        if n.kind == "med_management"
    )
    assert any(n.status == NoteStatus.DRAFT for n in notes)
    pending = [n for n in notes if n.status == NoteStatus.PENDING_COSIGN]
    assert len(pending) == 1 and pending[0].author.username == "trainee"
    assert all(
        n.status in (NoteStatus.COSIGNED, NoteStatus.PENDING_COSIGN, NoteStatus.DRAFT)
        for n in notes
        if n.author.is_trainee
    )
    assert sum(n.is_sud_counseling for n in notes) == 1
    # Signed content hashes are exactly what the services compute.
    locked = [n for n in notes if n.status in rules.LOCKED]
    assert len(locked) > 20
    assert all(services.note_integrity_ok(n) for n in locked)
    addendum = NoteAddendum.objects.get()
    assert services.addendum_integrity_ok(addendum)
    groups = list(GroupNote.objects.all())
    assert groups and any(g.status == NoteStatus.DRAFT for g in groups)
    for g in groups:
        copies = [n for n in notes if n.group_note_id == g.pk]
        assert copies and all(n.status == g.status for n in copies)
    # The director's worklist shows the pending co-signature.
    wl = selectors.worklist(
        actor=User.objects.get(username="director"),
        now=pending[0].ends_at,
        all_staff=True,
    )
    assert [i.note for i in wl.to_cosign] == pending


COUNTED: list[int] = []


def counted_load(*, seed: int, today: date) -> str:
    with CaptureQueriesContext(connection) as queries:
        report = demo.load(seed=seed, today=today)
    COUNTED.append(len(queries.captured_queries))
    return report


@pytest.mark.django_db
@pytest.mark.parametrize("patients", [30, 90])
def test_demo_notes_bounded_queries(settings, monkeypatch, patients: int) -> None:  # type: ignore[no-untyped-def]
    """A bounded number of queries whatever the demo's size (bulk inserts)."""
    from openiop.core.management.commands import demo_data

    settings.DEMO_MODE = True
    path = "openiop.notes.tests.test_demo.counted_load"
    monkeypatch.setattr(
        demo_data,
        "EXTENSIONS",
        tuple(path if p == "openiop.notes.demo.load" else p for p in demo_data.EXTENSIONS),
    )
    COUNTED.clear()
    call_command(
        "demo_data",
        "--patients",
        str(patients),
        "--seed",
        "3",
        "--today",
        str(TODAY),
        stdout=StringIO(),
    )
    # 6 reads and one INSERT per table; SQLite splits big inserts into batches of a few
    # hundred variables, so 30 patients take 10 queries and 90 take 15 (PostgreSQL: 10).
    assert COUNTED and COUNTED[0] <= 24, COUNTED
