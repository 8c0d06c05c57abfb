"""The audit trail in the database: appending, verifying, and refusing tampering."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from openiop.audit.models import AuditAction, AuditChainHead, AuditEvent
from openiop.audit.selectors import audit_chain_verify
from openiop.audit.services import AuditEntry, audit_record, audit_record_many

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL trigger; runs in CI's PostgreSQL pass"
)


def _events(world, n: int = 4) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    """n events as stored (audit_record returns the new row's id)."""
    ids = [
        audit_record(
            actor=world.alice,
            action=AuditAction.READ,
            patient=world.patient_a,
            object_type="patient_chart",
            object_id=world.patient_a.public_id,
            detail={"i": i},
        )
        for i in range(n)
    ]
    by_id = AuditEvent.objects.in_bulk(ids)
    return [by_id[i] for i in ids]


def test_events_chain_and_verify(world, capsys) -> None:  # type: ignore[no-untyped-def]
    events = _events(world)
    assert events[1].prev_hash == events[0].hash
    head = AuditChainHead.objects.get()
    assert head.last_event_id == events[-1].pk and head.count == AuditEvent.objects.count()
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out


def test_many_events_in_one_step(world, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    entries = [AuditEntry(action=AuditAction.SEARCH, patient=world.patient_a)] * 30
    audit_record(actor=None, action=AuditAction.CREATE, object_type="warmup")
    # SQLite: lock the head, insert all rows, update the head (+ savepoint); PostgreSQL:
    # one statement.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 5, exact=False):
        ids = audit_record_many(actor=world.alice, entries=entries)
    assert audit_chain_verify()[1] is None
    # The ids come back in the order of the entries, and each row links to the one before.
    assert ids == sorted(ids) and len(set(ids)) == 30
    rows = AuditEvent.objects.in_bulk(ids)
    assert all(rows[b].prev_hash == rows[a].hash for a, b in itertools.pairwise(ids))
    assert AuditChainHead.objects.get().last_event_id == ids[-1]


def test_nothing_to_record_writes_nothing(world, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    before = AuditEvent.objects.count()
    with django_assert_num_queries(0):
        assert audit_record_many(actor=world.alice, entries=[]) == []
    assert AuditEvent.objects.count() == before


def test_event_content(world, client) -> None:  # type: ignore[no-untyped-def]
    event = _events(world, 1)[0]
    assert event.actor_role == "counselor" and event.actor_username == "alice"
    assert event.outcome == "allowed" and event.request_id
    assert event.patient_id == world.patient_a.pk


def test_rolled_back_change_leaves_no_audit_row_and_chain_intact(world) -> None:  # type: ignore[no-untyped-def]
    _events(world, 2)
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=world.alice, action=AuditAction.UPDATE, patient=world.patient_a)
        raise RuntimeError("change failed")
    assert AuditEvent.objects.count() == before
    assert audit_chain_verify()[1] is None


def _raw_update(pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'export' WHERE id = %s", [pk])


def test_verify_reports_altered_row_and_fails(world) -> None:  # type: ignore[no-untyped-def]
    events = _events(world)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_delete"
            )
            _raw_update(events[2].pk)
            cursor.execute(
                "ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_update_delete"
            )
    else:
        _raw_update(events[2].pk)
    with pytest.raises(CommandError, match=f"event id {events[2].pk}"):
        call_command("audit_verify")


def test_verify_reports_removed_row(world) -> None:  # type: ignore[no-untyped-def]
    events = _events(world)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_delete"
            )
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_update_delete"
            )
    with pytest.raises(CommandError, match=f"event id {events[2].pk}"):
        call_command("audit_verify")


@pytest.mark.postgres
@on_postgres
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditevent SET action = 'export'", "DELETE FROM audit_auditevent"],
)
def test_postgres_trigger_refuses_update_and_delete(world, statement: str) -> None:  # type: ignore[no-untyped-def]
    _events(world, 2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.count() >= 2


@pytest.mark.postgres
@on_postgres
def test_postgres_orm_delete_is_refused_too(world) -> None:  # type: ignore[no-untyped-def]
    event = _events(world, 1)[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_a_patient_or_user_with_events_cannot_be_deleted(world) -> None:  # type: ignore[no-untyped-def]
    """The event table has no database foreign keys (cheaper inserts); the ORM's PROTECT
    still refuses removing what an event points at."""
    from django.db.models import ProtectedError

    from tests.factories import PatientFactory, UserFactory

    patient, user = PatientFactory(organization=world.org), UserFactory(organization=world.org)
    audit_record(actor=user, action=AuditAction.READ, patient=patient)
    with pytest.raises(ProtectedError):
        patient.delete()
    with pytest.raises(ProtectedError):
        user.delete()


@pytest.mark.django_db(transaction=True)
def test_a_failed_append_leaves_no_transaction_open_and_the_chain_intact(world) -> None:  # type: ignore[no-untyped-def]
    """The append locks the head first and builds the rows after: a failure in between
    (here, a detail that is not JSON) must roll back what the append began."""
    _events(world, 1)
    with pytest.raises(TypeError):
        audit_record(actor=world.alice, action=AuditAction.READ, detail={"x": object()})
    assert not connection.in_atomic_block
    if connection.vendor == "postgresql":
        from psycopg.pq import TransactionStatus

        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    _events(world, 1)  # the next append is not blocked by a held lock
    assert audit_chain_verify()[1] is None


@pytest.mark.django_db(transaction=True)
def test_append_outside_any_transaction_commits_on_its_own(world) -> None:  # type: ignore[no-untyped-def]
    """Outside a transaction (autocommit), the append is its own transaction and is
    committed when it returns."""
    before = AuditEvent.objects.count()
    event_id = audit_record(actor=world.alice, action=AuditAction.READ, patient=world.patient_a)
    assert not connection.in_atomic_block
    assert AuditEvent.objects.filter(pk=event_id).exists()
    assert AuditEvent.objects.count() == before + 1
    assert AuditChainHead.objects.get().last_event_id == event_id
    assert audit_chain_verify()[1] is None


def test_hashes_finished_by_the_database_match_the_verifier(world) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the append finishes each row's hash in SQL; the verifier hashes in
    Python. Content with non-ASCII text, quotes, backslashes and a detail that spells
    the chain's own key must come out the same, in one batch and one by one."""
    from openiop.audit.chain import event_hash
    from openiop.audit.services import hashable_content

    awkward = [
        AuditEntry(action=AuditAction.READ, patient=world.patient_a, object_type="note",
                   object_id='zoë "quoted" \\ back', detail={"prev_hash": "x", "é": [1, None]}),
        AuditEntry(action=AuditAction.UPDATE, detail={}),
        AuditEntry(action=AuditAction.SEARCH, patient=world.patient_b, break_glass=True,
                   detail={"q": "O'Brien ☂"}),
    ]  # fmt: skip
    ids = audit_record_many(actor=world.alice, entries=awkward)
    ids += [audit_record_many(actor=None, entries=[entry], username="zoë")[0] for entry in awkward]
    for event in AuditEvent.objects.filter(pk__in=ids):
        assert event.hash == event_hash(hashable_content(event), event.prev_hash)
    assert audit_chain_verify()[1] is None


def test_a_batch_larger_than_one_statement_is_one_chain(world) -> None:  # type: ignore[no-untyped-def]
    from openiop.audit import services

    count = services._INSERT_CHUNK * 2 + 7
    entries = [AuditEntry(action=AuditAction.SEARCH, patient=world.patient_a, detail={"n": 1})]
    ids = audit_record_many(actor=world.alice, entries=entries * count)
    assert len(ids) == count and ids == sorted(ids)
    assert AuditChainHead.objects.get().last_event_id == ids[-1]
    assert audit_chain_verify()[1] is None


def test_an_append_travels_with_the_reads(world) -> None:  # type: ignore[no-untyped-def]
    """A chart page's audit row goes in the round trip of its reads on PostgreSQL (one
    more statement in the pipeline); elsewhere it runs after them."""
    from openiop.audit.services import AuditAlong
    from openiop.core.db import prepares_statements, traffic
    from openiop.core.prepared import PreparedQuery, run_together
    from openiop.episodes.models import Episode

    episodes = PreparedQuery(lambda key: Episode.objects.filter(patient_id=key))
    episodes(world.patient_a.pk)  # compiled
    audit_record(actor=None, action=AuditAction.CREATE, object_type="warmup")  # the head
    entry = AuditEntry(action=AuditAction.READ, patient=world.patient_a, object_type="chart")
    along = AuditAlong(actor=world.alice, entries=[entry])
    with traffic(connection) as sent:
        (found,) = run_together((episodes, world.patient_a.pk), along=[along])
    assert [e.pk for e in found] == [world.episode_a.pk]
    assert len(along.ids) == 1
    event = AuditEvent.objects.get(pk=along.ids[0])
    assert (event.patient_id, event.actor_id, event.object_type) == (
        world.patient_a.pk, world.alice.pk, "chart",
    )  # fmt: skip
    if prepares_statements(connection):
        assert (sent.statements, sent.round_trips) == (2, 1)
    assert audit_chain_verify()[1] is None


def test_an_append_that_found_no_chain_head_runs_again_on_its_own(world) -> None:  # type: ignore[no-untyped-def]
    """With no head yet (a new database) the statement inserts nothing and returns no
    rows; the append then runs on its own, which makes the head."""
    from openiop.audit.services import AuditAlong

    before = AuditEvent.objects.count()
    along = AuditAlong(actor=world.alice, entries=[AuditEntry(action=AuditAction.READ)])
    along.take([])
    assert len(along.ids) == 1 and AuditEvent.objects.count() == before + 1
    assert audit_chain_verify()[1] is None
