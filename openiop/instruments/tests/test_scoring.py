"""Scoring rules, one table per rule, each citing its source. DB-free."""

from __future__ import annotations

import pytest

from openiop.instruments import ErrorCode, InstrumentError, RiskLevel, score
from openiop.instruments.definitions.audit import AUDIT_C_CUTOFF_WOMEN
from openiop.instruments.definitions.bam import bam_days_value
from openiop.instruments.tests.builders import answers_for_total

# --- PHQ-9 ---------------------------------------------------------------------------

# Source: Kroenke 2001 five-band scheme / clinical.md §1.1
PHQ9_BANDS = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately_severe"),
    (19, "moderately_severe"),
    (20, "severe"),
    (27, "severe"),
]


@pytest.mark.parametrize(("total", "band"), PHQ9_BANDS)
def test_phq9_band_boundaries(total: int, band: str) -> None:
    result = score("PHQ-9", answers_for_total("PHQ-9", total))
    assert (result.total, result.band) == (total, band)


# Source: calcipedia; jmandel generate.py / clinical.md §1.1 (any non-zero item 9 flags)
PHQ9_ITEM9 = [(0, False), (1, True), (2, True), (3, True)]


@pytest.mark.parametrize(("item9", "flagged"), PHQ9_ITEM9)
def test_phq9_item9_raises_suicide_risk_whatever_the_total(item9: int, flagged: bool) -> None:
    answers = dict.fromkeys(range(1, 10), 0) | {9: item9}
    result = score("PHQ-9", answers)
    assert result.band == "minimal"
    assert ("suicide_risk" in result.flags) is flagged


# Source: Kroenke 2010 via CamCOPS phq9.rst / clinical.md §1.1 (>= 10 positive)
@pytest.mark.parametrize(("total", "positive"), [(9, False), (10, True)])
def test_phq9_positive_screen_at_10(total: int, positive: bool) -> None:
    result = score("PHQ-9", answers_for_total("PHQ-9", total))
    assert ("positive_screen" in result.flags) is positive


def test_phq9_difficulty_item_is_optional_and_unscored() -> None:
    # Source: Kroenke 2001 (items 1-9 scored) / clinical.md §1.1 (10th question unscored)
    answers = answers_for_total("PHQ-9", 5)
    assert score("PHQ-9", answers | {10: 3}).total == 5
    assert score("PHQ-9", answers).total == 5


# --- GAD-7 ---------------------------------------------------------------------------

# Source: Spitzer 2006 / clinical.md §1.2
GAD7_BANDS = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]


@pytest.mark.parametrize(("total", "band"), GAD7_BANDS)
def test_gad7_bands(total: int, band: str) -> None:
    result = score("GAD-7", answers_for_total("GAD-7", total))
    assert (result.total, result.band) == (total, band)


# --- PHQ-2 and GAD-2 -------------------------------------------------------------------

# Source: Arroll 2010 (PHQ-2); clinical.md §1.3 (GAD-2): cut-off 3, no bands
ULTRA_BRIEF_CUTOFF = [
    ("PHQ-2", {1: 1, 2: 1}, 2, False),
    ("PHQ-2", {1: 2, 2: 1}, 3, True),
    ("PHQ-2", {1: 3, 2: 3}, 6, True),
    ("GAD-2", {1: 0, 2: 2}, 2, False),
    ("GAD-2", {1: 1, 2: 2}, 3, True),
]


@pytest.mark.parametrize(("code", "answers", "total", "positive"), ULTRA_BRIEF_CUTOFF)
def test_phq2_gad2_cutoff_of_3(
    code: str, answers: dict[int, int], total: int, positive: bool
) -> None:
    result = score(code, answers)
    assert result.total == total
    assert result.band is None
    assert ("positive_screen" in result.flags) is positive


def test_phq2_cutoff_of_2_is_a_parameter() -> None:
    # Source: Arroll 2010 / clinical.md §1.3 (2 is the more sensitive cut-off)
    result = score("PHQ-2", {1: 1, 2: 1}, thresholds={"positive_screen": 2})
    assert "positive_screen" in result.flags
    assert result.thresholds == {"positive_screen": 2}


# --- AUDIT ---------------------------------------------------------------------------

# Source: auditscreen.org; WHO manual / clinical.md §1.4 (items 9-10 score 0, 2 or 4 only)
AUDIT_ITEM_9_10_VALUES = [(0, True), (1, False), (2, True), (3, False), (4, True), (5, False)]


@pytest.mark.parametrize("item", [9, 10])
@pytest.mark.parametrize(("value", "accepted"), AUDIT_ITEM_9_10_VALUES)
def test_audit_items_9_and_10_accept_only_0_2_4(item: int, value: int, accepted: bool) -> None:
    answers = answers_for_total("AUDIT", 0) | {item: value}
    if accepted:
        assert score("AUDIT", answers).total == value
    else:
        with pytest.raises(InstrumentError) as caught:
            score("AUDIT", answers)
        assert (caught.value.code, caught.value.item) == (ErrorCode.OUT_OF_RANGE, item)
        assert f"item {item}" in str(caught.value)


# Source: Babor 2001 via comorbidityguidelines.org.au / clinical.md §1.4 (WHO zones)
AUDIT_ZONES = [
    (0, "zone_i"),
    (7, "zone_i"),
    (8, "zone_ii"),
    (15, "zone_ii"),
    (16, "zone_iii"),
    (19, "zone_iii"),
    (20, "zone_iv"),
    (40, "zone_iv"),
]


@pytest.mark.parametrize(("total", "band"), AUDIT_ZONES)
def test_audit_who_zone_boundaries(total: int, band: str) -> None:
    result = score("AUDIT", answers_for_total("AUDIT", total))
    assert (result.total, result.band) == (total, band)


# Source: auditscreen.org bands (clinical.md §1.4 "Conflicting bands"), 0 folded into low
AUDITSCREEN_BANDS = ((0, 7, "low_risk"), (8, 14, "hazardous"), (15, 40, "likely_dependence"))


@pytest.mark.parametrize(
    ("total", "band"),
    [(7, "low_risk"), (8, "hazardous"), (14, "hazardous"), (15, "likely_dependence")],
)
def test_audit_custom_band_override(total: int, band: str) -> None:
    result = score("AUDIT", answers_for_total("AUDIT", total), bands=AUDITSCREEN_BANDS)
    assert result.band == band


# Source: WHO manual / clinical.md §1.4 (>= 8; 7 for women and adults over 65)
@pytest.mark.parametrize(
    ("total", "cutoff", "positive"), [(7, None, False), (8, None, True), (7, 7, True)]
)
def test_audit_positive_screen(total: int, cutoff: int | None, positive: bool) -> None:
    thresholds = None if cutoff is None else {"positive_screen": cutoff}
    result = score("AUDIT", answers_for_total("AUDIT", total), thresholds=thresholds)
    assert ("positive_screen" in result.flags) is positive


# Source: Babor 2001 via comorbidityguidelines.org.au / clinical.md §1.4 (next zone up)
AUDIT_NEXT_ZONE = [
    ({}, False),
    ({4: 1}, False),
    ({4: 1, 6: 1}, True),
    ({5: 2}, True),
    ({9: 2}, False),
    ({9: 4}, True),
    ({10: 4}, True),
]


@pytest.mark.parametrize(("overrides", "flagged"), AUDIT_NEXT_ZONE)
def test_audit_next_zone_flag(overrides: dict[int, int], flagged: bool) -> None:
    result = score("AUDIT", answers_for_total("AUDIT", 0) | overrides)
    assert ("audit_next_zone" in result.flags) is flagged


def test_audit_next_zone_dependence_threshold_can_be_switched_off() -> None:
    answers = answers_for_total("AUDIT", 0) | {5: 2}
    result = score("AUDIT", answers, thresholds={"dependence_items_sum": None})
    assert "audit_next_zone" not in result.flags


# --- AUDIT-C -------------------------------------------------------------------------

# Source: Bush 1998; Bradley 2003 via CamCOPS audit.rst / clinical.md §1.4 (4 men, 3 women)
AUDIT_C_SCREEN = [
    (2, None, False),
    (3, None, False),
    (4, None, True),
    (12, None, True),
    (2, AUDIT_C_CUTOFF_WOMEN, False),
    (3, AUDIT_C_CUTOFF_WOMEN, True),
]


@pytest.mark.parametrize(("total", "cutoff", "positive"), AUDIT_C_SCREEN)
def test_audit_c_positive_screen(total: int, cutoff: int | None, positive: bool) -> None:
    thresholds = None if cutoff is None else {"positive_screen": cutoff}
    result = score("AUDIT-C", answers_for_total("AUDIT-C", total), thresholds=thresholds)
    assert result.total == total
    assert ("positive_screen" in result.flags) is positive


def test_audit_c_item2_first_option_scores_zero() -> None:
    # Source: clinical.md §1.4 note ("1 or 2" drinks on a typical day scores 0)
    result = score("AUDIT-C", {1: 1, 2: 0, 3: 0})
    assert result.item_points == {1: 1, 2: 0, 3: 0}


# --- DAST-10 -------------------------------------------------------------------------

# Source: comorbidityguidelines.org.au appendix W / clinical.md §1.5 test vector
DAST10_VECTORS = [
    ("all no", dict.fromkeys(range(1, 11), False), 1, "low"),
    ("all yes", dict.fromkeys(range(1, 11), True), 9, "severe"),
    ("no problems", dict.fromkeys(range(1, 11), False) | {3: True}, 0, "none"),
    ("maximum", dict.fromkeys(range(1, 11), True) | {3: False}, 10, "severe"),
    ("form text", dict.fromkeys(range(1, 11), "no") | {1: "yes", 2: "Yes"}, 3, "moderate"),
    ("codes", dict.fromkeys(range(1, 11), 0) | {1: 1, 4: 1, 5: 1, 6: 1, 7: 1}, 6, "substantial"),
]


@pytest.mark.parametrize(("case", "answers", "total", "band"), DAST10_VECTORS)
def test_dast10_item3_reversed(
    case: str, answers: dict[int, bool | str | int], total: int, band: str
) -> None:
    result = score("DAST-10", answers)
    assert (result.total, result.band) == (total, band), case


# Source: comorbidityguidelines.org.au / clinical.md §1.5 (>= 3 positive screen)
@pytest.mark.parametrize(("total", "positive"), [(2, False), (3, True)])
def test_dast10_positive_screen(total: int, positive: bool) -> None:
    result = score("DAST-10", answers_for_total("DAST-10", total))
    assert ("positive_screen" in result.flags) is positive


# --- C-SSRS --------------------------------------------------------------------------

NO, YES = False, True

# Source: Rula C-SSRS article / clinical.md §1.6 (Q2 = No skips Q3-Q5; Q6 always asked)
CSSRS_SKIP_ERRORS = [
    ("Q3 answered after Q2 no", {1: YES, 2: NO, 3: NO, 6: 0}, ErrorCode.NOT_APPLICABLE, 3),
    ("Q5 answered after Q2 no", {1: NO, 2: NO, 5: YES, 6: 0}, ErrorCode.NOT_APPLICABLE, 5),
    ("Q3 missing after Q2 yes", {1: YES, 2: YES, 4: NO, 5: NO, 6: 0}, ErrorCode.MISSING_ITEM, 3),
    ("Q6 missing after Q2 no", {1: NO, 2: NO}, ErrorCode.MISSING_ITEM, 6),
    ("Q2 missing", {1: YES, 6: 0}, ErrorCode.MISSING_ITEM, 2),
    ("Q6 is not yes/no", {1: NO, 2: NO, 6: YES}, ErrorCode.OUT_OF_RANGE, 6),
]


@pytest.mark.parametrize(("case", "answers", "code", "item"), CSSRS_SKIP_ERRORS)
def test_cssrs_skip_logic_errors(
    case: str, answers: dict[int, bool | int], code: ErrorCode, item: int
) -> None:
    with pytest.raises(InstrumentError) as caught:
        score("C-SSRS", answers)
    assert (caught.value.code, caught.value.item) == (code, item), case
    assert f"item {item}" in str(caught.value)


def test_cssrs_q2_no_needs_only_q1_q2_q6() -> None:
    # Source: Rula / clinical.md §1.6
    result = score("C-SSRS", {1: NO, 2: NO, 6: 0})
    assert result.answered_items == (1, 2, 6)
    assert result.total is None


# Source: docsbay triage guidelines; Blueprint / clinical.md §1.6 (categorical, not a sum)
CSSRS_TIERS = [
    ("nothing endorsed", {1: NO, 2: NO, 6: 0}, RiskLevel.NONE, ()),
    ("wish to be dead", {1: YES, 2: NO, 6: 0}, RiskLevel.LOW, ("suicide_risk",)),
    (
        "active thoughts only",
        {1: YES, 2: YES, 3: NO, 4: NO, 5: NO, 6: 0},
        RiskLevel.LOW,
        ("suicide_risk",),
    ),
    (
        "method without intent",
        {1: YES, 2: YES, 3: YES, 4: NO, 5: NO, 6: 0},
        RiskLevel.MODERATE,
        ("suicide_risk", "cssrs_moderate"),
    ),
    (
        "behaviour over 3 months ago",
        {1: NO, 2: NO, 6: 1},
        RiskLevel.MODERATE,
        ("suicide_risk", "cssrs_moderate"),
    ),
    (
        "intent without plan",
        {1: YES, 2: YES, 3: NO, 4: YES, 5: NO, 6: 0},
        RiskLevel.HIGH,
        ("suicide_risk", "cssrs_high"),
    ),
    (
        "plan with intent",
        {1: YES, 2: YES, 3: YES, 4: NO, 5: YES, 6: 1},
        RiskLevel.HIGH,
        ("suicide_risk", "cssrs_high"),
    ),
    (
        "recent behaviour alone",
        {1: NO, 2: NO, 6: 2},
        RiskLevel.HIGH,
        ("suicide_risk", "cssrs_high"),
    ),
]


@pytest.mark.parametrize(("case", "answers", "tier", "flags"), CSSRS_TIERS)
def test_cssrs_risk_tiers(
    case: str, answers: dict[int, bool | int], tier: RiskLevel, flags: tuple[str, ...]
) -> None:
    result = score("C-SSRS", answers)
    assert (result.risk_level, result.flags) == (tier, flags), case


# --- PCL-5 ---------------------------------------------------------------------------


def pcl5(**ratings: int) -> dict[int, int]:
    """All 20 items at 0 except those given as i<number>=rating."""
    return dict.fromkeys(range(1, 21), 0) | {int(k[1:]): v for k, v in ratings.items()}


def test_pcl5_total_and_clusters() -> None:
    # Source: awell-score pcl_5 README / clinical.md §1.7 (B 1-5, C 6-7, D 8-14, E 15-20)
    result = score("PCL-5", dict.fromkeys(range(1, 21), 2))
    assert result.total == 40
    assert result.subscales == {"B": 10, "C": 4, "D": 14, "E": 12}
    assert result.band is None


# Source: awell-score pcl_5 README / clinical.md §1.7 (>= 2 counts; 1 B, 1 C, 2 D, 2 E)
PCL5_PROVISIONAL = [
    ("minimum pattern", pcl5(i1=2, i6=2, i8=2, i9=2, i15=2, i16=2), True),
    ("severe pattern", pcl5(i5=4, i7=3, i13=4, i14=3, i19=4, i20=4), True),
    ("only one D", pcl5(i1=2, i6=2, i8=2, i15=2, i16=2), False),
    ("only one E", pcl5(i1=2, i6=2, i8=2, i9=2, i15=2), False),
    ("no C", pcl5(i1=4, i2=4, i8=2, i9=2, i15=2, i16=2), False),
    ("no B", pcl5(i6=2, i7=2, i8=2, i9=2, i15=2, i16=2), False),
    ("rated 1 is not endorsed", pcl5(i1=1, i6=1, i8=1, i9=1, i15=1, i16=1), False),
    ("high total, no C", dict.fromkeys(range(1, 21), 4) | {6: 1, 7: 1}, False),
]


@pytest.mark.parametrize(("case", "answers", "provisional"), PCL5_PROVISIONAL)
def test_pcl5_provisional_diagnosis(case: str, answers: dict[int, int], provisional: bool) -> None:
    result = score("PCL-5", answers)
    assert ("pcl5_provisional_ptsd" in result.flags) is provisional, case


# Source: awell-score pcl_5 README / clinical.md §1.7 (33 the common cut-off; 31-33 range)
@pytest.mark.parametrize(
    ("total", "cutoff", "positive"), [(32, None, False), (33, None, True), (31, 31, True)]
)
def test_pcl5_probable_ptsd_cutoff(total: int, cutoff: int | None, positive: bool) -> None:
    thresholds = None if cutoff is None else {"positive_screen": cutoff}
    result = score("PCL-5", answers_for_total("PCL-5", total), thresholds=thresholds)
    assert ("positive_screen" in result.flags) is positive


# --- BAM -----------------------------------------------------------------------------


def bam(**overrides: int | bool) -> dict[int, int | bool]:
    """A BAM with every asked item at 0 (items 5 and 7A-7G skipped) unless overridden."""
    base: dict[int, int | bool] = dict.fromkeys((1, 2, 3, 4, 6, *range(8, 18)), 0)
    return base | {int(k[1:]): v for k, v in overrides.items()}


# Source: flutter.super.site VA scoring guide / clinical.md §1.8 (use 4+5+6; risk 1,2,3,8,11,15;
# protective 9,10,12,13,14,16; items 7 and 17 unscored; no total); item 14 Yes = 4 (Medium)
BAM_SUBSCALES = [
    ("all zero", bam(), {"use": 0, "risk": 0, "protective": 0}),
    ("use", bam(i4=2, i5=1, i6=3), {"use": 6, "risk": 0, "protective": 0}),
    ("risk", bam(i1=4, i2=1, i3=2, i8=3, i11=1, i15=1), {"use": 0, "risk": 12, "protective": 0}),
    (
        "protective",
        bam(i9=4, i10=1, i12=2, i13=3, i14=True, i16=4),
        {"use": 0, "risk": 0, "protective": 18},
    ),
    ("unscored 7A and 17", bam(i6=1, i71=4, i17=4), {"use": 1, "risk": 0, "protective": 0}),
]


@pytest.mark.parametrize(("case", "answers", "subscales"), BAM_SUBSCALES)
def test_bam_subscales(
    case: str, answers: dict[int, int | bool], subscales: dict[str, int]
) -> None:
    result = score("BAM", answers)
    assert result.total is None
    assert result.subscales == subscales, case


# Source: VA BAM form (item 4: "0 (Skip to #6)"; item 6: "If 0, skip to #8")
BAM_SKIP_ERRORS = [
    ("item 5 after no drinking", bam(i5=0), ErrorCode.NOT_APPLICABLE, 5),
    ("7A after no drug use", bam(i71=0), ErrorCode.NOT_APPLICABLE, 71),
    ("item 5 needed after drinking", bam(i4=1), ErrorCode.MISSING_ITEM, 5),
    ("item 14 is yes/no", bam(i14=4), ErrorCode.OUT_OF_RANGE, 14),
]


@pytest.mark.parametrize(("case", "answers", "code", "item"), BAM_SKIP_ERRORS)
def test_bam_skip_logic(
    case: str, answers: dict[int, int | bool], code: ErrorCode, item: int
) -> None:
    with pytest.raises(InstrumentError) as caught:
        score("BAM", answers)
    assert (caught.value.code, caught.value.item) == (code, item), case


def test_bam_sub_item_messages_use_the_printed_label() -> None:
    with pytest.raises(InstrumentError, match="item 7A"):
        score("BAM", bam(i71=0))


# Source: Blueprint BAM article / clinical.md §1.8 (vendor cut-offs: use >= 1, risk >= 12,
# protective <= 12; Low confidence, so each is a parameter)
BAM_FLAGS = [
    ("defaults, all zero", bam(), None, ("bam_low_protection",)),
    (
        "defaults, use and risk",
        bam(i4=1, i5=0, i1=4, i2=4, i3=4),
        None,
        ("bam_any_use", "bam_high_risk", "bam_low_protection"),
    ),
    ("protective 13", bam(i9=4, i10=4, i12=4, i13=1), None, ()),
    ("switched off", bam(), {"protective_at_most": None}, ()),
]


@pytest.mark.parametrize(("case", "answers", "thresholds", "flags"), BAM_FLAGS)
def test_bam_flags(
    case: str,
    answers: dict[int, int | bool],
    thresholds: dict[str, int | None] | None,
    flags: tuple[str, ...],
) -> None:
    assert score("BAM", answers, thresholds=thresholds).flags == flags, case


# Source: VA BAM form / clinical.md §1.8 (bins 0 / 1-3 / 4-8 / 9-15 / 16-30)
@pytest.mark.parametrize(
    ("days", "value"), [(0, 0), (1, 1), (3, 1), (4, 2), (8, 2), (9, 3), (15, 3), (16, 4), (30, 4)]
)
def test_bam_days_value(days: int, value: int) -> None:
    assert bam_days_value(days) == value


@pytest.mark.parametrize("days", [-1, 31])
def test_bam_days_value_out_of_range(days: int) -> None:
    with pytest.raises(InstrumentError) as caught:
        bam_days_value(days)
    assert caught.value.code == ErrorCode.OUT_OF_RANGE
