"""Pure consent decisions: no ORM, no clock (the date or time is passed in).

Sources: 42 CFR 2.31(a) as amended by 89 FR 12472 (2024) for consent content and the
single TPO consent; clinical.md section 5 for the summary used here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Mirrors of the model choices as plain strings, so this module imports no Django.
SIGNED = "signed"
REVOKED = "revoked"
EXPIRED = "expired"
DRAFT = "draft"
ENTERED_IN_ERROR = "entered_in_error"

TPO_PURPOSES = frozenset({"TREAT", "HPAYMT", "HOPERAT"})
TPO_RECIPIENT_CLASSES = frozenset(
    {"tpo_general", "health_plan", "outside_provider", "named_organization"}
)
SUD_NOTES = "sud_counseling_notes"
ALL_RECORDS = "all_records"
SUD_NOTES_KIND = "sud_counseling_notes"
PART2_KIND = "part2_disclosure"
DISCLOSURE_KINDS = frozenset(
    {"part2_disclosure", "roi_family", "roi_sponsor", "roi_provider", "sud_counseling_notes"}
)
EVENT_END_OF_TREATMENT = "end_of_treatment"
EVENT_NONE = "none"
EVENT_OTHER = "other"


@dataclass(frozen=True)
class ConsentFacts:
    """What a rule needs to know about one consent."""

    ref: str  # the consent's public id, echoed back in decisions
    kind: str
    status: str
    effective_on: date
    purposes: frozenset[str]
    categories: frozenset[str]
    recipient_name: str = ""
    recipient_class: str = ""
    is_tpo: bool = False
    expires_on: date | None = None
    expiry_event: str = ""
    # The date the expiry event happened (e.g. the episode's discharge), if it has.
    expiry_event_on: date | None = None
    revoked_on: date | None = None


@dataclass(frozen=True)
class Recipient:
    """Who asks to receive information."""

    name: str
    recipient_class: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    consent_ref: str | None = None
    reason: str = ""
    # Why each consent considered did not cover the request (ref -> reason).
    considered: tuple[tuple[str, str], ...] = field(default=())


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def in_force(c: ConsentFacts, on: date) -> str | None:
    """None when the consent is in force on `on`; otherwise why not."""
    if c.status == ENTERED_IN_ERROR:
        return "entered in error"
    if c.status == DRAFT:
        return "not signed"
    if c.status == REVOKED or (c.revoked_on is not None and c.revoked_on <= on):
        return "revoked"
    if c.status == EXPIRED:
        return "expired"
    if c.status != SIGNED:
        return "not signed"
    if on < c.effective_on:
        return "not yet in effect"
    if c.expires_on is not None and on > c.expires_on:
        return "expired"
    ended = c.expiry_event_on
    if c.expiry_event and c.expiry_event != EVENT_NONE and ended is not None and on >= ended:
        return "expired"
    return None


def _covers_recipient(c: ConsentFacts, r: Recipient) -> bool:
    if c.recipient_name and r.name and _norm(c.recipient_name) == _norm(r.name):
        return True
    if c.is_tpo and c.recipient_class == "tpo_general":
        # §2.31(a)(4)(ii): a TPO consent may name recipients by general description:
        # treating providers, health plans, third-party payers, program operations.
        return r.recipient_class in TPO_RECIPIENT_CLASSES
    if not c.recipient_name and c.recipient_class:
        return c.recipient_class == r.recipient_class
    return False


def _covers_category(c: ConsentFacts, category: str) -> bool:
    if category == SUD_NOTES:
        # SUD counseling notes need their own consent; a general one never covers them.
        return c.kind == SUD_NOTES_KIND and SUD_NOTES in c.categories
    return category in c.categories or ALL_RECORDS in c.categories


def _covers_purpose(c: ConsentFacts, purpose: str) -> bool:
    if purpose in c.purposes:
        return True
    # ETREAT is treatment: a consent covering treatment covers emergency treatment.
    return purpose == "ETREAT" and "TREAT" in c.purposes


def disclosure_permitted(
    consents: Iterable[ConsentFacts], *, recipient: Recipient, purpose: str, category: str, on: date
) -> Decision:
    """Whether some consent permits disclosing `category` to `recipient` for `purpose`.

    Only disclosure kinds count (consent to treatment does not authorize disclosure).
    Returns the first consent in force that covers recipient, purpose and category,
    or a refusal naming the closest reason.
    """
    considered: list[tuple[str, str]] = []
    for c in consents:
        if c.kind not in DISCLOSURE_KINDS:
            continue
        why = in_force(c, on)
        if why is None and not _covers_recipient(c, recipient):
            why = "recipient not covered"
        if why is None and not _covers_purpose(c, purpose):
            why = "purpose not covered"
        if why is None and not _covers_category(c, category):
            why = (
                "SUD counseling notes need their own consent"
                if category == SUD_NOTES
                else "information not covered"
            )
        if why is None:
            return Decision(True, c.ref, "consent in force", tuple(considered))
        considered.append((c.ref, why))
    if not considered:
        return Decision(False, None, "no consent to disclose on file")
    # Report the most specific reason: the last check reached by any consent.
    order = [
        "information not covered",
        "SUD counseling notes need their own consent",
        "purpose not covered",
        "recipient not covered",
    ]
    reasons = [why for _, why in considered]
    for candidate in order:
        if candidate in reasons:
            return Decision(False, None, candidate, tuple(considered))
    return Decision(False, None, reasons[0], tuple(considered))


def held_kinds(consents: Iterable[ConsentFacts], *, on: date) -> set[str]:
    """The kinds of which at least one consent is in force on `on`."""
    return {c.kind for c in consents if in_force(c, on) is None}


def missing_kinds(
    required: Sequence[str], consents: Iterable[ConsentFacts], *, on: date
) -> list[str]:
    held = held_kinds(consents, on=on)
    return [k for k in required if k not in held]


def effective_status(c: ConsentFacts, on: date) -> str:
    """The status to show: a signed consent past its expiry shows as expired."""
    if c.status == SIGNED and in_force(c, on) == "expired":
        return EXPIRED
    return c.status


# ----- validation of the §2.31(a) elements ---------------------------------------------


@dataclass(frozen=True)
class ConsentDraft:
    """The fields staff fill in before the patient signs."""

    kind: str
    patient_name: str
    discloser_name: str
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


ROI_KINDS = frozenset({"roi_family", "roi_sponsor", "roi_provider"})


def draft_errors(d: ConsentDraft, *, today: date) -> dict[str, str]:
    """Every missing or contradictory element, keyed by the form field at fault.

    Source: 42 CFR 2.31(a)(1)-(9) (2024 text); SUD counseling notes consent kept separate.
    """
    errors: dict[str, str] = {}
    if not d.patient_name.strip():
        errors["patient"] = "The consent must name the patient."
    if not d.discloser_name.strip():
        errors["discloser_name"] = "Say who may disclose (the program or organization)."
    if d.is_tpo and d.kind != PART2_KIND:
        errors["is_tpo"] = "Only a 42 CFR Part 2 consent can be the single TPO consent."
    if d.kind not in DISCLOSURE_KINDS:
        return errors
    # (4) recipients: a name or a class; the TPO consent may describe them generally.
    if not d.recipient_name.strip() and not (d.is_tpo and d.recipient_class == "tpo_general"):
        errors["recipient_name"] = (
            "Name the recipient (a person or organization). Only the single TPO consent may "
            "describe recipients generally."
        )
    if not d.recipient_class:
        errors["recipient_class"] = "Choose the kind of recipient."
    if d.kind in ROI_KINDS and not d.recipient_relationship.strip():
        errors["recipient_relationship"] = "Give the recipient's relationship to the patient."
    if d.kind in ROI_KINDS and not d.recipient_contact.strip():
        errors["recipient_contact"] = "Give the recipient's contact details."
    # (5) purpose.
    if not d.purposes:
        errors["purposes"] = "Choose at least one purpose of the disclosure."
    elif d.is_tpo and not set(d.purposes) >= TPO_PURPOSES:
        errors["purposes"] = (
            "The single TPO consent covers treatment, payment and health care operations: "
            "tick all three."
        )
    # (3) what information, specifically.
    if not d.categories:
        errors["categories"] = "Choose the information that may be disclosed."
    elif d.kind == SUD_NOTES_KIND and set(d.categories) != {SUD_NOTES}:
        errors["categories"] = (
            "A consent for SUD counseling notes must cover only those notes; use a separate "
            "consent for other information."
        )
    elif d.kind != SUD_NOTES_KIND and SUD_NOTES in d.categories:
        errors["categories"] = (
            "SUD counseling notes need their own separate consent; remove them here."
        )
    if not d.information_description.strip():
        errors["information_description"] = (
            "Describe the information specifically (what, from which dates)."
        )
    # (7) expiry date or event.
    if d.expires_on is None and not d.expiry_event:
        errors["expires_on"] = "Give an expiry date or an expiry event."
    elif d.expires_on is not None and d.expiry_event:
        errors["expiry_event"] = "Give an expiry date or an expiry event, not both."
    elif d.expires_on is not None and d.expires_on < today:
        errors["expires_on"] = "The expiry date is in the past."
    elif d.expires_on is not None and d.expires_on < d.effective_on:
        errors["expires_on"] = "The expiry date is before the consent takes effect."
    elif d.expiry_event == EVENT_NONE and not d.is_tpo:
        errors["expiry_event"] = "\u201cNone\u201d is allowed only for the single TPO consent."
    elif d.expiry_event == EVENT_OTHER and not d.expiry_event_description.strip():
        errors["expiry_event_description"] = "Describe the event that ends the consent."
    return errors


def signed_name_matches(typed: str, legal_names: Sequence[str]) -> bool:
    """Typed name equals one of the patient's legal name forms, ignoring case and spaces."""
    t = _norm(typed)
    return bool(t) and any(t == _norm(n) for n in legal_names if n)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digest(fields: Mapping[str, Any], signature_png: bytes | None) -> str:
    """SHA-256 over a signed consent's content: structured fields, text and signature."""
    h = hashlib.sha256()
    h.update(json.dumps(fields, sort_keys=True, default=_json_default).encode("utf-8"))
    h.update(b"\x00")
    h.update(signature_png or b"")
    return h.hexdigest()


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
