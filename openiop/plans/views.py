"""Treatment plan pages: the patient's plans, the editor (with autosave), signing,
voiding, PDF, the relapse-prevention plan, and the worklist."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from openiop.access.policy import staff
from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.assessments.models import Diagnosis, DiagnosisStatus
from openiop.audit.models import AuditAction
from openiop.audit.services import AuditEntry, audit_record, audit_record_many
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access, today
from openiop.organizations.models import Payer, PlanType, Program
from openiop.patients.selectors import PatientAccess
from openiop.plans import forms, rules, selectors, services
from openiop.plans.models import (
    Measure,
    Modality,
    PlanVersion,
    PlanVersionStatus,
    Progress,
    SignerRole,
)


def _read(
    request: HttpRequest,
    access: PatientAccess,
    object_type: str,
    object_id: Any,
    detail: dict[str, Any] | None = None,
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


def _version(access: PatientAccess, version_id: UUID) -> PlanVersion:
    version = selectors.version_get(patient=access.patient, public_id=version_id)
    if version is None:
        raise Http404("No such plan version.")
    return version


@staff(Perm.PATIENT_VIEW)
def plan_home(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    page = selectors.plan_page(patient=access.patient)
    _read(
        request,
        access,
        "treatment_plan",
        access.patient.public_id,
        {"versions": len(page.versions)},
    )
    return render(
        request,
        "plans/home.html",
        {
            "patient": access.patient,
            "page": page,
            "can_write": actor.has_perm_code(Perm.PLAN_WRITE),
            "start_form": forms.StartForm(initial={"submission_token": uuid.uuid4()}),
        },
    )


@staff(Perm.PLAN_WRITE)
@require_POST
def plan_start(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "plan")
    form = forms.StartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The form expired; try again.")
        return redirect("plans:home", patient_id=patient_id)
    try:
        version = services.plan_draft_start(
            actor=actor_of(request),
            access=access,
            submission_token=form.cleaned_data["submission_token"],
            today=today(),
            now=now(),
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("plans:home", patient_id=patient_id)
    return redirect("plans:edit", patient_id=patient_id, version_id=version.public_id)


def _choices(access: PatientAccess) -> tuple[list[Diagnosis], list[User]]:
    diagnoses = list(
        Diagnosis.objects.filter(patient=access.patient)
        .exclude(status=DiagnosisStatus.ENTERED_IN_ERROR)
        .order_by("rank", "code")
    )
    staff = list(
        User.objects.filter(organization_id=access.patient.organization_id, is_active=True)
        .exclude(role__in=["system_admin", "auditor", "billing_specialist", "front_desk"])
        .order_by("last_name", "first_name")
    )
    return diagnoses, staff


def _editor(
    request: HttpRequest,
    access: PatientAccess,
    version: PlanVersion,
    raw: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 200,
    notice: str = "",
    conflict: PlanVersion | None = None,
) -> HttpResponse:
    diagnoses, staff = _choices(access)
    reviews = list(version.objective_reviews.all())
    review_rows = [
        {
            "review": r,
            "prefix": f"r-{r.objective.public_id}",
            "progress": forms._get(raw, f"r-{r.objective.public_id}-progress"),
            "current_value": forms._get(raw, f"r-{r.objective.public_id}-current_value"),
            "comment": forms._get(raw, f"r-{r.objective.public_id}-comment"),
            "error": errors.get(f"r-{r.objective.public_id}-progress", ""),
        }
        for r in reviews
    ]
    top = {k: errors[k] for k in (*forms.VERSION_FIELDS, "problems") if k in errors}
    return render(
        request,
        "plans/edit.html",
        {
            "patient": access.patient,
            "version": version,
            "raw": raw,
            "slots": forms.plan_state(raw, errors),
            "errors": top,
            "error_count": len(errors),
            "diagnoses": diagnoses,
            "staff": staff,
            "measures": Measure.choices,
            "modalities": Modality.choices,
            "progress_choices": Progress.choices,
            "dimensions": range(1, 7),
            "review_rows": review_rows,
            "notice": notice,
            "conflict": conflict,
            "saved_at": services.utc_iso(version.draft_saved_at or version.updated_at),
        },
        status=status,
    )


@staff(Perm.PLAN_WRITE)
def plan_edit(request: HttpRequest, patient_id: UUID, version_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "plan")
    version = _version(access, version_id)
    if version.status not in services.OPEN_STATUSES:
        return redirect("plans:version", patient_id=patient_id, version_id=version_id)
    if request.method != "POST":
        _read(request, access, "plan_version", version.public_id, {"edit": True})
        notice = ""
        if version.draft_data:
            raw = version.draft_data
            notice = "Showing the draft as last autosaved (not yet saved as the plan)."
        else:
            raw = forms.raw_from_version(version)
        return _editor(request, access, version, raw, {}, notice=notice)
    raw = forms.raw_dict(request.POST)
    diagnoses, staff = _choices(access)
    data, errors = forms.parse_plan(
        request.POST,
        staff_ids={str(u.public_id): u.pk for u in staff},
        diagnosis_ids={str(d.public_id): d.pk for d in diagnoses},
    )
    try:
        base = int(request.POST.get("version", ""))
    except ValueError:
        base = -1
    if errors:
        errors.update(
            rules.plan_errors(services._draft_from_input(data, version), for_signing=False)
        )
    else:
        try:
            services.plan_draft_save(
                actor=actor,
                access=access,
                version_public_id=version.public_id,
                data=data,
                base_version=base,
                now=now(),
            )
        except services.PlanConflict as error:
            current = _version(access, version_id)
            return _editor(
                request,
                access,
                version,
                raw,
                {"problems": error.message},
                status=409,
                conflict=current,
            )
        except services.PlanInvalid as error:
            errors = error.errors
        except ServiceError as error:
            messages.error(request, error.message)
            return redirect("plans:version", patient_id=patient_id, version_id=version_id)
        else:
            messages.success(request, "Plan saved.")
            if request.POST.get("action") == "continue":
                return redirect("plans:edit", patient_id=patient_id, version_id=version_id)
            return redirect("plans:version", patient_id=patient_id, version_id=version_id)
    # Invalid: keep what was typed as the autosaved draft too, so nothing is lost.
    with contextlib.suppress(ServiceError):
        services.plan_draft_autosave(
            actor=actor,
            access=access,
            version_public_id=version.public_id,
            raw=raw,
            base_version=base,
            now=now(),
        )
    version = _version(access, version_id)
    return _editor(request, access, version, raw, errors, status=422)


@staff(Perm.PLAN_WRITE)
@require_POST
def plan_autosave(request: HttpRequest, patient_id: UUID, version_id: UUID) -> HttpResponse:
    """The autosave endpoint (core/autosave.js contract): 200 {"saved": true, "version",
    "saved_at"}; 409 {"saved": false, "error"} when someone else saved meanwhile."""
    access = patient_access(request, patient_id, "plan")
    try:
        base = int(request.POST.get("version", ""))
    except ValueError:
        base = -1
    try:
        version = services.plan_draft_autosave(
            actor=actor_of(request),
            access=access,
            version_public_id=version_id,
            raw=forms.raw_dict(request.POST),
            base_version=base,
            now=now(),
        )
    except services.PlanConflict as error:
        return JsonResponse({"saved": False, "error": error.message}, status=409)
    except ServiceError as error:
        status = 404 if error.code == ErrorCode.NOT_FOUND else 400
        return JsonResponse({"saved": False, "error": error.message}, status=status)
    saved_at = timezone.localtime(version.draft_saved_at) if version.draft_saved_at else None
    return JsonResponse(
        {
            "saved": True,
            "version": version.version,
            "saved_at": saved_at.strftime("%H:%M:%S") if saved_at else "",
        }
    )


def _signing_context(version: PlanVersion) -> dict[str, Any]:
    present = [s.role for s in version.signatures.all()]
    required = rules.required_signers(prescriber_required=version.prescriber_signature_required)
    return {
        "present": present,
        "missing": rules.missing_signatures(required=required, present=present),
        "problems_list": version.problems.all(),
    }


@staff(Perm.PATIENT_VIEW)
def plan_version(request: HttpRequest, patient_id: UUID, version_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    version = _version(access, version_id)
    _read(request, access, "plan_version", version.public_id)
    is_open = version.status in services.OPEN_STATUSES
    sign_errors: list[str] = []
    if is_open and not version.draft_data:
        sign_errors = list(rules.plan_errors(services.draft_of(version), for_signing=True).values())
    return render(
        request,
        "plans/version.html",
        {
            "patient": access.patient,
            "version": version,
            "is_open": is_open,
            "can_write": actor.has_perm_code(Perm.PLAN_WRITE),
            "is_prescriber": actor.role == "prescriber",
            "digest": services.content_sha256(version) if is_open else version.content_sha256,
            "sign_errors": sign_errors,
            "staff_form": forms.StaffSignForm(),
            "void_form": forms.VoidForm(),
            "history": selectors.version_history(plan_id=version.plan_id),
            **_signing_context(version),
        },
    )


@staff(Perm.PLAN_WRITE)
def plan_sign_patient(request: HttpRequest, patient_id: UUID, version_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "plan")
    version = _version(access, version_id)
    if version.status not in services.OPEN_STATUSES:
        return redirect("plans:version", patient_id=patient_id, version_id=version_id)
    form = forms.PatientSignForm(
        request.POST or None, initial={"shown_sha256": services.content_sha256(version)}
    )
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            services.plan_sign(
                actor=actor,
                access=access,
                version_public_id=version.public_id,
                signature=services.PlanSignatureInput(
                    role=SignerRole.PATIENT,
                    typed_name=c["typed_name"],
                    signature_data_url=c["signature_data"],
                    signing_electronically=c["signing_electronically"],
                    signer_address=request.META.get("REMOTE_ADDR"),
                    user_agent=request.headers.get("User-Agent", ""),
                ),
                shown_sha256=c["shown_sha256"],
                today=today(),
                now=now(),
            )
        except services.PlanInvalid as error:
            for message in error.errors.values():
                form.add_error(None, message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "The patient's signature is recorded.")
            return redirect("plans:version", patient_id=patient_id, version_id=version_id)
    else:
        _read(request, access, "plan_version", version.public_id, {"sign": "patient"})
    return render(
        request,
        "plans/sign_patient.html",
        {"patient": access.patient, "version": version, "form": form},
        status=422 if form.errors else 200,
    )


@staff(Perm.PLAN_WRITE)
@require_POST
def plan_sign_staff(
    request: HttpRequest, patient_id: UUID, version_id: UUID, role: str
) -> HttpResponse:
    if role not in (SignerRole.CLINICIAN, SignerRole.PRESCRIBER):
        raise Http404("No such signer.")
    actor = actor_of(request)
    access = patient_access(request, patient_id, "plan")
    version = _version(access, version_id)
    form = forms.StaffSignForm(request.POST)
    if form.is_valid():
        try:
            services.plan_sign(
                actor=actor,
                access=access,
                version_public_id=version.public_id,
                signature=services.PlanSignatureInput(
                    role=role,
                    attest=form.cleaned_data["attest"],
                    signer_address=request.META.get("REMOTE_ADDR"),
                    user_agent=request.headers.get("User-Agent", ""),
                ),
                shown_sha256=form.cleaned_data["shown_sha256"],
                today=today(),
                now=now(),
            )
        except services.PlanInvalid as error:
            for message in error.errors.values():
                form.add_error(None, message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Your signature is recorded.")
            return redirect("plans:version", patient_id=patient_id, version_id=version_id)
    version = _version(access, version_id)
    return render(
        request,
        "plans/version.html",
        {
            "patient": access.patient,
            "version": version,
            "is_open": version.status in services.OPEN_STATUSES,
            "can_write": True,
            "is_prescriber": actor.role == "prescriber",
            "digest": services.content_sha256(version),
            "sign_errors": [],
            "staff_form": form,
            "staff_form_role": role,
            "void_form": forms.VoidForm(),
            "history": selectors.version_history(plan_id=version.plan_id),
            **_signing_context(version),
        },
        status=422,
    )


@staff(Perm.PLAN_WRITE)
@require_POST
def plan_void(request: HttpRequest, patient_id: UUID, version_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "plan")
    form = forms.VoidForm(request.POST)
    reason = request.POST.get("reason", "")
    try:
        services.plan_version_mark_entered_in_error(
            actor=actor_of(request),
            access=access,
            version_public_id=version_id,
            reason=reason if form.is_valid() else "",
            now=now(),
        )
    except ServiceError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404("No such plan version.") from None
        messages.error(request, error.message)
    else:
        messages.success(request, "The version is marked entered in error.")
    return redirect("plans:home", patient_id=patient_id)


@staff(Perm.PATIENT_VIEW)
def plan_pdf(request: HttpRequest, patient_id: UUID, version_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "print")
    try:
        version, pdf = services.plan_print(
            actor=actor_of(request), access=access, version_public_id=version_id, now=now()
        )
    except ServiceError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404("No such plan version.") from None
        messages.error(request, error.message)
        return redirect("plans:home", patient_id=patient_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="treatment-plan-v{version.number}-{version.public_id}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response


# ----- relapse-prevention plan -------------------------------------------------------------


@staff(Perm.PLAN_WRITE)
def relapse_edit(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "plan")
    current = selectors.plan_page(patient=access.patient).relapse_plan
    initial = forms.relapse_initial(current)
    initial["submission_token"] = uuid.uuid4()
    form = forms.RelapsePlanForm(request.POST or None, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.relapse_plan_save(
                actor=actor,
                access=access,
                data=form.relapse_input(),
                base_number=form.cleaned_data["base_number"],
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
            )
        except services.PlanInvalid as error:
            for field, message in error.errors.items():
                form.add_error(field if field in form.fields else None, message)
        except services.RelapsePlanConflict as error:
            conflict = error.current
            form.add_error(None, error.message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Relapse-prevention plan saved (version {plan.number}).")
            return redirect("plans:relapse", patient_id=patient_id, plan_id=plan.public_id)
    elif request.method != "POST":
        _read(
            request,
            access,
            "relapse_plan",
            current.public_id if current else access.patient.public_id,
            {"edit": True},
        )
    return render(
        request,
        "plans/relapse_edit.html",
        {"patient": access.patient, "form": form, "current": current, "conflict": conflict},
        status=(409 if conflict else 422) if form.errors else 200,
    )


@staff(Perm.PATIENT_VIEW)
def relapse_detail(request: HttpRequest, patient_id: UUID, plan_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    plan = selectors.relapse_plan_get(patient=access.patient, public_id=plan_id)
    if plan is None:
        raise Http404("No such relapse-prevention plan.")
    _read(request, access, "relapse_plan", plan.public_id)
    return render(
        request,
        "plans/relapse_detail.html",
        {
            "patient": access.patient,
            "plan": plan,
            "versions": selectors.relapse_plan_versions(patient=access.patient),
            "can_write": actor_of(request).has_perm_code(Perm.PLAN_WRITE),
        },
    )


@staff(Perm.PATIENT_VIEW)
def relapse_pdf(request: HttpRequest, patient_id: UUID, plan_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, "print")
    try:
        plan, pdf = services.relapse_plan_print(
            actor=actor_of(request), access=access, public_id=plan_id, now=now()
        )
    except ServiceError:
        raise Http404("No such relapse-prevention plan.") from None
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="relapse-prevention-plan-v{plan.number}-{plan.public_id}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response


# ----- worklist ---------------------------------------------------------------------------


@staff(Perm.PATIENT_VIEW)
def worklist(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    rows = selectors.worklist(actor=actor, today=today())
    # One read row per patient listed (one locked insert), as search does.
    if rows:
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    action=AuditAction.READ,
                    patient=r.episode.patient,
                    object_type="plan_worklist",
                    object_id=str(r.episode.patient.public_id),
                    detail={"state": r.due.state},
                )
                for r in rows
            ],
        )
    return render(
        request,
        "plans/worklist.html",
        {
            "rows": rows,
            "overdue": sum(1 for r in rows if "overdue" in r.due.state),
            "awaiting": sum(1 for r in rows if r.due.awaiting_signatures),
            "status_labels": dict(PlanVersionStatus.choices),
        },
    )


# ----- deadline settings (program directors) ------------------------------------------------

_SETTING_LABELS = {
    "label": "Requirement",
    "program": "Program",
    "payer": "Payer",
    "plan_type": "Payer plan type",
    "jurisdiction": "State",
    "due_within_days": "Plan due within",
    "review_every_days": "Review every",
    "prescriber_signature_required": "Prescriber signs",
    "is_active": "In force",
}


@staff(Perm.ORG_MANAGE)
def deadline_settings(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if actor.org_id is None:
        raise Http404("No organization.")
    rows = selectors.deadline_settings_list(organization_id=actor.org_id)
    return render(
        request,
        "plans/deadline_settings.html",
        {
            "rows": rows,
            "default_due": rules.DEFAULT_DUE_DAYS,
            "default_review": rules.DEFAULT_REVIEW_DAYS,
            "plan_types": dict(PlanType.choices),
        },
    )


@staff(Perm.ORG_MANAGE)
def deadline_setting_edit(request: HttpRequest, setting_id: UUID | None = None) -> HttpResponse:
    """New (no id) or existing setting: errors next to the fields (422, everything typed
    kept), a concurrent save refused showing what is saved now (409)."""
    actor = actor_of(request)
    if actor.org_id is None:
        raise Http404("No organization.")
    setting = None
    if setting_id is not None:
        setting = selectors.deadline_setting_get(organization_id=actor.org_id, public_id=setting_id)
        if setting is None:
            raise Http404("No such setting.")
    programs = Program.objects.filter(site__organization_id=actor.org_id).order_by("name")
    payers = Payer.objects.filter(organization_id=actor.org_id).order_by("name")
    conflict: services.SettingConflict | None = None
    if request.method == "POST":
        form = forms.DeadlineSettingForm(request.POST, programs=programs, payers=payers)
        if form.is_valid():
            try:
                services.deadline_setting_save(
                    actor=actor,
                    public_id=setting.public_id if setting else None,
                    data=form.setting_input(),
                    base_version=form.cleaned_data["version"],
                    submission_token=form.cleaned_data["submission_token"],
                )
            except services.SettingConflict as error:
                conflict = error
                form.add_error(None, error.message)
            except services.PlanInvalid as error:
                for field, message in error.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            except ServiceError as error:
                form_error(form, error)
            else:
                messages.success(request, "Plan deadline setting saved.")
                return redirect("plans:deadline_settings")
    else:
        initial: dict[str, Any] = {"submission_token": uuid.uuid4(), "is_active": True}
        if setting is not None:
            initial |= {
                "version": setting.version,
                "label": setting.label,
                "program": str(setting.program.public_id) if setting.program else "",
                "payer": str(setting.payer.public_id) if setting.payer else "",
                "plan_type": setting.plan_type,
                "jurisdiction": setting.jurisdiction,
                "due_within_days": setting.due_within_days,
                "review_every_days": setting.review_every_days,
                "prescriber_signature_required": setting.prescriber_signature_required,
                "is_active": setting.is_active,
            }
        form = forms.DeadlineSettingForm(initial=initial, programs=programs, payers=payers)
    saved: list[tuple[str, Any]] = []
    if conflict is not None:
        current = conflict.current
        # The next save starts from what is stored now (with a fresh token).
        data = request.POST.copy()
        data["version"] = str(current.version)
        data["submission_token"] = str(uuid.uuid4())
        form.data = data
        shown = {
            "label": current.label,
            "program": current.program.name if current.program else "any",
            "payer": current.payer.name if current.payer else "any",
            "plan_type": current.get_plan_type_display() or "any",
            "jurisdiction": current.jurisdiction or "any",
            "due_within_days": current.due_within_days,
            "review_every_days": current.review_every_days,
            "prescriber_signature_required": current.prescriber_signature_required,
            "is_active": current.is_active,
        }
        saved = [(_SETTING_LABELS[k], shown[k]) for k in conflict.changed]
    return render(
        request,
        "plans/deadline_setting_form.html",
        {"form": form, "setting": setting, "conflict": conflict, "saved": saved},
        status=(409 if conflict else 422) if form.errors else 200,
    )
