"""Pure functions of the audit hash chain (no ORM, no clock).

Each event's hash is SHA-256 over a canonical JSON encoding of its content and the
previous event's hash, so altering, removing or reordering a row breaks every later
link (tamper evidence in the sense of HIPAA 164.312(c)(1), integrity controls).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64

# The fields that the hash covers, in order. Changing this list breaks every
# existing chain: it is part of the storage format.
HASHED_FIELDS: tuple[str, ...] = (
    "public_id",
    "occurred_at",
    "actor_id",
    "actor_username",
    "actor_role",
    "action",
    "outcome",
    "patient_id",
    "object_type",
    "object_id",
    "break_glass",
    "source_ip",
    "request_id",
    "detail",
)


def event_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(_encoded(content, prev_hash).encode()).hexdigest()


def _encoded(content: Mapping[str, Any], prev_hash: str) -> str:
    """The canonical JSON that an event's hash is taken over (ASCII only)."""
    payload = {name: content[name] for name in HASHED_FIELDS}
    payload["prev_hash"] = prev_hash
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


# A stand-in previous hash that no content can spell (a fresh random value each process).
_STAND_IN = "stand-in-" + secrets.token_hex(16)


def hash_around(before: str, prev_hash: str, after: str) -> str:
    """event_hash from the canonical text around the previous hash (CanonicalText.parts):
    a hex hash is its own JSON text, so the two are the same bytes. PostgreSQL computes
    the same in the audit append (audit/services.py)."""
    return hashlib.sha256((before + prev_hash + after).encode()).hexdigest()


class CanonicalText:
    """The canonical text of events that differ only in public id, patient and object
    id (a search listing fifty patients): encoded once with stand-ins, then each
    event's text is the stand-ins replaced by its own values' JSON, which is what
    encoding the whole event gives (sorted keys, fixed separators; tested)."""

    _ROW_FIELDS = ("public_id", "patient_id", "object_id")

    def __init__(self, content: Mapping[str, Any]) -> None:
        marks = {name: f"{_STAND_IN}-{name}" for name in self._ROW_FIELDS}
        text = _encoded({**content, **marks}, _STAND_IN)
        # The pieces between stand-ins, and which value goes after each piece.
        self._pieces: list[str] = []
        self._slots: list[str] = []
        found = sorted(
            (text.index(json.dumps(mark)), name)
            for name, mark in [*marks.items(), ("prev_hash", _STAND_IN)]
            if text.count(json.dumps(mark)) == 1
        )
        if len(found) != len(marks) + 1:  # cannot happen: the stand-ins are secret
            raise ValueError("audit content repeats one of the chain's stand-ins")
        start = 0
        for position, name in found:
            self._pieces.append(text[start:position])
            self._slots.append(name)
            start = position + len(json.dumps(marks.get(name, _STAND_IN)))
        self._pieces.append(text[start:])

    def parts(self, public_id: str, patient_id: int | None, object_id: str) -> tuple[str, str]:
        """(text before the previous hash, text after it) for one event."""
        values = {
            "public_id": f'"{public_id}"' if _PLAIN.fullmatch(public_id) else json.dumps(public_id),
            "patient_id": json.dumps(patient_id),
            "object_id": json.dumps(object_id),
        }
        before: list[str] = []
        after: list[str] = []
        side = before
        for piece, slot in zip(self._pieces, self._slots, strict=False):
            side.append(piece)
            if slot == "prev_hash":
                side.append('"')
                side = after
                side.append('"')
            else:
                side.append(values[slot])
        side.append(self._pieces[-1])
        return "".join(before), "".join(after)


_PLAIN = re.compile(r"[0-9a-f-]*")  # a UUID's text, which JSON leaves as it is


@dataclass(frozen=True)
class ChainBreak:
    event_id: int | None
    reason: str


def verify_chain(
    rows: Iterable[tuple[int, Mapping[str, Any], str, str]],
    *,
    head_last_id: int,
    head_last_hash: str,
    head_count: int,
) -> ChainBreak | None:
    """Walk rows (id, content, prev_hash, hash) in id order; return the first break.

    A row whose stored hash does not match its content was altered; a row whose
    prev_hash is not the previous row's hash follows a removed or reordered row; a
    head that does not match the last row means the newest rows were removed.
    """
    expected_prev = GENESIS_HASH
    count = 0
    last_id = 0
    for event_id, content, prev_hash, stored_hash in rows:
        if prev_hash != expected_prev:
            return ChainBreak(
                event_id, "previous-hash link broken (a row before it was removed or changed)"
            )
        if event_hash(content, prev_hash) != stored_hash:
            return ChainBreak(event_id, "content does not match its hash (row altered)")
        expected_prev = stored_hash
        count += 1
        last_id = event_id
    if count != head_count or last_id != head_last_id or expected_prev != head_last_hash:
        return ChainBreak(
            last_id or None,
            f"chain head expects {head_count} rows ending at id {head_last_id}, "
            f"found {count} ending at id {last_id} (newest rows removed or head altered)",
        )
    return None
