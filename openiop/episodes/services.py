"""Opening episodes of care and changing their status, level of care and care team."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from django.db import transaction

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.episodes import rules
from openiop.episodes.models import Episode, EpisodeEvent, EpisodeStatus
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess


def _require_manage(actor: User, program: Program) -> None:
    if not actor.has_perm_code(Perm.EPISODE_MANAGE):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow changing episodes.")
    if not ProgramMembership.objects.filter(user=actor, program=program).exists():
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "You can only manage episodes in your own programs."
        )


@transaction.atomic
def episode_open(
    *,
    actor: User,
    patient: Patient,
    program: Program,
    status: str,
    level_of_care: str,
    referred_on: date,
    now: datetime,
    reason: str = "",
) -> Episode:
    """Open an episode (referred or screening) for a patient in a program."""
    if (
        not (actor.has_perm_code(Perm.EPISODE_MANAGE) or actor.has_perm_code(Perm.PATIENT_REGISTER))
        or not ProgramMembership.objects.filter(user=actor, program=program).exists()
    ):
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "You can only open episodes in your own programs."
        )
    if program.site.organization_id != patient.organization_id:
        raise ServiceError(ErrorCode.INVALID, "Unknown program.", field="program")
    if status not in {EpisodeStatus.REFERRED, EpisodeStatus.SCREENING}:
        raise ServiceError(
            ErrorCode.INVALID, "A new episode starts as referred or screening.", field="status"
        )
    if Episode.objects.filter(
        patient=patient, program=program, status__in=rules.OPEN_STATUSES
    ).exists():
        raise ServiceError(
            ErrorCode.CONFLICT,
            "This patient already has an open episode in this program.",
            field="program",
        )
    episode = Episode.objects.create(
        patient=patient,
        program=program,
        status=status,
        level_of_care=level_of_care,
        referred_on=referred_on,
    )
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.OPENED,
        to_status=status,
        to_level=level_of_care,
        effective_on=referred_on,
        reason=reason,
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="episode",
        object_id=episode.public_id,
        detail={"status": status, "level_of_care": level_of_care},
    )
    return episode


def _locked_episode(access: PatientAccess, episode_public_id: UUID) -> Episode:
    episode = (
        Episode.objects.select_for_update()
        .select_related("program")
        .filter(patient=access.patient, public_id=episode_public_id)
        .first()
    )
    if episode is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such episode.")
    return episode


def _check_version(episode: Episode, base_version: int) -> None:
    if episode.version != base_version:
        raise ServiceError(
            ErrorCode.CONFLICT,
            "Someone else changed this episode while you were looking at it. "
            "The page now shows the current state; make your change again if it still applies.",
        )


@transaction.atomic
def episode_change_status(
    *,
    actor: User,
    access: PatientAccess,
    episode_public_id: UUID,
    to_status: str,
    effective_on: date,
    reason: str,
    base_version: int,
    now: datetime,
) -> Episode:
    episode = _locked_episode(access, episode_public_id)
    _require_manage(actor, episode.program)
    _check_version(episode, base_version)
    problem = rules.transition_problem(
        from_status=episode.status,
        to_status=to_status,
        effective_on=effective_on,
        referred_on=episode.referred_on,
        reason=reason,
    )
    if problem:
        raise ServiceError(ErrorCode.TRANSITION_NOT_ALLOWED, problem, field="to_status")
    from_status = episode.status
    episode.status = to_status
    if to_status == EpisodeStatus.ACTIVE:
        episode.admitted_on = effective_on
    if to_status in {EpisodeStatus.DISCHARGED, EpisodeStatus.CANCELLED}:
        episode.ended_on = effective_on
        # Scheduling hook: the patient stays on track rosters through this date only.
        from openiop.scheduling.services import enrolments_end_for_episode

        enrolments_end_for_episode(
            actor=actor, episode=episode, ended_on=effective_on + timedelta(days=1)
        )
    episode.version += 1
    episode.save()
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.STATUS,
        from_status=from_status,
        to_status=to_status,
        effective_on=effective_on,
        reason=reason,
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="episode",
        object_id=episode.public_id,
        break_glass=access.via_break_glass,
        detail={"from": from_status, "to": to_status},
    )
    return episode


@transaction.atomic
def episode_change_level(
    *,
    actor: User,
    access: PatientAccess,
    episode_public_id: UUID,
    to_level: str,
    effective_on: date,
    reason: str,
    base_version: int,
    now: datetime,
) -> Episode:
    episode = _locked_episode(access, episode_public_id)
    _require_manage(actor, episode.program)
    _check_version(episode, base_version)
    problem = rules.level_change_problem(
        status=episode.status, from_level=episode.level_of_care, to_level=to_level, reason=reason
    )
    if problem:
        raise ServiceError(ErrorCode.TRANSITION_NOT_ALLOWED, problem, field="to_level")
    from_level = episode.level_of_care
    episode.level_of_care = to_level
    episode.version += 1
    episode.save()
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.LEVEL_OF_CARE,
        from_level=from_level,
        to_level=to_level,
        effective_on=effective_on,
        reason=reason,
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=access.patient,
        object_type="episode",
        object_id=episode.public_id,
        break_glass=access.via_break_glass,
        detail={"level_of_care": {"from": from_level, "to": to_level}},
    )
    return episode


@transaction.atomic
def episode_set_care_team(
    *,
    actor: User,
    access: PatientAccess,
    episode_public_id: UUID,
    primary_counselor: User | None,
    prescriber: User | None,
    case_manager: User | None,
    base_version: int,
    today: date,
    now: datetime,
) -> Episode:
    episode = _locked_episode(access, episode_public_id)
    _require_manage(actor, episode.program)
    _check_version(episode, base_version)
    member_ids = set(
        ProgramMembership.objects.filter(program=episode.program).values_list("user_id", flat=True)
    )
    for field, person in (
        ("primary_counselor", primary_counselor),
        ("prescriber", prescriber),
        ("case_manager", case_manager),
    ):
        if person is not None and person.pk not in member_ids:
            raise ServiceError(
                ErrorCode.INVALID, "Choose a staff member of this episode's program.", field=field
            )
    changes = {}
    for field, person in (
        ("primary_counselor", primary_counselor),
        ("prescriber", prescriber),
        ("case_manager", case_manager),
    ):
        before_id = getattr(episode, f"{field}_id")
        after_id = person.pk if person else None
        if before_id != after_id:
            changes[field] = {
                "from": str(getattr(episode, field).public_id) if before_id else None,
                "to": str(person.public_id) if person else None,
            }
            setattr(episode, field, person)
    if not changes:
        return episode
    episode.version += 1
    episode.save()
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.CARE_TEAM,
        effective_on=today,
        reason=", ".join(sorted(changes)),
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=access.patient,
        object_type="episode",
        object_id=episode.public_id,
        break_glass=access.via_break_glass,
        detail={"care_team": changes},
    )
    return episode
