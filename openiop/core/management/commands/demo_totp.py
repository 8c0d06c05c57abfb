from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openiop.accounts import mfa
from openiop.accounts.models import User
from openiop.core.demo import require_demo_mode


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo account (demo mode only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        require_demo_mode()
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No account named {options['username']!r}.")
        device = mfa.confirmed_totp(user)
        if device is None:
            raise CommandError(
                f"{user.username} has not enrolled an authenticator yet; "
                "they will be asked to on first sign-in."
            )
        self.stdout.write(mfa.current_code(device))
