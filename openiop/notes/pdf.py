"""A signed note with its addenda as a PDF (WeasyPrint, local fonts, no network)."""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from openiop.accounts.models import User
from openiop.notes.models import Note
from openiop.patients.models import Patient


def note_pdf(
    *, note: Note, patient: Patient, printed_at: datetime, printed_by: User, ok: bool
) -> bytes:
    html = render_to_string(
        "notes/pdf.html",
        {
            "note": note,
            "patient": patient,
            "organization": note.program.site.organization,
            "addenda": list(note.addenda.all()),
            "printed_at": timezone.localtime(printed_at),
            "printed_by": printed_by,
            "integrity_ok": ok,
        },
    )
    fetcher = URLFetcher(allowed_protocols={"file", "data"})
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    if pdf is None:
        raise RuntimeError("WeasyPrint returned no PDF.")
    return pdf
