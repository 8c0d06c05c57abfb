"""Build (or read) the ICD-10-CM index now, so the first code search is fast."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from openiop.assessments import icd10


class Command(BaseCommand):
    help = "Build the ICD-10-CM search index from the simple-icd-10-cm package."

    def handle(self, *args: Any, **options: Any) -> None:
        count = icd10.warm()
        self.stdout.write(f"icd10_index: {count} codes from {icd10.release_name()}.")
