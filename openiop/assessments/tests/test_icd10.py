"""The ICD-10-CM code set as shipped by simple-icd-10-cm (CDC/NCHS, public domain)."""

from __future__ import annotations

import re

import pytest

from openiop.assessments import icd10, rules


@pytest.mark.parametrize(
    ("code", "billable", "words"),
    [
        ("F10.20", True, "Alcohol dependence, uncomplicated"),
        ("F10.2", False, "Alcohol dependence"),
        ("F11.20", True, "Opioid dependence, uncomplicated"),
        ("F33.1", True, "Major depressive disorder, recurrent, moderate"),
        ("F43.10", True, "Post-traumatic stress disorder, unspecified"),
        ("F17.210", True, "Nicotine dependence, cigarettes, uncomplicated"),
        ("f1020", True, "Alcohol dependence, uncomplicated"),  # typed without the dot
    ],
)
def test_lookup(code: str, billable: bool, words: str) -> None:
    entry = icd10.lookup(code)
    assert entry is not None and entry.billable is billable and entry.description == words


def test_lookup_unknown() -> None:
    assert icd10.lookup("F99.99") is None and icd10.lookup("hello") is None


def test_search_by_code_prefix_and_by_words() -> None:
    by_code = icd10.search("F10.2")
    assert by_code and all(r.code.startswith("F10.2") and r.billable for r in by_code)
    by_words = [r.code for r in icd10.search("opioid dependence uncomplicated")]
    assert "F11.20" in by_words
    both = [r.code for r in icd10.search("F1 remission")]
    assert "F10.21" in both and all(c.startswith("F1") for c in both)
    assert icd10.search("traum")[0].code.startswith(("F43", "S", "T", "Z", "O", "F"))
    assert icd10.search("") == [] and icd10.search("xyzzyq") == []
    assert len(icd10.search("unspecified")) == icd10.SEARCH_LIMIT


def test_remission_rule_matches_the_code_set() -> None:
    # Every F10-F19 code (but nicotine) whose description says "in remission" matches
    # the rule's pattern, and no other does. Source: the package's tabular list.
    index = icd10._get()
    sud = [r for r in index.by_code.values() if r.billable and re.match(r"^F1[0-9]", r.code)]
    assert len(sud) > 300
    for row in sud:
        if rules.is_nicotine(row.code):
            continue
        says = "in remission" in row.description.lower()
        assert rules.is_sud_in_remission(row.code) is says, row.code


def test_release_names_the_package_version() -> None:
    assert icd10.release_name() == f"ICD-10-CM (simple_icd_10_cm {icd10.package_version()})"
