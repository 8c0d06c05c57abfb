from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from openiop.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exits non-zero at the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        count, broken = audit_chain_verify()
        if broken is not None:
            where = f"event id {broken.event_id}" if broken.event_id else "the chain head"
            raise CommandError(f"Audit chain BROKEN at {where}: {broken.reason}")
        self.stdout.write(f"Audit chain intact: {count} events verified.")
