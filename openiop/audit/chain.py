"""Pure functions of the audit hash chain (no ORM, no clock).

Each event's hash is SHA-256 over a canonical JSON encoding of its content and the
previous event's hash, so altering, removing or reordering a row breaks every later
link (tamper evidence in the sense of HIPAA 164.312(c)(1), integrity controls).
"""

from __future__ import annotations

import hashlib
import json
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
    payload = {name: content[name] for name in HASHED_FIELDS}
    payload["prev_hash"] = prev_hash
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


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
