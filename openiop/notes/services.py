"""Writing notes: drafts, autosave, signing, co-signing, returning, addenda, entered in
error, printing, and group notes written once for every attendee.

Each service runs in one transaction with its audit row(s) and its `NoteEvent`s.
Services check the permission and the program membership again (a future API or
command cannot skip the view's check), call the pure rules in `rules.py`, and never
change a signed note's content: corrections are addenda.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.attendance.models import AttendanceRecord
from openiop.attendance.rules import ATTENDED
from openiop.audit.models import AuditAction
from openiop.audit.services import AuditEntry, audit_record, audit_record_many
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.episodes.rules import OPEN_STATUSES
from openiop.notes import rules
from openiop.notes.models import (
    GroupNote,
    Location,
    Note,
    NoteAddendum,
    NoteEvent,
    NoteFormat,
    NoteKind,
    NoteSettings,
    NoteStatus,
)
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.scheduling.models import Appointment, GroupSession, SessionStatus, Topic


class NoteInvalid(ServiceError):
    """One or more fields are missing or wrong (field -> message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        field_name, message = next(iter(errors.items()))
        super().__init__(ErrorCode.INVALID, message, field=field_name)
        self.errors = errors


class VersionConflict(ServiceError):
    def __init__(self, current: Note | GroupNote) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else saved this note while you were editing. Your entries are kept "
            "below; check them against what is now saved, then save again.",
        )
        self.current = current


# ----- inputs -----


@dataclass(frozen=True)
class NoteInput:
    """What the author fills in for an individual, medication- or case-management note."""

    program: Program
    format: str
    service_date: date | None
    start_time: time | None
    end_time: time | None
    location: str = Location.OFFICE
    location_detail: str = ""
    sections: Mapping[str, str] = field(default_factory=dict)
    objective_ids: Sequence[str] = ()
    homework: str = ""
    homework_ids: Sequence[str] = ()
    is_sud_counseling: bool = False
    # The kept appointment the note documents (set once, at creation).
    appointment: Appointment | None = None


@dataclass(frozen=True)
class SharedInput:
    """The shared part of a group note, written once."""

    topic: str
    curriculum: Topic | None
    facilitators: str
    start_time: time | None
    end_time: time | None
    summary: str
    interventions: str


@dataclass(frozen=True)
class IndividualInput:
    """One attendee's individualised section of a group note."""

    sections: Mapping[str, str]
    objective_ids: Sequence[str] = ()


# ----- helpers -----


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _require_member(actor: User, program_id: int, field_name: str | None = None) -> None:
    if not ProgramMembership.objects.filter(user=actor, program_id=program_id).exists():
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "You can only write notes in your own programs.",
            field=field_name,
        )


def settings_for(program_id: int) -> NoteSettings:
    """The program's note settings, or the defaults (unsaved) when it has none."""
    row = NoteSettings.objects.filter(program_id=program_id).first()
    return row if row is not None else NoteSettings(program_id=program_id)


def rule_actor(actor: User, note: Note | GroupNote) -> rules.Actor:
    return rules.Actor(
        can_write=actor.has_perm_code(Perm.NOTE_WRITE),
        can_cosign=actor.has_perm_code(Perm.NOTE_COSIGN),
        is_trainee=actor.is_trainee,
        is_author=note.author_id == actor.pk,
    )


def _check(action: str, actor: User, note: Note | GroupNote) -> None:
    why = rules.refusal(action, note.status, rule_actor(actor, note))
    if why is not None:
        raise ServiceError(ErrorCode.NOT_ALLOWED, why)


def _aware(day: date, at: time | None) -> datetime | None:
    if at is None:
        return None
    return timezone.make_aware(datetime.combine(day, at))


def _times(day: date | None, start: time | None, end: time | None) -> tuple[datetime, datetime]:
    errors: dict[str, str] = {}
    if day is None:
        errors["service_date"] = "Give the date of the service."
        raise NoteInvalid(errors)
    starts_at, ends_at = _aware(day, start), _aware(day, end)
    errors.update(rules.time_errors(starts_at, ends_at))
    if errors:
        raise NoteInvalid(errors)
    assert starts_at is not None and ends_at is not None
    return starts_at, ends_at


def _event(
    note: Note, *, kind: str, actor: User, at: datetime, comment: str = "", **detail: Any
) -> NoteEvent:
    return NoteEvent.objects.create(
        note=note, kind=kind, at=at, actor=actor, comment=comment, detail=detail
    )


def _audit(
    actor: User,
    access: PatientAccess,
    note: Note,
    action: AuditAction,
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        patient=access.patient,
        object_type="note",
        object_id=note.public_id,
        break_glass=access.via_break_glass,
        detail={"kind": note.kind, "sud": note.is_sud_counseling, **(detail or {})},
    )


def _locked(access: PatientAccess, note_public_id: UUID | str) -> Note:
    note = (
        Note.objects.select_for_update()
        .filter(patient=access.patient, public_id=note_public_id)
        .first()
    )
    if note is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such note.")
    return note


def _clean_sections(kind: str, fmt: str, sections: Mapping[str, str]) -> dict[str, str]:
    keys = rules.sections_for(kind, fmt)
    return {k: (sections.get(k) or "").strip() for k in keys}


def _objectives(patient: Patient, ids: Sequence[str]) -> list[dict[str, str]]:
    """The chosen objectives of the patient's own plan, with their text as written."""
    if not ids:
        return []
    from openiop.notes.links import objectives_for_patients

    offered = {o.id: o for o in objectives_for_patients([patient.pk]).get(patient.pk, [])}
    unknown = [i for i in ids if i not in offered]
    if unknown:
        raise NoteInvalid({"objectives": "Choose objectives from this patient's own plan."})
    return [{"id": i, "text": offered[i].text} for i in ids]


def _homework(patient: Patient, ids: Sequence[str], text: str) -> list[dict[str, str]]:
    from openiop.notes.links import homework_for_patients

    items: list[dict[str, str]] = []
    if ids:
        offered = {h.id: h for h in homework_for_patients([patient.pk]).get(patient.pk, [])}
        if any(i not in offered for i in ids):
            raise NoteInvalid({"homework_ids": "Choose homework assigned to this patient."})
        items += [{"id": i, "text": offered[i].text} for i in ids]
    if text.strip():
        items.append({"id": "", "text": text.strip()})
    return items


def content_fields(note: Note) -> dict[str, Any]:
    """What a note's hash covers: everything the reader relies on."""
    return {
        "public_id": str(note.public_id),
        "patient": note.patient_id,
        "program": note.program_id,
        "episode": note.episode_id,
        "kind": note.kind,
        "format": note.format,
        "group_note": note.group_note_id,
        "appointment": note.appointment_id,
        "service_date": note.service_date,
        "starts_at": note.starts_at.astimezone(UTC).isoformat(),
        "ends_at": note.ends_at.astimezone(UTC).isoformat(),
        "minutes": note.minutes,
        "location": note.location,
        "location_detail": note.location_detail,
        "sections": note.sections,
        "shared": note.shared,
        "objectives": note.objectives,
        "homework": note.homework,
        "is_sud_counseling": note.is_sud_counseling,
        "author": note.author_id,
        "signed_name": note.signed_name,
        "signed_at": note.signed_at.astimezone(UTC).isoformat() if note.signed_at else "",
        "late_entry": note.late_entry,
    }


def addendum_fields(addendum: NoteAddendum) -> dict[str, Any]:
    return {
        "public_id": str(addendum.public_id),
        "note": addendum.note_id,
        "text": addendum.text,
        "author": addendum.author_id,
        "author_name": addendum.author_name,
        "written_at": addendum.written_at.astimezone(UTC).isoformat(),
    }


def note_integrity_ok(note: Note) -> bool:
    """Whether a signed note's stored content still matches its hash."""
    if note.status not in rules.LOCKED:
        return True
    return bool(note.content_sha256) and note.content_sha256 == rules.content_digest(
        content_fields(note)
    )


def addendum_integrity_ok(addendum: NoteAddendum) -> bool:
    return addendum.content_sha256 == rules.content_digest(addendum_fields(addendum))


# ----- individual, medication-management and case-management notes -----


INDIVIDUAL_KINDS = (NoteKind.INDIVIDUAL, NoteKind.MED_MANAGEMENT, NoteKind.CASE_MANAGEMENT)


def _apply(note: Note, data: NoteInput, *, lenient: bool = False) -> None:
    """Copy the input onto a draft. `lenient` (autosave) keeps the stored times when the
    typed ones are incomplete or wrong, so the text is saved whatever else is wrong."""
    if data.format not in rules.FORMAT_SECTIONS or data.format == rules.GROUP:
        raise NoteInvalid({"format": "Choose DAP, BIRP or SOAP."})
    if data.location not in Location.values:
        raise NoteInvalid({"location": "Choose where the service took place."})
    try:
        starts_at, ends_at = _times(data.service_date, data.start_time, data.end_time)
    except NoteInvalid:
        if not lenient or note.pk is None:
            raise
    else:
        note.service_date = starts_at.date() if data.service_date is None else data.service_date
        note.starts_at, note.ends_at = starts_at, ends_at
        note.minutes = rules.minutes_between(starts_at, ends_at)
    note.program = data.program
    note.format = data.format
    note.location = data.location
    note.location_detail = data.location_detail.strip()
    note.sections = _clean_sections(note.kind, data.format, data.sections)
    note.objectives = _objectives(note.patient, data.objective_ids)
    note.homework = _homework(note.patient, data.homework_ids, data.homework)
    note.is_sud_counseling = data.is_sud_counseling and note.kind == NoteKind.INDIVIDUAL


NO_OPEN_EPISODE = (
    "The patient has no open episode in this program. A note documents care in an "
    "episode: admit (or readmit) the patient first, or choose the program they are in."
)


def open_episode(patient: Patient, program: Program) -> Episode:
    """The patient's active episode in the program, else another open one (referred,
    screening: observation visits, assessments); refused when every episode is closed."""
    episodes = list(
        Episode.objects.filter(
            patient=patient, program=program, status__in=sorted(OPEN_STATUSES)
        ).order_by("-referred_on", "-id")
    )
    if not episodes:
        raise NoteInvalid({"program": NO_OPEN_EPISODE})
    active = [e for e in episodes if e.status == EpisodeStatus.ACTIVE]
    return (active or episodes)[0]


# Which appointment kinds each note kind documents (family sessions: individual notes).
APPOINTMENT_KINDS = rules.APPOINTMENT_KINDS_FOR_NOTE


def _check_appointment(patient: Patient, kind: str, data: NoteInput) -> None:
    appt = data.appointment
    assert appt is not None
    Appointment.objects.select_for_update().filter(pk=appt.pk).first()
    why = rules.appointment_note_refusal(
        note_kind=kind,
        appointment_kind=appt.kind,
        same_patient=appt.patient_id == patient.pk,
        cancelled=appt.status == SessionStatus.CANCELLED,
        attended=AttendanceRecord.objects.filter(
            appointment=appt, status__in=sorted(ATTENDED)
        ).exists(),
        has_note=Note.objects.filter(appointment=appt)
        .exclude(status=NoteStatus.ENTERED_IN_ERROR)
        .exists(),
    )
    if why is not None:
        raise NoteInvalid({"program": why})
    if appt.program_id != data.program.pk:
        raise NoteInvalid({"program": "Choose the program the appointment was in."})


@transaction.atomic
def note_create(
    *,
    actor: User,
    access: PatientAccess,
    kind: str,
    data: NoteInput,
    submission_token: UUID,
    now: datetime,
) -> Note:
    """Start a draft note for one patient (individual, medication or case management)."""
    _require(actor, Perm.NOTE_WRITE)
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    if receipt is not None:
        return Note.objects.get(public_id=receipt.object_public_id)
    if kind not in INDIVIDUAL_KINDS:
        raise ServiceError(ErrorCode.INVALID, "Unknown kind of note.", field="kind")
    _require_member(actor, data.program.pk, "program")
    episode = open_episode(access.patient, data.program)
    if data.appointment is not None:
        _check_appointment(access.patient, kind, data)
    note = Note(
        patient=access.patient,
        kind=kind,
        author=actor,
        episode=episode,
        appointment=data.appointment,
    )
    _apply(note, data)
    note.save()
    _event(note, kind=NoteEvent.Kind.DRAFTED, actor=actor, at=now)
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="note", object_public_id=note.public_id
    )
    _audit(actor, access, note, AuditAction.CREATE)
    return note


@transaction.atomic
def note_update(
    *,
    actor: User,
    access: PatientAccess,
    note_public_id: UUID | str,
    data: NoteInput,
    base_version: int,
    now: datetime,
    autosave: bool = False,
) -> Note:
    """Change a draft (or a returned note). A signed note is never changed."""
    _require(actor, Perm.NOTE_WRITE)
    note = _locked(access, note_public_id)
    _check(rules.EDIT, actor, note)
    if note.group_note_id is not None:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Edit a group note from its session.")
    if note.version != base_version:
        raise VersionConflict(note)
    _require_member(actor, data.program.pk, "program")
    before = content_fields(note)
    _apply(note, data, lenient=autosave)
    changed = sorted(k for k, v in content_fields(note).items() if before[k] != v)
    if not changed:
        return note
    note.version += 1
    note.save()
    _event(note, kind=NoteEvent.Kind.EDITED, actor=actor, at=now, fields=changed, auto=autosave)
    _audit(actor, access, note, AuditAction.UPDATE, {"fields": changed, "autosave": autosave})
    return note


def _signing_errors(note: Note) -> dict[str, str]:
    keys = rules.sections_for(note.kind, note.format)
    empty = rules.empty_sections(note.sections or {}, keys)
    labels = {k: rules.SECTION_LABELS.get(k, k).lower() for k in empty}
    return {
        f"section_{k}": f"Write the {label} section before signing." for k, label in labels.items()
    }


def _seal(note: Note, *, actor: User, now: datetime, late_after: timedelta, role: str) -> None:
    note.signed_at = now
    note.signed_name = actor.display_name
    note.late_entry = rules.is_late_entry(
        service_ended_at=note.ends_at, signed_at=now, late_after=late_after
    )
    note.content_sha256 = rules.content_digest(content_fields(note))
    note.return_comment = ""


def _cosign_needed(actor: User, program_id: int) -> tuple[bool, timedelta]:
    cfg = settings_for(program_id)
    needed = rules.cosign_required(
        is_trainee=actor.is_trainee, role=actor.role, cosign_roles=cfg.cosign_roles
    )
    return needed, timedelta(hours=cfg.late_entry_hours)


@transaction.atomic
def note_sign(
    *,
    actor: User,
    access: PatientAccess,
    note_public_id: UUID | str,
    base_version: int,
    now: datetime,
) -> Note:
    """The author signs: content frozen and hashed; trainees' notes go to a supervisor."""
    _require(actor, Perm.NOTE_WRITE)
    note = _locked(access, note_public_id)
    if note.status in rules.LOCKED and note.author_id == actor.pk and note.version == base_version:
        return note  # a repeated click on "Sign": the first one stands
    _check(rules.SIGN, actor, note)
    if note.group_note_id is not None:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Sign a group note from its session.")
    if note.version != base_version:
        raise VersionConflict(note)
    _require_member(actor, note.program_id)
    errors = _signing_errors(note)
    if errors:
        raise NoteInvalid(errors)
    needed, late_after = _cosign_needed(actor, note.program_id)
    _seal(note, actor=actor, now=now, late_after=late_after, role=actor.role)
    note.cosign_required = needed
    note.status = NoteStatus.PENDING_COSIGN if needed else NoteStatus.SIGNED
    note.version += 1
    note.save()
    reviewed = _mark_homework_reviewed(actor, access, note, now)
    _event(
        note,
        kind=NoteEvent.Kind.COSIGN_REQUESTED if needed else NoteEvent.Kind.SIGNED,
        actor=actor,
        at=now,
        content_sha256=note.content_sha256,
        late_entry=note.late_entry,
        homework_reviewed=reviewed,
    )
    _audit(
        actor,
        access,
        note,
        AuditAction.SIGN,
        {"content_sha256": note.content_sha256, "late_entry": note.late_entry, "cosign": needed},
    )
    return note


def _mark_homework_reviewed(
    actor: User, access: PatientAccess, note: Note, now: datetime
) -> list[str]:
    """Completed homework the signed note says was reviewed is marked reviewed through
    the homework app's own service (its rules, its audit row). Homework not completed
    yet stays as it is: the note records that it was discussed."""
    from openiop.homework.models import AssignmentStatus, HomeworkAssignment
    from openiop.homework.services import homework_mark_reviewed

    ids = [h["id"] for h in note.homework or [] if h.get("id")]
    if not ids:
        return []
    completed = HomeworkAssignment.objects.filter(
        patient=access.patient, public_id__in=ids, status=AssignmentStatus.COMPLETED
    ).values_list("public_id", flat=True)
    done = []
    for public_id in completed:
        try:
            homework_mark_reviewed(
                actor=actor,
                access=access,
                assignment_public_id=public_id,
                note=f"Reviewed in the {note.get_kind_display().lower()} session of "
                f"{note.service_date:%Y-%m-%d} (note {note.public_id}).",
                now=now,
            )
        except ServiceError:
            continue  # e.g. a role that writes notes but not homework: the note stands
        done.append(str(public_id))
    return done


def _cosign_one(note: Note, actor: User, now: datetime) -> None:
    note.status = NoteStatus.COSIGNED
    note.cosigned_by = actor
    note.cosigned_name = actor.display_name
    note.cosigned_at = now
    note.version += 1


@transaction.atomic
def note_cosign(
    *, actor: User, access: PatientAccess, note_public_id: UUID | str, now: datetime
) -> Note:
    """A supervisor co-signs a note waiting for them (content unchanged)."""
    _require(actor, Perm.NOTE_COSIGN)
    note = _locked(access, note_public_id)
    if note.status == NoteStatus.COSIGNED and note.cosigned_by_id == actor.pk:
        return note
    _check(rules.COSIGN, actor, note)
    _require_member(actor, note.program_id)
    if not note_integrity_ok(note):
        raise ServiceError(
            ErrorCode.CONFLICT, "This note's content does not match its signature; not co-signed."
        )
    _cosign_one(note, actor, now)
    note.save()
    _event(note, kind=NoteEvent.Kind.COSIGNED, actor=actor, at=now)
    _audit(actor, access, note, AuditAction.SIGN, {"cosign": True})
    return note


@transaction.atomic
def note_return(
    *,
    actor: User,
    access: PatientAccess,
    note_public_id: UUID | str,
    comment: str,
    now: datetime,
) -> Note:
    """A supervisor sends a note back to its author with comments; the author's
    signature is withdrawn and the note can be edited and signed again."""
    _require(actor, Perm.NOTE_COSIGN)
    note = _locked(access, note_public_id)
    _check(rules.RETURN, actor, note)
    _require_member(actor, note.program_id)
    if not comment.strip():
        raise NoteInvalid({"comment": "Say what the author should change."})
    note.status = NoteStatus.RETURNED
    note.return_comment = comment.strip()
    note.version += 1
    note.save()
    _event(note, kind=NoteEvent.Kind.RETURNED, actor=actor, at=now, comment=comment.strip())
    _audit(actor, access, note, AuditAction.STATUS_CHANGE, {"to": "returned"})
    return note


@transaction.atomic
def note_addendum_add(
    *,
    actor: User,
    access: PatientAccess,
    note_public_id: UUID | str,
    text: str,
    submission_token: UUID,
    now: datetime,
) -> NoteAddendum:
    """A dated, attributed correction or addition to a signed note (never edited)."""
    _require(actor, Perm.NOTE_WRITE)
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    if receipt is not None:
        return NoteAddendum.objects.get(public_id=receipt.object_public_id)
    note = _locked(access, note_public_id)
    _check(rules.AMEND, actor, note)
    _require_member(actor, note.program_id)
    if not text.strip():
        raise NoteInvalid({"text": "Write the addendum."})
    addendum = NoteAddendum(
        note=note, text=text.strip(), author=actor, author_name=actor.display_name, written_at=now
    )
    addendum.note_id = note.pk
    addendum.content_sha256 = rules.content_digest(addendum_fields(addendum))
    addendum.save()
    _event(
        note, kind=NoteEvent.Kind.ADDENDUM, actor=actor, at=now, addendum=str(addendum.public_id)
    )
    SubmissionReceipt.objects.create(
        token=submission_token,
        actor=actor,
        kind="note_addendum",
        object_public_id=addendum.public_id,
    )
    _audit(actor, access, note, AuditAction.CREATE, {"addendum": str(addendum.public_id)})
    return addendum


@transaction.atomic
def note_mark_entered_in_error(
    *,
    actor: User,
    access: PatientAccess,
    note_public_id: UUID | str,
    reason: str,
    now: datetime,
) -> Note:
    """Void a draft written by mistake (kept, never deleted). Signed notes take addenda."""
    _require(actor, Perm.NOTE_WRITE)
    note = _locked(access, note_public_id)
    if note.status == NoteStatus.ENTERED_IN_ERROR:
        return note
    _check(rules.EDIT, actor, note)
    if not reason.strip():
        raise NoteInvalid({"reason": "Give the reason."})
    before = note.status
    note.status = NoteStatus.ENTERED_IN_ERROR
    note.version += 1
    note.save()
    _event(note, kind=NoteEvent.Kind.ENTERED_IN_ERROR, actor=actor, at=now, comment=reason.strip())
    _audit(
        actor, access, note, AuditAction.STATUS_CHANGE, {"from": before, "to": "entered_in_error"}
    )
    return note


@transaction.atomic
def note_print(
    *, actor: User, access: PatientAccess, note_public_id: UUID | str, now: datetime
) -> tuple[Note, bytes]:
    """A signed note with its addenda as a PDF (audited PRINT, kept in the history)."""
    from openiop.notes.pdf import note_pdf
    from openiop.notes.selectors import note_get

    _require(actor, Perm.NOTE_VIEW)
    note = note_get(actor=actor, access=access, public_id=note_public_id, audit=False)
    if note.status not in rules.LOCKED:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Only a signed note can be printed.")
    integrity_ok = note_integrity_ok(note) and all(
        addendum_integrity_ok(a) for a in note.addenda.all()
    )
    pdf = note_pdf(
        note=note, patient=access.patient, printed_at=now, printed_by=actor, ok=integrity_ok
    )
    _event(note, kind=NoteEvent.Kind.PRINTED, actor=actor, at=now)
    _audit(actor, access, note, AuditAction.PRINT, {"integrity_ok": integrity_ok})
    return note, pdf


# ----- group notes -----


@dataclass
class GroupWarnings:
    """What the facilitator must look at before signing."""

    clones: list[rules.Clone] = field(default_factory=list)
    # patient public id -> [(whose name, the words found)]
    names: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # patient public id -> the sections still empty
    empty: dict[str, list[str]] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.clones or self.names or self.empty)

    def cloned_refs(self) -> set[str]:
        return {c.first for c in self.clones} | {c.second for c in self.clones}


def _person(p: Patient) -> rules.PersonNames:
    return rules.PersonNames(
        ref=str(p.public_id),
        legal_given=p.legal_given_name,
        legal_family=p.legal_family_name,
        preferred=p.preferred_name,
        legal_middle=p.legal_middle_name,
    )


def individual_text(sections: Mapping[str, str]) -> str:
    return "\n".join(sections.get(k, "") for k in rules.FORMAT_SECTIONS[rules.GROUP])


def group_warnings(group: GroupNote, notes: Sequence[Note]) -> GroupWarnings:
    """Clones, other attendees' names, empty sections (pure over loaded rows)."""
    live = [n for n in notes if n.status != NoteStatus.ENTERED_IN_ERROR]
    people = {str(n.patient.public_id): _person(n.patient) for n in live}
    warnings = GroupWarnings()
    texts = {str(n.patient.public_id): individual_text(n.sections or {}) for n in live}
    warnings.clones = rules.clones(texts, names={ref: p.forms() for ref, p in people.items()})
    shared_text = "\n".join([group.topic, group.facilitators, group.summary, group.interventions])
    for n in live:
        ref = str(n.patient.public_id)
        hits = rules.other_attendee_names(texts[ref], own=people[ref], others=people.values())
        # The shared part goes into every copy: no attendee may be named there at all.
        hits += rules.other_attendee_names(shared_text, own=None, others=people.values())
        if hits:
            found = {h.ref: h.matched for h in hits}
            warnings.names[ref] = [
                (f"{people[r].legal_given} {people[r].legal_family}", m) for r, m in found.items()
            ]
        empty = rules.empty_sections(n.sections or {}, rules.FORMAT_SECTIONS[rules.GROUP])
        if empty:
            warnings.empty[ref] = empty
    return warnings


def _group_locked(session: GroupSession) -> GroupNote | None:
    return GroupNote.objects.select_for_update().filter(session=session).first()


def _attendees(session: GroupSession) -> list[AttendanceRecord]:
    return list(
        AttendanceRecord.objects.filter(session=session, status__in=sorted(ATTENDED))
        .select_related("patient")
        .order_by("patient__legal_family_name", "patient__legal_given_name")
    )


def _group_audit(
    actor: User, patients: Sequence[Patient], action: AuditAction, group: GroupNote, **detail: Any
) -> None:
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                action=action,
                patient=p,
                object_type="group_note",
                object_id=str(group.public_id),
                detail=detail,
            )
            for p in patients
        ],
    )


@transaction.atomic
def group_note_start(*, actor: User, session: GroupSession, now: datetime) -> GroupNote:
    """Start (or reopen) the group note of a session that took place: the shared part
    from the schedule, and one draft per attendee from attendance (absentees get none).
    Calling it again adds drafts for attendees marked since, and voids untouched drafts
    of patients since marked absent."""
    _require(actor, Perm.NOTE_WRITE)
    _require_member(actor, session.program_id)
    GroupSession.objects.select_for_update().filter(pk=session.pk).first()
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "This session was cancelled; it has no note.")
    if session.starts_at > now:
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "Write the note after the session has taken place."
        )
    attendees = _attendees(session)
    if not attendees:
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "Take attendance first: the note is written for those present."
        )
    group = _group_locked(session)
    created = group is None
    if group is None:
        names = [u.display_name for u in (session.facilitator, session.co_facilitator) if u]
        group = GroupNote.objects.create(
            session=session,
            program_id=session.program_id,
            topic=session.topic.name if session.topic else "",
            curriculum=session.topic,
            facilitators="; ".join(names),
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            author=actor,
        )
    existing = {n.patient_id: n for n in Note.objects.filter(group_note=group)}
    present = {r.patient_id for r in attendees}
    episodes = {
        e.patient_id: e
        for e in Episode.objects.filter(
            patient_id__in=present, program_id=session.program_id
        ).order_by("patient_id", "referred_on", "id")
    }
    new = [
        Note(
            patient=r.patient,
            program_id=session.program_id,
            episode=episodes.get(r.patient_id),
            kind=NoteKind.GROUP,
            format=NoteFormat.GROUP,
            group_note=group,
            service_date=session.on,
            starts_at=group.starts_at,
            ends_at=group.ends_at,
            minutes=r.minutes_attended or rules.minutes_between(group.starts_at, group.ends_at),
            sections=dict.fromkeys(rules.FORMAT_SECTIONS[rules.GROUP], ""),
            author=group.author,
        )
        for r in attendees
        if r.patient_id not in existing
    ]
    Note.objects.bulk_create(new)
    gone = [n for pid, n in existing.items() if pid not in present and n.status in rules.EDITABLE]
    for n in gone:
        n.status = NoteStatus.ENTERED_IN_ERROR
        n.version += 1
    if gone:
        Note.objects.bulk_update(gone, ["status", "version"])
    if created or new or gone:
        _group_audit(
            actor,
            [r.patient for r in attendees],
            AuditAction.CREATE if created else AuditAction.UPDATE,
            group,
            added=len(new),
            voided=len(gone),
        )
    return group


def group_notes(group: GroupNote) -> list[Note]:
    """A group note's per-patient notes with their patients (1 query)."""
    return list(
        Note.objects.filter(group_note=group)
        .exclude(status=NoteStatus.ENTERED_IN_ERROR)
        .select_related("patient")
        .order_by("patient__legal_family_name", "patient__legal_given_name")
    )


@transaction.atomic
def group_note_save(
    *,
    actor: User,
    session: GroupSession,
    shared: SharedInput,
    individual: Mapping[str, IndividualInput],
    base_version: int,
    now: datetime,
    autosave: bool = False,
) -> tuple[GroupNote, GroupWarnings]:
    """Save the shared part and every attendee's section in a fixed number of queries.
    Returns the warnings to show (clones, other attendees' names, empty sections)."""
    _require(actor, Perm.NOTE_WRITE)
    _require_member(actor, session.program_id)
    group = _group_locked(session)
    if group is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "Start the group note first.")
    _check(rules.EDIT, actor, group)
    if group.version != base_version:
        raise VersionConflict(group)
    try:
        starts_at, ends_at = _times(session.on, shared.start_time, shared.end_time)
    except NoteInvalid:
        if not autosave:
            raise
        starts_at, ends_at = group.starts_at, group.ends_at
    group.topic = shared.topic.strip()
    group.curriculum = shared.curriculum
    group.facilitators = shared.facilitators.strip()
    group.starts_at, group.ends_at = starts_at, ends_at
    group.summary = shared.summary.strip()
    group.interventions = shared.interventions.strip()
    group.version += 1
    group.save()
    notes = group_notes(group)
    from openiop.notes.links import objectives_for_patients

    offered = objectives_for_patients([n.patient_id for n in notes])
    errors: dict[str, str] = {}
    for n in notes:
        ref = str(n.patient.public_id)
        item = individual.get(ref)
        if item is None or n.status not in rules.EDITABLE:
            continue
        n.sections = _clean_sections(NoteKind.GROUP, rules.GROUP, item.sections)
        allowed = {o.id: o for o in offered.get(n.patient_id, [])}
        if any(i not in allowed for i in item.objective_ids):
            errors[f"{ref}-objectives"] = "Choose objectives from this patient's own plan."
        n.objectives = [
            {"id": i, "text": allowed[i].text} for i in item.objective_ids if i in allowed
        ]
        n.starts_at, n.ends_at = starts_at, ends_at
        n.minutes = min(
            n.minutes, rules.minutes_between(starts_at, ends_at)
        ) or rules.minutes_between(starts_at, ends_at)
        n.version += 1
    if errors and not autosave:
        raise NoteInvalid(errors)
    Note.objects.bulk_update(
        [n for n in notes if n.status in rules.EDITABLE],
        ["sections", "objectives", "starts_at", "ends_at", "minutes", "version", "updated_at"],
    )
    _group_audit(actor, [n.patient for n in notes], AuditAction.UPDATE, group, autosave=autosave)
    return group, group_warnings(group, notes)


def shared_part(group: GroupNote, session: GroupSession) -> dict[str, Any]:
    """The shared part of a group note as signed: copied into each attendee's note (and
    so covered by that note's hash); its own digest is the group note's hash."""
    return {
        "topic": group.topic,
        "curriculum": group.curriculum.name if group.curriculum_id and group.curriculum else "",
        "facilitators": group.facilitators,
        "starts_at": group.starts_at.astimezone(UTC).isoformat(),
        "ends_at": group.ends_at.astimezone(UTC).isoformat(),
        "summary": group.summary,
        "interventions": group.interventions,
        "session": str(session.public_id),
    }


@transaction.atomic
def group_note_sign(
    *,
    actor: User,
    session: GroupSession,
    base_version: int,
    names_checked: bool,
    now: datetime,
) -> GroupNote:
    """Sign the group note: each attendee's note gets the shared part, is frozen and
    hashed. Refused while sections are empty or two attendees' texts are clones;
    other attendees' names must be removed or confirmed as checked."""
    _require(actor, Perm.NOTE_WRITE)
    _require_member(actor, session.program_id)
    group = _group_locked(session)
    if group is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "Start the group note first.")
    if (
        group.status in rules.LOCKED
        and group.author_id == actor.pk
        and group.version == base_version
    ):
        return group
    _check(rules.SIGN, actor, group)
    if group.version != base_version:
        raise VersionConflict(group)
    notes = group_notes(group)
    warnings = group_warnings(group, notes)
    errors: dict[str, str] = {}
    if not group.summary.strip():
        errors["summary"] = "Write the summary of content before signing."
    if not group.interventions.strip():
        errors["interventions"] = "Write the interventions before signing."
    by_ref = {str(n.patient.public_id): n for n in notes}
    for ref, keys in warnings.empty.items():
        labels = ", ".join(rules.SECTION_LABELS[k].lower() for k in keys)
        errors[f"{ref}-sections"] = f"{by_ref[ref].patient.display_name}: write {labels}."
    for c in warnings.clones:
        word = "identical" if c.identical else f"nearly identical ({c.similarity:.0%})"
        errors[f"{c.second}-clone"] = (
            f"{by_ref[c.first].patient.display_name} and {by_ref[c.second].patient.display_name} "
            f"have {word} individualised text; write each for that person."
        )
    if warnings.names and not names_checked:
        errors["names_checked"] = (
            "Other attendees' names appear in some notes (shown in each section). Remove them, "
            "or tick the box to confirm you checked."
        )
    if errors:
        raise NoteInvalid(errors)
    needed, late_after = _cosign_needed(actor, group.program_id)
    group.status = NoteStatus.PENDING_COSIGN if needed else NoteStatus.SIGNED
    group.signed_at = now
    shared = shared_part(group, session)
    group.content_sha256 = rules.content_digest(shared)
    group.version += 1
    group.save()
    events = []
    for n in notes:
        n.shared = shared
        _seal(n, actor=actor, now=now, late_after=late_after, role=actor.role)
        n.cosign_required = needed
        n.status = group.status
        n.version += 1
        events.append(
            NoteEvent(
                note=n,
                kind=NoteEvent.Kind.COSIGN_REQUESTED if needed else NoteEvent.Kind.SIGNED,
                at=now,
                actor=actor,
                detail={"content_sha256": n.content_sha256, "late_entry": n.late_entry},
            )
        )
    Note.objects.bulk_update(
        notes,
        [
            "shared",
            "signed_at",
            "signed_name",
            "late_entry",
            "content_sha256",
            "return_comment",
            "cosign_required",
            "status",
            "version",
            "updated_at",
        ],
    )
    NoteEvent.objects.bulk_create(events)
    _group_audit(
        actor, [n.patient for n in notes], AuditAction.SIGN, group, cosign=needed, count=len(notes)
    )
    return group


@transaction.atomic
def group_note_cosign(*, actor: User, session: GroupSession, now: datetime) -> GroupNote:
    """A supervisor co-signs every attendee's note of a trainee's group note at once."""
    _require(actor, Perm.NOTE_COSIGN)
    _require_member(actor, session.program_id)
    group = _group_locked(session)
    if group is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "This session has no group note.")
    if group.status == NoteStatus.COSIGNED:
        return group
    _check(rules.COSIGN, actor, group)
    notes = [n for n in group_notes(group) if n.status == NoteStatus.PENDING_COSIGN]
    if not all(note_integrity_ok(n) for n in notes):
        raise ServiceError(
            ErrorCode.CONFLICT, "A note's content does not match its signature; not co-signed."
        )
    for n in notes:
        _cosign_one(n, actor, now)
    Note.objects.bulk_update(
        notes, ["status", "cosigned_by", "cosigned_name", "cosigned_at", "version", "updated_at"]
    )
    NoteEvent.objects.bulk_create(
        [
            NoteEvent(note=n, kind=NoteEvent.Kind.COSIGNED, at=now, actor=actor, detail={})
            for n in notes
        ]
    )
    group.status = NoteStatus.COSIGNED
    group.version += 1
    group.save()
    _group_audit(actor, [n.patient for n in notes], AuditAction.SIGN, group, cosign=True)
    return group


@transaction.atomic
def group_note_return(
    *, actor: User, session: GroupSession, comment: str, now: datetime
) -> GroupNote:
    """A supervisor returns a trainee's whole group note with comments."""
    _require(actor, Perm.NOTE_COSIGN)
    _require_member(actor, session.program_id)
    group = _group_locked(session)
    if group is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "This session has no group note.")
    _check(rules.RETURN, actor, group)
    if not comment.strip():
        raise NoteInvalid({"comment": "Say what the author should change."})
    notes = [n for n in group_notes(group) if n.status == NoteStatus.PENDING_COSIGN]
    for n in notes:
        n.status = NoteStatus.RETURNED
        n.return_comment = comment.strip()
        n.version += 1
    Note.objects.bulk_update(notes, ["status", "return_comment", "version", "updated_at"])
    NoteEvent.objects.bulk_create(
        [
            NoteEvent(note=n, kind=NoteEvent.Kind.RETURNED, at=now, actor=actor, comment=comment)
            for n in notes
        ]
    )
    group.status = NoteStatus.RETURNED
    group.version += 1
    group.save()
    _group_audit(actor, [n.patient for n in notes], AuditAction.STATUS_CHANGE, group, to="returned")
    return group


# ----- settings -----


@transaction.atomic
def note_settings_update(
    *,
    actor: User,
    program: Program,
    default_format: str,
    cosign_roles: Sequence[str],
    late_entry_hours: int,
    sud_notes_roles: Sequence[str],
) -> NoteSettings:
    from openiop.accounts.roles import Role

    _require(actor, Perm.ORG_MANAGE)
    if program.site.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such program.")
    if default_format not in (rules.DAP, rules.BIRP, rules.SOAP):
        raise NoteInvalid({"default_format": "Choose DAP, BIRP or SOAP."})
    if any(r not in Role.values for r in [*cosign_roles, *sud_notes_roles]):
        raise NoteInvalid({"cosign_roles": "Unknown role."})
    if not 1 <= late_entry_hours <= 24 * 30:
        raise NoteInvalid({"late_entry_hours": "Give a number of hours between 1 and 720."})
    row, _ = NoteSettings.objects.select_for_update().get_or_create(program=program)
    row.default_format = default_format
    row.cosign_roles = sorted(set(cosign_roles))
    row.late_entry_hours = late_entry_hours
    row.sud_notes_roles = sorted(set(sud_notes_roles))
    row.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="note_settings",
        object_id=program.public_id,
        detail={
            "default_format": default_format,
            "cosign_roles": row.cosign_roles,
            "late_entry_hours": late_entry_hours,
            "sud_notes_roles": row.sud_notes_roles,
        },
    )
    return row
