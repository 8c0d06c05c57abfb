"""Assessment pages: biopsychosocial, diagnoses, level of care, eligibility, and the
organization settings for the level-of-care table and the programs' admission rules.

Every patient page starts with `patient_get_for_user` (an audited 404 for outsiders);
bad input re-renders the page with status 422, the message next to its field and
everything typed kept.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.assessments import forms as f
from openiop.assessments import icd10, rules, selectors, services
from openiop.assessments.models import (
    AssessmentStatus,
    BiopsychosocialAssessment,
    Diagnosis,
    DiagnosisRank,
    EligibilityCheck,
    LevelOfCareAssessment,
)
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access, today
from openiop.organizations.models import Program
from openiop.patients.rules import age_on
from openiop.patients.selectors import PatientAccess


def _audit_read(request: HttpRequest, access: PatientAccess, object_type: str, oid: object) -> None:
    audit_record(
        actor=actor_of(request),
        action=AuditAction.READ,
        patient=access.patient,
        object_type=object_type,
        object_id=oid,
        break_glass=access.via_break_glass,
    )


def _page(
    request: HttpRequest, template: str, access: PatientAccess, context: dict[str, Any], **kw: Any
) -> HttpResponse:
    patient = access.patient
    base = {
        "patient": patient,
        "age": age_on(patient.date_of_birth, today()),
        "via_break_glass": access.via_break_glass,
    }
    return render(request, template, base | context, **kw)


def _put_problems(form: forms.Form, error: ServiceError) -> None:
    if isinstance(error, services.FieldProblems):
        for name, message in error.fields.items():
            form.add_error(name if name in form.fields else None, message)
        if not error.fields and not error.rows:
            form.add_error(None, error.message)
    else:
        form_error(form, error)


# --- Patient overview -------------------------------------------------------------


@staff(Perm.PATIENT_VIEW)
def patient_assessments(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    patient = access.patient
    diagnoses = selectors.diagnoses_all(patient=patient)
    _audit_read(request, access, "assessments", patient.public_id)
    return _page(
        request,
        "assessments/patient.html",
        access,
        {
            "biopsychosocials": selectors.biopsychosocial_list(patient=patient),
            "diagnoses": diagnoses,
            "dual": selectors.dual_diagnosis_of(diagnoses),
            "level_assessments": selectors.loc_list(patient=patient),
            "can_write": actor_of(request).has_perm_code(Perm.ASSESSMENT_WRITE),
        },
    )


# --- Biopsychosocial --------------------------------------------------------------

SUBSTANCES = "substances"
TREATMENTS = "treatments"


def _formsets(
    data: Any, initial_s: list[dict[str, Any]] | None, initial_t: list[dict[str, Any]] | None
) -> tuple[f.forms.BaseFormSet, f.forms.BaseFormSet]:
    extra_s = 0 if data is not None or initial_s else 1
    extra_t = 0 if data is not None or initial_t else 1
    s_class = forms.formset_factory(f.SubstanceRowForm, extra=extra_s, can_delete=True)
    t_class = forms.formset_factory(f.TreatmentRowForm, extra=extra_t, can_delete=True)
    return (
        s_class(data, initial=initial_s, prefix=SUBSTANCES),
        t_class(data, initial=initial_t, prefix=TREATMENTS),
    )


def _with_extra_row(post: Any, prefix: str) -> Any:
    data = post.copy()
    key = f"{prefix}-TOTAL_FORMS"
    try:
        data[key] = str(int(data.get(key, "0")) + 1)
    except ValueError:
        data[key] = "1"
    return data


def _row_problems(
    substances: forms.BaseFormSet,
    treatments: forms.BaseFormSet,
    error: services.FieldProblems,
) -> None:
    """Put row messages next to their fields. Indexes count filled rows only, so map
    them back to the forms that produced them."""
    for formset, key in ((substances, SUBSTANCES), (treatments, TREATMENTS)):
        filled = [
            form
            for form in formset.forms
            if form.has_changed() and getattr(form, "cleaned_data", None)
        ]
        for index, problems in error.rows.get(key, {}).items():
            form = filled[index]
            for name, message in problems.items():
                form.add_error(name if name in form.fields else None, message)


def _bps_render(
    request: HttpRequest,
    access: PatientAccess,
    form: f.BiopsychosocialForm,
    substances: forms.BaseFormSet,
    treatments: forms.BaseFormSet,
    *,
    assessment: BiopsychosocialAssessment | None = None,
    conflict: services.VersionConflict | None = None,
    status: int = 200,
) -> HttpResponse:
    return _page(
        request,
        "assessments/biopsychosocial_form.html",
        access,
        {
            "form": form,
            "substances": substances,
            "treatments": treatments,
            "assessment": assessment,
            "conflict": conflict,
            "conflict_rows": _conflict_rows(form, conflict, assessment),
            "withdrawal_fields": [form[name] for name in _NARRATIVE[1:4]],
            "history_fields": [form[name] for name in _NARRATIVE[4:]],
        },
        status=status,
    )


_NARRATIVE = (
    "presenting_problem",
    "withdrawal_history",
    "overdose_history",
    "last_overdose_on",
    "psychiatric_history",
    "medical_history",
    "current_medications",
    "family",
    "housing",
    "employment",
    "education",
    "legal",
    "military",
    "trauma",
    "strengths",
)


def _conflict_rows(
    form: forms.Form,
    conflict: services.VersionConflict | None,
    assessment: BiopsychosocialAssessment | None,
) -> list[tuple[str, object]]:
    if conflict is None or assessment is None:
        return []
    assessment.refresh_from_db()
    return [
        (str(form.fields[name].label or name), getattr(assessment, name))
        for name in conflict.changed
        if name in form.fields
    ]


def _bps_post(
    request: HttpRequest,
    access: PatientAccess,
    assessment: BiopsychosocialAssessment | None,
) -> HttpResponse:
    actor = actor_of(request)
    action = request.POST.get("action", "save")
    if action in {f"add_{SUBSTANCES}", f"add_{TREATMENTS}"}:
        data = _with_extra_row(request.POST, action.removeprefix("add_"))
        form = f.BiopsychosocialForm(data)
        substances, treatments = _formsets(data, None, None)
        return _bps_render(request, access, form, substances, treatments, assessment=assessment)
    form = f.BiopsychosocialForm(request.POST)
    substances, treatments = _formsets(request.POST, None, None)
    valid = form.is_valid() & substances.is_valid() & treatments.is_valid()
    conflict = None
    if valid:
        rows_s, rows_t = f.filled_rows(substances), f.filled_rows(treatments)
        complete = action == "complete"
        try:
            if assessment is None:
                saved = services.biopsychosocial_create(
                    actor=actor,
                    access=access,
                    data=form.data_input(),
                    substances=rows_s,
                    treatments=rows_t,
                    complete=complete,
                    submission_token=form.cleaned_data.get("submission_token"),
                    today=today(),
                    now=now(),
                )
            else:
                saved = services.biopsychosocial_update(
                    actor=actor,
                    access=access,
                    assessment_public_id=assessment.public_id,
                    data=form.data_input(),
                    substances=rows_s,
                    treatments=rows_t,
                    complete=complete,
                    base_version=form.cleaned_data.get("version") or 0,
                    today=today(),
                    now=now(),
                )
        except services.VersionConflict as error:
            conflict = error
            data = request.POST.copy()
            data["version"] = str(error.current_version)
            form = f.BiopsychosocialForm(data)
            substances, treatments = _formsets(data, None, None)
            form.is_valid()
            substances.is_valid()
            treatments.is_valid()
            form.add_error(None, error.message)
        except services.FieldProblems as error:
            _put_problems(form, error)
            _row_problems(substances, treatments, error)
            form.add_error(None, error.message)
        except ServiceError as error:
            form_error(form, error)
        else:
            if saved.status == AssessmentStatus.COMPLETED:
                messages.success(request, "Biopsychosocial assessment completed.")
                return redirect(
                    "assessments:bps_detail",
                    patient_id=access.patient.public_id,
                    assessment_id=saved.public_id,
                )
            messages.success(request, "Draft saved.")
            return redirect(
                "assessments:bps_edit",
                patient_id=access.patient.public_id,
                assessment_id=saved.public_id,
            )
    return _bps_render(
        request,
        access,
        form,
        substances,
        treatments,
        assessment=assessment,
        conflict=conflict,
        status=422,
    )


@staff(Perm.ASSESSMENT_WRITE)
def bps_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    if request.method == "POST":
        return _bps_post(request, access, None)
    form = f.BiopsychosocialForm(initial={"assessed_on": today()})
    substances, treatments = _formsets(None, None, None)
    return _bps_render(request, access, form, substances, treatments)


def _bps_or_404(access: PatientAccess, assessment_id: UUID) -> BiopsychosocialAssessment:
    assessment = selectors.biopsychosocial_get(patient=access.patient, public_id=assessment_id)
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


@staff(Perm.ASSESSMENT_WRITE)
def bps_edit(request: HttpRequest, patient_id: UUID, assessment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    assessment = _bps_or_404(access, assessment_id)
    if not assessment.is_editable:
        messages.info(request, "This assessment is not a draft; start a revision to change it.")
        return redirect(
            "assessments:bps_detail", patient_id=patient_id, assessment_id=assessment_id
        )
    if request.method == "POST":
        return _bps_post(request, access, assessment)
    initial = {
        name: getattr(assessment, name)
        for name in services.BiopsychosocialInput.__dataclass_fields__
    } | {"version": assessment.version}
    form = f.BiopsychosocialForm(initial=initial)
    substances, treatments = _formsets(
        None,
        [
            {"row_id": r.public_id} | {n: getattr(r, n) for n in services.SUBSTANCE_FIELDS}
            for r in assessment.substances  # type: ignore[attr-defined]
        ],
        [
            {"row_id": r.public_id} | {n: getattr(r, n) for n in services.TREATMENT_FIELDS}
            for r in assessment.treatments  # type: ignore[attr-defined]
        ],
    )
    return _bps_render(request, access, form, substances, treatments, assessment=assessment)


@staff(Perm.PATIENT_VIEW)
def bps_detail(request: HttpRequest, patient_id: UUID, assessment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    assessment = _bps_or_404(access, assessment_id)
    _audit_read(request, access, "biopsychosocial", assessment.public_id)
    fields = f.BiopsychosocialForm.base_fields
    sections = [
        (fields[name].label, getattr(assessment, name))
        for name in _NARRATIVE
        if name != "last_overdose_on"
    ]
    return _page(
        request,
        "assessments/biopsychosocial_detail.html",
        access,
        {
            "assessment": assessment,
            "sections": sections,
            "can_write": actor_of(request).has_perm_code(Perm.ASSESSMENT_WRITE),
            "error_form": f.StatusReasonForm(),
        },
    )


@staff(Perm.ASSESSMENT_WRITE)
@require_POST
def bps_revise(request: HttpRequest, patient_id: UUID, assessment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    try:
        draft = services.biopsychosocial_revise(
            actor=actor_of(request),
            access=access,
            assessment_public_id=assessment_id,
            today=today(),
            now=now(),
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(
            "assessments:bps_detail", patient_id=patient_id, assessment_id=assessment_id
        )
    messages.success(request, "A new draft copies the completed assessment; edit it and complete.")
    return redirect("assessments:bps_edit", patient_id=patient_id, assessment_id=draft.public_id)


@staff(Perm.ASSESSMENT_WRITE)
def bps_entered_in_error(
    request: HttpRequest, patient_id: UUID, assessment_id: UUID
) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    assessment = _bps_or_404(access, assessment_id)
    form = f.StatusReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.biopsychosocial_mark_error(
                actor=actor_of(request),
                access=access,
                assessment_public_id=assessment.public_id,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Marked as entered in error; it is kept in the record.")
            return redirect("assessments:patient", patient_id=patient_id)
    return _page(
        request,
        "assessments/entered_in_error.html",
        access,
        {"form": form, "what": "biopsychosocial assessment", "object": assessment},
        status=422 if form.errors else 200,
    )


# --- Diagnoses --------------------------------------------------------------------


def _search_results(query: str) -> list[icd10.IcdCode] | None:
    query = query.strip()
    return icd10.search(query) if query else None


@staff(Perm.PATIENT_VIEW)
def icd10_search(request: HttpRequest) -> HttpResponse:
    """Code search (not tied to a patient, so nothing in the URL names one)."""
    query = request.GET.get("q", "")[:100]
    htmx = getattr(request, "htmx", None)
    template = "assessments/icd10_search.html"
    if htmx:
        template += "#results"
    response = render(
        request,
        template,
        {"query": query, "results": _search_results(query), "pick": bool(htmx)},
    )
    response["Vary"] = "HX-Request"
    return response


@staff(Perm.ASSESSMENT_WRITE)
def diagnosis_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    patient = access.patient
    query = request.GET.get("q", "")[:100]
    has_primary = any(
        d.rank == DiagnosisRank.PRIMARY for d in selectors.diagnoses_active(patient=patient)
    )
    default_rank = DiagnosisRank.SECONDARY if has_primary else DiagnosisRank.PRIMARY
    status = 200
    chosen = None
    if request.method == "POST" and "choose" in request.POST:
        # A search result was picked: fill in the code, keep the rest, save nothing yet.
        data = request.POST.copy()
        picked = str(request.POST.get("choose", ""))
        data["code"] = picked
        form = f.DiagnosisAddForm(data)
        chosen = icd10.lookup(picked)
    elif request.method == "POST":
        form = f.DiagnosisAddForm(request.POST)
        if form.is_valid():
            try:
                services.diagnosis_add(
                    actor=actor_of(request),
                    access=access,
                    code=form.cleaned_data["code"],
                    rank=form.cleaned_data["rank"],
                    onset_on=form.cleaned_data["onset_on"],
                    submission_token=form.cleaned_data.get("submission_token"),
                    today=today(),
                    now=now(),
                )
            except ServiceError as error:
                _put_problems(form, error)
            else:
                messages.success(request, "Diagnosis recorded.")
                return redirect("assessments:patient", patient_id=patient_id)
        status = 422
    else:
        form = f.DiagnosisAddForm(initial={"rank": default_rank})
    if form.is_bound and not chosen:
        typed = str(request.POST.get("code", ""))
        chosen = icd10.lookup(typed) if typed else None
    return _page(
        request,
        "assessments/diagnosis_new.html",
        access,
        {
            "form": form,
            "query": query,
            "results": _search_results(query),
            "pick": True,
            "chosen": chosen,
            "has_primary": has_primary,
        },
        status=status,
    )


def _diagnosis_or_404(access: PatientAccess, diagnosis_id: UUID) -> Diagnosis:
    diagnosis = Diagnosis.objects.filter(patient=access.patient, public_id=diagnosis_id).first()
    if diagnosis is None:
        raise Http404("No such diagnosis.")
    return diagnosis


@staff(Perm.ASSESSMENT_WRITE)
def diagnosis_edit(request: HttpRequest, patient_id: UUID, diagnosis_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    diagnosis = _diagnosis_or_404(access, diagnosis_id)
    conflict = None
    if request.method == "POST":
        form = f.DiagnosisEditForm(request.POST)
        if form.is_valid():
            c = form.cleaned_data
            try:
                services.diagnosis_update(
                    actor=actor_of(request),
                    access=access,
                    diagnosis_public_id=diagnosis.public_id,
                    rank=c["rank"],
                    status=c["status"],
                    onset_on=c["onset_on"],
                    reason=c["reason"],
                    base_version=c["version"],
                    today=today(),
                )
            except services.VersionConflict as error:
                conflict = error
                data = request.POST.copy()
                data["version"] = str(error.current_version)
                form = f.DiagnosisEditForm(data)
                form.is_valid()
                form.add_error(None, error.message)
                diagnosis.refresh_from_db()
            except ServiceError as error:
                _put_problems(form, error)
            else:
                messages.success(request, "Diagnosis updated.")
                return redirect("assessments:patient", patient_id=patient_id)
    else:
        form = f.DiagnosisEditForm(
            initial={
                "version": diagnosis.version,
                "rank": diagnosis.rank,
                "status": diagnosis.status,
                "onset_on": diagnosis.onset_on,
            }
        )
    return _page(
        request,
        "assessments/diagnosis_edit.html",
        access,
        {"form": form, "diagnosis": diagnosis, "conflict": conflict},
        status=422 if form.errors else 200,
    )


# --- Level of care ----------------------------------------------------------------


def _loc_context(
    access: PatientAccess, form: f.LevelOfCareForm, preview: rules.Recommendation | None
) -> dict[str, Any]:
    patient = access.patient
    table, grid = selectors.level_table_for(organization_id=patient.organization_id)
    return {
        "form": form,
        "table": table,
        "table_complete": len([1 for row in grid.values() for _ in row]) == 30,
        "from_alert": selectors.high_suicide_risk_open(patient=patient),
        "preview": preview,
        "dimensions": rules.DIMENSIONS,
        "rating_labels": rules.RATING_LABELS,
        "example_label": rules.EXAMPLE_TABLE_LABEL,
    }


@staff(Perm.ASSESSMENT_WRITE)
def loc_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    preview = None
    status = 200
    if request.method == "POST":
        form = f.LevelOfCareForm(request.POST)
        if form.is_valid():
            data = form.data_input()
            if request.POST.get("action") == "preview":
                ratings = {n: r for n, r in data.ratings.items() if r in rules.RATINGS}
                preview, _, problem = services.loc_preview(
                    patient=access.patient, ratings=ratings, imminent_danger=data.imminent_danger
                )
                for n, value in data.ratings.items():
                    message = rules.rating_problem(n, value)
                    if message:
                        form.add_error(f"d{n}_rating", message)
                if problem:
                    form.add_error(None, problem)
                status = 422 if form.errors else 200
            else:
                try:
                    saved = services.loc_record(
                        actor=actor_of(request),
                        access=access,
                        data=data,
                        submission_token=form.cleaned_data.get("submission_token"),
                        today=today(),
                        now=now(),
                    )
                except ServiceError as error:
                    _put_problems(form, error)
                    status = 422
                else:
                    messages.success(request, "Level-of-care assessment recorded.")
                    return redirect(
                        "assessments:loc_detail",
                        patient_id=patient_id,
                        assessment_id=saved.public_id,
                    )
        else:
            status = 422
    else:
        from_alert = selectors.high_suicide_risk_open(patient=access.patient)
        form = f.LevelOfCareForm(initial={"assessed_on": today(), "imminent_danger": from_alert})
    return _page(
        request,
        "assessments/loc_form.html",
        access,
        _loc_context(access, form, preview),
        status=status,
    )


def _loc_or_404(access: PatientAccess, assessment_id: UUID) -> LevelOfCareAssessment:
    assessment = (
        LevelOfCareAssessment.objects.filter(patient=access.patient, public_id=assessment_id)
        .select_related("assessed_by")
        .first()
    )
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


@staff(Perm.PATIENT_VIEW)
def loc_detail(request: HttpRequest, patient_id: UUID, assessment_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    assessment = _loc_or_404(access, assessment_id)
    _audit_read(request, access, "level_of_care_assessment", assessment.public_id)
    ratings, rationales = assessment.ratings(), assessment.rationales()
    rows = [
        {
            "n": n,
            "name": name,
            "rating": ratings[n],
            "label": rules.RATING_LABELS[ratings[n]],
            "rationale": rationales[n],
            "minimum": assessment.minimum_levels.get(str(n), ""),
            "driving": n in assessment.driving_dimensions,
        }
        for n, name in rules.DIMENSIONS.items()
    ]
    return _page(
        request,
        "assessments/loc_detail.html",
        access,
        {
            "assessment": assessment,
            "rows": rows,
            "can_write": actor_of(request).has_perm_code(Perm.ASSESSMENT_WRITE),
            "example_label": rules.EXAMPLE_TABLE_LABEL,
        },
    )


@staff(Perm.ASSESSMENT_WRITE)
def loc_entered_in_error(
    request: HttpRequest, patient_id: UUID, assessment_id: UUID
) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    assessment = _loc_or_404(access, assessment_id)
    form = f.StatusReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.loc_mark_error(
                actor=actor_of(request),
                access=access,
                assessment_public_id=assessment.public_id,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Marked as entered in error; it is kept in the record.")
            return redirect("assessments:patient", patient_id=patient_id)
    return _page(
        request,
        "assessments/entered_in_error.html",
        access,
        {"form": form, "what": "level-of-care assessment", "object": assessment},
        status=422 if form.errors else 200,
    )


# --- Eligibility ------------------------------------------------------------------


def _program_or_none(request: HttpRequest, raw: str | None) -> Program | None:
    if not raw:
        return None
    try:
        program_id = UUID(raw)
    except ValueError:
        return None
    return (
        selectors.eligibility_programs(actor=actor_of(request))
        .filter(public_id=program_id)
        .select_related("site")
        .first()
    )


def _eligibility_render(
    request: HttpRequest,
    access: PatientAccess,
    program: Program | None,
    form: f.EligibilityCheckForm | None,
    status: int = 200,
    check: EligibilityCheck | None = None,
) -> HttpResponse:
    rule = selectors.eligibility_rule_for(program=program) if program else None
    results: list[Any] = []
    overall = None
    if program is not None:
        if check is not None:
            results = [rules.RuleResult(**r) for r in check.results]
        else:
            answers = (
                form.answers() if form is not None and form.is_bound and form.is_valid() else {}
            )
            criteria = selectors.criteria_of(rule)
            facts = selectors.eligibility_facts(patient=access.patient, exclusion_answers=answers)
            results = rules.evaluate_eligibility(criteria, facts, today())
        overall = rules.eligibility_overall(results) if results else None
    return _page(
        request,
        "assessments/eligibility.html",
        access,
        {
            "programs": selectors.eligibility_programs(actor=actor_of(request)),
            "program": program,
            "selected_program_id": program.pk
            if program
            else selectors.current_program_id(patient=access.patient),
            "rule": rule,
            "results": results,
            "overall": overall,
            "form": form,
            "check": check,
            "history": selectors.eligibility_checks(patient=access.patient, program=program)
            if program
            else [],
            "can_write": actor_of(request).has_perm_code(Perm.ASSESSMENT_WRITE),
        },
        status=status,
    )


@staff(Perm.PATIENT_VIEW)
def eligibility(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    program = _program_or_none(request, request.GET.get("program"))
    if request.GET.get("program") and program is None:
        raise Http404("No such program.")
    form = None
    if program is not None:
        rule = selectors.eligibility_rule_for(program=program)
        form = f.EligibilityCheckForm(exclusions=rule.exclusion_list() if rule else [])
    _audit_read(request, access, "eligibility", program.public_id if program else "")
    return _eligibility_render(request, access, program, form)


@staff(Perm.ASSESSMENT_WRITE)
@require_POST
def eligibility_record(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id, purpose="edit")
    program = _program_or_none(request, request.POST.get("program"))
    if program is None:
        raise Http404("No such program.")
    rule = selectors.eligibility_rule_for(program=program)
    form = f.EligibilityCheckForm(request.POST, exclusions=rule.exclusion_list() if rule else [])
    if form.is_valid():
        try:
            check = services.eligibility_check_record(
                actor=actor_of(request),
                access=access,
                program=program,
                exclusion_answers=form.answers(),
                submission_token=form.cleaned_data.get("submission_token"),
                today=today(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Eligibility check recorded.")
            return redirect(
                "assessments:eligibility_check", patient_id=patient_id, check_id=check.public_id
            )
    return _eligibility_render(request, access, program, form, status=422)


@staff(Perm.PATIENT_VIEW)
def eligibility_check(request: HttpRequest, patient_id: UUID, check_id: UUID) -> HttpResponse:
    access = patient_access(request, patient_id)
    check = (
        EligibilityCheck.objects.filter(patient=access.patient, public_id=check_id)
        .select_related("program", "checked_by")
        .first()
    )
    if check is None:
        raise Http404("No such check.")
    _audit_read(request, access, "eligibility_check", check.public_id)
    return _eligibility_render(request, access, check.program, None, check=check)


# --- Organization settings --------------------------------------------------------


@staff(Perm.ORG_MANAGE)
def settings_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    table, _ = selectors.level_table_for(organization_id=actor.org_id)
    programs = Program.objects.filter(site__organization_id=actor.org_id).select_related(
        "site", "eligibility_rule"
    )
    return render(
        request,
        "assessments/settings.html",
        {"table": table, "programs": programs, "example_label": rules.EXAMPLE_TABLE_LABEL},
    )


@staff(Perm.ORG_MANAGE)
def level_table(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    table, grid = selectors.level_table_for(organization_id=actor.org_id)
    if table is None:
        return render(
            request,
            "assessments/level_table.html",
            {"table": None, "example_label": rules.EXAMPLE_TABLE_LABEL},
        )
    conflict = None
    if request.method == "POST":
        form = f.LevelTableForm(request.POST)
        if form.is_valid():
            try:
                services.level_table_update(
                    actor=actor,
                    cells=form.cells(),
                    is_example=form.cleaned_data["is_example"],
                    base_version=form.cleaned_data["version"],
                )
            except services.VersionConflict as error:
                conflict = error
                data = request.POST.copy()
                data["version"] = str(error.current_version)
                form = f.LevelTableForm(data)
                form.is_valid()
                form.add_error(None, error.message)
            except ServiceError as error:
                _put_problems(form, error)
            else:
                messages.success(request, "Level-of-care table saved.")
                return redirect("assessments:settings")
    else:
        initial: dict[str, Any] = {"version": table.version, "is_example": table.is_example}
        for d, row in grid.items():
            for r, level in row.items():
                initial[f"d{d}_r{r}"] = level
        form = f.LevelTableForm(initial=initial)
    return render(
        request,
        "assessments/level_table.html",
        {
            "table": table,
            "form": form,
            "conflict": conflict,
            "ratings": [(r, rules.RATING_LABELS[r]) for r in rules.RATINGS],
            "example_label": rules.EXAMPLE_TABLE_LABEL,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.ORG_MANAGE)
@require_POST
def level_table_example(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    try:
        services.level_table_load_example(
            organization=actor.organization,  # type: ignore[arg-type]
            actor=actor,
            replace=request.POST.get("replace") == "yes",
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The example table is loaded. Replace it with your criteria.")
    return redirect("assessments:level_table")


@staff(Perm.ORG_MANAGE)
def eligibility_rule_edit(request: HttpRequest, program_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    program = (
        Program.objects.filter(site__organization_id=actor.org_id, public_id=program_id)
        .select_related("site")
        .first()
    )
    if program is None:
        raise Http404("No such program.")
    rule = selectors.eligibility_rule_for(program=program)
    conflict = None
    if request.method == "POST":
        form = f.EligibilityRuleForm(request.POST)
        if form.is_valid():
            try:
                services.eligibility_rule_save(
                    actor=actor,
                    program=program,
                    data=form.data_input(),
                    base_version=form.cleaned_data.get("version"),
                )
            except services.VersionConflict as error:
                conflict = error
                data = request.POST.copy()
                data["version"] = str(error.current_version)
                form = f.EligibilityRuleForm(data)
                form.is_valid()
                form.add_error(None, error.message)
            except ServiceError as error:
                _put_problems(form, error)
            else:
                messages.success(request, f"Admission rules for {program.name} saved.")
                return redirect("assessments:settings")
    elif rule is not None:
        form = f.EligibilityRuleForm(
            initial={
                name: getattr(rule, name)
                for name in services.EligibilityRuleInput.__dataclass_fields__
            }
            | {"version": rule.version}
        )
    else:
        form = f.EligibilityRuleForm()
    return render(
        request,
        "assessments/eligibility_rule.html",
        {"form": form, "program": program, "rule": rule, "conflict": conflict},
        status=422 if form.errors else 200,
    )
