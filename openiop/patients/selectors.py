"""Reading patients, always scoped to what the acting staff member may see.

A staff member sees a patient who has an episode (in any status) in a program they
belong to, or one they hold an unexpired break-the-glass grant for. Everyone else is
invisible: the same 404 as a patient who does not exist, and the refusal is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import BooleanField, Exists, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.http import Http404

from openiop.access.models import BreakGlassGrant
from openiop.accounts.models import ProgramMembership, User
from openiop.alerts.models import Alert
from openiop.alerts.selectors import alerts_open_for_patient
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import audit_record
from openiop.episodes.models import Episode, EpisodeEvent, EpisodeStatus
from openiop.patients.models import (
    Coverage,
    CoverageStatus,
    EmergencyContact,
    Patient,
    PatientStatus,
)
from openiop.patients.rules import SearchTerms

SEARCH_LIMIT = 50


def member_program_ids(actor: User) -> QuerySet[ProgramMembership, int]:
    return ProgramMembership.objects.filter(user=actor).values_list("program_id", flat=True)


def _in_programs(actor: User) -> Exists:
    return Exists(
        Episode.objects.filter(patient=OuterRef("pk"), program_id__in=member_program_ids(actor))
    )


def _break_glass(actor: User, now: datetime) -> Exists:
    return Exists(
        BreakGlassGrant.objects.filter(patient=OuterRef("pk"), user=actor, expires_at__gt=now)
    )


def patient_visible_qs(*, actor: User, now: datetime) -> QuerySet[Patient]:
    return Patient.objects.filter(organization_id=actor.org_id).filter(
        _in_programs(actor) | _break_glass(actor, now)
    )


def _in_programs_probe(actor: User) -> Subquery:
    """_in_programs as a LIMIT 1 sub-select, for filters that leave few candidates (a
    name search): PostgreSQL probes the episode index once per candidate, where an
    EXISTS under OR becomes a hashed sub-plan over every episode of the actor's
    programs, whose cost grows with the whole history."""
    return Subquery(
        Episode.objects.filter(
            patient=OuterRef("pk"), program_id__in=member_program_ids(actor)
        ).values(found=Value(True))[:1],
        output_field=BooleanField(),
    )


# What a search result row shows (patients/search.html) and what its audit event needs.
_SEARCH_COLUMNS = ("public_id", "legal_given_name", "legal_family_name", "preferred_name",
                   "pronouns", "date_of_birth", "mrn", "phone")  # fmt: skip


def patient_search(*, actor: User, terms: SearchTerms, now: datetime) -> list[Patient]:
    """Up to SEARCH_LIMIT visible patients matching every given term, in one query;
    each carries its newest episode's program name and status (current_program,
    current_status, current_status_label)."""
    qs = Patient.objects.filter(
        _in_programs_probe(actor) | _break_glass(actor, now),
        organization_id=actor.org_id,
        status=PatientStatus.ACTIVE,
    )
    for token in terms.name_tokens:
        qs = qs.filter(search_name__icontains=token)
    if terms.date_of_birth:
        qs = qs.filter(date_of_birth=terms.date_of_birth)
    if terms.phone:
        qs = qs.filter(phone_digits__contains=terms.phone)
    if terms.mrn:
        qs = qs.filter(mrn__iexact=terms.mrn)
    newest = Episode.objects.filter(patient=OuterRef("pk")).order_by("-referred_on", "-id")
    results = list(
        qs.only(*_SEARCH_COLUMNS).annotate(
            current_program=Subquery(newest.values("program__name")[:1]),
            current_status=Subquery(newest.values("status")[:1]),
        )[:SEARCH_LIMIT]
    )
    labels = dict(EpisodeStatus.choices)
    for patient in results:
        patient.current_status_label = labels.get(patient.current_status or "", "")
    return results


@dataclass(frozen=True)
class PatientAccess:
    patient: Patient
    via_break_glass: bool


def patient_get_for_user(
    *, actor: User, public_id: UUID | str, now: datetime, purpose: str = "read"
) -> PatientAccess:
    """The patient if the actor may see it; otherwise an audited 404."""
    row = (
        Patient.objects.filter(public_id=public_id, organization_id=actor.org_id)
        .annotate(in_programs=_in_programs(actor), break_glass=_break_glass(actor, now))
        .first()
    )
    if row is None or not (row.in_programs or row.break_glass):
        audit_record(
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            outcome=AuditOutcome.DENIED,
            patient=row,
            object_type="patient",
            object_id=str(public_id),
            detail={"purpose": purpose},
        )
        raise Http404("No such patient.")
    return PatientAccess(row, via_break_glass=not row.in_programs)


def patient_exists_hidden(*, actor: User, public_id: UUID | str) -> Patient | None:
    """A patient of the actor's organization, visible or not (for break-the-glass)."""
    return Patient.objects.filter(public_id=public_id, organization_id=actor.org_id).first()


@dataclass(frozen=True)
class ChartHeader:
    """What every chart tab shows above its content (header, alerts block) and what the
    capability sections read from `chart` (episodes with program, current episode, open
    alerts)."""

    patient: Patient
    episodes: list[Episode]
    current_episode: Episode | None
    via_break_glass: bool
    grant_expires_at: datetime | None
    open_alerts: list[Alert]


@dataclass(frozen=True)
class Chart(ChartHeader):
    """The overview tab: the header plus coverage and emergency contacts (its episodes
    also carry their event timelines and care teams)."""

    coverages: list[Coverage]
    contacts: list[EmergencyContact]


def _grant_expires_at(*, access: PatientAccess, actor: User, now: datetime) -> datetime | None:
    """When the actor's break-the-glass access ends (one query, only under a grant)."""
    if not access.via_break_glass:
        return None
    grant = (
        BreakGlassGrant.objects.filter(patient=access.patient, user=actor, expires_at__gt=now)
        .order_by("-expires_at")
        .first()
    )
    return grant.expires_at if grant else None


def chart_header_get(*, access: PatientAccess, actor: User, now: datetime) -> ChartHeader:
    """What a chart section tab needs besides its own section, in two queries (three
    under break-the-glass): the episodes with their program, and the open alerts."""
    patient = access.patient
    episodes = list(Episode.objects.filter(patient=patient).select_related("program"))
    return ChartHeader(
        patient=patient,
        episodes=episodes,
        current_episode=current_episode(episodes),
        via_break_glass=access.via_break_glass,
        grant_expires_at=_grant_expires_at(access=access, actor=actor, now=now),
        open_alerts=alerts_open_for_patient(patient=patient),
    )


def chart_get(*, access: PatientAccess, actor: User, now: datetime) -> Chart:
    """Everything the chart's overview tab shows, in a fixed number of queries."""
    patient = access.patient
    episodes = list(
        Episode.objects.filter(patient=patient)
        .select_related("program__site", "primary_counselor", "prescriber", "case_manager")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=EpisodeEvent.objects.select_related("changed_by").order_by(
                    "changed_at", "id"
                ),
            )
        )
    )
    coverages = list(
        Coverage.objects.filter(patient=patient)
        .exclude(status=CoverageStatus.ENTERED_IN_ERROR)
        .select_related("payer")
    )
    contacts = list(EmergencyContact.objects.filter(patient=patient, is_active=True))
    return Chart(
        patient=patient,
        episodes=episodes,
        current_episode=current_episode(episodes),
        coverages=coverages,
        contacts=contacts,
        via_break_glass=access.via_break_glass,
        grant_expires_at=_grant_expires_at(access=access, actor=actor, now=now),
        open_alerts=alerts_open_for_patient(patient=patient),
    )


def current_episode(episodes: list[Episode]) -> Episode | None:
    """The active episode, else the newest open one, else the newest of any kind."""
    for episode in episodes:
        if episode.status == "active":
            return episode
    for episode in episodes:
        if episode.is_open:
            return episode
    return episodes[0] if episodes else None
