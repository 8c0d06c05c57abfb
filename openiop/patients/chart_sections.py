"""The chart's tabs: the overview, then one page per capability section.

The one place that lists them. The view, the tab bar and the tests read this registry,
so a capability adds its tab by adding one entry. Each section's templates are included
in order inside the section's panel and take `patient`, `chart` (a
`selectors.ChartHeader`) and `perms` from the context.
"""

from __future__ import annotations

from dataclasses import dataclass

OVERVIEW = "overview"


@dataclass(frozen=True)
class ChartSection:
    key: str  # the URL slug and the panel's id
    label: str  # the tab's text
    heading: str  # the panel's heading and the page title
    templates: tuple[str, ...]
    placeholder: bool = False  # a capability still to come


SECTIONS: tuple[ChartSection, ...] = (
    ChartSection("intake", "Intake", "Referral and admission", ("intake/_chart_section.html",)),
    ChartSection(
        "screening", "Screening", "Screening and risk", ("screening/_chart_section.html",)
    ),
    ChartSection(
        "assessments",
        "Assessments",
        "Assessments and diagnoses",
        ("assessments/_chart_section.html",),
    ),
    ChartSection(
        "consents", "Consents", "Consents and releases", ("consents/_chart_section.html",)
    ),
    ChartSection(
        "schedule",
        "Schedule",
        "Schedule and attendance",
        (
            "scheduling/_chart_section.html",
            "attendance/_chart_section.html",
            "reminders/_chart_section.html",
        ),
    ),
    ChartSection("notes", "Notes", "Notes", ("notes/_chart_section.html",)),
    ChartSection("plan", "Treatment plan", "Treatment plan", ("plans/_chart_section.html",)),
    ChartSection(
        "medications",
        "Medications",
        "Medications and toxicology",
        ("patients/_medications_placeholder.html",),
        placeholder=True,
    ),
    ChartSection(
        "billing",
        "Billing",
        "Authorizations and billing",
        ("patients/_billing_placeholder.html",),
        placeholder=True,
    ),
)

BY_KEY: dict[str, ChartSection] = {s.key: s for s in SECTIONS}


def section_get(key: str) -> ChartSection | None:
    return BY_KEY.get(key)
