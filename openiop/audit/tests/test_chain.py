"""The hash chain's pure functions: any edit, removal or reorder is found."""

from __future__ import annotations

from typing import Any

from openiop.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash, verify_chain


def _content(i: int) -> dict[str, Any]:
    return {name: f"{name}-{i}" for name in HASHED_FIELDS} | {"detail": {"n": i}}


def _chain(n: int) -> list[tuple[int, dict[str, Any], str, str]]:
    rows, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        content = _content(i)
        h = event_hash(content, prev)
        rows.append((i, content, prev, h))
        prev = h
    return rows


def _verify(rows: list[tuple[int, dict[str, Any], str, str]], head_rows: list[Any]) -> Any:
    last = head_rows[-1]
    return verify_chain(
        rows, head_last_id=last[0], head_last_hash=last[3], head_count=len(head_rows)
    )


def test_intact_chain_verifies() -> None:
    rows = _chain(5)
    assert _verify(rows, rows) is None


def test_hash_depends_on_every_field_and_the_previous_hash() -> None:
    base = _content(1)
    reference = event_hash(base, GENESIS_HASH)
    for name in HASHED_FIELDS:
        assert event_hash(base | {name: "changed"}, GENESIS_HASH) != reference, name
    assert event_hash(base, "1" * 64) != reference


def test_altered_row_is_named() -> None:
    rows = _chain(5)
    i, content, prev, h = rows[2]
    rows[2] = (i, content | {"action": "delete"}, prev, h)
    broken = _verify(rows, rows)
    assert broken is not None and broken.event_id == 3 and "altered" in broken.reason


def test_removed_row_breaks_the_next_link() -> None:
    rows = _chain(5)
    del rows[1]
    broken = _verify(rows, _chain(5))
    assert broken is not None and broken.event_id == 3 and "link" in broken.reason


def test_swapped_rows_are_found() -> None:
    rows = _chain(5)
    rows[1], rows[2] = rows[2], rows[1]
    broken = _verify(rows, _chain(5))
    assert broken is not None and broken.event_id == 3


def test_truncated_tail_is_found_through_the_head() -> None:
    full = _chain(5)
    broken = _verify(full[:3], full)
    assert broken is not None and "head" in broken.reason


def test_empty_chain_with_empty_head() -> None:
    assert verify_chain([], head_last_id=0, head_last_hash=GENESIS_HASH, head_count=0) is None


def test_hash_parts_around_the_previous_hash_give_the_same_hash() -> None:
    """A database that holds the head finishes the hash from the text around the
    previous hash (audit/services.py, PostgreSQL): it must be the same SHA-256."""
    from openiop.audit.chain import CanonicalText, hash_around

    contents = [
        _content(1),
        _content(2) | {"detail": {}},
        # non-ASCII text, quotes and backslashes, and a detail that spells the key
        _content(3) | {"actor_username": 'zoë "q" \\', "detail": {"prev_hash": "x", "é": [1]}},
        _content(4) | {"patient_id": None, "actor_id": None, "break_glass": True},
    ]
    for content in contents:
        before, after = CanonicalText(content).parts(
            content["public_id"], content["patient_id"], content["object_id"]
        )
        assert before.isascii() and after.isascii()
        for prev in (GENESIS_HASH, "ab" * 32):
            assert hash_around(before, prev, after) == event_hash(content, prev)


def test_one_encoding_serves_events_that_differ_in_patient_and_object() -> None:
    import uuid

    from openiop.audit.chain import CanonicalText, hash_around

    base = _content(5) | {"detail": {"q": "ann"}, "actor_username": "zoë"}
    text = CanonicalText(base)
    for patient_id, object_id in [(1, "a"), (None, ""), (12345678901, 'q"uo\\te é'), (7, "x")]:
        public_id = str(uuid.uuid4())
        before, after = text.parts(public_id, patient_id, object_id)
        content = base | {"public_id": public_id, "patient_id": patient_id, "object_id": object_id}
        prev = "cd" * 32
        assert hash_around(before, prev, after) == event_hash(content, prev)
