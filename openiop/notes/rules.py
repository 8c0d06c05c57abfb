"""Pure note decisions: no ORM, no clock (times are passed in).

Sources: clinical.md section 8.2 (formats; individualised group notes; start and stop
times); 42 CFR 2.11 and 2.31(b) (2024) for SUD counseling notes; issue 5 for signing,
co-signature, addenda, late entries and the worklist's 24/72-hour marks.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

# ----- statuses, formats and sections -----

DRAFT = "draft"
RETURNED = "returned"  # a supervisor sent it back with comments: editable again
PENDING_COSIGN = "pending_cosign"  # signed by the author, waiting for the supervisor
SIGNED = "signed"
COSIGNED = "cosigned"
ENTERED_IN_ERROR = "entered_in_error"

EDITABLE = frozenset({DRAFT, RETURNED})
# The author's signature is on it: content is frozen (hash stored).
LOCKED = frozenset({PENDING_COSIGN, SIGNED, COSIGNED})
FINAL = frozenset({SIGNED, COSIGNED})
UNSIGNED = frozenset({DRAFT, RETURNED, PENDING_COSIGN})

DAP = "dap"
BIRP = "birp"
SOAP = "soap"
GROUP = "group"

# Section keys of each format, in order (clinical.md 8.2).
FORMAT_SECTIONS: dict[str, tuple[str, ...]] = {
    DAP: ("data", "assessment", "plan"),
    BIRP: ("behavior", "intervention", "response", "plan"),
    SOAP: ("subjective", "objective", "assessment", "plan"),
    # The individualised part of a group note (issue 5).
    GROUP: ("participation", "response", "progress", "risk", "plan"),
}
SECTION_LABELS: dict[str, str] = {
    "data": "Data",
    "assessment": "Assessment",
    "plan": "Plan",
    "behavior": "Behaviour",
    "intervention": "Intervention",
    "response": "Response",
    "subjective": "Subjective",
    "objective": "Objective",
    "participation": "Participation",
    "progress": "Progress toward plan objectives",
    "risk": "Risk observed",
    "medications_reviewed": "Medications reviewed",
    "medication_changes": "Changes made",
}
MED_SECTIONS = ("medications_reviewed", "medication_changes")
# Sections that may be left empty at signing (the rest must be written).
OPTIONAL_SECTIONS = frozenset({"risk", "medication_changes"})

MED_MANAGEMENT = "med_management"


def sections_for(kind: str, fmt: str) -> tuple[str, ...]:
    """The sections a note of `kind` in format `fmt` carries."""
    base = FORMAT_SECTIONS[fmt]
    return base + MED_SECTIONS if kind == MED_MANAGEMENT else base


# ----- who may do what -----

SIGN = "sign"
EDIT = "edit"
COSIGN = "cosign"
RETURN = "return"
AMEND = "amend"


@dataclass(frozen=True)
class Actor:
    """What a rule needs to know about the person acting on one note."""

    can_write: bool  # holds note.write
    can_cosign: bool  # holds note.cosign
    is_trainee: bool
    is_author: bool


def refusal(action: str, status: str, who: Actor) -> str | None:
    """None when `who` may take `action` on a note in `status`; otherwise why not.

    Source: issue 5 ("Signing"): drafts are the author's; a signed note is immutable and
    corrected by addenda; trainees' notes need a supervisor, who may return them.
    """
    if status == ENTERED_IN_ERROR:
        return "This note was marked as entered in error."
    if action in (EDIT, SIGN):
        if not who.can_write:
            return "Your role does not write notes."
        if not who.is_author:
            return "Only the author can change or sign this note."
        if status not in EDITABLE:
            return "A signed note cannot be changed; add an addendum instead."
        return None
    if action in (COSIGN, RETURN):
        if not who.can_cosign or who.is_trainee:
            return "Only a supervisor (not a trainee) can co-sign or return notes."
        if who.is_author:
            return "You cannot co-sign your own note."
        if status != PENDING_COSIGN:
            return "This note is not waiting for a co-signature."
        return None
    if action == AMEND:
        if not who.can_write:
            return "Your role does not write notes."
        if status not in FINAL and status != PENDING_COSIGN:
            return "Only a signed note takes addenda; change the draft instead."
        if not (who.is_author or who.can_cosign):
            return "Only the author or a supervisor can add an addendum."
        return None
    return "Unknown action."


def cosign_required(*, is_trainee: bool, role: str, cosign_roles: Iterable[str]) -> bool:
    """Trainees always need a co-signature; so do roles the program lists (issue 5)."""
    return is_trainee or role in set(cosign_roles)


# ----- times -----


def time_errors(starts_at: datetime | None, ends_at: datetime | None) -> dict[str, str]:
    """Start and end both given and in order (clinical.md 8.2: start and stop times)."""
    errors: dict[str, str] = {}
    if starts_at is None:
        errors["start_time"] = "Give the start time."
    if ends_at is None:
        errors["end_time"] = "Give the end time."
    if starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            errors["end_time"] = "The end time must be after the start time."
        elif ends_at - starts_at > timedelta(hours=12):
            errors["end_time"] = "A service longer than 12 hours is not plausible; check the times."
    return errors


def minutes_between(starts_at: datetime, ends_at: datetime) -> int:
    return max(0, int((ends_at - starts_at).total_seconds() // 60))


def is_late_entry(
    *, service_ended_at: datetime, signed_at: datetime, late_after: timedelta
) -> bool:
    """Signed more than `late_after` after the service ended (program setting).

    Source: issue 5 ("a note signed more than a configurable time after the service is
    marked as a late entry"); no rule in clinical.md fixes the time, so it is configured.
    """
    return signed_at - service_ended_at > late_after


OVER_72 = "over_72"
OVER_24 = "over_24"
RECENT = "recent"


def age_band(*, service_ended_at: datetime, now: datetime) -> str:
    """The worklist's highlighting: over 72 hours, over 24 hours, or recent (issue 5)."""
    age = now - service_ended_at
    if age > timedelta(hours=72):
        return OVER_72
    if age > timedelta(hours=24):
        return OVER_24
    return RECENT


# ----- what must be written before signing -----


def empty_sections(sections: Mapping[str, str], required: Sequence[str]) -> list[str]:
    """The required sections left blank (issue 5: signing an empty section is refused)."""
    return [
        key
        for key in required
        if key not in OPTIONAL_SECTIONS and not (sections.get(key) or "").strip()
    ]


# ----- cloned text -----

# Two individualised sections whose normalised word sequences are at least this
# similar (difflib ratio) are "near-identical". 0.9 means roughly one word in ten
# differs: a copied paragraph with a name swapped or a word or two edited scores above
# it; two sections written for two different people, even on the same topic, score far
# below (see the table in tests/test_rules.py). Payers deny cloned notes (incumbents.md).
CLONE_THRESHOLD = 0.9
# Below this many words there is too little text to call two sections "near" each
# other; only exact copies are flagged.
CLONE_MIN_WORDS = 8

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def normalised_words(text: str, *, remove: Iterable[str] = ()) -> list[str]:
    """Lower-case words without accents or punctuation; names in `remove` dropped, so a
    copy with the patient's name swapped still compares equal."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = _WORD.findall(folded)
    dropped = {w.casefold() for name in remove for w in _WORD.findall(name.casefold())}
    return [w for w in words if w not in dropped]


@dataclass(frozen=True)
class Clone:
    """Two attendees whose individualised text is the same or nearly the same."""

    first: str
    second: str
    similarity: float  # 1.0 = identical after normalisation
    identical: bool


def clones(
    texts: Mapping[str, str],
    *,
    names: Mapping[str, Sequence[str]] | None = None,
    threshold: float = CLONE_THRESHOLD,
) -> list[Clone]:
    """Every pair of attendees (ref -> individualised text) whose texts are identical or
    near-identical after normalisation. Empty texts are not compared (they are caught
    at signing as empty sections). `names` (ref -> the attendee's names) are removed
    from that attendee's text before comparing."""
    prepared: list[tuple[str, list[str]]] = []
    for ref, text in texts.items():
        words = normalised_words(text, remove=(names or {}).get(ref, ()))
        if words:
            prepared.append((ref, words))
    found: list[Clone] = []
    for i, (ref_a, a) in enumerate(prepared):
        for ref_b, b in prepared[i + 1 :]:
            if a == b:
                found.append(Clone(ref_a, ref_b, 1.0, True))
                continue
            if min(len(a), len(b)) < CLONE_MIN_WORDS:
                continue
            matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio >= threshold:
                found.append(Clone(ref_a, ref_b, round(ratio, 3), False))
    return found


# ----- other attendees named in a patient's copy -----


@dataclass(frozen=True)
class PersonNames:
    ref: str
    legal_given: str
    legal_family: str
    preferred: str = ""
    legal_middle: str = ""

    def forms(self) -> list[str]:
        """Full names first (so the most specific match is reported), then single names."""
        full = [
            f"{self.legal_given} {self.legal_family}",
            f"{self.preferred} {self.legal_family}" if self.preferred else "",
        ]
        single = [self.legal_given, self.legal_family, self.preferred, self.legal_middle]
        return [n.strip() for n in full + single if n and len(n.strip()) >= 2]


@dataclass(frozen=True)
class NameHit:
    ref: str  # whose name appears
    matched: str  # the words found


def _name_pattern(name: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in name.split()]
    return re.compile(r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])", re.IGNORECASE)


def other_attendee_names(
    text: str, *, own: PersonNames | None, others: Iterable[PersonNames]
) -> list[NameHit]:
    """Names (legal, preferred) of other attendees found in one patient's text.

    Whole words, case-insensitive. A name this patient shares with another attendee
    (both are "Alex") is not reported: it cannot be told apart and is the patient's own.
    Source: issue 5 ("each patient's copy contains no other attendee's name").
    """
    own_forms = {n.casefold() for n in own.forms()} if own else set()
    hits: list[NameHit] = []
    for person in others:
        if own is not None and person.ref == own.ref:
            continue
        for name in person.forms():
            if name.casefold() in own_forms:
                continue
            match = _name_pattern(name).search(text)
            if match:
                hits.append(NameHit(person.ref, match.group(0)))
                break
    return hits


# ----- SUD counseling notes -----


def sud_note_visible(*, is_author: bool, role: str, permitted_roles: Iterable[str]) -> bool:
    """SUD counseling notes: the author and roles the program explicitly permits.

    Source: 42 CFR 2.11 "SUD counseling notes" and 2.31(b) (2024): kept apart from the
    rest of the record, used or disclosed only with their own consent.
    """
    return is_author or role in set(permitted_roles)


# ----- content hash -----


def content_digest(fields: Mapping[str, Any]) -> str:
    """SHA-256 over a signed note's content (canonical JSON)."""
    return hashlib.sha256(
        json.dumps(fields, sort_keys=True, default=_json_default).encode("utf-8")
    ).hexdigest()


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


# ----- documenting an appointment -----

# Which appointment kinds each kind of note documents (a family session is documented
# as individual therapy). Source: issue 5 ("individual therapy, medication-management
# and case-management notes"), scheduling's appointment kinds.
APPOINTMENT_KINDS_FOR_NOTE: Mapping[str, frozenset[str]] = {
    "individual": frozenset({"individual", "family"}),
    MED_MANAGEMENT: frozenset({"med_management"}),
    "case_management": frozenset({"case_management"}),
}


def appointment_note_refusal(
    *,
    note_kind: str,
    appointment_kind: str,
    same_patient: bool,
    cancelled: bool,
    attended: bool,
    has_note: bool,
) -> str | None:
    """Why a note of `note_kind` cannot document this appointment, or None. Only a kept
    appointment of the matching kind, of the same patient and not yet documented, is
    documented (issue 5: notes are written for services that took place)."""
    if not same_patient:
        return "That appointment is another patient's."
    if cancelled:
        return "That appointment was cancelled; there is nothing to document."
    if not attended:
        return "That appointment was not kept (no attendance recorded as present)."
    if appointment_kind not in APPOINTMENT_KINDS_FOR_NOTE.get(note_kind, frozenset()):
        return "That appointment is of another kind; choose the matching kind of note."
    if has_note:
        return "That appointment already has a note; open it from the patient's notes."
    return None
