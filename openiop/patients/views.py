"""Patient search, registration, the chart, and demographics and coverage edits."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openiop.access.policy import staff
from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import AuditAlong, AuditEntry, audit_patients_listed
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, today
from openiop.organizations.models import Payer, Program
from openiop.patients import chart_sections, selectors, services
from openiop.patients.forms import (
    BreakGlassForm,
    ContactForm,
    CoverageForm,
    PatientEditForm,
    PatientRegisterForm,
)
from openiop.patients.rules import parse_search


@staff(Perm.PATIENT_VIEW)
def patient_search(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    query = request.GET.get("q", "").strip()
    results = None
    if query:
        terms = parse_search(query)
        results = selectors.patient_search(actor=actor, terms=terms, now=now())
        audit_patients_listed(
            actor=actor,
            patients=results,
            object_type="patient_search",
            detail={"result_count": len(results)},
        )
    template = "patients/search.html"
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "search-results":
        template += "#results"
    response = render(
        request,
        template,
        {"query": query, "results": results, "limit": selectors.SEARCH_LIMIT, "today": today()},
    )
    response["Vary"] = "HX-Request"
    return response


def _member_programs(request: HttpRequest):  # type: ignore[no-untyped-def]
    actor = actor_of(request)
    return Program.objects.filter(memberships__user=actor, is_active=True).select_related("site")


@staff(Perm.PATIENT_REGISTER)
def patient_register(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    programs = _member_programs(request)
    form = PatientRegisterForm(request.POST or None, programs=programs)
    duplicates = None
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_register(
                actor=actor,
                data=form.demographics(),
                program=form.cleaned_data["program"],
                initial_status=form.cleaned_data["initial_status"],
                submission_token=form.cleaned_data["submission_token"],
                confirmed_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
                contact=form.contact(),
                today=today(),
                now=now(),
            )
        except services.DuplicateSuspected as dup:
            duplicates = [(p, p.pk in dup.visible_ids) for p in dup.matches]
            form.add_error("confirm_not_duplicate", dup.message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Registered with MRN {patient.mrn}.")
            return redirect("patients:chart", public_id=patient.public_id)
    status = 422 if form.errors else 200
    return render(
        request,
        "patients/register.html",
        {"form": form, "duplicates": duplicates},
        status=status,
    )


def _chart_read_audit(*, actor: User, access: selectors.PatientAccess, section: str) -> AuditAlong:
    """One READ row per chart page, naming the tab, so the trail shows what was read;
    appended with the page's reads (in their round trip where the database allows)."""
    return AuditAlong(
        actor=actor,
        entries=[
            AuditEntry(
                action=AuditAction.READ,
                patient=access.patient,
                object_type="patient_chart",
                object_id=str(access.patient.public_id),
                break_glass=access.via_break_glass,
                detail={"section": section},
            )
        ],
    )


def _chart_page(
    request: HttpRequest,
    *,
    template: str,
    chart: selectors.ChartHeader,
    current: str,
    heading: str,
    **extra: object,
) -> HttpResponse:
    return render(
        request,
        template,
        {
            "chart": chart,
            "patient": chart.patient,
            "current_section": current,
            "section_heading": heading,
            **extra,
        },
    )


@staff(Perm.PATIENT_VIEW)
def patient_chart(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The chart's overview tab: episodes, demographics and contacts, coverage."""
    actor = actor_of(request)
    moment = now()
    access = selectors.patient_get_for_user(actor=actor, public_id=public_id, now=moment)
    audit = _chart_read_audit(actor=actor, access=access, section=chart_sections.OVERVIEW)
    chart = selectors.chart_get(access=access, actor=actor, now=moment, along=[audit])
    return _chart_page(
        request,
        template="patients/chart.html",
        chart=chart,
        current=chart_sections.OVERVIEW,
        heading="Overview",
        can_edit=actor.has_perm_code(Perm.PATIENT_EDIT),
        can_cover=actor.has_perm_code(Perm.COVERAGE_EDIT),
        can_manage=actor.has_perm_code(Perm.EPISODE_MANAGE),
    )


@staff(Perm.PATIENT_VIEW)
def patient_chart_section(request: HttpRequest, public_id: UUID, section: str) -> HttpResponse:
    """One tab of the chart: the header and alerts, then one capability's section."""
    actor = actor_of(request)
    moment = now()
    # The patient first, so an outsider probing any tab is refused and audited.
    access = selectors.patient_get_for_user(actor=actor, public_id=public_id, now=moment)
    found = chart_sections.section_get(section)
    if found is None:
        raise Http404("No such chart section.")
    audit = _chart_read_audit(actor=actor, access=access, section=found.key)
    chart = selectors.chart_header_get(access=access, actor=actor, now=moment, along=[audit])
    return _chart_page(
        request,
        template="patients/chart_section.html",
        chart=chart,
        current=found.key,
        heading=found.heading,
        section=found,
    )


@staff(Perm.PATIENT_EDIT)
def patient_edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = selectors.patient_get_for_user(
        actor=actor, public_id=public_id, now=now(), purpose="edit"
    )
    patient = access.patient
    current = services.demographics_of(patient)
    conflict = None
    if request.method == "POST":
        form = PatientEditForm(request.POST)
        if form.is_valid():
            try:
                services.patient_update(
                    actor=actor,
                    access=access,
                    data=form.demographics(),
                    base_version=form.cleaned_data["version"],
                )
            except services.VersionConflict as error:
                conflict = error
                # Keep everything typed; move the form onto the saved version so the
                # next save, after checking, goes through.
                resubmit = request.POST.copy()
                resubmit["version"] = str(error.current.version)
                form = PatientEditForm(resubmit)
                form.is_valid()
                form.add_error(None, error.message)
            except ServiceError as error:
                form_error(form, error)
            else:
                messages.success(request, "Demographics saved.")
                return redirect("patients:chart", public_id=patient.public_id)
    else:
        form = PatientEditForm(initial=current.__dict__ | {"version": patient.version})
    return render(
        request,
        "patients/edit.html",
        {
            "form": form,
            "patient": patient,
            "conflict": conflict,
            "conflict_rows": _conflict_rows(form, conflict),
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.PATIENT_EDIT)
def contact_add(request: HttpRequest, public_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = selectors.patient_get_for_user(
        actor=actor, public_id=public_id, now=now(), purpose="edit"
    )
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_add(actor=actor, access=access, data=form.contact())
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Emergency contact added.")
            return redirect("patients:chart", public_id=public_id)
    return render(
        request,
        "patients/contact_form.html",
        {"form": form, "patient": access.patient},
        status=422 if form.errors else 200,
    )


@staff(Perm.PATIENT_EDIT)
@require_POST
def contact_remove(request: HttpRequest, public_id: UUID, contact_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = selectors.patient_get_for_user(
        actor=actor, public_id=public_id, now=now(), purpose="edit"
    )
    try:
        services.contact_deactivate(actor=actor, access=access, contact_public_id=contact_id)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Emergency contact removed.")
    return redirect("patients:chart", public_id=public_id)


@staff(Perm.COVERAGE_EDIT)
def coverage_add(request: HttpRequest, public_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = selectors.patient_get_for_user(
        actor=actor, public_id=public_id, now=now(), purpose="edit"
    )
    payers = Payer.objects.filter(organization_id=actor.org_id, is_active=True)
    form = CoverageForm(request.POST or None, payers=payers)
    if request.method == "POST" and form.is_valid():
        try:
            services.coverage_add(actor=actor, access=access, data=form.coverage())
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Coverage added.")
            return redirect("patients:chart", public_id=public_id)
    return render(
        request,
        "patients/coverage_form.html",
        {"form": form, "patient": access.patient},
        status=422 if form.errors else 200,
    )


@staff(Perm.COVERAGE_EDIT)
@require_POST
def coverage_status(request: HttpRequest, public_id: UUID, coverage_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = selectors.patient_get_for_user(
        actor=actor, public_id=public_id, now=now(), purpose="edit"
    )
    try:
        services.coverage_set_status(
            actor=actor,
            access=access,
            coverage_public_id=coverage_id,
            status=request.POST.get("status", ""),
            today=today(),
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Coverage updated.")
    return redirect("patients:chart", public_id=public_id)


@staff(Perm.BREAK_GLASS)
def break_glass(request: HttpRequest) -> HttpResponse:
    from openiop.access.services import break_glass_grant
    from openiop.patients.models import Patient

    actor = actor_of(request)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = Patient.objects.filter(
            organization_id=actor.org_id,
            mrn__iexact=form.cleaned_data["mrn"].strip(),
            date_of_birth=form.cleaned_data["date_of_birth"],
        ).first()
        if patient is None:
            form.add_error("mrn", "No patient has this MRN and date of birth.")
        else:
            try:
                break_glass_grant(
                    actor=actor,
                    patient_public_id=patient.public_id,
                    reason=form.cleaned_data["reason"],
                    now=now(),
                )
            except ServiceError as error:
                form_error(form, error)
            else:
                messages.warning(
                    request, "Emergency access granted. It is recorded and time-limited."
                )
                return redirect(reverse("patients:chart", kwargs={"public_id": patient.public_id}))
    return render(
        request, "patients/break_glass.html", {"form": form}, status=422 if form.errors else 200
    )


def _conflict_rows(
    form: PatientEditForm, conflict: services.VersionConflict | None
) -> list[tuple[str, object]]:
    if conflict is None:
        return []
    saved = services.demographics_of(conflict.current)
    return [(str(form.fields[n].label or n), getattr(saved, n)) for n in conflict.changed_fields]
