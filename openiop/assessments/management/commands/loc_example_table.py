"""Load the EXAMPLE level-of-care table (not ASAM's) for organizations without one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openiop.assessments.rules import EXAMPLE_TABLE_LABEL
from openiop.assessments.services import level_table_load_example
from openiop.organizations.models import Organization


class Command(BaseCommand):
    help = (
        "Give organizations the example level-of-care table "
        f"({EXAMPLE_TABLE_LABEL}). Organizations that already have a table are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organization", help="Public id of one organization (default: every one)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        orgs = Organization.objects.all()
        if options["organization"]:
            orgs = orgs.filter(public_id=options["organization"])
            if not orgs.exists():
                raise CommandError("No such organization.")
        loaded = 0
        for org in orgs.filter(level_of_care_table__isnull=True):
            level_table_load_example(organization=org)
            loaded += 1
        self.stdout.write(f"loc_example_table: example table loaded for {loaded} organization(s).")
