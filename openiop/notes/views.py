"""Note pages: worklist, search, a patient's notes, writing/signing/co-signing,
addenda, PDF, and the group note of a session (shared part once, one section each)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.attendance.selectors import session_get_for_user
from openiop.audit.models import AuditAction
from openiop.audit.services import AuditEntry, audit_patients_listed, audit_record_many
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access
from openiop.notes import rules, selectors, services
from openiop.notes.forms import (
    AddendumForm,
    GroupNoteForm,
    NoteForm,
    ReturnForm,
    SearchForm,
    SettingsForm,
    SignForm,
    VoidForm,
)
from openiop.notes.links import homework_for_patients, objectives_for_patients
from openiop.notes.models import Note, NoteKind, NoteStatus
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.patients.rules import parse_search
from openiop.patients.selectors import (
    PatientAccess,
    patient_search,
    patient_visible_qs,
)
from openiop.scheduling.models import Appointment, GroupSession, Topic


def _service_errors(form: Any, error: ServiceError) -> None:
    if isinstance(error, services.NoteInvalid):
        for field, message in error.errors.items():
            form.add_error(field if field in form.fields else None, message)
    else:
        form_error(form, error)


def _is_autosave(request: HttpRequest) -> bool:
    return request.headers.get("X-Autosave") == "1"


def _autosave_reply(version: int, error: ServiceError | None = None) -> JsonResponse:
    if error is None:
        return JsonResponse(
            {"saved": True, "version": version, "saved_at": timezone.localtime().strftime("%H:%M")}
        )
    status = 409 if error.code == ErrorCode.CONFLICT else 422
    return JsonResponse({"saved": False, "error": error.message}, status=status)


def _programs(actor: Any, patient: Patient) -> Any:
    return Program.objects.filter(
        memberships__user=actor, episodes__patient=patient, site__organization_id=actor.org_id
    ).distinct()


def _detail(note: Note) -> HttpResponse:
    return redirect("notes:detail", patient_id=note.patient.public_id, note_id=note.public_id)


# ----- worklist and search -----


def _action_page(
    request: HttpRequest, access: PatientAccess, note: Any, form: Any, **context: Any
) -> HttpResponse:
    """The one-form page of an action on a note (return, addendum, entered in error...),
    422 when the form has errors so nothing typed is lost."""
    return render(
        request,
        "notes/action.html",
        {"patient": access.patient, "note": note, "form": form, **context},
        status=422 if form.errors else 200,
    )


@staff(Perm.NOTE_WRITE)
def worklist(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    wl = selectors.worklist(
        actor=actor, now=now(), all_staff=actor.has_perm_code(Perm.DIRECTOR_DASHBOARD)
    )
    return render(request, "notes/worklist.html", {"wl": wl, "bands": rules})


@staff(Perm.NOTE_VIEW)
def search(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = SearchForm(request.GET or None, authors=selectors.staff_authors(actor))
    page = None
    patient = None
    matches: list[Patient] = []
    if form.is_valid() and any(form.cleaned_data.values()):
        d = form.cleaned_data
        q = (d.get("q") or "").strip()
        if q:
            # An exact MRN first (any status), else the patients app's own search:
            # partial names, date of birth, phone, as on the patient search page.
            patient = patient_visible_qs(actor=actor, now=now()).filter(mrn__iexact=q).first()
            if patient is None:
                matches = patient_search(actor=actor, terms=parse_search(q), now=now())
                audit_patients_listed(
                    actor=actor,
                    patients=matches,
                    object_type="note_search",
                    detail={"result_count": len(matches)},
                )
                if len(matches) == 1:
                    patient, matches = matches[0], []
        if not q or patient is not None:
            page = selectors.note_search(
                actor=actor,
                patient=patient,
                filters=selectors.NoteFilters(
                    kind=d.get("kind") or "",
                    status=d.get("status") or "",
                    author=d.get("author"),
                    start=d.get("start"),
                    end=d.get("end"),
                ),
                page=int(request.GET.get("page") or 1),
            )
        elif matches:
            form.add_error("q", f"{len(matches)} patients match: choose one below.")
        else:
            form.add_error("q", "No patient you can see matches that name, MRN or date of birth.")
    return render(
        request,
        "notes/search.html",
        {"form": form, "page": page, "patient": patient, "matches": matches},
        status=422 if form.errors else 200,
    )


# ----- one patient's notes -----


@staff(Perm.NOTE_VIEW)
def patient_notes(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    page = selectors.notes_for_patient(
        actor=actor, access=access, page=int(request.GET.get("page") or 1)
    )
    can_write = actor.has_perm_code(Perm.NOTE_WRITE)
    kept = (
        selectors.kept_appointments_without_note(
            patient=access.patient, today=timezone.localdate(now())
        )
        if can_write
        else []
    )
    return render(
        request,
        "notes/list.html",
        {
            "patient": access.patient,
            "page": page,
            "kinds": services.INDIVIDUAL_KINDS,
            "can_write": can_write,
            "kept": [(a, _NOTE_KIND_FOR_APPOINTMENT[a.kind]) for a in kept],
        },
    )


_NOTE_KIND_FOR_APPOINTMENT = {
    appointment_kind: note_kind
    for note_kind, appointment_kinds in services.APPOINTMENT_KINDS.items()
    for appointment_kind in appointment_kinds
}


def _appointment(request: HttpRequest, access: PatientAccess) -> Appointment | None:
    """The kept appointment a new note documents (?appointment= or the hidden field)."""
    ref = request.POST.get("appointment") or request.GET.get("appointment") or ""
    if not ref:
        return None
    try:
        public_id = UUID(ref)
    except ValueError:
        raise Http404("No such appointment.") from None
    appointment = Appointment.objects.filter(public_id=public_id, patient=access.patient).first()
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment


@staff(Perm.NOTE_WRITE)
def note_new(request: HttpRequest, patient_id: UUID, kind: str) -> HttpResponse:
    actor = actor_of(request)
    if kind not in services.INDIVIDUAL_KINDS:
        raise Http404("No such kind of note.")
    access = patient_access(request, patient_id, "note")
    programs = _programs(actor, access.patient)
    appointment = _appointment(request, access)
    program = programs.first()
    initial: dict[str, Any] = {
        "program": program,
        "service_date": timezone.localdate(),
        "location": "office",
    }
    if appointment is not None:
        program = programs.filter(pk=appointment.program_id).first() or program
        initial.update(
            program=program,
            service_date=appointment.on,
            start_time=timezone.localtime(appointment.starts_at).time(),
            end_time=timezone.localtime(appointment.ends_at).time(),
            appointment=appointment.public_id,
        )
    fmt = services.settings_for(program.pk).default_format if program else rules.DAP
    initial["format"] = fmt
    pid = access.patient.pk
    form = NoteForm(
        request.POST or None,
        kind=kind,
        fmt=fmt,
        programs=programs,
        objectives=objectives_for_patients([pid]).get(pid, []),
        homework=homework_for_patients([pid]).get(pid, []),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            note = services.note_create(
                actor=actor,
                access=access,
                kind=kind,
                data=replace(form.note_input(), appointment=appointment),
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Draft saved.")
            return redirect("notes:edit", patient_id=patient_id, note_id=note.public_id)
    return render(
        request,
        "notes/form.html",
        {
            "form": form,
            "patient": access.patient,
            "kind_label": NoteKind(kind).label,
            "note": None,
            "appointment": appointment,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.NOTE_VIEW)
def note_detail(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    note = selectors.note_get(actor=actor, access=access, public_id=note_id)
    who = services.rule_actor(actor, note)
    return render(
        request,
        "notes/detail.html",
        {
            "patient": access.patient,
            "note": note,
            "addenda": list(note.addenda.all()),
            "events": list(note.events.all()),
            "integrity_ok": services.note_integrity_ok(note),
            "can_edit": rules.refusal(rules.EDIT, note.status, who) is None,
            "can_cosign": rules.refusal(rules.COSIGN, note.status, who) is None,
            "can_amend": rules.refusal(rules.AMEND, note.status, who) is None,
            "sign_form": SignForm(initial={"version": note.version}),
            "addendum_form": AddendumForm(),
        },
    )


@staff(Perm.NOTE_WRITE)
def note_edit(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "note")
    note = selectors.note_get(actor=actor, access=access, public_id=note_id, audit=False)
    if note.group_note is not None:
        return redirect("notes:group", session_id=note.group_note.session.public_id)
    why = rules.refusal(rules.EDIT, note.status, services.rule_actor(actor, note))
    if why is not None:
        if _is_autosave(request):
            return JsonResponse({"saved": False, "error": why}, status=409)
        messages.error(request, why)
        return _detail(note)
    pid = access.patient.pk
    kwargs: dict[str, Any] = {
        "kind": note.kind,
        "fmt": note.format,
        "programs": _programs(actor, access.patient),
        "objectives": objectives_for_patients([pid]).get(pid, []),
        "homework": homework_for_patients([pid]).get(pid, []),
    }
    if request.method == "POST":
        form = NoteForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                saved = services.note_update(
                    actor=actor,
                    access=access,
                    note_public_id=note.public_id,
                    data=form.note_input(),
                    base_version=form.cleaned_data["version"] or 0,
                    now=now(),
                    autosave=_is_autosave(request),
                )
            except services.VersionConflict as error:
                if _is_autosave(request):
                    return _autosave_reply(0, error)
                resubmit = request.POST.copy()
                resubmit["version"] = str(error.current.version)
                form = NoteForm(resubmit, **kwargs)
                form.is_valid()
                form.add_error(None, error.message)
                note = error.current  # type: ignore[assignment]
            except ServiceError as error:
                if _is_autosave(request):
                    return _autosave_reply(0, error)
                _service_errors(form, error)
            else:
                if _is_autosave(request):
                    return _autosave_reply(saved.version)
                if "sign" in request.POST:
                    return _sign(request, access, saved)
                messages.success(request, "Draft saved.")
                return redirect("notes:edit", patient_id=patient_id, note_id=note.public_id)
        elif _is_autosave(request):
            return JsonResponse({"saved": False, "error": "Check the form."}, status=422)
    else:
        form = NoteForm(initial=NoteForm.initial_from(note), **kwargs)
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                action=AuditAction.READ,
                patient=access.patient,
                object_type="note",
                object_id=str(note.public_id),
                break_glass=access.via_break_glass,
                detail={"edit": True},
            )
        ],
    )
    return render(
        request,
        "notes/form.html",
        {
            "form": form,
            "patient": access.patient,
            "kind_label": note.get_kind_display(),
            "note": note,
            "conflict": getattr(note, "pk", None) and form.non_field_errors(),
        },
        status=422 if form.errors else 200,
    )


def _sign(request: HttpRequest, access: PatientAccess, note: Note) -> HttpResponse:
    actor = actor_of(request)
    try:
        signed = services.note_sign(
            actor=actor,
            access=access,
            note_public_id=note.public_id,
            base_version=note.version,
            now=now(),
        )
    except ServiceError as error:
        errors = getattr(error, "errors", {error.field or "__all__": error.message})
        for message in errors.values():
            messages.error(request, message)
        return redirect("notes:edit", patient_id=access.patient.public_id, note_id=note.public_id)
    if signed.status == NoteStatus.PENDING_COSIGN:
        messages.success(request, "Signed. The note now waits for a supervisor's co-signature.")
    else:
        messages.success(request, "Signed.")
    return _detail(signed)


@staff(Perm.NOTE_WRITE)
def note_sign(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "note")
    note = selectors.note_get(actor=actor, access=access, public_id=note_id, audit=False)
    if request.method != "POST":
        return _detail(note)
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reload the note and sign again.")
        return _detail(note)
    note.version = form.cleaned_data["version"]
    return _sign(request, access, note)


@staff(Perm.NOTE_COSIGN)
def note_cosign(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "note")
    note = selectors.note_get(actor=actor, access=access, public_id=note_id, audit=False)
    if request.method == "POST":
        try:
            services.note_cosign(
                actor=actor, access=access, note_public_id=note.public_id, now=now()
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Co-signed.")
    return _detail(note)


@staff(Perm.NOTE_COSIGN)
def note_return(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "note")
    note = selectors.note_get(actor=actor, access=access, public_id=note_id)
    form = ReturnForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.note_return(
                actor=actor,
                access=access,
                note_public_id=note.public_id,
                comment=form.cleaned_data["comment"],
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Returned to the author with your comments.")
            return _detail(note)
    return _action_page(
        request,
        access,
        note,
        form,
        heading="Return the note to its author",
        button="Return with comments",
    )


@staff(Perm.NOTE_WRITE)
def note_addendum(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "note")
    note = selectors.note_get(actor=actor, access=access, public_id=note_id)
    form = AddendumForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.note_addendum_add(
                actor=actor,
                access=access,
                note_public_id=note.public_id,
                text=form.cleaned_data["text"],
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Addendum added.")
            return _detail(note)
    return _action_page(
        request, access, note, form, heading="Add an addendum", button="Sign and add addendum"
    )


@staff(Perm.NOTE_WRITE)
def note_void(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "note")
    note = selectors.note_get(actor=actor, access=access, public_id=note_id)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.note_mark_entered_in_error(
                actor=actor,
                access=access,
                note_public_id=note.public_id,
                reason=form.cleaned_data["reason"],
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Marked as entered in error. It is kept in the history.")
            return _detail(note)
    return _action_page(
        request,
        access,
        note,
        form,
        heading="Mark this draft as entered in error",
        button="Mark as entered in error",
        danger=True,
    )


@staff(Perm.NOTE_VIEW)
def note_pdf(request: HttpRequest, patient_id: UUID, note_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "print")
    try:
        note, pdf = services.note_print(
            actor=actor, access=access, note_public_id=note_id, now=now()
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("notes:detail", patient_id=patient_id, note_id=note_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="note-{note.kind}-{note.public_id}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# ----- group notes -----


def _session(request: HttpRequest, session_id: UUID) -> GroupSession:
    session = session_get_for_user(actor=actor_of(request), public_id=session_id)
    if session is None:
        raise Http404("No such session.")
    return session


def _group_form(
    session: GroupSession, group: Any, data: Any = None
) -> tuple[GroupNoteForm, list[Note]]:
    notes = services.group_notes(group)
    offered = objectives_for_patients([n.patient_id for n in notes])
    initial = {
        "version": group.version,
        "topic": group.topic,
        "curriculum": group.curriculum_id,
        "facilitators": group.facilitators,
        "start_time": timezone.localtime(group.starts_at).time(),
        "end_time": timezone.localtime(group.ends_at).time(),
        "summary": group.summary,
        "interventions": group.interventions,
    }
    topics = Topic.objects.filter(organization_id=session.program.site.organization_id)
    form = GroupNoteForm(data, notes=notes, topics=topics, objectives=offered, initial=initial)
    return form, notes


def _attendee_rows(form: GroupNoteForm, warnings: services.GroupWarnings) -> list[dict[str, Any]]:
    """Each attendee's fields with the warnings that concern them."""
    names = {str(n.patient.public_id): n.patient.display_name for n, _ in form.attendees}
    rows = []
    for note, field_names in form.attendees:
        ref = str(note.patient.public_id)
        clones = []
        for c in warnings.clones:
            if ref in (c.first, c.second):
                other = names.get(c.second if ref == c.first else c.first, "")
                word = "the same as" if c.identical else f"nearly the same ({c.similarity:.0%}) as"
                clones.append(f"This text is {word} {other}'s. Write it for this patient.")
        rows.append(
            {
                "note": note,
                # An objectives list with nothing to choose from is left out.
                "fields": [
                    form[f]
                    for f in field_names
                    if not f.endswith("-objectives") or form.fields[f].choices  # type: ignore[attr-defined]
                ],
                "clones": clones,
                "names": [
                    f"Names another attendee ({who}): \u201c{found}\u201d"
                    for who, found in warnings.names.get(ref, [])
                ],
                "empty": [rules.SECTION_LABELS[k] for k in warnings.empty.get(ref, [])],
            }
        )
    return rows


@staff(Perm.NOTE_WRITE)
def group_note(request: HttpRequest, session_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    session = _session(request, session_id)
    group = selectors.group_note_for(session)
    if group is None:
        return render(request, "notes/group_start.html", {"session": session})
    warnings = None
    status = 200
    if request.method == "POST":
        form, notes = _group_form(session, group, request.POST)
        if form.is_valid():
            try:
                group, warnings = services.group_note_save(
                    actor=actor,
                    session=session,
                    shared=form.shared_input(),
                    individual=form.individual_inputs(),
                    base_version=form.cleaned_data["version"],
                    now=now(),
                    autosave=_is_autosave(request),
                )
            except services.VersionConflict as error:
                if _is_autosave(request):
                    return _autosave_reply(0, error)
                form.add_error(None, error.message)
                status = 409
            except ServiceError as error:
                if _is_autosave(request):
                    return _autosave_reply(0, error)
                _service_errors(form, error)
                status = 422
            else:
                if _is_autosave(request):
                    return _autosave_reply(group.version)
                if "sign" in request.POST:
                    return _group_sign(request, session, group.version)
                messages.success(request, "Group note saved.")
                form, notes = _group_form(session, group)
        else:
            status = 422
    else:
        form, notes = _group_form(session, group)
        warnings = services.group_warnings(group, notes)
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    action=AuditAction.READ,
                    patient=n.patient,
                    object_type="group_note",
                    object_id=str(group.public_id),
                )
                for n in notes
            ],
        )
    if warnings is None:
        warnings = services.group_warnings(group, notes)
    editable = group.status in rules.EDITABLE and group.author_id == actor.pk
    if not editable:
        # Signed, or someone else's: shown, not editable (the service refuses anyway).
        for form_field in form.fields.values():
            form_field.disabled = True
    return render(
        request,
        "notes/group.html",
        {
            "session": session,
            "group": group,
            "form": form,
            "warnings": warnings,
            "editable": editable,
            "can_cosign": rules.refusal(
                rules.COSIGN, group.status, services.rule_actor(actor, group)
            )
            is None,
            "rows": _attendee_rows(form, warnings),
        },
        status=status,
    )


@staff(Perm.NOTE_WRITE)
def group_start(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _session(request, session_id)
    if request.method == "POST":
        try:
            services.group_note_start(actor=actor_of(request), session=session, now=now())
        except ServiceError as error:
            messages.error(request, error.message)
    return redirect("notes:group", session_id=session.public_id)


def _group_sign(request: HttpRequest, session: GroupSession, version: int) -> HttpResponse:
    try:
        group = services.group_note_sign(
            actor=actor_of(request),
            session=session,
            base_version=version,
            names_checked=request.POST.get("names_checked") == "on",
            now=now(),
        )
    except ServiceError as error:
        errors = getattr(error, "errors", {error.field or "__all__": error.message})
        for message in errors.values():
            messages.error(request, message)
        return redirect("notes:group", session_id=session.public_id)
    if group.status == NoteStatus.PENDING_COSIGN:
        messages.success(request, "Signed. The notes now wait for a supervisor's co-signature.")
    else:
        messages.success(request, "Signed: each attendee's note is in their chart.")
    return redirect("notes:group", session_id=session.public_id)


@staff(Perm.NOTE_COSIGN)
def group_cosign(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _session(request, session_id)
    if request.method == "POST":
        try:
            services.group_note_cosign(actor=actor_of(request), session=session, now=now())
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Co-signed every attendee's note.")
    return redirect("notes:group", session_id=session.public_id)


@staff(Perm.NOTE_COSIGN)
def group_return(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _session(request, session_id)
    if request.method == "POST":
        try:
            services.group_note_return(
                actor=actor_of(request),
                session=session,
                comment=request.POST.get("comment", ""),
                now=now(),
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Returned to the facilitator with your comments.")
    return redirect("notes:group", session_id=session.public_id)


# ----- program settings -----


@staff(Perm.ORG_MANAGE)
def program_settings(request: HttpRequest, program_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    program = (
        Program.objects.filter(public_id=program_id, site__organization_id=actor.org_id)
        .select_related("site")
        .first()
    )
    if program is None:
        raise Http404("No such program.")
    current = services.settings_for(program.pk)
    form = SettingsForm(
        request.POST or None,
        initial={
            "default_format": current.default_format,
            "cosign_roles": current.cosign_roles,
            "late_entry_hours": current.late_entry_hours,
            "sud_notes_roles": current.sud_notes_roles,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.note_settings_update(actor=actor, program=program, **form.cleaned_data)
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Note settings saved.")
            return redirect("notes:program_settings", program_id=program.public_id)
    return render(
        request,
        "notes/settings.html",
        {"form": form, "program": program},
        status=422 if form.errors else 200,
    )
