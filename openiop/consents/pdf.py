"""A signed consent as a PDF (WeasyPrint, local fonts, no network fetches)."""

from __future__ import annotations

import base64
from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from openiop.accounts.models import User
from openiop.consents.models import Consent, InfoCategory, Purpose
from openiop.patients.models import Patient


def consent_pdf(
    *,
    consent: Consent,
    patient: Patient,
    printed_at: datetime,
    printed_by: User,
    integrity_ok: bool,
) -> bytes:
    signature_src = ""
    if consent.signature_png:
        encoded = base64.b64encode(bytes(consent.signature_png)).decode("ascii")
        signature_src = f"data:image/png;base64,{encoded}"
    html = render_to_string(
        "consents/pdf.html",
        {
            "consent": consent,
            "patient": patient,
            "organization": consent.program.site.organization,
            "paragraphs": consent.text.split("\n\n"),
            "signature_src": signature_src,
            "purposes": [str(Purpose(p).label) for p in consent.purposes],
            "categories": [str(InfoCategory(c).label) for c in consent.information_categories],
            "printed_at": timezone.localtime(printed_at),
            "printed_by": printed_by,
            "integrity_ok": integrity_ok,
        },
    )
    # Only file: and data: URLs: nothing is fetched over the network.
    fetcher = URLFetcher(allowed_protocols={"file", "data"})
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    if pdf is None:  # only when a target is given
        raise RuntimeError("WeasyPrint returned no PDF.")
    return pdf
