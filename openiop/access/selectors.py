from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from openiop.access.models import BreakGlassGrant
from openiop.accounts.models import User


def break_glass_recent(*, actor: User, since: datetime) -> QuerySet[BreakGlassGrant]:
    """Break-the-glass grants in the actor's organization since a time, for the
    program director's dashboard."""
    return (
        BreakGlassGrant.objects.filter(user__organization_id=actor.org_id, granted_at__gte=since)
        .select_related("user", "patient")
        .order_by("-granted_at")
    )
