"""Pure rules of the patient registry (no ORM, no clock)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_DIGITS = re.compile(r"\D+")


def luhn_check_digit(number: str) -> int:
    """Luhn (mod 10) check digit of a string of digits (ISO/IEC 7812-1 Annex B)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def mrn_format(sequence_number: int, prefix: str = "") -> str:
    """MRN = optional prefix + 7-digit sequence + Luhn check digit, so a mistyped
    digit or a swap of neighbours is caught before a chart is opened."""
    if sequence_number < 1 or sequence_number > 9_999_999:
        raise ValueError("MRN sequence number out of range")
    body = f"{sequence_number:07d}"
    return f"{prefix}{body}{luhn_check_digit(body)}"


def mrn_is_valid(mrn: str, prefix: str = "") -> bool:
    if prefix and not mrn.upper().startswith(prefix.upper()):
        return False
    body = mrn[len(prefix) :]
    if not (len(body) == 8 and body.isdigit()):
        return False
    return luhn_check_digit(body[:7]) == int(body[7])


def phone_digits(phone: str) -> str:
    """Digits of a phone number, without a leading US country code."""
    digits = _DIGITS.sub("", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def age_on(born: date, today: date) -> int:
    """Age in completed years; someone born on 29 February has a birthday on
    1 March in common years."""
    years = today.year - born.year
    if (today.month, today.day) < (born.month, born.day):
        years -= 1
    return years


@dataclass(frozen=True)
class SearchTerms:
    name_tokens: tuple[str, ...] = ()
    date_of_birth: date | None = None
    phone: str = ""
    mrn: str = ""


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _parse_date(token: str) -> date | None:
    match = _ISO_DATE.match(token)
    if match:
        y, m, d = (int(g) for g in match.groups())
    else:
        match = _US_DATE.match(token)
        if not match:
            return None
        m, d, y = (int(g) for g in match.groups())
    try:
        return date(y, m, d)
    except ValueError:
        return None


_PHONE_IN_TEXT = re.compile(r"(?:\+?1[\s.-]*)?\(?\d{3}\)?[\s.-]*\d{3}[\s.-]*\d{4}")


def parse_search(query: str) -> SearchTerms:
    """Split one search box into name parts, a date of birth, a phone number and an
    MRN. Dates are YYYY-MM-DD or MM/DD/YYYY; 7+ digits (with any punctuation) are a
    phone number or an MRN; anything else is part of a name."""
    names: list[str] = []
    dob: date | None = None
    phone = ""
    mrn = ""
    spaced_phone = _PHONE_IN_TEXT.search(query)
    if spaced_phone and " " in spaced_phone.group(0).strip():
        phone = phone_digits(spaced_phone.group(0))
        query = query.replace(spaced_phone.group(0), " ")
    for token in query.split():
        if _ISO_DATE.match(token) or _US_DATE.match(token):
            parsed = _parse_date(token)
            if parsed is not None:
                dob = parsed
            else:
                names.append(token)  # an impossible date matches nobody
            continue
        digits = phone_digits(token)
        if len(digits) >= 7 and len(digits) >= len(token) // 2:
            if token.isalnum() and len(digits) == 8:
                mrn = token
            else:
                phone = digits
            continue
        if any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token):
            mrn = token  # a prefixed MRN such as "NW00000018"
            continue
        names.append(token.strip(",").lower())
    return SearchTerms(tuple(n for n in names if n), dob, phone, mrn)
