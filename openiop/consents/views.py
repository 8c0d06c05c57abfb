"""Consent pages: list, draft, sign (drawn or typed), witness a verbal consent,
revoke, void, print, and the program's admission requirements."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.consents import rules, selectors, services
from openiop.consents.forms import (
    ConsentCreateForm,
    ConsentEditForm,
    ProgramConsentSettingsForm,
    RevokeForm,
    SignForm,
    VerbalConsentForm,
    VoidForm,
)
from openiop.consents.models import DISCLOSURE_KINDS, Consent, ConsentKind, ConsentStatus
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access, today
from openiop.organizations.models import Program


def _service_errors(form: Any, error: ServiceError) -> None:
    if isinstance(error, services.ConsentInvalid):
        for field, message in error.errors.items():
            form.add_error(field if field in form.fields else None, message)
    else:
        form_error(form, error)


def _back(consent: Consent, patient_id: UUID) -> HttpResponse:
    return redirect("consents:detail", patient_id=patient_id, consent_id=consent.public_id)


@staff(Perm.PATIENT_VIEW)
def consent_list(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    consents = selectors.consents_for_patient(access=access)
    audit_record(
        actor=actor,
        action=AuditAction.READ,
        patient=access.patient,
        object_type="consent_list",
        object_id=access.patient.public_id,
        break_glass=access.via_break_glass,
        detail={"count": len(consents)},
    )
    return render(
        request,
        "consents/list.html",
        {
            "patient": access.patient,
            "rows": selectors.consent_rows(
                consents, on=today(), episodes=selectors.episodes_of(access.patient)
            ),
            "kinds": ConsentKind.choices,
            "can_manage": actor.has_perm_code(Perm.CONSENT_MANAGE),
        },
    )


@staff(Perm.CONSENT_MANAGE)
def consent_new(request: HttpRequest, patient_id: UUID, kind: str) -> HttpResponse:
    actor = actor_of(request)
    if kind not in ConsentKind.values:
        raise Http404("No such kind of consent.")
    access = patient_access(request, patient_id, "consent")
    programs = selectors.member_programs_for_patient(actor=actor, patient=access.patient)
    form = ConsentCreateForm(
        request.POST or None,
        kind=kind,
        programs=programs,
        initial={"effective_on": today(), "program": programs.first()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            consent = services.consent_draft_create(
                actor=actor,
                access=access,
                kind=kind,
                data=form.consent_input(),
                submission_token=form.cleaned_data["submission_token"],
                today=today(),
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            return redirect("consents:sign", patient_id=patient_id, consent_id=consent.public_id)
    return render(
        request,
        "consents/form.html",
        {
            "form": form,
            "patient": access.patient,
            "kind": kind,
            "kind_label": ConsentKind(kind).label,
            "is_disclosure": kind in DISCLOSURE_KINDS,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.PATIENT_VIEW)
def consent_detail(request: HttpRequest, patient_id: UUID, consent_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    consent = selectors.consent_get(access=access, public_id=consent_id)
    audit_record(
        actor=actor,
        action=AuditAction.READ,
        patient=access.patient,
        object_type="consent",
        object_id=consent.public_id,
        break_glass=access.via_break_glass,
    )
    row = selectors.consent_rows(
        [consent], on=today(), episodes=selectors.episodes_of(access.patient)
    )[0]
    draft_text = services.consent_text(consent) if consent.status == ConsentStatus.DRAFT else None
    return render(
        request,
        "consents/detail.html",
        {
            "patient": access.patient,
            "consent": consent,
            "row": row,
            "paragraphs": (draft_text.body if draft_text else consent.text).split("\n\n"),
            "title": draft_text.title if draft_text else _title(consent),
            "integrity_ok": services.consent_integrity_ok(consent),
            "can_manage": actor.has_perm_code(Perm.CONSENT_MANAGE),
        },
    )


def _title(consent: Consent) -> str:
    from openiop.consents.texts import TEMPLATES

    return TEMPLATES[consent.kind][1]


@staff(Perm.CONSENT_MANAGE)
def consent_edit(request: HttpRequest, patient_id: UUID, consent_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "consent")
    consent = selectors.consent_get(access=access, public_id=consent_id)
    if consent.status != ConsentStatus.DRAFT:
        messages.error(request, "A signed consent cannot be changed.")
        return _back(consent, patient_id)
    programs = selectors.member_programs_for_patient(actor=actor, patient=access.patient)
    conflict = False
    if request.method == "POST":
        form = ConsentEditForm(request.POST, kind=consent.kind, programs=programs)
        if form.is_valid():
            try:
                services.consent_draft_update(
                    actor=actor,
                    access=access,
                    consent_public_id=consent.public_id,
                    data=form.consent_input(),
                    base_version=form.cleaned_data["version"],
                    today=today(),
                    now=now(),
                )
            except services.VersionConflict as error:
                conflict = True
                resubmit = request.POST.copy()
                resubmit["version"] = str(error.current.version)
                form = ConsentEditForm(resubmit, kind=consent.kind, programs=programs)
                form.is_valid()
                form.add_error(None, error.message)
            except ServiceError as error:
                _service_errors(form, error)
            else:
                messages.success(request, "Draft saved.")
                return redirect(
                    "consents:sign", patient_id=patient_id, consent_id=consent.public_id
                )
    else:
        data = services.input_of(consent)
        form = ConsentEditForm(
            kind=consent.kind,
            programs=programs,
            initial={
                "program": consent.program,
                "effective_on": data.effective_on,
                "is_tpo": data.is_tpo,
                "recipient_name": data.recipient_name,
                "recipient_class": data.recipient_class,
                "recipient_relationship": data.recipient_relationship,
                "recipient_contact": data.recipient_contact,
                "information_description": data.information_description,
                "categories": list(data.categories),
                "purposes": list(data.purposes),
                "purpose_description": data.purpose_description,
                "expires_on": data.expires_on,
                "expiry_event": data.expiry_event,
                "expiry_event_description": data.expiry_event_description,
                "version": consent.version,
            },
        )
    return render(
        request,
        "consents/form.html",
        {
            "form": form,
            "patient": access.patient,
            "consent": consent,
            "kind": consent.kind,
            "kind_label": ConsentKind(consent.kind).label,
            "is_disclosure": consent.kind in DISCLOSURE_KINDS,
            "conflict": conflict,
        },
        status=422 if form.errors else 200,
    )


def _client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@staff(Perm.CONSENT_MANAGE)
def consent_sign(request: HttpRequest, patient_id: UUID, consent_id: UUID) -> HttpResponse:
    """The signing page, shown on the staff member's device handed to the patient."""
    actor = actor_of(request)
    access = patient_access(request, patient_id, "consent")
    consent = selectors.consent_get(access=access, public_id=consent_id)
    if consent.status != ConsentStatus.DRAFT:
        messages.info(request, "This consent is already signed.")
        return _back(consent, patient_id)
    text = services.consent_text(consent)
    shown = rules.sha256_text(text.body)
    form = SignForm(request.POST or None, initial={"shown_text_sha256": shown})
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_sign(
                actor=actor,
                access=access,
                consent_public_id=consent.public_id,
                signature=services.SignatureInput(
                    typed_name=form.cleaned_data["typed_name"],
                    signature_data_url=form.cleaned_data["signature_data"],
                    signing_electronically=form.cleaned_data["signing_electronically"],
                    shown_text_sha256=form.cleaned_data["shown_text_sha256"],
                    signer_address=_client_address(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                ),
                today=today(),
                now=now(),
            )
        except ServiceError as error:
            if error.code == ErrorCode.CONFLICT:
                # Show the current text with its own hash; keep what was typed.
                data = request.POST.copy()
                data["shown_text_sha256"] = shown
                form = SignForm(data)
                form.is_valid()
            _service_errors(form, error)
        else:
            messages.success(request, "Consent signed. Thank you.")
            return _back(consent, patient_id)
    return render(
        request,
        "consents/sign.html",
        {
            "patient": access.patient,
            "consent": consent,
            "title": text.title,
            "paragraphs": text.body.split("\n\n"),
            "form": form,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.CONSENT_MANAGE)
def consent_verbal(request: HttpRequest, patient_id: UUID, consent_id: UUID) -> HttpResponse:
    """A staff witness records a verbal consent when the patient cannot sign."""
    actor = actor_of(request)
    access = patient_access(request, patient_id, "consent")
    consent = selectors.consent_get(access=access, public_id=consent_id)
    if consent.status != ConsentStatus.DRAFT:
        messages.info(request, "This consent is already signed.")
        return _back(consent, patient_id)
    text = services.consent_text(consent)
    shown = rules.sha256_text(text.body)
    form = VerbalConsentForm(request.POST or None, initial={"shown_text_sha256": shown})
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record_verbal(
                actor=actor,
                access=access,
                consent_public_id=consent.public_id,
                verbal=services.VerbalConsentInput(
                    second_witness_name=form.cleaned_data["second_witness_name"],
                    unable_to_sign_reason=form.cleaned_data["unable_to_sign_reason"],
                    read_aloud=form.cleaned_data["read_aloud"],
                    shown_text_sha256=form.cleaned_data["shown_text_sha256"],
                ),
                today=today(),
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Verbal consent recorded.")
            return _back(consent, patient_id)
    return render(
        request,
        "consents/verbal.html",
        {
            "patient": access.patient,
            "consent": consent,
            "title": text.title,
            "paragraphs": text.body.split("\n\n"),
            "form": form,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.CONSENT_MANAGE)
def consent_revoke(request: HttpRequest, patient_id: UUID, consent_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "consent")
    consent = selectors.consent_get(access=access, public_id=consent_id)
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_revoke(
                actor=actor,
                access=access,
                consent_public_id=consent.public_id,
                method=form.cleaned_data["method"],
                note=form.cleaned_data["note"],
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Revocation recorded. It takes effect now.")
            return _back(consent, patient_id)
    return render(
        request,
        "consents/action.html",
        {
            "patient": access.patient,
            "consent": consent,
            "form": form,
            "heading": f"Revoke: {ConsentKind(consent.kind).label}",
            "button": "Record revocation",
            "danger": True,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.CONSENT_MANAGE)
def consent_void(request: HttpRequest, patient_id: UUID, consent_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "consent")
    consent = selectors.consent_get(access=access, public_id=consent_id)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_mark_entered_in_error(
                actor=actor,
                access=access,
                consent_public_id=consent.public_id,
                reason=form.cleaned_data["reason"],
                now=now(),
            )
        except ServiceError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Marked as entered in error. It is kept in the history.")
            return _back(consent, patient_id)
    return render(
        request,
        "consents/action.html",
        {
            "patient": access.patient,
            "consent": consent,
            "form": form,
            "heading": f"Entered in error: {ConsentKind(consent.kind).label}",
            "button": "Mark as entered in error",
            "danger": True,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.CONSENT_MANAGE)
def consent_pdf(request: HttpRequest, patient_id: UUID, consent_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "print")
    try:
        consent, pdf = services.consent_print(
            actor=actor, access=access, consent_public_id=consent_id, now=now()
        )
    except ServiceError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404("No such consent.") from None
        messages.error(request, error.message)
        return redirect("consents:detail", patient_id=patient_id, consent_id=consent_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    # The file name carries no PHI: only the consent's kind and public id.
    response["Content-Disposition"] = (
        f'inline; filename="consent-{consent.kind}-{consent.public_id}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response


@staff(Perm.ORG_MANAGE)
def program_settings(request: HttpRequest, program_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    program = (
        Program.objects.filter(public_id=program_id, site__organization_id=actor.org_id)
        .select_related("site__organization")
        .first()
    )
    if program is None:
        raise Http404("No such program.")
    current = selectors.required_kinds_for_program(program)
    form = ProgramConsentSettingsForm(request.POST or None, initial={"required_kinds": current})
    if request.method == "POST" and form.is_valid():
        try:
            services.program_consent_settings_update(
                actor=actor, program=program, required_kinds=form.cleaned_data["required_kinds"]
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Admission consent requirements saved.")
            return redirect("consents:program_settings", program_id=program.public_id)
    return render(
        request,
        "consents/program_settings.html",
        {"form": form, "program": program},
        status=422 if form.errors else 200,
    )
