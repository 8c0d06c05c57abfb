"""The wording shown to the patient for each kind of consent (OpenIOP's own wording).

Each template has a versioned key. The text is rendered with the patient's and the
recipient's details when the patient signs, and stored with the signed consent, so
changing a template here never changes a consent already signed. Bump the version in
the key whenever a template's wording changes.

Rendering is a pure function of plain values (no ORM, no clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TextValues:
    patient_name: str
    date_of_birth: date
    organization_name: str
    discloser_name: str
    effective_on: date
    recipient_name: str = ""
    recipient_class_label: str = ""
    recipient_relationship: str = ""
    recipient_contact: str = ""
    purpose_labels: tuple[str, ...] = ()
    purpose_description: str = ""
    category_labels: tuple[str, ...] = ()
    information_description: str = ""
    expires_on: date | None = None
    expiry_event: str = ""
    expiry_event_label: str = ""
    expiry_event_description: str = ""
    is_tpo: bool = False


@dataclass(frozen=True)
class ConsentText:
    key: str
    title: str
    body: str


REVOKE_STATEMENT = (
    "You may revoke (take back) this consent at any time, in writing, by giving or sending "
    "a signed note to {discloser}. You may also tell a staff member, who will record it. "
    "Revocation takes effect as soon as it is received, but it cannot undo anything "
    "already done in reliance on this consent before then."
)

REDISCLOSURE_TPO = (
    "Information disclosed under this consent to a health plan, health care provider or "
    "their business associates for treatment, payment or health care operations may be "
    "redisclosed by them as the HIPAA rules allow, and may then no longer be protected by "
    "42 CFR Part 2. It may never be used or disclosed in civil, criminal, administrative "
    "or legislative proceedings against you without your written consent or a court "
    "order."
)

REDISCLOSURE_OTHER = (
    "The recipient may not use or disclose this information further except as 42 CFR "
    "Part 2 allows, and may never use it in civil, criminal, administrative or legislative "
    "proceedings against you without your written consent or a court order."
)

REFUSAL_STATEMENT = (
    "You do not have to sign this consent. {discloser} will not refuse or condition your "
    "treatment on whether you sign it."
)

_TREATMENT = """\
I, {patient} (date of birth {dob}), agree to receive intensive outpatient treatment
from {discloser}.

I understand that treatment may include group therapy, individual therapy, family
sessions, case management, medication management, and drug and alcohol testing, and
that my care team will explain each part and answer my questions.

I understand the benefits I can expect, the risks of treatment and of not being
treated, and the other choices available to me. I may ask questions at any time and
may stop treatment at any time by telling my counselor.

My records are kept confidential under federal law (HIPAA and, for substance use
treatment records, 42 CFR Part 2). They will not be shared outside the program without
my written consent, except where the law allows it (for example a medical emergency,
or a report of suspected child abuse).

This consent takes effect on {effective} and ends {expiry}, unless I withdraw it
earlier.

{revoke}"""

_FINANCIAL = """\
I, {patient} (date of birth {dob}), understand that I am responsible for paying for
the services I receive from {discloser}, to the extent they
are not paid by my insurance or another payer.

I authorize {organization} to bill my insurance plan(s) for my care and ask that
payments be made directly to {organization}. I understand that some services may not
be covered, that my plan may require co-payments, co-insurance or deductibles, and
that I will be told about any charges I must pay myself before they are incurred
where possible.

I will tell the program promptly about any change in my insurance. I may ask for a
payment plan or a sliding-fee review at any time.

This agreement takes effect on {effective} and ends {expiry}.

{revoke}"""

_PROGRAM_RULES = """\
I, {patient} (date of birth {dob}), have received and discussed the rules of
{discloser}.

I agree to: attend my scheduled sessions or call ahead if I cannot; arrive free of
alcohol and non-prescribed drugs; take part in drug and alcohol testing as my care
team requests; treat other participants and staff with respect; keep what other
participants share in group confidential; and bring no weapons, alcohol or drugs to
the program.

I understand that breaking these rules may lead to a review of my treatment plan, and
that my care team will talk with me before any change to my participation.

This agreement takes effect on {effective} and ends {expiry}.

{revoke}"""

_PART2 = """\
Patient: {patient} (date of birth {dob}).

I authorize {discloser} to disclose the information described
below about my substance use disorder treatment.

Information to be disclosed: {information}

Categories: {categories}

Recipient: {recipient}

Purpose of the disclosure: {purposes}

This consent takes effect on {effective} and expires {expiry}.

{redisclosure}

{revoke}

{refusal}"""

_ROI = """\
Patient: {patient} (date of birth {dob}).

I authorize {discloser} to release the information described
below to the person or organization named here.

Recipient: {recipient}

Relationship to me: {relationship}

Recipient's contact details: {contact}

Information to be released: {information}

Categories: {categories}

Purpose of the release: {purposes}

This release takes effect on {effective} and expires {expiry}.

{redisclosure}

{revoke}

{refusal}"""

_SUD_NOTES = """\
Patient: {patient} (date of birth {dob}).

This is a separate consent, for substance use disorder counseling notes only. It
cannot be combined with any other consent. Counseling notes are the personal notes
a counselor keeps about the content of counseling sessions, kept apart from the rest
of my record.

I authorize {discloser} to disclose my SUD counseling notes
as described here.

Notes to be disclosed: {information}

Recipient: {recipient}

Purpose of the disclosure: {purposes}

This consent takes effect on {effective} and expires {expiry}.

{redisclosure}

{revoke}

{refusal}"""


TEMPLATES: dict[str, tuple[str, str, str]] = {
    # kind: (versioned key, title, body)
    "treatment": ("treatment.v1", "Consent to treatment", _TREATMENT),
    "financial": ("financial.v1", "Financial responsibility agreement", _FINANCIAL),
    "program_rules": ("program_rules.v1", "Program rules agreement", _PROGRAM_RULES),
    "part2_disclosure": (
        "part2_disclosure.v1",
        "Consent to disclose substance use disorder records (42 CFR Part 2)",
        _PART2,
    ),
    "roi_family": ("roi.v1", "Release of information to a family member", _ROI),
    "roi_sponsor": ("roi.v1", "Release of information to a self-help sponsor", _ROI),
    "roi_provider": ("roi.v1", "Release of information to an outside provider", _ROI),
    "sud_counseling_notes": (
        "sud_counseling_notes.v1",
        "Separate consent to disclose SUD counseling notes (42 CFR Part 2)",
        _SUD_NOTES,
    ),
}


def _d(value: date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def _join(items: tuple[str, ...]) -> str:
    return "; ".join(items) if items else "(none given)"


def _expiry(v: TextValues) -> str:
    if v.expires_on is not None:
        return f"on {_d(v.expires_on)}"
    if v.expiry_event == "other":
        return f"when this happens: {v.expiry_event_description}"
    if v.expiry_event == "none":
        return "never (no expiry date; it stays in force until I revoke it)"
    if v.expiry_event:
        return f"at the {v.expiry_event_label.lower()}"
    return "(no expiry given)"


def _recipient(v: TextValues) -> str:
    if v.is_tpo and not v.recipient_name:
        return (
            f"{v.recipient_class_label} (a general description, allowed for a single consent "
            "for treatment, payment and health care operations)"
        )
    if v.recipient_class_label:
        return f"{v.recipient_name} ({v.recipient_class_label})"
    return v.recipient_name


def _purposes(v: TextValues) -> str:
    tpo = "treatment, payment and health care operations"
    text = tpo if v.is_tpo else _join(v.purpose_labels)
    if v.purpose_description:
        text += f". {v.purpose_description}"
    return text


def render(kind: str, v: TextValues) -> ConsentText:
    """The text for `kind` filled with `v` (plain text, paragraphs split by blank lines)."""
    key, title, body = TEMPLATES[kind]
    discloser = v.discloser_name
    values = {
        "patient": v.patient_name,
        "dob": _d(v.date_of_birth),
        "organization": v.organization_name,
        "discloser": discloser,
        "effective": _d(v.effective_on),
        "recipient": _recipient(v),
        "relationship": v.recipient_relationship,
        "contact": v.recipient_contact,
        "information": v.information_description,
        "categories": _join(v.category_labels),
        "purposes": _purposes(v),
        "expiry": _expiry(v),
        "redisclosure": REDISCLOSURE_TPO if v.is_tpo else REDISCLOSURE_OTHER,
        "revoke": REVOKE_STATEMENT.format(discloser=discloser),
        "refusal": REFUSAL_STATEMENT.format(discloser=discloser),
    }
    text = body.format(**values)
    # Join wrapped lines inside a paragraph; keep blank lines between paragraphs.
    paragraphs = [" ".join(p.split("\n")) for p in text.split("\n\n")]
    return ConsentText(key=key, title=title, body="\n\n".join(paragraphs))
