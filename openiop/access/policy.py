"""Every view declares who may call it; unclassified views are refused.

A view is classified by one of the decorators below. AccessPolicyMiddleware reads
the classification before the view runs: an unclassified view answers 403, so a new
endpoint is closed until someone decides who may use it (and a test walks every URL
pattern to make sure none is left unclassified).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from openiop.accounts.roles import Perm

ATTRIBUTE = "openiop_access"


class Audience(StrEnum):
    PUBLIC = "public"  # anyone, signed in or not (login page, health check)
    SIGNED_IN = "signed_in"  # password accepted, second factor not yet (MFA pages)
    STAFF = "staff"  # signed in with MFA, holding every listed permission


@dataclass(frozen=True)
class AccessRule:
    audience: Audience
    perms: frozenset[Perm] = frozenset()


F = TypeVar("F", bound=Callable[..., Any])


def _tag(rule: AccessRule) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        setattr(view, ATTRIBUTE, rule)
        return view

    return decorate


def public(view: F) -> F:
    return _tag(AccessRule(Audience.PUBLIC))(view)


def signed_in(view: F) -> F:
    return _tag(AccessRule(Audience.SIGNED_IN))(view)


def staff(*perms: Perm) -> Callable[[F], F]:
    return _tag(AccessRule(Audience.STAFF, frozenset(perms)))


def rule_for(view: Callable[..., Any]) -> AccessRule | None:
    rule = getattr(view, ATTRIBUTE, None)
    return rule if isinstance(rule, AccessRule) else None
