"""Reading patients, always scoped to what the acting staff member may see.

A staff member sees a patient who has an episode (in any status) in a program they
belong to, or one they hold an unexpired break-the-glass grant for. Everyone else is
invisible: the same 404 as a patient who does not exist, and the refusal is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connections, router
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from openiop.access.models import BreakGlassGrant
from openiop.accounts.models import ProgramMembership, User
from openiop.alerts.models import Alert
from openiop.alerts.selectors import open_alerts_read
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import audit_record
from openiop.core.db import RowReader, statement_cursor
from openiop.core.prepared import Along, PreparedQuery, run_together
from openiop.episodes.models import Episode, EpisodeEvent, EpisodeStatus
from openiop.organizations.models import Payer, Program
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


# What a search result row shows (patients/search.html) and what its audit event needs.
_SEARCH_COLUMNS = ("id", "public_id", "legal_given_name", "legal_family_name",
                   "preferred_name", "pronouns", "date_of_birth", "mrn", "phone")  # fmt: skip

# The search as one plain statement, the visibility rule written as patient_visible_qs
# has it (test_search_agrees_with_the_querysets holds the two to the same answers): the
# ORM spent longer building and compiling this query than the database spent running it.
# The program test is a LIMIT 1 probe per candidate: PostgreSQL probes the episode index
# once per name match, where an EXISTS under OR became a hashed sub-plan over every
# episode of the actor's programs. The newest episode's program and status come as
# sub-selects. The name, phone and MRN tests are built from the backend's own lookup
# SQL (icontains, contains, iexact), so they match what the ORM's lookups match and use
# the same indexes (the trigram index over UPPER(search_name) on PostgreSQL).
_SEARCH_SELECT = f"""
SELECT {", ".join(f"p.{column}" for column in _SEARCH_COLUMNS)},
  (SELECT pr.name FROM {Episode._meta.db_table} e
     JOIN {Program._meta.db_table} pr ON pr.id = e.program_id
   WHERE e.patient_id = p.id ORDER BY e.referred_on DESC, e.id DESC LIMIT 1) AS current_program,
  (SELECT e.status FROM {Episode._meta.db_table} e
   WHERE e.patient_id = p.id ORDER BY e.referred_on DESC, e.id DESC LIMIT 1) AS current_status
FROM {Patient._meta.db_table} p
WHERE ((SELECT 1 FROM {Episode._meta.db_table} v
        WHERE v.patient_id = p.id AND v.program_id IN (
          SELECT m.program_id FROM {ProgramMembership._meta.db_table} m WHERE m.user_id = %s)
        LIMIT 1) = 1
       OR EXISTS (SELECT 1 FROM {BreakGlassGrant._meta.db_table} g
                  WHERE g.patient_id = p.id AND g.user_id = %s AND g.expires_at > %s))
  AND p.organization_id = %s AND p.status = %s"""  # noqa: S608 (model tables only)


def _lookup_sql(db: Any, lookup: str, column: str) -> str:
    """`column <lookup> %s` as the backend writes the lookup (its cast and operator)."""
    return f"{db.ops.lookup_cast(lookup, 'CharField') % column} {db.operators[lookup] % '%s'}"


def _search_sql(db: Any, terms: SearchTerms) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for token in terms.name_tokens:
        where.append(_lookup_sql(db, "icontains", "p.search_name"))
        params.append(f"%{db.ops.prep_for_like_query(token)}%")
    if terms.date_of_birth:
        where.append("p.date_of_birth = %s")
        params.append(db.ops.adapt_datefield_value(terms.date_of_birth))
    if terms.phone:
        where.append(_lookup_sql(db, "contains", "p.phone_digits"))
        params.append(f"%{db.ops.prep_for_like_query(terms.phone)}%")
    if terms.mrn:
        where.append(_lookup_sql(db, "iexact", "p.mrn"))
        params.append(db.ops.prep_for_iexact_query(terms.mrn))
    sql = "".join(f"\n  AND {clause}" for clause in where)
    order = "\nORDER BY p.legal_family_name, p.legal_given_name, p.id LIMIT %s"
    return _SEARCH_SELECT + sql + order, params


def patient_search(*, actor: User, terms: SearchTerms, now: datetime) -> list[Patient]:
    """Up to SEARCH_LIMIT visible patients matching every given term, in one query;
    each carries its newest episode's program name and status (current_program,
    current_status, current_status_label)."""
    db = connections[router.db_for_read(Patient)]
    where_sql, where_params = _search_sql(db, terms)
    params = [actor.pk, actor.pk, db.ops.adapt_datetimefield_value(now), actor.org_id,
              PatientStatus.ACTIVE.value, *where_params, SEARCH_LIMIT]  # fmt: skip
    results: list[Patient] = list(Patient.objects.raw(where_sql, params))
    labels = dict(EpisodeStatus.choices)
    for patient in results:
        current = getattr(patient, "current_status", None) or ""
        patient.current_status_label = labels.get(current, "")  # type: ignore[attr-defined]
    return results


@dataclass(frozen=True)
class PatientAccess:
    patient: Patient
    via_break_glass: bool


_PATIENTS = RowReader(Patient)

# The access check every patient page makes, as one plain statement: the ORM built the
# same query (the patient and the two visibility tests of patient_visible_qs) in several
# times the time the database took to run it. test_access_check_agrees_with_the_queryset
# holds the two forms of the rule to the same answers. The patient's columns are named,
# not p.*: the statement is prepared (core/db.py), and a prepared statement whose result
# shape changed under it (a column added by a migration) fails until the connection closes.
_ACCESS_SQL = f"""
SELECT {_PATIENTS.columns("p")},
  EXISTS (SELECT 1 FROM {Episode._meta.db_table} e
          JOIN {ProgramMembership._meta.db_table} m ON m.program_id = e.program_id
          WHERE e.patient_id = p.id AND m.user_id = %s) AS in_programs,
  EXISTS (SELECT 1 FROM {BreakGlassGrant._meta.db_table} g
          WHERE g.patient_id = p.id AND g.user_id = %s AND g.expires_at > %s) AS break_glass
FROM {Patient._meta.db_table} p
WHERE p.public_id = %s AND p.organization_id = %s
"""  # noqa: S608 (model tables only)


def _patient_with_access(*, actor: User, public_id: UUID | str, now: datetime) -> Patient | None:
    try:
        key = UUID(str(public_id))
    except ValueError:
        return None
    alias = router.db_for_read(Patient)
    db = connections[alias]
    params = [
        actor.pk,
        actor.pk,
        db.ops.adapt_datetimefield_value(now),
        Patient._meta.get_field("public_id").get_db_prep_value(key, db),
        actor.org_id,
    ]
    with statement_cursor(db) as cursor:
        cursor.execute(_ACCESS_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    patient: Patient = _PATIENTS.instance(alias, row[:-2])
    patient.in_programs, patient.break_glass = bool(row[-2]), bool(row[-1])  # type: ignore[attr-defined]
    return patient


def patient_get_for_user(
    *, actor: User, public_id: UUID | str, now: datetime, purpose: str = "read"
) -> PatientAccess:
    """The patient if the actor may see it; otherwise an audited 404."""
    row = _patient_with_access(actor=actor, public_id=public_id, now=now)
    visible = row is not None and (
        getattr(row, "in_programs", False) or getattr(row, "break_glass", False)
    )
    if row is None or not visible:
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
    return PatientAccess(row, via_break_glass=not getattr(row, "in_programs", False))


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


# The chart's reads, each a function of the patient's key only, compiled once per
# process (openiop/core/prepared.py): they run on every opening of every chart tab.
_TEAM = ("primary_counselor", "prescriber", "case_manager")
# What the overview shows of an episode and of a staff member (User.display_name).
_EPISODE_OVERVIEW_COLUMNS = ("public_id", "patient_id", "status", "level_of_care", "referred_on",
                             "admitted_on", "ended_on")  # fmt: skip
_STAFF_OTHER_COLUMNS = tuple(
    f.name for f in User._meta.concrete_fields if f.name not in {"id", *User.DISPLAY_NAME_FIELDS}
)

_header_episodes: PreparedQuery[Episode] = PreparedQuery(
    lambda patient_id: Episode.objects.filter(patient_id=patient_id).select_related("program")
)
# Only the columns the overview shows: each joined staff row is four names, not the
# whole account.
_overview_episodes: PreparedQuery[Episode] = PreparedQuery(
    lambda patient_id: (
        Episode.objects.filter(patient_id=patient_id)
        .select_related("program__site", *_TEAM)
        .only(
            *_EPISODE_OVERVIEW_COLUMNS,
            "program__name",
            "program__site__name",
            *(f"{member}__{name}" for member in _TEAM for name in User.DISPLAY_NAME_FIELDS),
        )
    )
)
_overview_events: PreparedQuery[EpisodeEvent] = PreparedQuery(
    lambda patient_id: (
        EpisodeEvent.objects.filter(episode__patient_id=patient_id)
        .select_related("changed_by")
        .defer(*(f"changed_by__{name}" for name in _STAFF_OTHER_COLUMNS))
        .order_by("changed_at", "id")
    )
)
_overview_coverages: PreparedQuery[Coverage] = PreparedQuery(
    lambda patient_id: (
        Coverage.objects.filter(patient_id=patient_id)
        .exclude(status=CoverageStatus.ENTERED_IN_ERROR)
        .select_related("payer")
        .defer(
            *(
                f"payer__{f.name}"
                for f in Payer._meta.concrete_fields
                if f.name not in {"id", "name"}
            )
        )
    )
)
_overview_contacts: PreparedQuery[EmergencyContact] = PreparedQuery(
    lambda patient_id: EmergencyContact.objects.filter(patient_id=patient_id, is_active=True)
)


def chart_header_get(
    *, access: PatientAccess, actor: User, now: datetime, along: Sequence[Along] = ()
) -> ChartHeader:
    """What a chart section tab needs besides its own section, in two queries (three
    under break-the-glass; one round trip on PostgreSQL, with the `along` statements,
    the page's audit append): the episodes with their program, and the open alerts."""
    patient = access.patient
    episodes, alerts = run_together(
        (_header_episodes, patient.pk), (open_alerts_read, patient.pk), along=along
    )
    return ChartHeader(
        patient=patient,
        episodes=episodes,
        current_episode=current_episode(episodes),
        via_break_glass=access.via_break_glass,
        grant_expires_at=_grant_expires_at(access=access, actor=actor, now=now),
        open_alerts=alerts,
    )


def chart_get(
    *, access: PatientAccess, actor: User, now: datetime, along: Sequence[Along] = ()
) -> Chart:
    """Everything the chart's overview tab shows, in a fixed number of queries sent in
    one round trip on PostgreSQL (with the `along` statements, the page's audit
    append): the episodes (each with its timeline, `episode.timeline`), their events,
    coverage, contacts and open alerts."""
    patient = access.patient
    episodes, events, coverages, contacts, alerts = run_together(
        *((read, patient.pk) for read in (_overview_episodes, _overview_events,
                                          _overview_coverages, _overview_contacts,
                                          open_alerts_read)),
        along=along,
    )  # fmt: skip
    timelines: dict[int, list[EpisodeEvent]] = {episode.pk: [] for episode in episodes}
    for event in events:
        timelines.setdefault(event.episode_id, []).append(event)
    for episode in episodes:
        episode.timeline = timelines[episode.pk]
    return Chart(
        patient=patient,
        episodes=episodes,
        current_episode=current_episode(episodes),
        coverages=coverages,
        contacts=contacts,
        via_break_glass=access.via_break_glass,
        grant_expires_at=_grant_expires_at(access=access, actor=actor, now=now),
        open_alerts=alerts,
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
