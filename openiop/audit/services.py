"""Writing audit events. Every read and write of patient data goes through here."""

from __future__ import annotations

import functools
import ipaddress
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from openiop.audit.chain import GENESIS_HASH, CanonicalText, hash_around
from openiop.audit.models import AuditAction, AuditChainHead, AuditEvent, AuditOutcome
from openiop.core import context
from openiop.core.db import prepares_statements, statement_cursor

if TYPE_CHECKING:
    from openiop.accounts.models import User
    from openiop.patients.models import Patient


@dataclass(frozen=True)
class AuditEntry:
    action: AuditAction
    patient: Patient | None = None
    object_type: str = ""
    object_id: str = ""
    outcome: AuditOutcome = AuditOutcome.ALLOWED
    break_glass: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


def _normalise_ip(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    patient: Patient | None = None,
    object_type: str = "",
    object_id: object = "",
    outcome: AuditOutcome = AuditOutcome.ALLOWED,
    break_glass: bool = False,
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> int:
    """Append one event; returns its id. Joins the caller's transaction when there is one, so a
    change and its audit row commit or roll back together."""
    entry = AuditEntry(
        action=action,
        patient=patient,
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
        outcome=outcome,
        break_glass=break_glass,
        detail=detail or {},
    )
    return audit_record_many(actor=actor, entries=[entry], username=username)[0]


def audit_record_many(
    *, actor: User | None, entries: Sequence[AuditEntry], username: str = ""
) -> list[int]:
    """Append several events in one locked step (a search listing 50 patients is one
    lock, one insert and one head update, whatever the number of rows); returns the
    new rows' ids. Nothing to record writes nothing.

    Every audited page pays for this, so it is plain SQL rather than the ORM's save
    machinery (which cost more than the rest of a small page): one statement on
    PostgreSQL, three in a transaction elsewhere; the values that are the same for the
    whole batch are prepared once."""
    if not entries:
        return []
    occurred, shared = _shared_values(actor, username)
    if connection.vendor == "postgresql":
        ids = _append_postgresql(entries, shared, occurred)
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            prev, count = _locked_head(cursor)
            rows, public_ids, last = _chained_rows(entries, shared, prev)
            by_public_id = _insert_events(cursor, shared, occurred, rows)
            cursor.execute(
                f"UPDATE {_HEAD_TABLE} SET last_hash = %s, last_event_id = %s, count = %s "  # noqa: S608
                "WHERE singleton = 1",
                [last, max(by_public_id.values()), count + len(rows)],
            )
        ids = [by_public_id[public_id] for public_id in public_ids]
    return ids


def _shared_values(actor: User | None, username: str) -> tuple[datetime, dict[str, Any]]:
    """The moment, and the values every event of one append shares."""
    ctx = context.current()
    occurred = timezone.now()
    return occurred, {
        "occurred_at": occurred.astimezone(UTC).isoformat(),
        "actor_id": actor.pk if actor else None,
        "actor_username": (actor.get_username() if actor else username)[:150],
        "actor_role": actor.role if actor else "",
        "source_ip": _normalise_ip(ctx.source_ip),
        "request_id": ctx.request_id,
    }


@dataclass
class AuditAlong:
    """An append that travels with a page's reads (core.prepared.run_together's
    `along`): where the database prepares statements (PostgreSQL) it is one more
    statement in the reads' round trip; elsewhere it runs on its own after them. Either
    way the page's audit row is written before anything is shown."""

    actor: User | None
    entries: Sequence[AuditEntry]
    ids: list[int] = field(default_factory=list, init=False)
    _public_ids: list[uuid.UUID] = field(default_factory=list, init=False)

    def statement(self, db: Any) -> tuple[str, list[Any]] | None:
        if not (prepares_statements(db) and 0 < len(self.entries) <= _INSERT_CHUNK):
            return None
        occurred, shared = _shared_values(self.actor, "")
        params, self._public_ids = _pg_append_params(self.entries, shared, occurred)
        return _PG_APPEND, params

    def take(self, rows: list[tuple[Any, ...]]) -> None:
        """The statement's rows; none when the chain has no head yet (a new database),
        and then the append runs again on its own, which makes the head."""
        if not rows:
            self.run()
            return
        by_public_id = {public_id: event_id for event_id, public_id in rows}
        self.ids = [by_public_id[public_id] for public_id in self._public_ids]

    def run(self) -> None:
        self.ids = audit_record_many(actor=self.actor, entries=self.entries)


def _event_texts(
    entries: Sequence[AuditEntry], shared: dict[str, Any]
) -> Iterator[tuple[uuid.UUID, int | None, str, str]]:
    """(public id, patient id, canonical text before and after the previous hash) of
    each new event; entries alike but for patient and object id share one encoding."""
    texts: dict[tuple[Any, ...], CanonicalText] = {}
    for entry in entries:
        public_id = uuid.uuid4()
        patient_id = entry.patient.pk if entry.patient is not None else None
        key = (entry.action, entry.outcome, entry.object_type, bool(entry.break_glass),
               id(entry.detail))  # fmt: skip
        text = texts.get(key)
        if text is None:
            text = texts[key] = CanonicalText(_content(
                public_id=public_id, action=entry.action, outcome=entry.outcome,
                patient_id=patient_id, object_type=entry.object_type,
                object_id=entry.object_id, break_glass=entry.break_glass,
                detail=entry.detail, **shared,
            ))  # fmt: skip
        yield (public_id, patient_id, *text.parts(str(public_id), patient_id, entry.object_id))


def _chained_rows(
    entries: Sequence[AuditEntry], shared: dict[str, Any], prev: str
) -> tuple[list[tuple[Any, ...]], list[uuid.UUID], str]:
    """The rows to insert, each hashed over its content and the previous row's hash;
    their public ids in order; and the last hash (the head's new value)."""
    rows: list[tuple[Any, ...]] = []
    public_ids: list[uuid.UUID] = []
    for entry, (public_id, patient_id, before, after) in zip(
        entries, _event_texts(entries, shared), strict=True
    ):
        digest = hash_around(before, prev, after)
        rows.append(
            (public_id, entry.action, entry.outcome, patient_id, entry.object_type,
             entry.object_id, bool(entry.break_glass), entry.detail, prev, digest)
        )  # fmt: skip
        public_ids.append(public_id)
        prev = digest
    return rows, public_ids, prev


def _append_postgresql(
    entries: Sequence[AuditEntry], shared: dict[str, Any], occurred: datetime
) -> list[int]:
    """The append as one statement (one round trip, prepared once per connection): it
    locks the chain's head, finishes each row's hash from the previous one inside the
    database (SHA-256 over the canonical text around the previous hash, the same bytes
    audit/chain.py hashes), inserts the rows and moves the head. Outside a transaction
    it is its own; inside the caller's it commits or rolls back with the change it
    records. Batches over _INSERT_CHUNK rows go in one transaction, a statement each."""
    if len(entries) > _INSERT_CHUNK:
        with transaction.atomic():
            return [
                event_id
                for start in range(0, len(entries), _INSERT_CHUNK)
                for event_id in _append_postgresql(
                    entries[start : start + _INSERT_CHUNK], shared, occurred
                )
            ]
    params, public_ids = _pg_append_params(entries, shared, occurred)
    with statement_cursor(connection) as cursor:
        cursor.execute(_PG_APPEND, params)
        by_public_id = {public_id: event_id for event_id, public_id in cursor.fetchall()}
        if not by_public_id:  # a new database: the head is made once
            cursor.execute(_CREATE_HEAD, [GENESIS_HASH])
            cursor.execute(_PG_APPEND, params)
            by_public_id = {public_id: event_id for event_id, public_id in cursor.fetchall()}
    return [by_public_id[public_id] for public_id in public_ids]


_EVENT_TABLE = AuditEvent._meta.db_table
_HEAD_TABLE = AuditChainHead._meta.db_table
# Columns of one row, in the order _insert_events binds them.
_SHARED_COLUMNS = ("occurred_at", "actor_id", "actor_username", "actor_role", "source_ip",
                   "request_id")  # fmt: skip
_ROW_COLUMNS = ("public_id", "action", "outcome", "patient_id", "object_type", "object_id",
                "break_glass", "detail", "prev_hash", "hash")  # fmt: skip
_INSERT_CHUNK = 500


@functools.lru_cache(maxsize=64)
def _insert_sql(rows: int) -> str:
    columns = ", ".join(_SHARED_COLUMNS + _ROW_COLUMNS)
    one = "(" + ", ".join(["%s"] * (len(_SHARED_COLUMNS) + len(_ROW_COLUMNS))) + ")"
    values = ", ".join([one] * rows)
    return f"INSERT INTO {_EVENT_TABLE} ({columns}) VALUES {values} RETURNING id, public_id"  # noqa: S608


# PostgreSQL: one array per varying column, so the statement and its parameter count
# are the same for 1 row or 500 (prepared once; 800 separate placeholders cost more to
# parse than the rows cost to insert). Each row's canonical text before and after the
# previous hash (audit/chain.py, CanonicalText) goes as one JSON array of pairs: as
# a text array the driver escapes every quote of it in Python, several times slower.
_PG_ARRAY_TYPES = ("uuid", "text", "text", "bigint", "text", "text", "boolean", "jsonb")
_PG_VARYING = ", ".join(f"u.c{i}" for i in range(len(_ROW_COLUMNS) - 2))
_PG_APPEND = f"""
WITH RECURSIVE
head AS (SELECT last_hash FROM {_HEAD_TABLE} WHERE singleton = 1 FOR UPDATE),
u AS (SELECT * FROM unnest({", ".join(f"%s::{kind}[]" for kind in _PG_ARRAY_TYPES)})
      WITH ORDINALITY AS u({_PG_VARYING.replace("u.", "")}, n)
      JOIN (SELECT t.n, t.text ->> 0 AS before, t.text ->> 1 AS after
            FROM json_array_elements(%s::json) WITH ORDINALITY AS t(text, n)) t USING (n)),
chain (n, prev_hash, hash) AS (
  SELECT 0::bigint, NULL::text, last_hash::text FROM head
  UNION ALL
  SELECT u.n, chain.hash,
         encode(sha256(convert_to(u.before || chain.hash || u.after, 'UTF8')), 'hex')
  FROM chain JOIN u ON u.n = chain.n + 1
),
ins AS (
  INSERT INTO {_EVENT_TABLE} ({", ".join(_SHARED_COLUMNS + _ROW_COLUMNS)})
  SELECT %s, %s, %s, %s, %s::inet, %s, {_PG_VARYING}, chain.prev_hash, chain.hash
  FROM u JOIN chain ON chain.n = u.n ORDER BY u.n
  RETURNING id, public_id
),
moved AS (
  UPDATE {_HEAD_TABLE} SET last_hash = (SELECT hash FROM chain ORDER BY n DESC LIMIT 1),
    last_event_id = (SELECT max(id) FROM ins), count = count + (SELECT count(*) FROM ins)
  WHERE singleton = 1
)
SELECT id, public_id FROM ins
"""  # noqa: S608 (model tables only)


def _pg_append_params(
    entries: Sequence[AuditEntry], shared: dict[str, Any], occurred: datetime
) -> tuple[list[Any], list[uuid.UUID]]:
    """_PG_APPEND's parameters (one array per column, each distinct detail dict encoded
    to JSON once, the canonical texts as one JSON array, then the batch's shared
    values), and the new rows' public ids in order."""
    columns: list[list[Any]] = [[] for _ in _PG_ARRAY_TYPES]
    texts: list[tuple[str, str]] = []
    encoded: dict[int, str] = {}
    for entry, (public_id, patient_id, before, after) in zip(
        entries, _event_texts(entries, shared), strict=True
    ):
        if id(entry.detail) not in encoded:
            encoded[id(entry.detail)] = json.dumps(entry.detail)
        row = (public_id, entry.action, entry.outcome, patient_id, entry.object_type,
               entry.object_id, bool(entry.break_glass), encoded[id(entry.detail)])  # fmt: skip
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        texts.append((before, after))
    params = [*columns, json.dumps(texts), occurred, shared["actor_id"],
              shared["actor_username"], shared["actor_role"], shared["source_ip"],
              shared["request_id"]]  # fmt: skip
    return params, columns[0]


def _insert_events(
    cursor: Any, shared: dict[str, Any], occurred: datetime, rows: list[tuple[Any, ...]]
) -> dict[uuid.UUID, int]:
    """Multi-row INSERT ... RETURNING (SQLite from 3.35, or PostgreSQL with server-side
    binding); the public id of each new row mapped to its id, whatever order the
    database returns them in."""
    prep: dict[str, Any] = {
        name: AuditEvent._meta.get_field(name) for name in ("public_id", "detail", "source_ip")
    }
    head = [
        connection.ops.adapt_datetimefield_value(occurred),
        shared["actor_id"],
        shared["actor_username"],
        shared["actor_role"],
        prep["source_ip"].get_db_prep_save(shared["source_ip"], connection),
        shared["request_id"],
    ]
    ids: dict[uuid.UUID, int] = {}
    details: dict[int, Any] = {}  # a batch usually shares one detail dict
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        params: list[Any] = []
        for public_id, *middle, detail, prev_hash, digest in chunk:
            if id(detail) not in details:
                details[id(detail)] = prep["detail"].get_db_prep_save(detail, connection)
            params += head
            params.append(prep["public_id"].get_db_prep_save(public_id, connection))
            params += middle
            params += (details[id(detail)], prev_hash, digest)
        cursor.execute(_insert_sql(len(chunk)), params)
        for event_id, raw_public_id in cursor.fetchall():
            ids[prep["public_id"].to_python(raw_public_id)] = event_id
    return ids


_READ_HEAD = f"SELECT last_hash, count FROM {_HEAD_TABLE} WHERE singleton = 1"  # noqa: S608
_CREATE_HEAD = (
    f"INSERT INTO {_HEAD_TABLE} (singleton, last_event_id, last_hash, count) "  # noqa: S608
    "VALUES (1, 0, %s, 0) ON CONFLICT DO NOTHING"
)


def _locked_head(cursor: Any) -> tuple[str, int]:
    """(last hash, row count) of the chain (SQLite: the transaction, begun IMMEDIATE,
    holds the database's write lock until it ends)."""
    cursor.execute(_READ_HEAD)
    row = cursor.fetchone()
    if row is None:  # a new database: the head is made once
        cursor.execute(_CREATE_HEAD, [GENESIS_HASH])
        cursor.execute(_READ_HEAD)
        row = cursor.fetchone()
    return row[0], row[1]


def hashable_content(event: AuditEvent) -> dict[str, Any]:
    """The hashed fields of a stored event, in the exact form they are hashed in."""
    return _content(**{name: getattr(event, name) for name in _CONTENT_FIELDS})


_CONTENT_FIELDS = ("public_id", "occurred_at", "actor_id", "actor_username", "actor_role",
                   "action", "outcome", "patient_id", "object_type", "object_id",
                   "break_glass", "source_ip", "request_id", "detail")  # fmt: skip


def _content(
    *, public_id: uuid.UUID | str, occurred_at: datetime | str, actor_id: int | None,
    actor_username: str, actor_role: str, action: str, outcome: str,
    patient_id: int | None, object_type: str, object_id: str, break_glass: bool,
    source_ip: str | None, request_id: str, detail: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """An event's hashed content (audit/chain.py), the one form for appending and for
    verifying. occurred_at is a datetime, or when appending its UTC ISO text."""
    if isinstance(occurred_at, datetime):
        occurred_at = occurred_at.astimezone(UTC).isoformat()
    return {
        "public_id": str(public_id),
        "occurred_at": occurred_at,
        "actor_id": actor_id,
        "actor_username": actor_username,
        "actor_role": actor_role,
        "action": str(action),
        "outcome": str(outcome),
        "patient_id": patient_id,
        "object_type": object_type,
        "object_id": object_id,
        "break_glass": bool(break_glass),
        "source_ip": _normalise_ip(source_ip),
        "request_id": request_id,
        "detail": detail,
    }


def audit_patients_listed(
    *, actor: User, patients: Iterable[Patient], object_type: str, detail: dict[str, Any]
) -> None:
    """One read event per patient shown in a list (search results, worklists)."""
    entries = [
        AuditEntry(
            action=AuditAction.SEARCH,
            patient=p,
            object_type=object_type,
            object_id=str(p.public_id),
            detail=detail,
        )
        for p in patients
    ]
    if entries:
        audit_record_many(actor=actor, entries=entries)
    else:
        audit_record(actor=actor, action=AuditAction.SEARCH, object_type=object_type, detail=detail)
