"""Response scales shared by several instruments."""

from __future__ import annotations

from openiop.instruments.schema import Option, ResponseScale


def ordinal(*labels: str) -> ResponseScale:
    """A scale whose option values and points are both 0, 1, 2, ... in label order."""
    return ResponseScale(
        options=tuple(Option(value=i, label=label, points=i) for i, label in enumerate(labels))
    )


# Source: Kroenke 2001; Spitzer 2006 / clinical.md §1.1, §1.2 (LOINC answer list LL358-3)
FREQUENCY_2_WEEKS = ordinal(
    "Not at all", "Several days", "More than half the days", "Nearly every day"
)

# The unscored "how difficult" question closing the PHQ-9 and GAD-7 forms.
DIFFICULTY = ordinal(
    "Not difficult at all", "Somewhat difficult", "Very difficult", "Extremely difficult"
)

YES_NO = ResponseScale(
    options=(Option(value=0, label="No", points=0), Option(value=1, label="Yes", points=1)),
    yes_no=True,
)
