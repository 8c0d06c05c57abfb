"""Facts about the demo organization shared by the demo commands."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

# Only ever used on an instance in demo mode (synthetic data); printed by make run.
DEMO_PASSWORD = "demo-openiop-2026"  # noqa: S105


def require_demo_mode() -> None:
    if not settings.DEMO_MODE:
        raise CommandError(
            "Refused: this instance is not in demo mode (set DEMO_MODE=true on a demo instance)."
        )
