from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.models import User
from openiop.core.demo import DEMO_PASSWORD, require_demo_mode


class Command(BaseCommand):
    help = "Print the demo accounts and how to sign in as them (demo mode only)."

    def handle(self, *args: Any, **options: Any) -> None:
        require_demo_mode()
        enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
        users = User.objects.filter(is_active=True).exclude(role="").order_by("role", "username")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        self.stdout.write("-" * 72)
        for user in users:
            mfa_note = (
                "TOTP: manage.py demo_totp " + user.username
                if user.pk in enrolled
                else "enrols TOTP at first sign-in"
            )
            self.stdout.write(f"  {user.username:<14} {user.get_role_display():<34} {mfa_note}")
        self.stdout.write("-" * 72)
        self.stdout.write(
            "Second factor: .venv/bin/python manage.py demo_totp USERNAME prints the current code."
        )
        self.stdout.write("")
