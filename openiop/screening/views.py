"""Giving instruments, results, risk responses, safety plans and resolving risk alerts.

One view per action; each fetches the patient through `patient_get_for_user` first, so
an outsider gets the same audited 404 as a patient that does not exist.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from openiop.access.policy import staff
from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.alerts.models import AlertKind
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access
from openiop.instruments import InstrumentDefinition, InstrumentError, definitions, get_definition
from openiop.patients.selectors import PatientAccess
from openiop.screening import selectors, services
from openiop.screening.forms import (
    EnteredInErrorForm,
    InstrumentForm,
    ResolveForm,
    RiskResponseForm,
    SafetyPlanForm,
    initial_answers,
    safety_plan_initial,
)
from openiop.screening.models import InstrumentAdministration
from openiop.screening.presentation import result_view


def _audit_read(request: HttpRequest, access: PatientAccess, object_type: str, oid: Any) -> None:
    audit_record(
        actor=actor_of(request),
        action=AuditAction.READ,
        patient=access.patient,
        object_type=object_type,
        object_id=oid,
        break_glass=access.via_break_glass,
    )


def _definition(code: str) -> InstrumentDefinition:
    try:
        return get_definition(code)
    except InstrumentError:
        raise Http404("No such instrument.") from None


def _chart(public_id: UUID) -> HttpResponse:
    return redirect("patients:chart_section", public_id=public_id, section="screening")


# --- instruments --------------------------------------------------------------------


@staff(Perm.SCREENING_ADMINISTER)
def instrument_choose(request: HttpRequest, public_id: UUID) -> HttpResponse:
    access = patient_access(request, public_id, purpose="edit")
    return render(
        request,
        "screening/choose.html",
        {"patient": access.patient, "definitions": definitions()},
    )


def _form_page(
    request: HttpRequest,
    access: PatientAccess,
    definition: InstrumentDefinition,
    administration: InstrumentAdministration | None,
) -> HttpResponse:
    actor = actor_of(request)
    if request.method == "POST":
        form = InstrumentForm(request.POST, definition=definition)
    elif administration is not None:
        form = InstrumentForm(
            definition=definition,
            initial=initial_answers(administration.answers)
            | {
                "version": administration.version,
                "administered_at": timezone.localtime(administration.administered_at),
                "self_reported": administration.self_reported,
            },
        )
    else:
        form = InstrumentForm(
            definition=definition, initial={"administered_at": timezone.localtime(now())}
        )
    conflict = None
    if request.method == "POST" and form.is_valid():
        finish = request.POST.get("action") == "score"
        try:
            outcome = services.administration_save(
                actor=actor,
                access=access,
                data=services.AdministrationInput(
                    instrument_code=definition.code,
                    answers=form.answers(),
                    administered_at=form.cleaned_data["administered_at"],
                    self_reported=form.cleaned_data["self_reported"],
                ),
                finish=finish,
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
                administration_public_id=administration.public_id if administration else None,
                base_version=form.cleaned_data["version"],
            )
        except services.AnswerErrors as error:
            form.add_answer_errors(error.errors)
            form.add_error(None, error.message)
        except services.AdministrationConflict as error:
            conflict = error.current
            form.add_error(None, error.message)
        except ServiceError as error:
            form_error(form, error)
        else:
            saved = outcome.administration
            if outcome.dropped_items:
                items = ", ".join(str(n) for n in outcome.dropped_items)
                messages.warning(
                    request,
                    f"Not recorded: the answers to item(s) {items}, which the earlier answers "
                    "skip.",
                )
            if saved.is_draft:
                messages.success(request, "Draft saved. It has no score until it is finished.")
                if outcome.alert is not None:
                    messages.error(request, "Suicide-risk alert raised from this draft.")
                return redirect(
                    "screening:administration_edit",
                    public_id=access.patient.public_id,
                    administration_id=saved.public_id,
                )
            return redirect(
                "screening:administration_detail",
                public_id=access.patient.public_id,
                administration_id=saved.public_id,
            )
    return render(
        request,
        "screening/form.html",
        {
            "patient": access.patient,
            "definition": definition,
            "form": form,
            "rows": form.item_rows(),
            "administration": administration,
            "conflict": conflict,
            "conflict_answers": (
                {int(k): v for k, v in conflict.answers.items()} if conflict else {}
            ),
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.SCREENING_ADMINISTER)
def administration_new(request: HttpRequest, public_id: UUID, code: str) -> HttpResponse:
    definition = _definition(code)
    access = patient_access(request, public_id, purpose="edit")
    return _form_page(request, access, definition, None)


def _administration(access: PatientAccess, administration_id: UUID) -> InstrumentAdministration:
    administration = selectors.administration_get(access=access, public_id=administration_id)
    if administration is None:
        raise Http404("No such form.")
    return administration


@staff(Perm.SCREENING_ADMINISTER)
def administration_edit(
    request: HttpRequest, public_id: UUID, administration_id: UUID
) -> HttpResponse:
    access = patient_access(request, public_id, purpose="edit")
    administration = _administration(access, administration_id)
    if not administration.is_draft:
        return redirect(
            "screening:administration_detail",
            public_id=public_id,
            administration_id=administration_id,
        )
    return _form_page(request, access, _definition(administration.instrument_code), administration)


@staff(Perm.PATIENT_VIEW)
def administration_detail(
    request: HttpRequest, public_id: UUID, administration_id: UUID
) -> HttpResponse:
    access = patient_access(request, public_id)
    administration = _administration(access, administration_id)
    _audit_read(request, access, "instrument_administration", administration.public_id)
    alerts = selectors.alerts_for_administration(administration=administration)
    return render(
        request,
        "screening/result.html",
        {
            "patient": access.patient,
            "administration": administration,
            "result": result_view(administration),
            "alerts": alerts,
            "open_alerts": [a for a in alerts if a.status == "open"],
            "safety_plan": selectors.safety_plan_current(patient=access.patient),
        },
    )


@staff(Perm.SCREENING_ADMINISTER)
def administration_entered_in_error(
    request: HttpRequest, public_id: UUID, administration_id: UUID
) -> HttpResponse:
    access = patient_access(request, public_id, purpose="edit")
    administration = _administration(access, administration_id)
    form = EnteredInErrorForm(request.POST or None, initial={"version": administration.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.administration_mark_entered_in_error(
                actor=actor_of(request),
                access=access,
                administration_public_id=administration.public_id,
                reason=form.cleaned_data["reason"],
                base_version=form.cleaned_data["version"],
                now=now(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Marked as entered in error. The record is kept.")
            return _chart(public_id)
    return render(
        request,
        "screening/entered_in_error.html",
        {"patient": access.patient, "administration": administration, "form": form},
        status=422 if form.errors else 200,
    )


@staff(Perm.PATIENT_VIEW)
def administration_history(request: HttpRequest, public_id: UUID) -> HttpResponse:
    access = patient_access(request, public_id)
    code = request.GET.get("instrument", "")
    if code:
        _definition(code)
    rows = list(selectors.administrations_for_patient(access=access, instrument_code=code))
    _audit_read(request, access, "instrument_history", access.patient.public_id)
    return render(
        request,
        "screening/history.html",
        {
            "patient": access.patient,
            "rows": rows,
            "code": code,
            "definitions": definitions(),
        },
    )


# --- suicide risk -------------------------------------------------------------------


def _risk_alert(access: PatientAccess, alert_id: UUID):  # type: ignore[no-untyped-def]
    alert = selectors.alert_get(access=access, public_id=alert_id)
    if alert is None or alert.kind != AlertKind.SUICIDE_RISK:
        raise Http404("No such alert.")
    return alert


@staff(Perm.SCREENING_ADMINISTER)
def risk_response_new(request: HttpRequest, public_id: UUID, alert_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, public_id, purpose="edit")
    alert = _risk_alert(access, alert_id)
    assessor_ids = [u.pk for u in services.risk_response_assessors(patient=access.patient)]
    form = RiskResponseForm(
        request.POST or None,
        assessors=User.objects.filter(pk__in=assessor_ids).order_by("last_name", "first_name"),
        initial={
            "assessed_by": actor.pk if actor.pk in assessor_ids else None,
            "assessed_at": timezone.localtime(now()),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_response_record(
                actor=actor,
                access=access,
                alert_public_id=alert.public_id,
                data=services.RiskResponseInput(
                    assessed_by=form.cleaned_data["assessed_by"],
                    assessed_at=form.cleaned_data["assessed_at"],
                    disposition=form.cleaned_data["disposition"],
                    notes=form.cleaned_data["notes"],
                ),
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Risk response recorded.")
            return redirect(
                "screening:risk_alert_resolve", public_id=public_id, alert_id=alert.public_id
            )
    return render(
        request,
        "screening/risk_response.html",
        {
            "patient": access.patient,
            "alert": alert,
            "administration": selectors.administration_for_alert(alert=alert),
            "form": form,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.ALERT_RESOLVE)
def risk_alert_resolve(request: HttpRequest, public_id: UUID, alert_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, public_id, purpose="edit")
    alert = _risk_alert(access, alert_id)
    form = ResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_alert_resolve(
                actor=actor,
                access=access,
                alert_public_id=alert.public_id,
                note=form.cleaned_data["note"],
                now=now(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Alert resolved.")
            return _chart(public_id)
    responses = selectors.risk_responses_for_alert(alert=alert)
    plan = selectors.safety_plan_current(patient=access.patient)
    return render(
        request,
        "screening/resolve.html",
        {
            "patient": access.patient,
            "alert": alert,
            "administration": selectors.administration_for_alert(alert=alert),
            "responses": responses,
            "safety_plan": plan,
            "needs_response": alert.requires_response or alert.severity == "high",
            "form": form,
        },
        status=422 if form.errors else 200,
    )


# --- safety plan --------------------------------------------------------------------


@staff(Perm.PATIENT_VIEW)
def safety_plan_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    access = patient_access(request, public_id)
    versions = selectors.safety_plan_versions(access=access)
    plan = versions[0] if versions else None
    _audit_read(request, access, "safety_plan", plan.public_id if plan else "")
    return render(
        request,
        "screening/safety_plan.html",
        {"patient": access.patient, "plan": plan, "versions": versions, "is_current": True},
    )


@staff(Perm.PATIENT_VIEW)
def safety_plan_version(request: HttpRequest, public_id: UUID, plan_id: UUID) -> HttpResponse:
    access = patient_access(request, public_id)
    plan = selectors.safety_plan_get(access=access, public_id=plan_id)
    if plan is None:
        raise Http404("No such safety plan.")
    _audit_read(request, access, "safety_plan", plan.public_id)
    return render(
        request,
        "screening/safety_plan.html",
        {
            "patient": access.patient,
            "plan": plan,
            "versions": selectors.safety_plan_versions(access=access),
            "is_current": plan.status == "current",
        },
    )


@staff(Perm.ASSESSMENT_WRITE)
def safety_plan_edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, public_id, purpose="edit")
    current = selectors.safety_plan_current(patient=access.patient)
    initial, rows = safety_plan_initial(current)
    source = request.GET.get("administration", "")
    if source:
        initial["administration"] = source
    form = SafetyPlanForm(request.POST or None, initial=initial, rows=rows)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.safety_plan_save(
                actor=actor,
                access=access,
                content=form.content(),
                base_number=form.cleaned_data["base_number"],
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
                administration_public_id=form.cleaned_data["administration"],
            )
        except services.SafetyPlanConflict as error:
            conflict = error.current
            # Keep every entry; move the form onto the saved version so the next save,
            # after checking, goes through.
            data = request.POST.copy()
            data["base_number"] = str(conflict.number)
            form = SafetyPlanForm(data, initial=initial, rows=rows)
            form.is_valid()
            form.add_error(None, error.message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Safety plan saved.")
            return redirect("screening:safety_plan", public_id=public_id)
    return render(
        request,
        "screening/safety_plan_form.html",
        {"patient": access.patient, "form": form, "current": current, "conflict": conflict},
        status=422 if form.errors else 200,
    )
