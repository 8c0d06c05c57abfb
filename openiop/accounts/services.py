"""Staff accounts: creating, changing role and memberships (privilege changes are audited)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.organizations.models import Program


@dataclass(frozen=True)
class StaffInput:
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    credentials: str
    is_trainee: bool
    is_active: bool
    programs: tuple[Program, ...]
    password: str


def _require(actor: User) -> None:
    if not actor.has_perm_code(Perm.ORG_MANAGE):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow managing staff.")


def _set_programs(user: User, programs: Iterable[Program]) -> tuple[list[str], list[str]]:
    wanted = {p.pk: p for p in programs}
    current = {m.program_id: m for m in ProgramMembership.objects.filter(user=user)}
    added = [str(wanted[pk].public_id) for pk in wanted.keys() - current.keys()]
    removed_ids = current.keys() - wanted.keys()
    ProgramMembership.objects.bulk_create(
        ProgramMembership(user=user, program=wanted[pk]) for pk in wanted.keys() - current.keys()
    )
    removed = [
        str(p)
        for p in Program.objects.filter(pk__in=removed_ids).values_list("public_id", flat=True)
    ]
    ProgramMembership.objects.filter(user=user, program_id__in=removed_ids).delete()
    return added, removed


@transaction.atomic
def staff_create(*, actor: User, data: StaffInput) -> User:
    _require(actor)
    if any(p.site.organization_id != actor.org_id for p in data.programs):
        raise ServiceError(ErrorCode.INVALID, "Unknown program.", field="programs")
    user = User(
        username=data.username,
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        role=data.role,
        credentials=data.credentials,
        is_trainee=data.is_trainee,
        is_active=data.is_active,
        organization_id=actor.org_id,
    )
    user.set_password(data.password)
    user.full_clean()
    user.save()
    added, _ = _set_programs(user, data.programs)
    audit_record(
        actor=actor,
        action=AuditAction.PRIVILEGE_CHANGE,
        object_type="staff",
        object_id=user.public_id,
        detail={"created": True, "role": data.role, "programs_added": added},
    )
    return user


@transaction.atomic
def staff_update(*, actor: User, user: User, data: StaffInput) -> User:
    _require(actor)
    if user.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such staff member.")
    if user.pk == actor.pk and (data.role != user.role or not data.is_active):
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "You cannot change your own role or deactivate yourself; ask another administrator.",
            field="role",
        )
    changes: dict[str, object] = {}
    for field in (
        "first_name",
        "last_name",
        "email",
        "role",
        "credentials",
        "is_trainee",
        "is_active",
    ):
        new = getattr(data, field)
        if getattr(user, field) != new:
            changes[field] = (
                {"from": getattr(user, field), "to": new}
                if field in {"role", "is_trainee", "is_active"}
                else "changed"
            )
            setattr(user, field, new)
    if data.password:
        user.set_password(data.password)
        changes["password"] = "reset"  # noqa: S105 - a note that it changed, not a secret
    user.full_clean()
    user.save()
    added, removed = _set_programs(user, data.programs)
    if added:
        changes["programs_added"] = added
    if removed:
        changes["programs_removed"] = removed
    if changes:
        audit_record(
            actor=actor,
            action=AuditAction.PRIVILEGE_CHANGE,
            object_type="staff",
            object_id=user.public_id,
            detail=changes,
        )
    return user
