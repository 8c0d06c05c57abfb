"""Reading referrals, always scoped to what the acting staff member may see.

A referral belongs to a program, or to the organization's intake pool while no
program is chosen. Staff holding `referral.manage` see the referrals of the programs
they belong to and the whole pool of their organization; anyone else gets the same
audited 404 as a referral that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import AuditEntry, audit_record, audit_record_many
from openiop.episodes.models import Episode
from openiop.intake import rules
from openiop.intake.models import (
    Admission,
    ObservationStatus,
    ObservationVisit,
    Referral,
    ReferralContactAttempt,
    ReferralEvent,
    ReferralStage,
    Urgency,
)
from openiop.organizations.models import Program
from openiop.patients.models import Patient

# Cards per column: the newest of each open stage, fewer of the closed ones (they only
# grow); the column header gives the total and links to the full, paginated list.
CARDS_PER_OPEN_STAGE = 50
CARDS_PER_CLOSED_STAGE = 10
LIST_PAGE_SIZE = 50
POOL = "pool"
# What a card shows (and what its audit row names): nothing else is loaded.
CARD_FIELDS = (
    "public_id",
    "organization_id",
    "given_name",
    "family_name",
    "urgency",
    "source_type",
    "referring_organization",
    "schedule_preference",
    "stage",
    "stage_changed_at",
    "received_at",
    "version",
    "program__name",
    "patient__public_id",
)


def member_program_ids(actor: User) -> QuerySet[ProgramMembership, int]:
    return ProgramMembership.objects.filter(user=actor).values_list("program_id", flat=True)


def referral_visible_qs(*, actor: User) -> QuerySet[Referral]:
    if not actor.has_perm_code(Perm.REFERRAL_MANAGE):
        return Referral.objects.none()
    return Referral.objects.filter(organization_id=actor.org_id).filter(
        Q(program__isnull=True) | Q(program_id__in=member_program_ids(actor))
    )


def referral_get_for_user(*, actor: User, public_id: UUID | str, purpose: str = "read") -> Referral:
    """The referral if the actor may see it; otherwise an audited 404. Call it outside
    a transaction (at the top of the view), so the refusal's audit row is kept."""
    referral = (
        referral_visible_qs(actor=actor)
        .select_related("program__site", "patient", "episode")
        .filter(public_id=public_id)
        .first()
    )
    if referral is None:
        hidden = Referral.objects.filter(public_id=public_id).select_related("patient").first()
        audit_record(
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            outcome=AuditOutcome.DENIED,
            patient=hidden.patient if hidden else None,
            object_type="referral",
            object_id=str(public_id),
            detail={"purpose": purpose},
        )
        raise Http404("No such referral.")
    return referral


def referral_programs(*, actor: User) -> list[Program]:
    """The programs the actor may file referrals into (their own, active ones)."""
    return list(
        Program.objects.filter(
            memberships__user=actor, is_active=True, site__organization_id=actor.org_id
        )
        .select_related("site")
        .order_by("name")
    )


@dataclass(frozen=True)
class BoardFilters:
    program: str = ""  # "", POOL, or a program's public id
    urgency: str = ""

    def query(self) -> str:
        parts = [f"{k}={v}" for k, v in (("program", self.program), ("urgency", self.urgency)) if v]
        return "&".join(parts)


def filters_clean(*, programs: list[Program], program: str, urgency: str) -> BoardFilters:
    """Drop filter values that are not the actor's programs or known urgencies."""
    known = {str(p.public_id) for p in programs} | {POOL}
    return BoardFilters(
        program=program if program in known else "",
        urgency=urgency if urgency in Urgency.values else "",
    )


def _filtered(actor: User, filters: BoardFilters, programs: list[Program]) -> QuerySet[Referral]:
    qs = referral_visible_qs(actor=actor)
    if filters.program == POOL:
        qs = qs.filter(program__isnull=True)
    elif filters.program:
        qs = qs.filter(program__in=[p for p in programs if str(p.public_id) == filters.program])
    if filters.urgency:
        qs = qs.filter(urgency=filters.urgency)
    return qs


@dataclass
class BoardCard:
    referral: Referral
    days_since_received: int
    days_in_stage: int
    moves: list[tuple[str, str]]
    # Filled in by the view (one reverse() per page, not per card).
    key: str = ""
    detail_url: str = ""
    move_url: str = ""
    options: str = ""
    # A refused move keeps the error and what was typed beside the card's form.
    error: str = ""
    typed_stage: str = ""
    typed_reason: str = ""


@dataclass
class BoardColumn:
    stage: str
    label: str
    total: int
    closed: bool
    cards: list[BoardCard] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.cards)


@dataclass
class Board:
    columns: list[BoardColumn]
    filters: BoardFilters
    programs: list[Program]

    @property
    def open_columns(self) -> list[BoardColumn]:
        return [c for c in self.columns if not c.closed]

    @property
    def closed_columns(self) -> list[BoardColumn]:
        return [c for c in self.columns if c.closed]

    @property
    def referrals(self) -> list[Referral]:
        return [card.referral for column in self.columns for card in column.cards]


def card_of(referral: Referral, now: datetime) -> BoardCard:
    return BoardCard(
        referral=referral,
        days_since_received=rules.days_between(referral.received_at, now),
        days_in_stage=rules.days_between(referral.stage_changed_at, now),
        moves=[(s, rules.STAGE_LABELS[s]) for s in rules.board_moves(referral.stage)],
    )


def referral_board(
    *, actor: User, programs: list[Program], filters: BoardFilters, now: datetime
) -> Board:
    """Every stage with its total and its newest cards, in two queries whatever the
    number of referrals: a narrow ranked query (id, stage, rank and the stage's total,
    from window functions over the visible referrals) picks the cards, then one query
    loads just those cards."""
    qs = _filtered(actor, filters, programs).order_by()
    picked = (
        qs.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage")],
                order_by=[F("received_at").desc(), F("id").desc()],
            ),
            total=Window(Count("id"), partition_by=[F("stage")]),
            card_limit=Case(
                When(stage__in=rules.CLOSED_STAGES, then=Value(CARDS_PER_CLOSED_STAGE)),
                default=Value(CARDS_PER_OPEN_STAGE),
                output_field=IntegerField(),
            ),
        )
        .filter(rank__lte=F("card_limit"))
        .values_list("id", "stage", "rank", "total")
    )
    totals: dict[str, int] = {}
    position: dict[int, int] = {}
    for pk, stage, rank, total in picked:
        totals[stage] = total
        position[pk] = rank
    by_stage: dict[str, list[Referral]] = {}
    cards = (
        Referral.objects.filter(pk__in=list(position))
        .select_related("program", "patient")
        .only(*CARD_FIELDS)
    )
    for referral in cards:
        by_stage.setdefault(referral.stage, []).append(referral)
    columns = [
        BoardColumn(
            stage=stage.value,
            label=stage.label,
            total=totals.get(stage.value, 0),
            closed=stage.value in rules.CLOSED_STAGES,
            cards=[
                card_of(r, now)
                for r in sorted(by_stage.get(stage.value, []), key=lambda r: position[r.pk])
            ],
        )
        for stage in ReferralStage
    ]
    return Board(columns=columns, filters=filters, programs=programs)


def referral_list(
    *, actor: User, programs: list[Program], filters: BoardFilters, stage: str, page: str | int
) -> Page[Referral]:
    qs = _filtered(actor, filters, programs).select_related("program", "patient")
    if stage in ReferralStage.values:
        qs = qs.filter(stage=stage)
    paginator = Paginator(qs.order_by("-received_at", "-id"), LIST_PAGE_SIZE)
    return paginator.get_page(page)


def audit_referrals_listed(
    *, actor: User, referrals: list[Referral], object_type: str, detail: dict[str, object]
) -> None:
    """One audit row per referral shown (as patient search does), in one locked insert;
    a referral already registered names its patient, so it shows in the patient's
    access history too."""
    if not referrals:
        audit_record(actor=actor, action=AuditAction.SEARCH, object_type=object_type, detail=detail)
        return
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                action=AuditAction.SEARCH,
                patient=r.patient,
                object_type=object_type,
                object_id=str(r.public_id),
                detail=detail,
            )
            for r in referrals
        ],
    )


@dataclass(frozen=True)
class ReferralDetail:
    referral: Referral
    events: list[ReferralEvent]
    attempts: list[ReferralContactAttempt]
    visits: list[ObservationVisit]
    failed_in_a_row: int
    suggest_unable_to_reach: bool


def referral_detail(*, referral: Referral) -> ReferralDetail:
    events = list(referral.events.select_related("changed_by").order_by("changed_at", "id"))
    attempts = list(
        referral.contact_attempts.select_related("made_by").order_by("attempted_at", "id")
    )
    visits = list(referral.observation_visits.select_related("facilitator", "recorded_by"))
    outcomes = [a.outcome for a in attempts]
    return ReferralDetail(
        referral=referral,
        events=events,
        attempts=attempts,
        visits=visits,
        failed_in_a_row=rules.failed_attempts_in_a_row(outcomes),
        suggest_unable_to_reach=rules.suggest_unable_to_reach(
            stage=referral.stage, outcomes_oldest_first=outcomes
        ),
    )


# --- The chart section -------------------------------------------------------------------


@dataclass
class IntakeChart:
    referrals: list[Referral]
    visits: list[ObservationVisit]
    admissions: list[Admission]
    # Open episodes not yet active, in programs of the actor (admit / observe them).
    admittable: list[Episode]


def intake_chart(
    *, patient: Patient, episodes: list[Episode], actor: User | None, perms: set[str]
) -> IntakeChart:
    """What the chart's intake section shows, in at most four queries."""
    referrals = list(
        Referral.objects.filter(patient=patient).select_related("program").order_by("-received_at")
    )
    visits = list(
        ObservationVisit.objects.filter(Q(patient=patient) | Q(referral__patient=patient))
        .exclude(status=ObservationStatus.ENTERED_IN_ERROR)
        .select_related("facilitator")
    )
    admissions = list(
        Admission.objects.filter(episode__patient=patient).select_related(
            "episode__program", "admitted_by"
        )
    )
    admittable: list[Episode] = []
    candidates = [e for e in episodes if e.status in {"referred", "screening"}]
    if actor is not None and Perm.ADMIT.value in perms and candidates:
        mine = set(member_program_ids(actor))
        admittable = [e for e in candidates if e.program_id in mine]
    return IntakeChart(
        referrals=referrals, visits=visits, admissions=admissions, admittable=admittable
    )


def episode_for_intake(*, patient: Patient, public_id: UUID) -> Episode:
    episode = (
        Episode.objects.select_related("program__site")
        .filter(patient=patient, public_id=public_id)
        .first()
    )
    if episode is None:
        raise Http404("No such episode.")
    return episode


def referral_for_episode(*, episode: Episode) -> Referral | None:
    """The referral an episode came from: linked to it, else the patient's newest open
    referral in the same program."""
    return (
        Referral.objects.filter(episode=episode).first()
        or Referral.objects.filter(
            patient_id=episode.patient_id,
            program_id=episode.program_id,
            stage__in=rules.OPEN_STAGES,
        )
        .order_by("-received_at")
        .first()
    )


def program_staff(*, program: Program | None, actor: User) -> QuerySet[User]:
    """Staff who may be chosen as facilitator or care team: members of the program (or,
    for a pool referral, active staff of the actor's organization)."""
    qs = User.objects.filter(is_active=True, organization_id=actor.org_id)
    if program is not None:
        qs = qs.filter(memberships__program=program)
    return qs.exclude(role="").order_by("last_name", "first_name").distinct()
