from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from openiop.accounts.models import User
from openiop.accounts.roles import Perm


def openiop(request: HttpRequest) -> dict[str, object]:
    user = request.user
    perms: set[str] = set()
    if isinstance(user, User) and user.role:
        perms = {p.value for p in Perm if user.has_perm_code(p)}
    return {
        "demo_mode": settings.DEMO_MODE,
        "perms": perms,
        "idle_timeout_seconds": int(settings.SESSION_IDLE_TIMEOUT.total_seconds()),
    }
