"""Reading consents.

`consents_missing_for_admission` is called by the admission service, which has already
checked the actor's access to the patient; the chart and consent pages fetch the patient
through `patient_get_for_user` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from openiop.accounts.models import User
from openiop.consents import rules
from openiop.consents.models import (
    DEFAULT_ADMISSION_KINDS,
    Consent,
    ConsentEvent,
    ConsentKind,
    ConsentStatus,
    ExpiryEvent,
    ProgramConsentSettings,
)
from openiop.episodes.models import Episode
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess

LIST_FIELDS_DEFERRED = ("text", "signature_png", "signer_user_agent")

# Treatment can never be conditioned on a disclosure consent (§2.31 / TPO statement).
NEVER_REQUIRED_FOR_ADMISSION: frozenset[str] = frozenset(
    {
        ConsentKind.PART2_DISCLOSURE,
        ConsentKind.SUD_COUNSELING_NOTES,
        ConsentKind.ROI_FAMILY,
        ConsentKind.ROI_SPONSOR,
        ConsentKind.ROI_PROVIDER,
    }
)


def required_kinds_for_program(program: Program) -> list[str]:
    """The consent kinds the program requires before admission (default: three)."""
    row = ProgramConsentSettings.objects.filter(program=program).first()
    kinds = list(row.required_kinds) if row is not None else list(DEFAULT_ADMISSION_KINDS)
    valid = set(ConsentKind.values) - NEVER_REQUIRED_FOR_ADMISSION
    return [k for k in kinds if k in valid]


def treatment_end_for(consent: Consent, episodes: Iterable[Episode]) -> date | None:
    """When the episode the consent was given in ended (its "end of treatment"), if it has.

    The episode is the one in the consent's program that was open on the consent's
    effective date; an episode still open means treatment has not ended.
    """
    containing = [
        e
        for e in episodes
        if e.program_id == consent.program_id
        and e.referred_on <= consent.effective_on
        and (e.ended_on is None or e.ended_on >= consent.effective_on)
    ]
    if not containing:
        return None
    latest = max(containing, key=lambda e: (e.referred_on, e.pk))
    return latest.ended_on


def consent_facts(consent: Consent, episodes: Iterable[Episode] = ()) -> rules.ConsentFacts:
    revoked_on = timezone.localdate(consent.revoked_at) if consent.revoked_at else None
    event_on = None
    if consent.expiry_event == ExpiryEvent.END_OF_TREATMENT:
        event_on = treatment_end_for(consent, episodes)
    return rules.ConsentFacts(
        ref=str(consent.public_id),
        kind=consent.kind,
        status=consent.status,
        effective_on=consent.effective_on,
        purposes=frozenset(consent.purposes or ()),
        categories=frozenset(consent.information_categories or ()),
        recipient_name=consent.recipient_name,
        recipient_class=consent.recipient_class,
        is_tpo=consent.is_tpo,
        expires_on=consent.expires_on,
        expiry_event=consent.expiry_event,
        expiry_event_on=event_on,
        revoked_on=revoked_on,
    )


def episodes_of(patient: Patient) -> list[Episode]:
    return list(
        Episode.objects.filter(patient=patient).only(
            "id", "program_id", "referred_on", "ended_on", "patient_id"
        )
    )


def consent_facts_many(
    consents: Iterable[Consent], episodes: Iterable[Episode] = ()
) -> list[rules.ConsentFacts]:
    episodes = list(episodes)
    return [consent_facts(c, episodes) for c in consents]


def consent_facts_for_patient(*, patient: Patient) -> list[rules.ConsentFacts]:
    """Every signed, expired or revoked consent of a patient, as input to
    `rules.disclosure_permitted` (for exports). Two queries."""
    qs = (
        Consent.objects.filter(
            patient=patient,
            status__in=[ConsentStatus.SIGNED, ConsentStatus.REVOKED, ConsentStatus.EXPIRED],
        )
        .defer(*LIST_FIELDS_DEFERRED)
        .order_by("-signed_at", "-id")
    )
    return consent_facts_many(qs, episodes_of(patient))


def consents_missing_for_admission(*, patient: Patient, program: Program, on: date) -> list[str]:
    """Names of the required consent kinds the patient does not hold in force on `on`.

    In force: signed, in effect, not expired and not revoked on that date. The Part 2
    disclosure consent is never required (treatment cannot be conditioned on it).
    """
    required = required_kinds_for_program(program)
    if not required:
        return []
    rows = Consent.objects.filter(
        patient=patient, program=program, kind__in=required, status=ConsentStatus.SIGNED
    ).only(
        "public_id",
        "kind",
        "status",
        "effective_on",
        "expires_on",
        "expiry_event",
        "revoked_at",
        "purposes",
        "information_categories",
        "recipient_name",
        "recipient_class",
        "is_tpo",
        "program_id",
    )
    facts = consent_facts_many(rows, episodes_of(patient))
    missing = rules.missing_kinds(required, facts, on=on)
    return [str(ConsentKind(k).label) for k in missing]


# ----- pages ---------------------------------------------------------------------------------


def consents_for_patient(*, access: PatientAccess) -> list[Consent]:
    """Every consent of a visible patient, newest first, in one query."""
    return list(
        Consent.objects.filter(patient=access.patient)
        .select_related("program")
        .defer(*LIST_FIELDS_DEFERRED)
        .order_by("-created_at", "-id")
    )


def consent_get(*, access: PatientAccess, public_id: UUID | str) -> Consent:
    """One consent of a visible patient, with its history; 404 for anything else."""
    consent = (
        Consent.objects.filter(patient=access.patient, public_id=public_id)
        .select_related(
            "program__site__organization",
            "collected_by",
            "witness",
            "revocation_received_by",
            "created_by",
        )
        .prefetch_related(Prefetch("events", queryset=ConsentEvent.objects.select_related("actor")))
        .first()
    )
    if consent is None:
        raise Http404("No such consent.")
    return consent


@dataclass(frozen=True)
class ConsentRow:
    consent: Consent
    status: str
    status_label: str


def consent_rows(
    consents: Iterable[Consent], *, on: date, episodes: Iterable[Episode] = ()
) -> list[ConsentRow]:
    """Consents with the status to show on `on` (a signed consent past expiry: expired)."""
    rows = []
    episodes = list(episodes)
    for c in consents:
        status = rules.effective_status(consent_facts(c, episodes), on)
        rows.append(ConsentRow(c, status, str(ConsentStatus(status).label)))
    return rows


def member_programs_for_patient(*, actor: User, patient: Patient) -> QuerySet[Program]:
    """Programs the actor belongs to in which the patient has an episode."""
    return (
        Program.objects.filter(
            memberships__user=actor,
            episodes__patient=patient,
        )
        .select_related("site__organization")
        .distinct()
    )
