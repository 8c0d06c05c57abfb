"""Treatment plans and relapse-prevention plans as PDFs (WeasyPrint, as consents do:
local fonts, only file: and data: URLs, nothing fetched over the network)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from openiop.accounts.models import User
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.plans.models import PlanVersion, RelapsePreventionPlan


def _render(template: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template, context)
    fetcher = URLFetcher(allowed_protocols={"file", "data"})
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    if pdf is None:
        raise RuntimeError("WeasyPrint returned no PDF.")
    return bytes(pdf)


def plan_pdf(
    *, version: PlanVersion, patient: Patient, printed_at: datetime, printed_by: User
) -> bytes:
    signatures = []
    for s in version.signatures.all():
        src = ""
        if s.signature_png:
            src = "data:image/png;base64," + base64.b64encode(bytes(s.signature_png)).decode()
        signatures.append({"s": s, "src": src})
    program = version.plan.program
    return _render(
        "plans/pdf_plan.html",
        {
            "version": version,
            "patient": patient,
            "program": program,
            "organization": program.site.organization,
            "problems": version.problems.all(),
            "objectives": version.objectives.all(),
            "interventions": version.interventions.all(),
            "reviews": version.objective_reviews.all(),
            "signatures": signatures,
            "printed_at": timezone.localtime(printed_at),
            "printed_by": printed_by,
        },
    )


def relapse_plan_pdf(
    *,
    plan: RelapsePreventionPlan,
    patient: Patient,
    program: Program | None,
    printed_at: datetime,
    printed_by: User,
) -> bytes:
    return _render(
        "plans/pdf_relapse.html",
        {
            "plan": plan,
            "patient": patient,
            "program": program,
            "organization": program.site.organization if program else None,
            "printed_at": timezone.localtime(printed_at),
            "printed_by": printed_by,
        },
    )
