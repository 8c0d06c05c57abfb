"""Services: signing, immutability on every path, co-signature, addenda, group notes
(absentees, clones, names), SUD counseling notes, late entries, audit rows."""

from __future__ import annotations

import uuid
from datetime import time, timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.notes import selectors, services
from openiop.notes.models import (
    GroupNote,
    ImmutableNote,
    Note,
    NoteAddendum,
    NoteEvent,
    NoteSettings,
    NoteStatus,
)
from openiop.notes.tests.helpers import (
    DAY,
    DISTINCT,
    SHARED,
    access,
    at,
    draft,
    held_session,
    individual,
    note_input,
    sign,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_draft_then_sign_freezes_and_hashes(world: Any) -> None:
    note = draft(world)
    assert note.status == NoteStatus.DRAFT and note.minutes == 50
    signed = sign(world, note)
    assert signed.status == NoteStatus.SIGNED
    assert signed.content_sha256 and services.note_integrity_ok(signed)
    assert not signed.late_entry
    kinds = list(NoteEvent.objects.filter(note=note).values_list("kind", flat=True))
    assert kinds == ["drafted", "signed"]
    assert (
        AuditEvent.objects.filter(
            object_type="note", action="sign", patient=world.patient_a
        ).count()
        == 1
    )


def test_double_submit_creates_one_note(world: Any) -> None:
    token = uuid.uuid4()
    kw: dict[str, Any] = {
        "actor": world.alice,
        "access": access(world.patient_a),
        "kind": "individual",
        "data": note_input(world),
        "submission_token": token,
        "now": at(DAY, time(14, 0)),
    }
    assert services.note_create(**kw).pk == services.note_create(**kw).pk
    assert Note.objects.count() == 1


def test_end_before_start_refused_with_field(world: Any) -> None:
    with pytest.raises(services.NoteInvalid) as caught:
        draft(world, start_time=time(14, 0), end_time=time(13, 0))
    assert caught.value.errors == {"end_time": "The end time must be after the start time."}


def test_signing_an_empty_section_refused(world: Any) -> None:
    note = draft(world, sections={"data": "Something.", "assessment": "", "plan": "Plan."})
    with pytest.raises(services.NoteInvalid) as caught:
        sign(world, note)
    assert caught.value.errors == {
        "section_assessment": "Write the assessment section before signing."
    }
    note.refresh_from_db()
    assert note.status == NoteStatus.DRAFT


def test_autosave_keeps_text_even_with_bad_times(world: Any) -> None:
    note = draft(world)
    services.note_update(
        actor=world.alice,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        data=note_input(
            world,
            start_time=None,
            sections={"data": "Typed before the time-out.", "assessment": "", "plan": ""},
        ),
        base_version=note.version,
        now=at(DAY, time(14, 5)),
        autosave=True,
    )
    note.refresh_from_db()
    assert note.sections["data"] == "Typed before the time-out."
    assert note.minutes == 50  # the stored times kept


def test_version_conflict_never_overwrites(world: Any) -> None:
    note = draft(world)
    kw: dict[str, Any] = {
        "actor": world.alice,
        "access": access(world.patient_a),
        "note_public_id": note.public_id,
        "base_version": note.version,
        "now": at(DAY, time(14, 5)),
    }
    services.note_update(data=note_input(world, location_detail="Room 2"), **kw)
    with pytest.raises(services.VersionConflict):
        services.note_update(data=note_input(world, location_detail="Room 3"), **kw)
    note.refresh_from_db()
    assert note.location_detail == "Room 2"


# ----- a signed note cannot be changed through any path ----------------------------------


def test_signed_note_refused_by_service(world: Any) -> None:
    note = sign(world, draft(world))
    with pytest.raises(ServiceError):
        services.note_update(
            actor=world.alice,
            access=access(world.patient_a),
            note_public_id=note.public_id,
            data=note_input(world, sections={"data": "changed", "assessment": "a", "plan": "p"}),
            base_version=note.version,
            now=at(DAY, time(16, 0)),
        )


def test_signed_note_refused_by_orm_save(world: Any) -> None:
    note = sign(world, draft(world))
    note.sections = {**note.sections, "data": "Rewritten later."}
    with pytest.raises(ImmutableNote):
        note.save()
    again = Note.objects.get(pk=note.pk)
    again.minutes = 5
    with pytest.raises(ImmutableNote):
        again.save()
    assert Note.objects.get(pk=note.pk).sections["data"].startswith("Reported")


def test_notes_are_never_deleted(world: Any) -> None:
    note = draft(world)
    with pytest.raises(ImmutableNote):
        note.delete()
    addendum = services.note_addendum_add(
        actor=world.alice,
        access=access(world.patient_a),
        note_public_id=sign(world, note).public_id,
        text="Correction.",
        submission_token=uuid.uuid4(),
        now=at(DAY, time(16, 0)),
    )
    with pytest.raises(ImmutableNote):
        addendum.delete()
    addendum.text = "Changed"
    with pytest.raises(ImmutableNote):
        addendum.save()


def test_no_note_model_in_admin() -> None:
    for model in (Note, GroupNote, NoteAddendum, NoteEvent):
        assert not admin.site.is_registered(model)


def test_tampered_content_detected(world: Any) -> None:
    note = sign(world, draft(world))
    if connection.vendor == "postgresql":
        pytest.skip("the PostgreSQL trigger refuses this update (tested below)")
    Note.objects.filter(pk=note.pk).update(sections={"data": "x", "assessment": "y", "plan": "z"})
    note.refresh_from_db()
    assert not services.note_integrity_ok(note)


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_of_signed_content(world: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the trigger of migration notes/0002")
    from django.db import DatabaseError

    note = sign(world, draft(world))
    with pytest.raises(DatabaseError), transaction.atomic():
        Note.objects.filter(pk=note.pk).update(sections={"data": "x"})
    with pytest.raises(DatabaseError), transaction.atomic():
        Note.objects.filter(pk=note.pk).delete()
    # Status and co-signature columns may still change (here: entered in error).
    Note.objects.filter(pk=note.pk).update(version=note.version + 1)


# ----- co-signature, return, addenda, late entry --------------------------------------------


def test_trainee_note_cosigned_by_supervisor(world: Any) -> None:
    trainee = UserFactory(
        username="tina",
        organization=world.org,
        role="counselor",
        programs=[world.program_a],
        is_trainee=True,
    )
    note = sign(world, draft(world, author=trainee), author=trainee)
    assert note.status == NoteStatus.PENDING_COSIGN and note.cosign_required
    with pytest.raises(ServiceError):  # a counselor is not a supervisor
        services.note_cosign(
            actor=world.alice,
            access=access(world.patient_a),
            note_public_id=note.public_id,
            now=at(DAY, time(16, 0)),
        )
    done = services.note_cosign(
        actor=world.dana,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        now=at(DAY, time(16, 0)),
    )
    assert done.status == NoteStatus.COSIGNED and done.cosigned_by == world.dana
    assert services.note_integrity_ok(done)


def test_supervisor_returns_note_then_author_resigns(world: Any) -> None:
    trainee = UserFactory(
        username="tom",
        organization=world.org,
        role="counselor",
        programs=[world.program_a],
        is_trainee=True,
    )
    note = sign(world, draft(world, author=trainee), author=trainee)
    with pytest.raises(services.NoteInvalid):
        services.note_return(
            actor=world.dana,
            access=access(world.patient_a),
            note_public_id=note.public_id,
            comment=" ",
            now=at(DAY, time(16, 0)),
        )
    returned = services.note_return(
        actor=world.dana,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        comment="Link the plan objective.",
        now=at(DAY, time(16, 0)),
    )
    assert returned.status == NoteStatus.RETURNED
    updated = services.note_update(
        actor=trainee,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        data=note_input(world, location_detail="Room 4"),
        base_version=returned.version,
        now=at(DAY, time(17, 0)),
    )
    assert sign(world, updated, author=trainee).status == NoteStatus.PENDING_COSIGN


def test_roles_the_program_chooses_need_cosign(world: Any) -> None:
    NoteSettings.objects.create(program=world.program_a, cosign_roles=["counselor"])
    assert sign(world, draft(world)).status == NoteStatus.PENDING_COSIGN


def test_late_entry_uses_program_setting(world: Any) -> None:
    NoteSettings.objects.create(program=world.program_a, late_entry_hours=24)
    late = sign(world, draft(world), when=at(DAY + timedelta(days=2), time(9, 0)))
    assert late.late_entry
    on_time = sign(world, draft(world), when=at(DAY, time(18, 0)))
    assert not on_time.late_entry


def test_addendum_dated_attributed_and_audited(world: Any) -> None:
    note = sign(world, draft(world))
    addendum = services.note_addendum_add(
        actor=world.alice,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        text="Patient called after the session: slept well.",
        submission_token=uuid.uuid4(),
        now=at(DAY, time(18, 0)),
    )
    assert addendum.author_name == world.alice.display_name
    assert services.addendum_integrity_ok(addendum)
    note.refresh_from_db()
    assert services.note_integrity_ok(note)  # the original is untouched
    with pytest.raises(services.NoteInvalid):
        services.note_addendum_add(
            actor=world.alice,
            access=access(world.patient_a),
            note_public_id=note.public_id,
            text="  ",
            submission_token=uuid.uuid4(),
            now=at(DAY, time(18, 0)),
        )


def test_draft_cannot_take_addendum_and_is_voided_not_deleted(world: Any) -> None:
    note = draft(world)
    with pytest.raises(ServiceError):
        services.note_addendum_add(
            actor=world.alice,
            access=access(world.patient_a),
            note_public_id=note.public_id,
            text="x",
            submission_token=uuid.uuid4(),
            now=at(DAY, time(18, 0)),
        )
    services.note_mark_entered_in_error(
        actor=world.alice,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        reason="Wrong patient",
        now=at(DAY, time(18, 0)),
    )
    assert Note.objects.get(pk=note.pk).status == NoteStatus.ENTERED_IN_ERROR


def test_other_staff_cannot_sign_someone_elses_draft(world: Any) -> None:
    note = draft(world)
    with pytest.raises(ServiceError):
        sign(world, note, author=world.dana)


# ----- SUD counseling notes --------------------------------------------------------------


def test_sud_counseling_note_only_author_and_permitted_roles(world: Any) -> None:
    note = sign(world, draft(world, is_sud_counseling=True))
    assert note.is_sud_counseling
    got = selectors.note_get(
        actor=world.alice, access=access(world.patient_a), public_id=note.public_id
    )
    assert got.pk == note.pk
    for outsider in (world.dana, world.bob):
        with pytest.raises(Http404):
            selectors.note_get(
                actor=outsider, access=access(world.patient_a), public_id=note.public_id
            )
        page = selectors.notes_for_patient(actor=outsider, access=access(world.patient_a))
        assert list(page.object_list) == []
    NoteSettings.objects.create(program=world.program_a, sud_notes_roles=["program_director"])
    assert selectors.note_get(
        actor=world.dana, access=access(world.patient_a), public_id=note.public_id
    )
    assert AuditEvent.objects.filter(object_type="note", action="access_denied").count() == 2


def test_sud_counseling_notes_excluded_from_exports_by_default(world: Any) -> None:
    sign(world, draft(world, is_sud_counseling=True))
    plain = sign(world, draft(world))
    chosen = selectors.notes_for_export(
        patient=world.patient_a,
        recipient_name="County Hospital",
        recipient_class="outside_provider",
        purpose="TREAT",
        on=DAY,
    )
    assert [n.pk for n in chosen.notes] == [plain.pk] and chosen.sud_withheld == 1
    asked = selectors.notes_for_export(
        patient=world.patient_a,
        recipient_name="County Hospital",
        recipient_class="outside_provider",
        purpose="TREAT",
        on=DAY,
        include_sud_counseling=True,
    )
    assert not asked.sud_included and asked.sud_withheld == 1  # no consent on file


# ----- group notes -------------------------------------------------------------------------------


def _start(world: Any, held: Any, actor: Any = None) -> GroupNote:
    return services.group_note_start(
        actor=actor or world.alice, session=held.session, now=at(DAY, time(13, 0))
    )


def _save(world: Any, held: Any, texts: dict[Any, str], actor: Any = None) -> tuple[GroupNote, Any]:
    group = GroupNote.objects.get(session=held.session)
    return services.group_note_save(
        actor=actor or world.alice,
        session=held.session,
        shared=SHARED,
        individual=individual(texts),
        base_version=group.version,
        now=at(DAY, time(13, 30)),
    )


def test_group_note_one_note_per_attendee_none_for_absent(world: Any) -> None:
    held = held_session(world, present=4, absent=2)
    group = _start(world, held)
    notes = Note.objects.filter(group_note=group)
    assert {n.patient_id for n in notes} == {p.pk for p in held.present}
    assert not Note.objects.filter(patient__in=held.absent).exists()
    assert AuditEvent.objects.filter(object_type="group_note", action="create").count() == 4
    assert _start(world, held).pk == group.pk  # starting twice: one group note


def test_group_note_refused_before_it_happens_or_without_attendance(world: Any) -> None:
    held = held_session(world, present=2, absent=0)
    with pytest.raises(ServiceError):
        services.group_note_start(actor=world.alice, session=held.session, now=at(DAY, time(8, 0)))


def test_group_sign_refuses_clones_and_names_then_signs(world: Any) -> None:
    held = held_session(world, present=6, absent=1)
    _start(world, held)
    texts = dict(zip(held.present, DISTINCT, strict=False))
    texts[held.present[1]] = texts[held.present[0]]  # one section copied to a second attendee
    group, warnings = _save(world, held, texts)
    assert len(warnings.clones) == 1 and warnings.clones[0].identical
    with pytest.raises(services.NoteInvalid) as caught:
        services.group_note_sign(
            actor=world.alice,
            session=held.session,
            base_version=group.version,
            names_checked=False,
            now=at(DAY, time(14, 0)),
        )
    assert any(k.endswith("-clone") for k in caught.value.errors)
    # Rewrite it, but name another attendee in one copy.
    other = held.present[2]
    texts[held.present[1]] = (
        f"Supported {other.legal_given_name} during the role play; " + DISTINCT[10]
    )
    group, warnings = _save(world, held, texts)
    assert not warnings.clones and list(warnings.names) == [str(held.present[1].public_id)]
    with pytest.raises(services.NoteInvalid) as caught:
        services.group_note_sign(
            actor=world.alice,
            session=held.session,
            base_version=group.version,
            names_checked=False,
            now=at(DAY, time(14, 0)),
        )
    assert "names_checked" in caught.value.errors
    texts[held.present[1]] = DISTINCT[10]
    group, warnings = _save(world, held, texts)
    assert not warnings.any
    signed = services.group_note_sign(
        actor=world.alice,
        session=held.session,
        base_version=group.version,
        names_checked=False,
        now=at(DAY, time(14, 0)),
    )
    assert signed.status == NoteStatus.SIGNED
    for note in Note.objects.filter(group_note=signed).select_related("patient"):
        assert note.status == NoteStatus.SIGNED and services.note_integrity_ok(note)
        assert note.shared["summary"] == SHARED.summary
        # No other attendee's name anywhere in this patient's copy.
        copy = str(note.sections) + str(note.shared)
        for p in held.present:
            if p.pk != note.patient_id:
                assert p.legal_family_name not in copy


def test_group_sign_refuses_empty_sections(world: Any) -> None:
    held = held_session(world, present=2, absent=0)
    _start(world, held)
    group, warnings = _save(world, held, {held.present[0]: DISTINCT[0]})
    assert str(held.present[1].public_id) in warnings.empty
    with pytest.raises(services.NoteInvalid):
        services.group_note_sign(
            actor=world.alice,
            session=held.session,
            base_version=group.version,
            names_checked=False,
            now=at(DAY, time(14, 0)),
        )


def test_trainee_group_note_cosigned_at_once(world: Any) -> None:
    trainee = UserFactory(
        username="tess",
        organization=world.org,
        role="counselor",
        programs=[world.program_a],
        is_trainee=True,
    )
    held = held_session(world, present=3, absent=0, facilitator=trainee)
    _start(world, held, trainee)
    group, _ = _save(world, held, dict(zip(held.present, DISTINCT, strict=False)), trainee)
    group = services.group_note_sign(
        actor=trainee,
        session=held.session,
        base_version=group.version,
        names_checked=False,
        now=at(DAY, time(14, 0)),
    )
    assert group.status == NoteStatus.PENDING_COSIGN
    group = services.group_note_cosign(
        actor=world.dana, session=held.session, now=at(DAY, time(15, 0))
    )
    assert group.status == NoteStatus.COSIGNED
    assert set(Note.objects.filter(group_note=group).values_list("status", flat=True)) == {
        "cosigned"
    }


def _group_queries(world: Any, size: int, day: Any) -> tuple[int, int]:
    """Queries to start, then save and sign, a group note for `size` attendees."""
    held = held_session(world, present=size, absent=1, day=day)
    with CaptureQueriesContext(connection) as start_q:
        services.group_note_start(actor=world.alice, session=held.session, now=at(day, time(13, 0)))
    texts = dict(zip(held.present, DISTINCT, strict=False))
    group = GroupNote.objects.get(session=held.session)
    with CaptureQueriesContext(connection) as write_q:
        group, _ = services.group_note_save(
            actor=world.alice,
            session=held.session,
            shared=SHARED,
            individual=individual(texts),
            base_version=group.version,
            now=at(day, time(13, 30)),
        )
        services.group_note_sign(
            actor=world.alice,
            session=held.session,
            base_version=group.version,
            names_checked=False,
            now=at(day, time(14, 0)),
        )
    return len(start_q.captured_queries), len(write_q.captured_queries)


def test_group_note_queries_constant(world: Any) -> None:
    _group_queries(world, 2, DAY - timedelta(days=7))  # first writes (audit chain head...)
    small = _group_queries(world, 3, DAY)
    big = _group_queries(world, 15, DAY + timedelta(days=2))
    assert small == big, (small, big)


def test_one_note_per_group_and_patient(world: Any) -> None:
    held = held_session(world, present=2, absent=0)
    group = _start(world, held)
    with pytest.raises(IntegrityError), transaction.atomic():
        Note.objects.create(
            patient=held.present[0],
            program=world.program_a,
            kind="group",
            format="group",
            group_note=group,
            service_date=DAY,
            starts_at=group.starts_at,
            ends_at=group.ends_at,
            author=world.alice,
        )
