"""The store contract, run against SQLite and (with TEST_DATABASE_URL) PostgreSQL.

Each PostgreSQL test works in a schema of its own, created for it and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from bot.core.decide import CommentDecision
from bot.core.events import Actor, PullRequestEvent, PullRequestRef
from bot.core.nudges import Note, Nudge, NudgeState, Signal, nudge_key
from bot.core.outcome import Review
from bot.store import open_store
from bot.store.base import OUTBOX_STATES, NewDelivery, ReactionRecord, Store
from bot.store.postgres import PostgresStore, quote_ident
from bot.store.schema import MIGRATIONS
from bot.store.sql import SqlStore
from bot.store.sqlite import SQLiteStore

PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SKIP = "TEST_DATABASE_URL not set: PostgreSQL store tests skipped"
needs_pg = pytest.mark.skipif(not PG_URL, reason=PG_SKIP)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)
INSTALLATION = 77
REPO = "acme/shop"
PLAYBOOK = "error-handling"
LATEST_VERSION = max(version for version, _ in MIGRATIONS)


def at(seconds: float = 0, *, days: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds, days=days)


# fixtures ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A fresh, empty schema for one test; dropped with everything in it afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(PG_URL)
    try:
        await admin.execute(f"CREATE SCHEMA {quote_ident(name)}")
        yield name
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
        await admin.close()


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    async with fresh_schema() as name:
        yield name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=needs_pg)])
async def fresh_store(request, tmp_path) -> AsyncIterator[Store]:
    """A store on an empty database, not yet migrated."""
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "store.db")
        try:
            yield store
        finally:
            await store.close()
        return
    async with fresh_schema() as schema:
        pg = await PostgresStore.connect(PG_URL, schema=schema)
        try:
            yield pg
        finally:
            await pg.close()


@pytest.fixture
async def store(fresh_store: Store) -> Store:
    await fresh_store.migrate()
    return fresh_store


async def raw(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """Look under the interface, for what it does not return (a dropped body, the versions)."""
    assert isinstance(store, SqlStore)
    return [tuple(row) for row in await store.driver.fetch(sql)]


async def run_statements(store: Store, statements: list[str]) -> None:
    assert isinstance(store, SqlStore)
    async with store.driver.transaction() as tx:
        for statement in statements:
            await tx.execute(statement)


def dialect(store: Store) -> str:
    assert isinstance(store, SqlStore)
    return store.dialect.name


# domain objects ------------------------------------------------------------------------------


def signal(
    comment_id: int,
    when: dt.datetime,
    *,
    engineer: str = "Alice",
    playbook: str = PLAYBOOK,
    installation: int = INSTALLATION,
    pr: int = 7,
) -> Signal:
    return Signal(
        installation_id=installation,
        repo=REPO,
        pr_number=pr,
        engineer=engineer,
        playbook_id=playbook,
        comment_id=comment_id,
        source="review_comment",
        reviewer="bob",
        at=when,
        quote=f"please handle the error (comment {comment_id})",
        url=f"https://github.com/{REPO}/pull/{pr}#discussion_r{comment_id}",
    )


def nudge_for(
    trigger: Signal,
    evidence: tuple[Signal, ...],
    *,
    state: NudgeState = NudgeState.PLANNED,
    created_at: dt.datetime | None = None,
    leads: tuple[str, ...] = (),
) -> Nudge:
    return Nudge(
        key=nudge_key(
            trigger.installation_id,
            trigger.repo,
            trigger.engineer,
            trigger.playbook_id,
            trigger.comment_id,
        ),
        installation_id=trigger.installation_id,
        repo=trigger.repo,
        pr_number=trigger.pr_number,
        engineer=trigger.engineer,
        playbook_id=trigger.playbook_id,
        state=state,
        reason="3 matching comments; 2 of 10 minutes this sprint",
        created_at=created_at or trigger.at,
        trigger_at=trigger.at,
        thread_id=trigger.comment_id,
        minutes=2,
        evidence=evidence,
        leads=leads,
        sprint=3,
    )


def comment_decision(
    signals: list[Signal], nudges: list[Nudge], assignments: dict[str, str] | None = None
) -> CommentDecision:
    notes = [Note(s.engineer, s.playbook_id, "signal", "counted") for s in signals]
    notes += [Note(n.engineer, n.playbook_id, n.state, n.reason) for n in nudges]
    return CommentDecision(
        signals=signals, nudges=nudges, notes=notes, assignments=assignments or {}
    )


async def saved_nudge(store: Store, comment_id: int, when: dt.datetime, **kwargs: Any) -> Nudge:
    trigger = signal(comment_id, when)
    nudge = nudge_for(trigger, (trigger,), **kwargs)
    assert await store.save_decision(comment_decision([trigger], [nudge]), None, when) == [nudge]
    return nudge


# migrations ----------------------------------------------------------------------------------


async def test_migrate_is_idempotent_and_reaches_the_latest_version(fresh_store: Store):
    await fresh_store.migrate()
    await fresh_store.migrate()
    assert await raw(fresh_store, "SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v, _ in MIGRATIONS
    ]
    assert LATEST_VERSION == 9


async def test_migrate_applies_only_the_missing_versions(fresh_store: Store):
    """A database at version 1 (made before leases existed) keeps its rows and gains version 2."""
    version_one = dict(MIGRATIONS)[1](dialect(fresh_store))
    await run_statements(
        fresh_store,
        [
            "CREATE TABLE schema_version (version INTEGER NOT NULL)",
            *version_one,
            "INSERT INTO schema_version (version) VALUES (1)",
        ],
    )
    await run_statements(
        fresh_store,
        [
            (
                "INSERT INTO deliveries (id, event, status, attempts, received_at)"
                " VALUES ('old', 'ping', 'done', 1, '2026-03-01T00:00:00.000000+00:00')"
            )
        ],
    )
    await fresh_store.migrate()
    assert await raw(fresh_store, "SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v, _ in MIGRATIONS
    ]
    assert [d.id for d in await fresh_store.deliveries()] == ["old"]
    assert await fresh_store.try_lease("outbox", "p1", T0, LEASE)


# inbox ---------------------------------------------------------------------------------------


async def test_a_redelivered_delivery_is_stored_once(store: Store):
    assert await store.add_delivery("d-1", "pull_request_review_comment", b'{"a": 1}', at(0))
    assert not await store.add_delivery("d-1", "pull_request_review_comment", b'{"a": 2}', at(5))
    assert not await store.add_failed_delivery(
        "d-1", "pull_request_review_comment", "not JSON", at(6)
    )
    records = await store.deliveries()
    assert [(r.id, r.status, r.received_at) for r in records] == [("d-1", "pending", at(0))]
    claimed = await store.claim_delivery(at(10), LEASE, "w1")
    assert claimed is not None and claimed.body == b'{"a": 1}'
    assert await store.claim_delivery(at(10), LEASE, "w1") is None


async def test_a_delivery_that_cannot_be_processed_is_kept_as_failed_with_its_reason(store: Store):
    assert await store.add_failed_delivery("bad", "issues", "body is not JSON", at(0))
    assert not await store.add_failed_delivery("bad", "issues", "body is not JSON", at(1))
    assert not await store.add_delivery("bad", "issues", b"{}", at(2))
    [record] = await store.deliveries("failed")
    assert (record.id, record.event, record.error, record.attempts) == (
        "bad",
        "issues",
        "body is not JSON",
        0,
    )
    assert await store.claim_delivery(at(days=30), LEASE, "w1") is None


async def test_deliveries_are_claimed_oldest_first(store: Store):
    await store.add_delivery("second", "ping", b"2", at(20))
    await store.add_delivery("third", "ping", b"3", at(30))
    await store.add_delivery("first", "ping", b"1", at(10))
    claimed = []
    while (delivery := await store.claim_delivery(at(60), LEASE, "w1")) is not None:
        claimed.append(delivery)
    assert [(d.id, d.body, d.received_at, d.attempts) for d in claimed] == [
        ("first", b"1", at(10), 1),
        ("second", b"2", at(20), 1),
        ("third", b"3", at(30), 1),
    ]
    assert [r.status for r in await store.deliveries()] == ["processing"] * 3


async def test_a_claimed_delivery_comes_back_only_when_its_lease_runs_out(store: Store):
    """A worker killed mid-delivery leaves it to another once the lease expires."""
    await store.add_delivery("d-1", "ping", b"{}", at(0))
    first = await store.claim_delivery(at(1), LEASE, "w1")
    assert first is not None and first.attempts == 1
    assert await store.claim_delivery(at(2), LEASE, "w2") is None
    assert await store.claim_delivery(at(1) + LEASE, LEASE, "w2") is None
    again = await store.claim_delivery(at(1) + LEASE + dt.timedelta(seconds=1), LEASE, "w2")
    assert again is not None
    assert (again.id, again.body, again.attempts) == ("d-1", b"{}", 2)


async def test_finishing_a_delivery_drops_its_body_and_keeps_the_record(store: Store):
    await store.add_delivery("d-1", "pull_request", b'{"secret": "comment text"}', at(0))
    claimed = await store.claim_delivery(at(1), LEASE, "w1")
    assert claimed is not None
    await store.finish_delivery("d-1", at(2))
    [record] = await store.deliveries("done")
    assert (record.id, record.event, record.status, record.error) == (
        "d-1",
        "pull_request",
        "done",
        None,
    )
    assert await raw(store, "SELECT body FROM deliveries WHERE id = 'd-1'") == [(None,)]
    assert await store.claim_delivery(at(days=1), LEASE, "w2") is None
    assert await store.deliveries("pending") == []


async def test_a_failure_with_retry_at_comes_back_only_from_retry_at(store: Store):
    await store.add_delivery("d-1", "ping", b"{}", at(0))
    await store.claim_delivery(at(1), LEASE, "w1")
    await store.fail_delivery("d-1", "GitHub answered 502", at(2), at(60))
    [record] = await store.deliveries("pending")
    assert (record.id, record.error, record.attempts) == ("d-1", "GitHub answered 502", 1)
    assert await store.claim_delivery(at(59), LEASE, "w1") is None
    again = await store.claim_delivery(at(60), LEASE, "w1")
    assert again is not None and (again.id, again.attempts) == ("d-1", 2)


async def test_a_failure_without_retry_at_stays_failed_with_its_reason(store: Store):
    await store.add_delivery("d-1", "ping", b"{}", at(0))
    await store.claim_delivery(at(1), LEASE, "w1")
    await store.fail_delivery("d-1", "payload has no installation.id", at(2), None)
    [record] = await store.deliveries("failed")
    assert (record.id, record.status, record.error) == (
        "d-1",
        "failed",
        "payload has no installation.id",
    )
    assert await store.claim_delivery(at(days=30), LEASE, "w1") is None
    assert await store.deliveries("pending") == []


async def test_inbox_stats_count_waiting_deliveries_and_the_oldest_age(store: Store):
    assert await store.inbox_stats(at(0)) == {"depth": 0, "oldest_age_seconds": 0.0}
    await store.add_delivery("a", "ping", b"{}", at(0))
    await store.add_delivery("b", "ping", b"{}", at(10))
    await store.add_failed_delivery("c", "ping", "not JSON", at(-100))
    stats = await store.inbox_stats(at(70))
    assert (stats["depth"], stats["oldest_age_seconds"]) == (2, 70.0)
    claimed = await store.claim_delivery(at(70), LEASE, "w1")
    assert claimed is not None and claimed.id == "a"
    assert (await store.inbox_stats(at(70)))["depth"] == 2  # processing still counts
    await store.finish_delivery("a", at(71))
    stats = await store.inbox_stats(at(80))
    assert (stats["depth"], stats["oldest_age_seconds"]) == (1, 70.0)


async def test_a_batch_of_deliveries_says_which_are_new(store: Store):
    """Redelivered ids, and an id twice in one batch, are stored once: the first one is kept."""
    assert await store.add_delivery("old", "ping", b"0", at(0))
    batch = [
        NewDelivery("a", "ping", b"first a", at(1)),
        NewDelivery("old", "ping", b"again", at(2)),
        NewDelivery("b", "issues", b"b", at(3)),
        NewDelivery("a", "ping", b"second a", at(4)),
    ]
    assert await store.add_deliveries(batch) == [True, False, True, False]
    assert await store.add_deliveries(batch) == [False, False, False, False]
    assert await store.add_deliveries([]) == []
    assert [(r.id, r.event, r.received_at) for r in await store.deliveries()] == [
        ("old", "ping", at(0)),
        ("a", "ping", at(1)),
        ("b", "issues", at(3)),
    ]
    bodies = []
    while (claimed := await store.claim_delivery(at(10), LEASE, "w1")) is not None:
        bodies.append(claimed.body)
    assert bodies == [b"0", b"first a", b"b"]


async def test_a_large_batch_of_deliveries_is_stored_whole(store: Store):
    items = [NewDelivery(f"d-{i:04d}", "ping", str(i).encode(), at(i)) for i in range(2500)]
    assert await store.add_deliveries(items[:1300]) == [True] * 1300
    assert await store.add_deliveries(items) == [False] * 1300 + [True] * 1200
    assert [r.id for r in await store.deliveries()] == [d.id for d in items]


async def test_a_batch_with_an_unusable_delivery_keeps_none_of_it(store: Store):
    """All or nothing: no caller is told "stored" for a delivery that was not."""
    no_event = NewDelivery("bad", None, b"{}", at(1))  # type: ignore[arg-type]
    batch = [NewDelivery("good", "ping", b"{}", at(0)), no_event]
    with pytest.raises(Exception, match="(?i)null"):
        await store.add_deliveries(batch)
    assert await store.deliveries() == []
    assert await store.add_deliveries(batch[:1]) == [True]


async def test_deliveries_received_at_the_same_moment_are_claimed_in_id_order(store: Store):
    """Ties break by id in code point order ("C"), the same on both databases."""
    for delivery_id in ("b", "B", "a", "_"):
        await store.add_delivery(delivery_id, "ping", b"{}", at(0))
    assert [r.id for r in await store.deliveries()] == ["B", "_", "a", "b"]
    claimed = []
    while (delivery := await store.claim_delivery(at(1), LEASE, "w1")) is not None:
        claimed.append(delivery.id)
    assert claimed == ["B", "_", "a", "b"]


async def test_a_failed_transaction_does_not_take_a_concurrent_write_with_it(store: Store):
    """A decision that fails half way keeps nothing, and webhooks stored meanwhile stay stored."""
    good = signal(801, at(0))
    bad_note = Note(None, PLAYBOOK, "signal", "counted")  # type: ignore[arg-type]
    decision = CommentDecision(
        signals=[good],
        nudges=[nudge_for(good, (good,))],
        notes=[bad_note],
        assignments={PLAYBOOK: "treatment"},
    )
    results = await asyncio.gather(
        store.save_decision(decision, "d-1", at(1)),
        *(store.add_delivery(f"d-{i}", "ping", b"{}", at(i)) for i in range(2, 12)),
        return_exceptions=True,
    )
    assert isinstance(results[0], Exception)
    assert results[1:] == [True] * 10
    assert len(await store.deliveries()) == 10
    assert (await store.signals(), await store.nudges(), await store.notes()) == ([], [], [])
    assert await store.assignments(INSTALLATION) == {}


async def test_a_decision_cancelled_part_way_keeps_all_or_nothing(store: Store, tmp_path):
    """Cancelled at any point, a transaction leaves no half decision and no lock behind."""
    for k in range(0, 40, 3):
        trigger = signal(900 + k, at(k))
        nudge = nudge_for(trigger, (trigger,))
        decision = comment_decision([trigger], [nudge], {PLAYBOOK: "treatment"})
        task = asyncio.ensure_future(store.save_decision(decision, f"d-{k}", at(k)))
        for _ in range(k):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        kept = (
            trigger in await store.signals(),
            await store.nudge(nudge.key) is not None,
            any(n.delivery_id == f"d-{k}" for n in await store.notes()),
        )
        assert kept in {(True, True, True), (False, False, False)}, (k, kept)
    assert await store.add_delivery("after", "ping", b"{}", at(100))
    if isinstance(store, SQLiteStore):
        import sqlite3

        other = sqlite3.connect(store.path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if a write lock were left held
            other.execute("ROLLBACK")
        finally:
            other.close()


# decisions -----------------------------------------------------------------------------------


async def test_saving_the_same_decision_twice_adds_nothing_the_second_time(store: Store):
    s1, s2 = signal(101, at(0)), signal(102, at(60))
    nudge = nudge_for(s2, (s1, s2), created_at=at(61))
    decision = comment_decision([s1, s2], [nudge], {PLAYBOOK: "treatment"})
    assert await store.save_decision(decision, "d-1", at(61)) == [nudge]
    assert await store.save_decision(decision, "d-1-redelivered", at(62)) == []
    assert await store.signals() == [s1, s2]
    assert await store.nudges() == [nudge]
    assert await store.nudge(nudge.key) == nudge
    history = await store.history(INSTALLATION, "alice", at(-1))
    assert history.assignments == {PLAYBOOK: "treatment"}
    notes = await store.notes()
    assert [(n.delivery_id, n.at, n.note) for n in notes[: len(decision.notes)]] == [
        ("d-1", at(61), note) for note in decision.notes
    ]


async def test_a_later_decision_keeps_the_first_assignment(store: Store):
    s1, s2 = signal(101, at(0)), signal(102, at(60))
    await store.save_decision(
        comment_decision([s1], [nudge_for(s1, (s1,))], {PLAYBOOK: "holdout"}), None, at(1)
    )
    await store.save_decision(
        comment_decision([s2], [nudge_for(s2, (s2,))], {PLAYBOOK: "treatment"}), None, at(61)
    )
    assert (await store.history(INSTALLATION, "Alice", at(0))).assignments == {PLAYBOOK: "holdout"}


async def test_history_is_the_engineers_signals_since_a_time_nudges_and_assignments(store: Store):
    old = signal(100, at(days=-20))
    recent = signal(101, at(days=-2))
    latest = signal(102, at(0), playbook="naming")
    other_engineer = signal(103, at(0), engineer="carol")
    other_installation = signal(104, at(0), installation=88)
    nudge = nudge_for(recent, (recent,), state=NudgeState.HELD_OUT)
    await store.save_decision(comment_decision([old], []), None, at(days=-20))
    await store.save_decision(
        comment_decision([recent], [nudge], {PLAYBOOK: "holdout"}), None, at(days=-2)
    )
    await store.save_decision(
        comment_decision(
            [latest, other_engineer, other_installation],
            [nudge_for(other_engineer, (other_engineer,))],
        ),
        None,
        at(0),
    )
    history = await store.history(INSTALLATION, "ALICE", at(days=-14))
    assert list(history.signals) == [recent, latest]
    assert list(history.nudges) == [nudge]
    assert dict(history.assignments) == {PLAYBOOK: "holdout"}
    everything = await store.history(INSTALLATION, "alice", at(days=-30))
    assert list(everything.signals) == [old, recent, latest]
    nobody = await store.history(INSTALLATION, "dave", at(days=-30))
    assert (list(nobody.signals), list(nobody.nudges), dict(nobody.assignments)) == ([], [], {})
    assert [s.comment_id for s in await store.signals(88)] == [104]


async def test_notes_are_kept_in_order(store: Store):
    notes = [
        Note("alice", None, "no_match", "no playbook matched"),
        Note("alice", PLAYBOOK, NudgeState.SUPPRESSED_BUDGET, "over budget"),
    ]
    await store.add_notes(notes, "d-9", at(5))
    records = await store.notes()
    assert [(r.delivery_id, r.at, r.note) for r in records] == [("d-9", at(5), n) for n in notes]
    assert records[1].note.outcome == "suppressed_budget"
    assert len(await store.notes(limit=1)) == 1


async def test_nudges_filter_by_state_repo_pull_and_due_time(store: Store):
    planned = await saved_nudge(store, 201, at(0))
    waiting = await saved_nudge(
        store, 202, at(10), state=NudgeState.AWAITING_COSIGN, leads=("lee",)
    )
    posted = await saved_nudge(store, 203, at(20), state=NudgeState.POSTED)
    elsewhere_trigger = replace(signal(204, at(30)), repo="acme/other", pr_number=9)
    elsewhere = nudge_for(elsewhere_trigger, (elsewhere_trigger,))
    await store.save_decision(comment_decision([elsewhere_trigger], [elsewhere]), None, at(30))

    assert await store.nudges() == [planned, waiting, posted, elsewhere]
    assert await store.nudges(OUTBOX_STATES) == [planned, waiting, elsewhere]
    assert await store.nudges((NudgeState.POSTED,)) == [posted]
    assert await store.nudges(repo=REPO) == [planned, waiting, posted]
    assert await store.nudges(repo="acme/other", pr_number=9) == [elsewhere]
    assert await store.nudges(pr_number=8) == []

    await store.postpone_nudge(planned.key, "GitHub answered 502", at(120))
    assert [n.key for n in await store.nudges(OUTBOX_STATES, due_by=at(119))] == [
        waiting.key,
        elsewhere.key,
    ]
    assert [n.key for n in await store.nudges(OUTBOX_STATES, due_by=at(120))] == [
        planned.key,
        waiting.key,
        elsewhere.key,
    ]
    assert [n.key for n in await store.nudges(OUTBOX_STATES, repo=REPO, due_by=at(0))] == [
        waiting.key
    ]


async def test_postponing_a_nudge_counts_attempts_until_it_is_updated(store: Store):
    nudge = await saved_nudge(store, 301, at(0))
    assert await store.postpone_nudge(nudge.key, "rate limited", at(60)) == 1
    assert await store.postpone_nudge(nudge.key, "rate limited", at(180)) == 2
    assert await store.postpone_nudge("no-such-key", "rate limited", at(180)) == 0
    stored = await store.nudge(nudge.key)
    assert stored is not None and stored.attempts == 2
    assert await store.nudges(OUTBOX_STATES, due_by=at(100)) == []
    # A successful call moves it on and clears the wait; the attempts made stay on record.
    await store.update_nudge(
        stored.moved(NudgeState.POSTED, "posted", comment_id=9001, posted_at=at(200)), at(200)
    )
    [posted] = await store.nudges((NudgeState.POSTED,), due_by=at(100))
    assert (posted.comment_id, posted.attempts) == (9001, 2)


async def test_update_nudge_round_trips_every_field(store: Store):
    s1 = signal(401, at(0))
    nudge = await saved_nudge(store, 402, at(60), state=NudgeState.AWAITING_COSIGN, leads=("lee",))
    s2 = nudge.evidence[0]
    moved = nudge.moved(
        NudgeState.POSTED,
        "co-signed by Lee; posted",
        evidence=(s1, s2),
        leads=("lee", "Morgan"),
        cosign_comment_id=5_000_000_001,
        comment_id=5_000_000_002,
        posted_at=dt.datetime(2026, 3, 3, 10, 30, 15, 123456, tzinfo=dt.UTC),
        resolved_by="lee",
    )
    await store.update_nudge(moved, at(300))
    assert await store.nudge(nudge.key) == moved
    assert await store.nudges((NudgeState.POSTED,)) == [moved]
    vetoed = moved.moved(
        NudgeState.VETOED,
        "vetoed by Morgan",
        resolved_by="Morgan",
        posted_at=None,
        comment_id=None,
        cosign_comment_id=None,
        leads=(),
        evidence=(),
    )
    await store.update_nudge(vetoed, at(400))
    assert await store.nudge(nudge.key) == vetoed
    assert await store.nudge("no-such-key") is None


async def test_reactions_are_recorded_once(store: Store):
    nudge = await saved_nudge(store, 501, at(0), state=NudgeState.AWAITING_COSIGN, leads=("lee",))
    approve = ReactionRecord(nudge.key, "cosign", "lee", "+1", "lead", True, at(10))
    thanks = ReactionRecord(nudge.key, "nudge", "Alice", "heart", "engineer", True, at(20))
    drive_by = ReactionRecord(nudge.key, "nudge", "zed", "laugh", "other", False, at(30))
    other = ReactionRecord("another-key", "nudge", "amy", "+1", "engineer", True, at(5))
    assert await store.record_reactions([approve, thanks]) == 2
    assert await store.record_reactions([approve, thanks, drive_by, other]) == 2
    assert await store.record_reactions([]) == 0
    assert await store.reactions(nudge.key) == [approve, thanks, drive_by]
    assert await store.reactions() == [other, approve, thanks, drive_by]


async def test_pulls_are_recorded_as_opened_then_closed(store: Store):
    ref = PullRequestRef(
        installation_id=INSTALLATION, repo=REPO, number=7, author=Actor("alice", False)
    )
    await store.record_pull(PullRequestEvent(ref, "opened", at(0)))
    await store.record_pull(PullRequestEvent(ref, "closed", at(100)))
    assert await raw(store, "SELECT author FROM pulls") == [("alice",)]
    await store.record_pull(PullRequestEvent(ref, "reopened", at(200)))
    assert await raw(store, "SELECT COUNT(*) FROM pulls WHERE closed_at IS NULL") == [(1,)]


async def test_an_assignment_is_kept_for_a_playbook_with_a_signal_but_no_nudge(store: Store):
    """Whose assignment it is comes from the nudge or, failing that, the signal."""
    trigger = signal(601, at(0), engineer="Carol")
    await store.save_decision(comment_decision([trigger], [], {PLAYBOOK: "holdout"}), None, at(0))
    assert await store.assignments(INSTALLATION) == {("carol", PLAYBOOK): "holdout"}
    with pytest.raises(ValueError, match="no nudge or signal"):
        await store.save_decision(comment_decision([], [], {"naming": "holdout"}), None, at(1))


async def test_a_missing_required_value_is_an_error_not_a_silent_skip(store: Store):
    """A duplicate is skipped; a row without a required value is refused, and nothing is kept."""
    review = Review(INSTALLATION, REPO, 7, "alice", "bob", at(0), "review_comment", 1)
    with pytest.raises(Exception, match="(?i)null"):
        await store.record_review(replace(review, reviewer=None))  # type: ignore[arg-type]
    assert await store.reviews(INSTALLATION) == []
    assert await store.record_review(review)

    good, bad = signal(701, at(0)), replace(signal(702, at(1)), reviewer=None)
    with pytest.raises(Exception, match="(?i)null"):
        decision = comment_decision([good, bad], [nudge_for(good, (good,))])
        await store.save_decision(decision, "d-1", at(1))
    assert (await store.signals(), await store.nudges(), await store.notes()) == ([], [], [])


async def test_notes_and_reactions_are_kept_all_or_nothing(store: Store):
    fine = Note("alice", PLAYBOOK, "signal", "counted")
    with pytest.raises(Exception, match="(?i)null"):
        no_engineer = Note(None, None, "no_match", "x")  # type: ignore[arg-type]
        await store.add_notes([fine, no_engineer], "d-1", at(0))
    assert await store.notes() == []
    good = ReactionRecord("k", "nudge", "amy", "+1", "engineer", True, at(1))
    with pytest.raises(Exception, match="(?i)null"):
        no_role = replace(good, user="zed", role=None)  # type: ignore[arg-type]
        await store.record_reactions([good, no_role])
    assert await store.reactions() == []
    assert await store.record_reactions([good, good]) == 1


async def test_marking_nothing_published_changes_nothing(store: Store):
    await store.mark_published([], 12, at(0))
    assert await store.evaluations() == []


# leases --------------------------------------------------------------------------------------


async def test_a_lease_is_exclusive_until_it_expires(store: Store):
    ttl = dt.timedelta(seconds=60)
    assert await store.try_lease("outbox-tick", "proc-a", at(0), ttl)
    assert not await store.try_lease("outbox-tick", "proc-b", at(30), ttl)
    assert await store.try_lease("report-tick", "proc-b", at(30), ttl)  # another name is free
    assert await store.try_lease("outbox-tick", "proc-a", at(30), ttl)  # renewed until 90
    assert not await store.try_lease("outbox-tick", "proc-b", at(70), ttl)
    assert await store.try_lease("outbox-tick", "proc-b", at(90), ttl)  # expired: taken over
    assert not await store.try_lease("outbox-tick", "proc-a", at(100), ttl)
    assert await store.try_lease("outbox-tick", "proc-b", at(100), ttl)


# several processes on one PostgreSQL database ------------------------------------------------


@needs_pg
async def test_two_processes_never_claim_the_same_delivery(pg_schema: str):
    stores = [await PostgresStore.connect(PG_URL, schema=pg_schema, max_size=4) for _ in range(2)]
    try:
        await asyncio.gather(*(s.migrate() for s in stores))
        for i in range(50):
            assert await stores[0].add_delivery(
                f"d-{i:02d}", "ping", f'{{"n": {i}}}'.encode(), at(i)
            )

        async def drain(store: PostgresStore, worker: str) -> list[str]:
            taken = []
            while delivery := await store.claim_delivery(at(100), dt.timedelta(minutes=10), worker):
                taken.append(delivery.id)
            return taken

        results = await asyncio.gather(
            *(
                drain(store, f"proc-{n}-task-{t}")
                for n, store in enumerate(stores)
                for t in range(4)
            )
        )
        counts = Counter(d for taken in results for d in taken)
        assert sorted(counts) == [f"d-{i:02d}" for i in range(50)]
        assert set(counts.values()) == {1}, [d for d, c in counts.items() if c > 1]
        records = await stores[1].deliveries()
        assert {(r.status, r.attempts) for r in records} == {("processing", 1)}
    finally:
        for s in stores:
            await s.close()


@needs_pg
async def test_migrations_run_concurrently_from_several_processes(pg_schema: str):
    stores = [await PostgresStore.connect(PG_URL, schema=pg_schema) for _ in range(4)]
    try:
        await asyncio.gather(*(s.migrate() for s in stores))
        versions = await stores[0].pool.fetch("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in versions] == [v for v, _ in MIGRATIONS]
        assert await stores[1].try_lease("tick", "proc-1", T0, LEASE)
        assert not await stores[2].try_lease("tick", "proc-2", T0, LEASE)
    finally:
        for s in stores:
            await s.close()


@needs_pg
async def test_open_store_takes_a_postgresql_url(pg_schema: str):
    store = await open_store(f"{PG_URL}?search_path={pg_schema}")
    try:
        assert isinstance(store, PostgresStore)
        assert await store.add_delivery("d-1", "ping", b"{}", T0)
        tables = await store.pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", pg_schema
        )
        assert {"deliveries", "leases", "schema_version"} <= {r["table_name"] for r in tables}
    finally:
        await store.close()


async def test_open_store_refuses_an_unknown_scheme_without_repeating_the_url():
    expected = r"must start with sqlite:/// .* or postgresql:// .*got mysql://\.\.\."
    with pytest.raises(ValueError, match=expected) as error:
        await open_store("mysql://admin:hunter2@db/nudges")
    assert "hunter2" not in str(error.value)
    with pytest.raises(ValueError, match="got no such prefix"):
        await open_store("data/nudges.db")


async def test_open_store_takes_a_sqlite_url(tmp_path):
    store = await open_store(f"sqlite:///{tmp_path / 'sub' / 'nudges.db'}")
    try:
        assert isinstance(store, SQLiteStore)
        assert await store.add_delivery("d-1", "ping", b"{}", T0)
    finally:
        await store.close()
    assert (tmp_path / "sub" / "nudges.db").exists()


async def test_a_sqlite_write_waiting_for_another_process_leaves_the_event_loop_free(tmp_path):
    """While another process holds the write lock, the store waits on its own thread."""
    import sqlite3

    store = await open_store(f"sqlite:///{tmp_path / 'nudges.db'}")
    other = sqlite3.connect(tmp_path / "nudges.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.ensure_future(store.add_delivery("d-1", "ping", b"{}", T0))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.005)
            ticks += 1
        assert ticks == 20 and not write.done()
        other.execute("COMMIT")
        assert await write is True
        assert [r.id for r in await store.deliveries()] == ["d-1"]
    finally:
        other.close()
        await store.close()
