"""Reading notes, scoped to the acting staff member, in a fixed number of queries.

Patients are scoped as everywhere (`patient_get_for_user`, program membership).
SUD counseling notes are further limited to their author and the roles the program
permits (`rules.sud_note_visible`); to everyone else they do not exist (404).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from openiop.accounts.models import User
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import AuditEntry, audit_record, audit_record_many
from openiop.notes import rules
from openiop.notes.models import GroupNote, Note, NoteAddendum, NoteEvent, NoteSettings, NoteStatus
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess, member_program_ids
from openiop.scheduling.models import GroupSession, SessionStatus

PAGE_SIZE = 50
WORKLIST_LIMIT = 500


def sud_permitted_program_ids(actor: User) -> list[int]:
    """Programs of the actor where their role may read others' SUD counseling notes."""
    return [
        s.program_id
        for s in NoteSettings.objects.filter(program_id__in=member_program_ids(actor))
        if actor.role in (s.sud_notes_roles or [])
    ]


def visible_q(actor: User, sud_program_ids: Iterable[int]) -> Q:
    return Q(is_sud_counseling=False) | Q(author=actor) | Q(program_id__in=list(sud_program_ids))


def note_visible(actor: User, note: Note) -> bool:
    if not note.is_sud_counseling:
        return True
    return rules.sud_note_visible(
        is_author=note.author_id == actor.pk,
        role=actor.role,
        permitted_roles=_settings_roles(note.program_id),
    )


def _settings_roles(program_id: int) -> list[str]:
    row = NoteSettings.objects.filter(program_id=program_id).first()
    return list(row.sud_notes_roles) if row else []


def _list_qs(actor: User, patient: Patient) -> QuerySet[Note]:
    return (
        Note.objects.filter(patient=patient)
        .filter(visible_q(actor, sud_permitted_program_ids(actor)))
        .select_related("author", "program", "cosigned_by")
        .annotate(addenda_count=Count("addenda"))
        .defer("sections", "shared", "objectives", "homework")
        .order_by("-starts_at", "-id")
    )


@dataclass
class NoteFilters:
    kind: str = ""
    status: str = ""
    author: User | None = None
    start: date | None = None
    end: date | None = None


def _filtered(qs: QuerySet[Note], filters: NoteFilters) -> QuerySet[Note]:
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status == "unsigned":
        qs = qs.filter(status__in=sorted(rules.UNSIGNED))
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.author is not None:
        qs = qs.filter(author=filters.author)
    if filters.start:
        qs = qs.filter(service_date__gte=filters.start)
    if filters.end:
        qs = qs.filter(service_date__lte=filters.end)
    return qs


def notes_for_patient(
    *, actor: User, access: PatientAccess, page: int = 1, filters: NoteFilters | None = None
) -> Page[Note]:
    """One page of the patient's notes the actor may see (4 queries: SUD settings,
    count, page, and nothing per note), audited as one read of the list."""
    qs = _filtered(_list_qs(actor, access.patient), filters or NoteFilters())
    shown = Paginator(qs, PAGE_SIZE).get_page(page)
    audit_record(
        actor=actor,
        action=AuditAction.READ,
        patient=access.patient,
        object_type="note_list",
        object_id=access.patient.public_id,
        break_glass=access.via_break_glass,
        detail={"count": len(shown.object_list), "page": shown.number},
    )
    return shown


def note_get(
    *, actor: User, access: PatientAccess, public_id: UUID | str, audit: bool = True
) -> Note:
    """One note with its addenda and history; 404 (audited) when the actor may not see it."""
    note = (
        Note.objects.filter(patient=access.patient, public_id=public_id)
        .select_related("author", "program__site__organization", "cosigned_by", "group_note")
        .prefetch_related(
            Prefetch("addenda", queryset=NoteAddendum.objects.select_related("author")),
            Prefetch("events", queryset=NoteEvent.objects.select_related("actor")),
        )
        .first()
    )
    if note is None or not note_visible(actor, note):
        audit_record(
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            outcome=AuditOutcome.DENIED,
            patient=access.patient,
            object_type="note",
            object_id=str(public_id),
            detail={"sud": bool(note and note.is_sud_counseling)},
        )
        raise Http404("No such note.")
    if audit:
        audit_record(
            actor=actor,
            action=AuditAction.READ,
            patient=access.patient,
            object_type="note",
            object_id=note.public_id,
            break_glass=access.via_break_glass,
            detail={"kind": note.kind, "sud": note.is_sud_counseling},
        )
    return note


# ----- worklist -----


@dataclass
class WorkItem:
    note: Note
    band: str  # rules.OVER_72 / OVER_24 / RECENT
    hours: int


@dataclass
class StaffLine:
    author: User
    items: list[WorkItem] = field(default_factory=list)

    @property
    def over_24(self) -> int:
        return sum(1 for i in self.items if i.band != rules.RECENT)

    @property
    def over_72(self) -> int:
        return sum(1 for i in self.items if i.band == rules.OVER_72)


@dataclass
class Worklist:
    mine: list[WorkItem]
    to_cosign: list[WorkItem]
    staff: list[StaffLine]  # directors: everyone's unsigned notes in their programs
    sessions: list[GroupSession]  # my past sessions with attendance and no group note
    is_director: bool


def _items(notes: Iterable[Note], now: datetime) -> list[WorkItem]:
    return [
        WorkItem(
            n,
            rules.age_band(service_ended_at=n.ends_at, now=now),
            int((now - n.ends_at).total_seconds() // 3600),
        )
        for n in notes
    ]


def _unsigned_qs(actor: User) -> QuerySet[Note]:
    return (
        Note.objects.filter(program_id__in=member_program_ids(actor))
        .select_related("patient", "author", "program", "group_note")
        .defer("sections", "shared", "objectives", "homework")
        .order_by("ends_at", "id")
    )


def worklist(*, actor: User, now: datetime, all_staff: bool) -> Worklist:
    """Unsigned notes by age: the actor's own, those waiting for their co-signature,
    and (directors) every author's in their programs. 4-5 queries whatever the size."""
    from openiop.accounts.roles import Perm

    mine = list(
        _unsigned_qs(actor).filter(author=actor, status__in=[rules.DRAFT, rules.RETURNED])[
            :WORKLIST_LIMIT
        ]
    )
    to_cosign: list[Note] = []
    if actor.has_perm_code(Perm.NOTE_COSIGN) and not actor.is_trainee:
        to_cosign = list(
            _unsigned_qs(actor)
            .filter(status=rules.PENDING_COSIGN)
            .exclude(author=actor)[:WORKLIST_LIMIT]
        )
    staff: list[StaffLine] = []
    if all_staff:
        by_author: dict[int, StaffLine] = {}
        for n in _unsigned_qs(actor).filter(status__in=sorted(rules.UNSIGNED))[:WORKLIST_LIMIT]:
            line = by_author.setdefault(n.author_id, StaffLine(n.author))
            line.items.extend(_items([n], now))
        staff = sorted(by_author.values(), key=lambda s: (-s.over_72, -s.over_24, s.author.pk))
    sessions = list(
        GroupSession.objects.filter(
            Q(facilitator=actor) | Q(co_facilitator=actor),
            program_id__in=member_program_ids(actor),
            status=SessionStatus.SCHEDULED,
            ends_at__lte=now,
            ends_at__gte=now - timedelta(days=14),
            attendance_records__isnull=False,
            group_note__isnull=True,
        )
        .select_related("track")
        .distinct()
        .order_by("-starts_at")[:50]
    )
    shown = [*mine, *to_cosign, *(i.note for s in staff for i in s.items)]
    _audit_listed(actor, [n.patient for n in shown], "note_worklist")
    return Worklist(_items(mine, now), _items(to_cosign, now), staff, sessions, all_staff)


def _audit_listed(actor: User, patients: Sequence[Patient], object_type: str) -> None:
    seen: dict[int, Patient] = {}
    for p in patients:
        seen.setdefault(p.pk, p)
    if not seen:
        return
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                action=AuditAction.SEARCH,
                patient=p,
                object_type=object_type,
                object_id=str(p.public_id),
            )
            for p in seen.values()
        ],
    )


# ----- search -----


def note_search(
    *, actor: User, patient: Patient | None, filters: NoteFilters, page: int = 1
) -> Page[Note]:
    """Notes in the actor's programs by patient, author, date, type and status (SUD
    counseling notes only where visible); each patient listed is audited."""
    qs = (
        Note.objects.filter(
            program_id__in=member_program_ids(actor), patient__organization_id=actor.org_id
        )
        .exclude(status=NoteStatus.ENTERED_IN_ERROR)
        .filter(visible_q(actor, sud_permitted_program_ids(actor)))
        .select_related("patient", "author", "program")
        .defer("sections", "shared", "objectives", "homework")
        .order_by("-starts_at", "-id")
    )
    if patient is not None:
        qs = qs.filter(patient=patient)
    shown = Paginator(_filtered(qs, filters), PAGE_SIZE).get_page(page)
    _audit_listed(actor, [n.patient for n in shown.object_list], "note_search")
    return shown


# ----- chart -----


@dataclass
class ChartNotes:
    recent: list[Note]
    unsigned: int
    total: int


CHART_RECENT = 8


def chart_notes(*, actor: User, patient: Patient) -> ChartNotes:
    """The chart's notes section in 3 queries: SUD settings, recent notes, counts."""
    qs = Note.objects.filter(patient=patient).filter(
        visible_q(actor, sud_permitted_program_ids(actor))
    )
    recent = list(
        qs.exclude(status=NoteStatus.ENTERED_IN_ERROR)
        .select_related("author")
        .defer("sections", "shared", "objectives", "homework")
        .order_by("-starts_at", "-id")[:CHART_RECENT]
    )
    counts = qs.exclude(status=NoteStatus.ENTERED_IN_ERROR).aggregate(
        total=Count("id"), unsigned=Count("id", filter=Q(status__in=sorted(rules.UNSIGNED)))
    )
    return ChartNotes(recent, counts["unsigned"] or 0, counts["total"] or 0)


# ----- group notes -----


def group_note_for(session: GroupSession) -> GroupNote | None:
    return GroupNote.objects.filter(session=session).select_related("author", "curriculum").first()


# ----- exports -----


@dataclass(frozen=True)
class ExportSelection:
    notes: list[Note]
    sud_included: bool
    sud_withheld: int
    reason: str


def notes_for_export(
    *,
    patient: Patient,
    recipient_name: str,
    recipient_class: str,
    purpose: str,
    on: date,
    include_sud_counseling: bool = False,
) -> ExportSelection:
    """The signed notes any export of a patient's record may carry.

    SUD counseling notes are left out by default (42 CFR 2.31(b), 2024); asked for
    explicitly, they go only where the patient's own SUD counseling notes consent
    permits (`consents.rules.disclosure_permitted`). Every export reads through here.
    """
    from openiop.consents.rules import Recipient, disclosure_permitted
    from openiop.consents.selectors import consent_facts_for_patient

    notes = list(
        Note.objects.filter(patient=patient, status__in=sorted(rules.FINAL))
        .select_related("author")
        .prefetch_related("addenda")
        .order_by("starts_at", "id")
    )
    sud = [n for n in notes if n.is_sud_counseling]
    others = [n for n in notes if not n.is_sud_counseling]
    if not sud:
        return ExportSelection(others, False, 0, "no SUD counseling notes")
    if not include_sud_counseling:
        return ExportSelection(others, False, len(sud), "SUD counseling notes excluded by default")
    consents = consent_facts_for_patient(patient=patient)
    decision = disclosure_permitted(
        consents,
        recipient=Recipient(recipient_name, recipient_class),
        purpose=purpose,
        category="sud_counseling_notes",
        on=on,
    )
    if not decision.allowed:
        return ExportSelection(others, False, len(sud), decision.reason)
    return ExportSelection(notes, True, 0, decision.reason)


def staff_authors(actor: User) -> list[User]:
    """Staff of the actor's programs, for the search form's author filter."""
    return list(
        User.objects.filter(memberships__program_id__in=member_program_ids(actor))
        .distinct()
        .order_by("last_name", "first_name")
    )


def groups_by_author(items: Iterable[WorkItem]) -> dict[int, list[WorkItem]]:
    out: dict[int, list[WorkItem]] = defaultdict(list)
    for i in items:
        out[i.note.author_id].append(i)
    return out


def kept_appointments_without_note(*, patient: Patient, today: date, days: int = 30) -> list[Any]:
    """The patient's appointments of the last `days` days that were kept (attendance
    marked as attended) and have no note yet, newest first (1 query)."""
    from openiop.attendance.models import AttendanceRecord
    from openiop.attendance.rules import ATTENDED
    from openiop.scheduling.models import Appointment

    kept = AttendanceRecord.objects.filter(appointment=OuterRef("pk"), status__in=sorted(ATTENDED))
    noted = Note.objects.filter(appointment=OuterRef("pk")).exclude(
        status=NoteStatus.ENTERED_IN_ERROR
    )
    return list(
        Appointment.objects.filter(
            patient=patient,
            on__gte=today - timedelta(days=days),
            on__lte=today,
            kind__in=["individual", "family", "med_management", "case_management"],
        )
        .exclude(status=SessionStatus.CANCELLED)
        .filter(Exists(kept))
        .exclude(Exists(noted))
        .select_related("staff")
        .order_by("-starts_at")[:20]
    )
