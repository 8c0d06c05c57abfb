"""Homework pages: the patient's homework (assign), one assignment (record an entry,
mark reviewed, cancel)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access, today
from openiop.homework import forms, kinds, selectors, services
from openiop.homework.models import AssignmentStatus
from openiop.patients.selectors import PatientAccess


def _audit_read(
    request: HttpRequest,
    access: PatientAccess,
    object_type: str,
    object_id: object,
    detail: dict[str, object] | None = None,
) -> None:
    audit_record(
        actor=actor_of(request),
        action=AuditAction.READ,
        patient=access.patient,
        object_type=object_type,
        object_id=object_id,
        break_glass=access.via_break_glass,
        detail=detail or {},
    )


def _list(
    request: HttpRequest, access: PatientAccess, form: forms.AssignForm, status: int = 200
) -> HttpResponse:
    rows = selectors.homework_for_patient(patient=access.patient)
    review = selectors.homework_completed_since_last_session(patient=access.patient, before=today())
    return render(
        request,
        "homework/list.html",
        {
            "patient": access.patient,
            "rows": rows,
            "review": review,
            "form": form,
            "kinds": kinds.KINDS.values(),
            "can_write": actor_of(request).has_perm_code(Perm.PLAN_WRITE),
        },
        status=status,
    )


@staff(Perm.PATIENT_VIEW)
def homework_list(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    form = forms.AssignForm(
        initial={"submission_token": uuid.uuid4(), **_initial_source(request)},
        **_sources(access),
    )
    _audit_read(request, access, "homework_list", access.patient.public_id)
    return _list(request, access, form)


def _sources(access: PatientAccess) -> dict[str, Any]:
    src = selectors.assign_sources(patient=access.patient, today=today())
    return {
        "objectives": src.objectives,
        "sessions": src.sessions,
        "appointments": src.appointments,
    }


def _initial_source(request: HttpRequest) -> dict[str, str]:
    """`?objective=<id>` (from the plan page) or `?group_session=` / `?appointment=`
    preselects where the homework comes from; the service checks it again."""
    return {
        k: request.GET[k] for k in ("objective", "group_session", "appointment") if k in request.GET
    }


@staff(Perm.PLAN_WRITE)
@require_POST
def homework_assign(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "homework")
    form = forms.AssignForm(request.POST, **_sources(access))
    if form.is_valid():
        c = form.cleaned_data
        try:
            services.homework_assign(
                actor=actor_of(request),
                access=access,
                data=services.AssignmentInput(
                    kind=c["kind"],
                    due_on=c["due_on"],
                    instructions=c["instructions"],
                    objective_public_id=c["objective"],
                    group_session_public_id=c["group_session"],
                    appointment_public_id=c["appointment"],
                ),
                submission_token=c["submission_token"],
                today=today(),
            )
        except services.HomeworkInvalid as error:
            for field, message in error.errors.items():
                form.add_error(field if field in form.fields else None, message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Homework assigned.")
            return redirect("homework:list", patient_id=patient_id)
    return _list(request, access, form, status=422)


def _detail(request: HttpRequest, access: PatientAccess, assignment, entry_form, status=200):  # type: ignore[no-untyped-def]
    return render(
        request,
        "homework/detail.html",
        {
            "patient": access.patient,
            "a": assignment,
            "spec": kinds.kind_spec(assignment.kind),
            "entries": [
                (e, kinds.display_rows(assignment.kind, e.data)) for e in assignment.entry_list
            ],
            "entry_form": entry_form,
            "review_form": forms.ReviewForm(),
            "cancel_form": forms.CancelForm(),
            "can_write": actor_of(request).has_perm_code(Perm.PLAN_WRITE),
            "open": assignment.status in (AssignmentStatus.ASSIGNED, AssignmentStatus.COMPLETED),
        },
        status=status,
    )


def _get(access: PatientAccess, assignment_id: UUID):  # type: ignore[no-untyped-def]
    assignment = selectors.assignment_get(patient=access.patient, public_id=assignment_id)
    if assignment is None:
        raise Http404("No such homework.")
    return assignment


@staff(Perm.PATIENT_VIEW)
def homework_detail(request: HttpRequest, patient_id: UUID, assignment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    assignment = _get(access, assignment_id)
    _audit_read(request, access, "homework", assignment.public_id)
    form = forms.EntryForm(kind=assignment.kind, initial={"submission_token": uuid.uuid4()})
    return _detail(request, access, assignment, form)


@staff(Perm.PLAN_WRITE)
@require_POST
def homework_entry(request: HttpRequest, patient_id: UUID, assignment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "homework")
    assignment = _get(access, assignment_id)
    form = forms.EntryForm(request.POST, kind=assignment.kind)
    if form.is_valid():
        try:
            services.homework_record_entry(
                by=services.CompletionActor.for_staff(actor_of(request)),
                patient=access.patient,
                assignment_public_id=assignment.public_id,
                raw=form.raw(),
                complete=form.cleaned_data["complete"],
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
                break_glass=access.via_break_glass,
            )
        except services.HomeworkInvalid as error:
            for field, message in error.errors.items():
                form.add_error(field if field in form.fields else None, message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Entry recorded.")
            return redirect("homework:detail", patient_id=patient_id, assignment_id=assignment_id)
    return _detail(request, access, assignment, form, status=422)


@staff(Perm.PLAN_WRITE)
@require_POST
def homework_review(request: HttpRequest, patient_id: UUID, assignment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "homework")
    form = forms.ReviewForm(request.POST)
    form.is_valid()
    try:
        services.homework_mark_reviewed(
            actor=actor_of(request),
            access=access,
            assignment_public_id=assignment_id,
            note=form.cleaned_data.get("note", ""),
            now=now(),
        )
    except ServiceError as error:
        if error.code == "not_found":
            raise Http404("No such homework.") from None
        messages.error(request, error.message)
    return redirect("homework:detail", patient_id=patient_id, assignment_id=assignment_id)


@staff(Perm.PLAN_WRITE)
@require_POST
def homework_cancel(request: HttpRequest, patient_id: UUID, assignment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "homework")
    try:
        services.homework_cancel(
            actor=actor_of(request),
            access=access,
            assignment_public_id=assignment_id,
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as error:
        if error.code == "not_found":
            raise Http404("No such homework.") from None
        messages.error(request, error.message)
    return redirect("homework:detail", patient_id=patient_id, assignment_id=assignment_id)
