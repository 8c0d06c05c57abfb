"""Writing consents: drafting, signing, witnessing, revoking, voiding and printing.

Each service runs in one transaction with its audit row and its `ConsentEvent`.
A signed consent is never edited: the only changes afterwards are revocation and
"entered in error", both kept as events.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.consents import rules, texts
from openiop.consents.models import (
    DISCLOSURE_KINDS,
    Consent,
    ConsentEvent,
    ConsentKind,
    ConsentStatus,
    ExpiryEvent,
    InfoCategory,
    ProgramConsentSettings,
    Purpose,
    RecipientClass,
    RevocationMethod,
    SignatureMethod,
)
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess

MAX_SIGNATURE_BYTES = 300_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"

# An ROI's recipient class follows from its kind.
ROI_RECIPIENT_CLASS: dict[str, str] = {
    ConsentKind.ROI_FAMILY: RecipientClass.FAMILY_MEMBER,
    ConsentKind.ROI_SPONSOR: RecipientClass.SELF_HELP_SPONSOR,
    ConsentKind.ROI_PROVIDER: RecipientClass.OUTSIDE_PROVIDER,
}


class ConsentInvalid(ServiceError):
    """One or more consent elements are missing or contradictory (field -> message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(ErrorCode.INVALID, message, field=field)
        self.errors = errors


class VersionConflict(ServiceError):
    def __init__(self, current: Consent) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else changed this consent while you were editing. Your entries are "
            "kept below; check them against what is now saved, then save again.",
        )
        self.current = current


@dataclass(frozen=True)
class ConsentInput:
    """What staff fill in before the patient signs."""

    program: Program
    effective_on: date
    is_tpo: bool = False
    recipient_name: str = ""
    recipient_class: str = ""
    recipient_relationship: str = ""
    recipient_contact: str = ""
    purposes: tuple[str, ...] = ()
    purpose_description: str = ""
    categories: tuple[str, ...] = ()
    information_description: str = ""
    expires_on: date | None = None
    expiry_event: str = ""
    expiry_event_description: str = ""


@dataclass(frozen=True)
class SignatureInput:
    typed_name: str
    signature_data_url: str
    signing_electronically: bool
    shown_text_sha256: str
    signer_address: str | None
    user_agent: str


@dataclass(frozen=True)
class VerbalConsentInput:
    second_witness_name: str
    unable_to_sign_reason: str
    read_aloud: bool
    shown_text_sha256: str


# ----- helpers ---------------------------------------------------------------------------


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _require_member(actor: User, program: Program) -> None:
    if not ProgramMembership.objects.filter(user=actor, program=program).exists():
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "You can only record consents in your own programs.",
            field="program",
        )


def discloser_name_for(program: Program) -> str:
    return f"{program.name}, {program.site.organization.name}"


def _event(
    consent: Consent,
    *,
    kind: str,
    actor: User,
    at: datetime,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        consent=consent,
        kind=kind,
        at=at,
        actor=actor,
        effective_on=timezone.localdate(at),
        note=note,
        detail=detail or {},
    )


def _audit(
    actor: User,
    access: PatientAccess,
    consent: Consent,
    action: AuditAction,
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        patient=access.patient,
        object_type="consent",
        object_id=consent.public_id,
        break_glass=access.via_break_glass,
        detail={"kind": consent.kind, **(detail or {})},
    )


def _locked(access: PatientAccess, consent_public_id: UUID | str) -> Consent:
    consent = (
        Consent.objects.select_for_update()
        .filter(patient=access.patient, public_id=consent_public_id)
        .first()
    )
    if consent is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such consent.")
    return consent


def _normalised(kind: str, data: ConsentInput) -> ConsentInput:
    """Drop what a kind does not use; fill what follows from the kind."""
    if kind not in DISCLOSURE_KINDS:
        # Consents to treatment, payment terms and rules last for the episode of care,
        # unless an earlier end date is given.
        return ConsentInput(
            program=data.program,
            effective_on=data.effective_on,
            expires_on=data.expires_on,
            expiry_event="" if data.expires_on else ExpiryEvent.END_OF_TREATMENT,
        )
    changes: dict[str, Any] = {
        "recipient_name": data.recipient_name.strip(),
        "recipient_relationship": data.recipient_relationship.strip(),
        "recipient_contact": data.recipient_contact.strip(),
        "information_description": data.information_description.strip(),
        "purpose_description": data.purpose_description.strip(),
        "expiry_event_description": data.expiry_event_description.strip(),
    }
    if kind in ROI_RECIPIENT_CLASS:
        changes["recipient_class"] = ROI_RECIPIENT_CLASS[kind]
    if kind != ConsentKind.PART2_DISCLOSURE:
        changes["is_tpo"] = False
    if data.expiry_event != ExpiryEvent.OTHER:
        changes["expiry_event_description"] = ""
    return dataclasses.replace(data, **changes)


def _check_codes(data: ConsentInput) -> None:
    errors: dict[str, str] = {}
    if any(p not in Purpose.values for p in data.purposes):
        errors["purposes"] = "Unknown purpose."
    if any(c not in InfoCategory.values for c in data.categories):
        errors["categories"] = "Unknown information category."
    if data.recipient_class and data.recipient_class not in RecipientClass.values:
        errors["recipient_class"] = "Unknown kind of recipient."
    if data.expiry_event and data.expiry_event not in ExpiryEvent.values:
        errors["expiry_event"] = "Unknown expiry event."
    if errors:
        raise ConsentInvalid(errors)


def _validate(kind: str, patient: Patient, data: ConsentInput, *, today: date) -> None:
    _check_codes(data)
    draft = rules.ConsentDraft(
        kind=kind,
        patient_name=patient.full_name,
        discloser_name=discloser_name_for(data.program),
        effective_on=data.effective_on,
        is_tpo=data.is_tpo,
        recipient_name=data.recipient_name,
        recipient_class=data.recipient_class,
        recipient_relationship=data.recipient_relationship,
        recipient_contact=data.recipient_contact,
        purposes=data.purposes,
        purpose_description=data.purpose_description,
        categories=data.categories,
        information_description=data.information_description,
        expires_on=data.expires_on,
        expiry_event=data.expiry_event,
        expiry_event_description=data.expiry_event_description,
    )
    errors = rules.draft_errors(draft, today=today)
    if kind not in DISCLOSURE_KINDS and data.expires_on and data.expires_on < data.effective_on:
        errors["expires_on"] = "The end date is before the consent takes effect."
    if errors:
        raise ConsentInvalid(errors)


def _apply(consent: Consent, data: ConsentInput) -> None:
    consent.program = data.program
    consent.discloser_name = discloser_name_for(data.program)
    consent.effective_on = data.effective_on
    consent.is_tpo = data.is_tpo
    consent.recipient_name = data.recipient_name
    consent.recipient_class = data.recipient_class
    consent.recipient_relationship = data.recipient_relationship
    consent.recipient_contact = data.recipient_contact
    consent.purposes = list(data.purposes)
    consent.purpose_description = data.purpose_description
    consent.information_categories = list(data.categories)
    consent.information_description = data.information_description
    consent.expires_on = data.expires_on
    consent.expiry_event = data.expiry_event
    consent.expiry_event_description = data.expiry_event_description


def input_of(consent: Consent) -> ConsentInput:
    return ConsentInput(
        program=consent.program,
        effective_on=consent.effective_on,
        is_tpo=consent.is_tpo,
        recipient_name=consent.recipient_name,
        recipient_class=consent.recipient_class,
        recipient_relationship=consent.recipient_relationship,
        recipient_contact=consent.recipient_contact,
        purposes=tuple(consent.purposes),
        purpose_description=consent.purpose_description,
        categories=tuple(consent.information_categories),
        information_description=consent.information_description,
        expires_on=consent.expires_on,
        expiry_event=consent.expiry_event,
        expiry_event_description=consent.expiry_event_description,
    )


# ----- text and integrity ------------------------------------------------------------------


def consent_text(consent: Consent) -> texts.ConsentText:
    """The text a draft would be signed with now (signed consents: use consent.text)."""
    patient = consent.patient
    return texts.render(
        consent.kind,
        texts.TextValues(
            patient_name=patient.full_name,
            date_of_birth=patient.date_of_birth,
            organization_name=consent.program.site.organization.name,
            discloser_name=consent.discloser_name,
            effective_on=consent.effective_on,
            recipient_name=consent.recipient_name,
            recipient_class_label=(
                str(RecipientClass(consent.recipient_class).label)
                if consent.recipient_class
                else ""
            ),
            recipient_relationship=consent.recipient_relationship,
            recipient_contact=consent.recipient_contact,
            purpose_labels=tuple(str(Purpose(p).label) for p in consent.purposes),
            purpose_description=consent.purpose_description,
            category_labels=tuple(
                str(InfoCategory(c).label) for c in consent.information_categories
            ),
            information_description=consent.information_description,
            expires_on=consent.expires_on,
            expiry_event=consent.expiry_event,
            expiry_event_label=(
                str(ExpiryEvent(consent.expiry_event).label) if consent.expiry_event else ""
            ),
            expiry_event_description=consent.expiry_event_description,
            is_tpo=consent.is_tpo,
        ),
    )


def _content_fields(consent: Consent) -> dict[str, Any]:
    return {
        "public_id": str(consent.public_id),
        "patient": str(consent.patient.public_id),
        "program": str(consent.program.public_id),
        "discloser_name": consent.discloser_name,
        "kind": consent.kind,
        "is_tpo": consent.is_tpo,
        "recipient_name": consent.recipient_name,
        "recipient_class": consent.recipient_class,
        "recipient_relationship": consent.recipient_relationship,
        "recipient_contact": consent.recipient_contact,
        "purposes": list(consent.purposes),
        "purpose_description": consent.purpose_description,
        "information_categories": list(consent.information_categories),
        "information_description": consent.information_description,
        "effective_on": consent.effective_on,
        "expires_on": consent.expires_on,
        "expiry_event": consent.expiry_event,
        "expiry_event_description": consent.expiry_event_description,
        "template_key": consent.template_key,
        "text": consent.text,
        "text_sha256": consent.text_sha256,
        "signature_method": consent.signature_method,
        "signed_name": consent.signed_name,
        # In UTC, so the digest is the same before saving and after reloading.
        "signed_at": consent.signed_at.astimezone(UTC).isoformat() if consent.signed_at else "",
        "signer_address": consent.signer_address or "",
        "signer_user_agent": consent.signer_user_agent,
        "collected_by": consent.collected_by_id,
        "witness": consent.witness_id,
        "second_witness_name": consent.second_witness_name,
        "unable_to_sign_reason": consent.unable_to_sign_reason,
    }


def _signature_bytes(consent: Consent) -> bytes | None:
    raw = consent.signature_png
    return bytes(raw) if raw is not None else None


def consent_integrity_ok(consent: Consent) -> bool:
    """Whether a signed consent's stored content still matches its hashes."""
    if not consent.content_sha256:
        return consent.status in {ConsentStatus.DRAFT, ConsentStatus.ENTERED_IN_ERROR}
    return consent.text_sha256 == rules.sha256_text(
        consent.text
    ) and consent.content_sha256 == rules.content_digest(
        _content_fields(consent), _signature_bytes(consent)
    )


def decode_signature(data_url: str) -> bytes:
    """The PNG bytes of a canvas data URL, or a ServiceError next to the signature."""
    if not data_url.startswith(DATA_URL_PREFIX):
        raise ServiceError(
            ErrorCode.INVALID, "The drawn signature could not be read.", field="signature_data"
        )
    try:
        png = base64.b64decode(data_url[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(
            ErrorCode.INVALID, "The drawn signature could not be read.", field="signature_data"
        ) from None
    if not png.startswith(PNG_MAGIC):
        raise ServiceError(
            ErrorCode.INVALID, "The drawn signature is not an image.", field="signature_data"
        )
    if len(png) > MAX_SIGNATURE_BYTES:
        raise ServiceError(
            ErrorCode.INVALID,
            "The drawn signature is too large; clear it and sign again.",
            field="signature_data",
        )
    return png


# ----- services ----------------------------------------------------------------------------


@transaction.atomic
def consent_draft_create(
    *,
    actor: User,
    access: PatientAccess,
    kind: str,
    data: ConsentInput,
    submission_token: UUID,
    today: date,
    now: datetime,
) -> Consent:
    """Draft a consent of `kind` with every element filled in, ready for signing."""
    _require(actor, Perm.CONSENT_MANAGE)
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    if receipt is not None:
        return Consent.objects.get(public_id=receipt.object_public_id)
    if kind not in ConsentKind.values:
        raise ServiceError(ErrorCode.INVALID, "Unknown kind of consent.", field="kind")
    patient = access.patient
    _require_member(actor, data.program)
    if not Episode.objects.filter(patient=patient, program=data.program).exists():
        raise ServiceError(
            ErrorCode.INVALID, "The patient has no episode in this program.", field="program"
        )
    data = _normalised(kind, data)
    _validate(kind, patient, data, today=today)
    consent = Consent(patient=patient, kind=kind, created_by=actor)
    _apply(consent, data)
    consent.full_clean()
    consent.save()
    _event(consent, kind=ConsentEvent.Kind.DRAFTED, actor=actor, at=now)
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="consent", object_public_id=consent.public_id
    )
    _audit(actor, access, consent, AuditAction.CREATE)
    return consent


@transaction.atomic
def consent_draft_update(
    *,
    actor: User,
    access: PatientAccess,
    consent_public_id: UUID | str,
    data: ConsentInput,
    base_version: int,
    today: date,
    now: datetime,
) -> Consent:
    """Change a draft. A signed, revoked or voided consent is never changed."""
    _require(actor, Perm.CONSENT_MANAGE)
    consent = _locked(access, consent_public_id)
    if consent.status != ConsentStatus.DRAFT:
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "A signed consent cannot be changed. Revoke it and have a new one signed.",
        )
    if consent.version != base_version:
        raise VersionConflict(consent)
    _require_member(actor, data.program)
    data = _normalised(consent.kind, data)
    _validate(consent.kind, access.patient, data, today=today)
    before = _content_fields(consent)
    _apply(consent, data)
    changed = sorted(k for k, v in _content_fields(consent).items() if before[k] != v)
    consent.version += 1
    consent.full_clean()
    consent.save()
    _event(consent, kind=ConsentEvent.Kind.EDITED, actor=actor, at=now, detail={"fields": changed})
    _audit(actor, access, consent, AuditAction.UPDATE, {"fields": changed})
    return consent


def _check_ready_to_sign(
    consent: Consent, access: PatientAccess, shown_text_sha256: str, today: date
) -> texts.ConsentText:
    _validate(consent.kind, access.patient, input_of(consent), today=today)
    text = consent_text(consent)
    if rules.sha256_text(text.body) != shown_text_sha256:
        raise ServiceError(
            ErrorCode.CONFLICT,
            "The consent text changed since this page was opened. Read it again, then sign.",
        )
    return text


def _finish_signing(
    consent: Consent,
    *,
    actor: User,
    access: PatientAccess,
    text: texts.ConsentText,
    now: datetime,
) -> None:
    consent.template_key = text.key
    consent.text = text.body
    consent.text_sha256 = rules.sha256_text(text.body)
    consent.signed_at = now
    consent.collected_by = actor
    consent.status = ConsentStatus.SIGNED
    consent.content_sha256 = rules.content_digest(
        _content_fields(consent), _signature_bytes(consent)
    )
    consent.version += 1
    consent.full_clean()
    consent.save()
    _event(
        consent,
        kind=ConsentEvent.Kind.SIGNED,
        actor=actor,
        at=now,
        detail={"method": consent.signature_method, "text_sha256": consent.text_sha256},
    )
    _audit(
        actor,
        access,
        consent,
        AuditAction.SIGN,
        {"method": consent.signature_method, "content_sha256": consent.content_sha256},
    )


def _already_signed(consent: Consent, actor: User, shown_text_sha256: str) -> bool:
    """A repeated submission of the same signing (double click): not an error."""
    return (
        consent.status == ConsentStatus.SIGNED
        and consent.collected_by_id == actor.pk
        and consent.text_sha256 == shown_text_sha256
    )


@transaction.atomic
def consent_sign(
    *,
    actor: User,
    access: PatientAccess,
    consent_public_id: UUID | str,
    signature: SignatureInput,
    today: date,
    now: datetime,
) -> Consent:
    """The patient signs on screen: typed legal name plus a drawn signature, or (no
    JavaScript) typed name plus the 'I am signing electronically' box."""
    _require(actor, Perm.CONSENT_MANAGE)
    consent = _locked(access, consent_public_id)
    if _already_signed(consent, actor, signature.shown_text_sha256):
        return consent
    if consent.status != ConsentStatus.DRAFT:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Only a draft consent can be signed.")
    text = _check_ready_to_sign(consent, access, signature.shown_text_sha256, today)
    patient = access.patient
    legal_names = [
        patient.full_name,
        f"{patient.legal_given_name} {patient.legal_family_name}",
    ]
    if not signature.typed_name.strip():
        raise ServiceError(
            ErrorCode.INVALID, "Type your full legal name to sign.", field="typed_name"
        )
    if not rules.signed_name_matches(signature.typed_name, legal_names):
        raise ServiceError(
            ErrorCode.INVALID,
            "The typed name does not match the patient's legal name on file. Type the full "
            "legal name (capital letters do not matter).",
            field="typed_name",
        )
    if signature.signature_data_url:
        consent.signature_png = decode_signature(signature.signature_data_url)
        consent.signature_method = SignatureMethod.DRAWN
    elif signature.signing_electronically:
        consent.signature_png = None
        consent.signature_method = SignatureMethod.TYPED
    else:
        raise ServiceError(
            ErrorCode.INVALID,
            "Draw your signature, or tick \u201cI am signing electronically\u201d.",
            field="signing_electronically",
        )
    consent.signed_name = " ".join(signature.typed_name.split())
    consent.signer_address = signature.signer_address or None
    consent.signer_user_agent = signature.user_agent[:400]
    _finish_signing(consent, actor=actor, access=access, text=text, now=now)
    return consent


@transaction.atomic
def consent_record_verbal(
    *,
    actor: User,
    access: PatientAccess,
    consent_public_id: UUID | str,
    verbal: VerbalConsentInput,
    today: date,
    now: datetime,
) -> Consent:
    """A staff witness (the signed-in user) records a verbal consent with a second witness."""
    _require(actor, Perm.CONSENT_MANAGE)
    consent = _locked(access, consent_public_id)
    if _already_signed(consent, actor, verbal.shown_text_sha256):
        return consent
    if consent.status != ConsentStatus.DRAFT:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Only a draft consent can be signed.")
    text = _check_ready_to_sign(consent, access, verbal.shown_text_sha256, today)
    errors: dict[str, str] = {}
    if not verbal.second_witness_name.strip():
        errors["second_witness_name"] = "Name the second witness."
    elif " ".join(verbal.second_witness_name.split()).casefold() == (
        actor.get_full_name().casefold()
    ):
        errors["second_witness_name"] = "The second witness must be someone other than you."
    if not verbal.unable_to_sign_reason.strip():
        errors["unable_to_sign_reason"] = "Say why the patient could not sign."
    if not verbal.read_aloud:
        errors["read_aloud"] = "Confirm the consent was read to the patient and they agreed."
    if errors:
        raise ConsentInvalid(errors)
    consent.signature_method = SignatureMethod.VERBAL_WITNESSED
    consent.signature_png = None
    consent.signed_name = ""
    consent.witness = actor
    consent.second_witness_name = " ".join(verbal.second_witness_name.split())
    consent.unable_to_sign_reason = verbal.unable_to_sign_reason.strip()
    _finish_signing(consent, actor=actor, access=access, text=text, now=now)
    return consent


@transaction.atomic
def consent_revoke(
    *,
    actor: User,
    access: PatientAccess,
    consent_public_id: UUID | str,
    method: str,
    note: str,
    now: datetime,
) -> Consent:
    """Record a revocation received in writing or verbally; it takes effect at `now`."""
    _require(actor, Perm.CONSENT_MANAGE)
    consent = _locked(access, consent_public_id)
    if consent.status == ConsentStatus.REVOKED:
        return consent  # a repeated submission: the first one stands
    if consent.status not in {ConsentStatus.SIGNED, ConsentStatus.EXPIRED}:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Only a signed consent can be revoked.")
    if method not in RevocationMethod.values:
        raise ServiceError(
            ErrorCode.INVALID, "Say how the revocation was received.", field="method"
        )
    if method == RevocationMethod.VERBAL and not note.strip():
        raise ServiceError(
            ErrorCode.INVALID,
            "For a verbal revocation, note what the patient said and who else heard it.",
            field="note",
        )
    # Only the revocation columns change; the signed content and its hash stay as they were.
    consent.status = ConsentStatus.REVOKED
    consent.revoked_at = now
    consent.revocation_method = method
    consent.revocation_received_by = actor
    consent.revocation_note = note.strip()
    consent.version += 1
    consent.save(
        update_fields=[
            "status",
            "revoked_at",
            "revocation_method",
            "revocation_received_by",
            "revocation_note",
            "version",
            "updated_at",
        ]
    )
    _event(
        consent,
        kind=ConsentEvent.Kind.REVOKED,
        actor=actor,
        at=now,
        note=consent.revocation_note,
        detail={"method": method},
    )
    _audit(actor, access, consent, AuditAction.STATUS_CHANGE, {"to": "revoked", "method": method})
    return consent


@transaction.atomic
def consent_mark_entered_in_error(
    *,
    actor: User,
    access: PatientAccess,
    consent_public_id: UUID | str,
    reason: str,
    now: datetime,
) -> Consent:
    """Void a consent recorded by mistake (kept, with the reason, never deleted)."""
    _require(actor, Perm.CONSENT_MANAGE)
    consent = _locked(access, consent_public_id)
    if consent.status == ConsentStatus.ENTERED_IN_ERROR:
        return consent
    if not reason.strip():
        raise ServiceError(ErrorCode.INVALID, "Give the reason.", field="reason")
    before = consent.status
    consent.status = ConsentStatus.ENTERED_IN_ERROR
    consent.version += 1
    consent.save(update_fields=["status", "version", "updated_at"])
    _event(
        consent,
        kind=ConsentEvent.Kind.ENTERED_IN_ERROR,
        actor=actor,
        at=now,
        note=reason.strip(),
        detail={"from": before},
    )
    _audit(
        actor,
        access,
        consent,
        AuditAction.STATUS_CHANGE,
        {"from": before, "to": "entered_in_error"},
    )
    return consent


@transaction.atomic
def consent_print(
    *, actor: User, access: PatientAccess, consent_public_id: UUID | str, now: datetime
) -> tuple[Consent, bytes]:
    """The consent as a PDF (audited PRINT, and kept in the consent's history)."""
    from openiop.consents.pdf import consent_pdf

    _require(actor, Perm.CONSENT_MANAGE)
    consent = (
        Consent.objects.select_related(
            "program__site__organization", "collected_by", "witness", "revocation_received_by"
        )
        .filter(patient=access.patient, public_id=consent_public_id)
        .first()
    )
    if consent is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such consent.")
    if consent.status in {ConsentStatus.DRAFT, ConsentStatus.ENTERED_IN_ERROR}:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Only a signed consent can be printed.")
    integrity_ok = consent_integrity_ok(consent)
    pdf = consent_pdf(
        consent=consent,
        patient=access.patient,
        printed_at=now,
        printed_by=actor,
        integrity_ok=integrity_ok,
    )
    _event(consent, kind=ConsentEvent.Kind.PRINTED, actor=actor, at=now)
    _audit(actor, access, consent, AuditAction.PRINT, {"integrity_ok": integrity_ok})
    return consent, pdf


@transaction.atomic
def program_consent_settings_update(
    *, actor: User, program: Program, required_kinds: list[str]
) -> ProgramConsentSettings:
    """Set which consents a program requires before admission (never a disclosure)."""
    from openiop.consents.selectors import NEVER_REQUIRED_FOR_ADMISSION

    _require(actor, Perm.ORG_MANAGE)
    if program.site.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such program.")
    bad = [k for k in required_kinds if k not in ConsentKind.values]
    if bad:
        raise ServiceError(ErrorCode.INVALID, "Unknown kind of consent.", field="required_kinds")
    if any(k in NEVER_REQUIRED_FOR_ADMISSION for k in required_kinds):
        raise ServiceError(
            ErrorCode.INVALID,
            "Admission cannot be conditioned on a consent to disclose or a release of information.",
            field="required_kinds",
        )
    row, _ = ProgramConsentSettings.objects.select_for_update().get_or_create(program=program)
    before = list(row.required_kinds)
    row.required_kinds = [k for k in ConsentKind.values if k in set(required_kinds)]
    row.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="program_consent_settings",
        object_id=program.public_id,
        detail={"from": before, "to": row.required_kinds},
    )
    return row
