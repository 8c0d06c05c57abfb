"""Table tests for the registry's pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.patients.rules import (
    SearchTerms,
    age_on,
    luhn_check_digit,
    mrn_format,
    mrn_is_valid,
    parse_search,
    phone_digits,
)


# Source: ISO/IEC 7812-1 Annex B (Luhn); 7992739871 -> 3 is the textbook example.
@pytest.mark.parametrize(
    ("payload", "digit"),
    [("7992739871", 3), ("0000000", 0), ("0000001", 8), ("1234567", 4), ("9999999", 7)],
)
def test_luhn_check_digit(payload: str, digit: int) -> None:
    assert luhn_check_digit(payload) == digit


@pytest.mark.parametrize(
    ("number", "prefix", "mrn"),
    [(1, "", "00000018"), (1234567, "", "12345674"), (42, "RR", "RR00000422")],
)
def test_mrn_format(number: int, prefix: str, mrn: str) -> None:
    assert mrn_format(number, prefix) == mrn
    assert mrn_is_valid(mrn, prefix)


@pytest.mark.parametrize("bad", [0, -1, 10_000_000])
def test_mrn_format_rejects_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        mrn_format(bad)


@pytest.mark.parametrize(
    "typo",
    ["00000019", "21345674", "1234567", "123456744", "ABCDEFGH"],  # wrong digit, swap, lengths
)
def test_mrn_is_valid_catches_typos(typo: str) -> None:
    assert not mrn_is_valid(typo)


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("(555) 201-3344", "5552013344"),
        ("+1 555 201 3344", "5552013344"),
        ("555.201.3344", "5552013344"),
        ("", ""),
    ],
)
def test_phone_digits(raw: str, digits: str) -> None:
    assert phone_digits(raw) == digits


# Completed years; a 29 February birthday counts from 1 March in common years.
@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(2000, 6, 15), date(2026, 6, 14), 25),
        (date(2000, 6, 15), date(2026, 6, 15), 26),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2026, 1, 1), date(2026, 1, 1), 0),
    ],
)
def test_age_on(born: date, today: date, age: int) -> None:
    assert age_on(born, today) == age


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("smi", SearchTerms(name_tokens=("smi",))),
        ("Smith, Jo", SearchTerms(name_tokens=("smith", "jo"))),
        ("1990-05-17", SearchTerms(date_of_birth=date(1990, 5, 17))),
        ("5/17/1990 lee", SearchTerms(name_tokens=("lee",), date_of_birth=date(1990, 5, 17))),
        ("(555) 201-3344", SearchTerms(phone="5552013344")),
        ("lee 555 201 3344", SearchTerms(name_tokens=("lee",), phone="5552013344")),
        ("555-2013", SearchTerms(phone="5552013")),
        ("00000018", SearchTerms(mrn="00000018")),
        ("RR00000422", SearchTerms(mrn="RR00000422")),
        ("1990-02-30", SearchTerms(name_tokens=("1990-02-30",))),  # not a date: kept as text
    ],
)
def test_parse_search(query: str, terms: SearchTerms) -> None:
    assert parse_search(query) == terms
