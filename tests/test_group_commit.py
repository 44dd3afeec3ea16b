"""The inbox's group commit, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from test_store import PG_URL, T0, fresh_schema, needs_pg

from bot.store.base import NewDelivery, Store
from bot.store.group_commit import GroupCommit
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=needs_pg)])
async def two_stores(request, tmp_path) -> AsyncIterator[tuple[Store, Store]]:
    """Two migrated stores on one database: the app's, and another process's view of it."""
    if request.param == "sqlite":
        stores: list[Store] = [SQLiteStore(tmp_path / "inbox.db") for _ in range(2)]
        try:
            for s in stores:
                await s.migrate()
            yield stores[0], stores[1]
        finally:
            for s in stores:
                await s.close()
        return
    async with fresh_schema() as schema:
        stores = [await PostgresStore.connect(PG_URL, schema=schema) for _ in range(2)]
        try:
            for s in stores:
                await s.migrate()
            yield stores[0], stores[1]
        finally:
            for s in stores:
                await s.close()


@pytest.fixture
def store(two_stores: tuple[Store, Store]) -> Store:
    return two_stores[0]


def delivery(n: int | str, body: bytes = b"{}", event: str = "ping") -> NewDelivery:
    return NewDelivery(f"d-{n}", event, body, T0)


async def stored_ids(store: Store) -> set[str]:
    return {r.id for r in await store.deliveries()}


async def test_deliveries_that_arrive_together_share_one_commit(store: Store):
    commit = GroupCommit(store)
    results = await asyncio.gather(*(commit.add(delivery(i)) for i in range(50)))
    assert results == [True] * 50
    assert commit.stats.commits < 50
    assert commit.stats.deliveries == 50
    assert await stored_ids(store) == {f"d-{i}" for i in range(50)}


async def test_a_batch_never_exceeds_max_batch(store: Store):
    commit = GroupCommit(store, max_batch=4)
    assert await asyncio.gather(*(commit.add(delivery(i)) for i in range(10))) == [True] * 10
    assert (commit.stats.commits, commit.stats.largest_batch) == (3, 4)
    assert len(await stored_ids(store)) == 10


async def test_deliveries_arriving_during_a_commit_go_into_the_next_one(store: Store):
    commit = GroupCommit(store)
    first = asyncio.ensure_future(commit.add(delivery("first")))
    await asyncio.sleep(0)  # the first delivery is queued and the writer is started
    await asyncio.sleep(0)  # the writer has taken it: its commit is under way
    assert commit.waiting == 0 and not first.done()
    later = [asyncio.ensure_future(commit.add(delivery(i))) for i in range(3)]
    assert await first is True
    assert await asyncio.gather(*later) == [True] * 3
    assert (commit.stats.commits, commit.stats.largest_batch) == (2, 3)
    assert await stored_ids(store) == {"d-first", "d-0", "d-1", "d-2"}


async def test_each_caller_is_answered_only_once_its_delivery_is_committed(two_stores):
    """Another process sees the delivery as soon as the webhook's caller is told "stored"."""
    store, other = two_stores
    commit = GroupCommit(store)

    async def webhook(n: int) -> tuple[bool, bool]:
        new = await commit.add(delivery(n))
        return new, f"d-{n}" in await stored_ids(other)

    assert await asyncio.gather(*(webhook(n) for n in range(20))) == [(True, True)] * 20


async def test_a_redelivery_is_answered_not_new_within_and_across_batches(store: Store):
    assert await store.add_delivery("d-old", "ping", b"old", T0)
    commit = GroupCommit(store)
    results = await asyncio.gather(
        commit.add(delivery("x", b"first")),
        commit.add(delivery("old", b"again")),
        commit.add(delivery("x", b"second")),
        commit.add(delivery("y")),
    )
    assert results == [True, False, False, True]
    assert await commit.add(delivery("y")) is False
    bodies = {}
    while claimed := await store.claim_delivery(
        T0 + dt.timedelta(days=1), dt.timedelta(minutes=1), "w"
    ):
        bodies[claimed.id] = claimed.body
    assert bodies == {"d-old": b"old", "d-x": b"first", "d-y": b"{}"}


async def test_a_failed_commit_fails_every_caller_in_it_and_the_next_batch_still_works(
    store: Store,
):
    commit = GroupCommit(store)
    bad = NewDelivery("d-bad", None, b"{}", T0)  # type: ignore[arg-type]
    results = await asyncio.gather(
        commit.add(delivery(1)), commit.add(bad), commit.add(delivery(2)), return_exceptions=True
    )
    assert all(isinstance(r, Exception) for r in results), results
    assert len({type(r) for r in results}) == 1
    assert await stored_ids(store) == set(), "nothing of a failed batch is kept"
    assert commit.stats.failed_commits == 1

    assert await asyncio.gather(commit.add(delivery(1)), commit.add(delivery(3))) == [True, True]
    assert await stored_ids(store) == {"d-1", "d-3"}


async def test_a_caller_that_gives_up_does_not_stop_the_commit(store: Store):
    commit = GroupCommit(store)
    impatient = asyncio.ensure_future(commit.add(delivery("gone")))
    patient = asyncio.ensure_future(commit.add(delivery("kept")))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient is True
    with pytest.raises(asyncio.CancelledError):
        await impatient
    await commit.close()
    assert await stored_ids(store) == {"d-gone", "d-kept"}


async def test_close_commits_everything_queued_then_refuses_more(store: Store):
    commit = GroupCommit(store, max_batch=8)
    pending = [asyncio.ensure_future(commit.add(delivery(i))) for i in range(30)]
    await asyncio.sleep(0)  # every add has queued its delivery
    await commit.close()
    assert all(p.done() for p in pending)
    assert [p.result() for p in pending] == [True] * 30
    assert len(await stored_ids(store)) == 30
    with pytest.raises(RuntimeError, match="closed"):
        await commit.add(delivery(99))
    await commit.close()  # closing twice is harmless


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="max_batch must be at least 1"):
        GroupCommit(None, max_batch=0)  # type: ignore[arg-type]


async def test_with_room_for_several_commits_a_webhook_does_not_wait_for_the_one_under_way(
    tmp_path,
):
    """A pool overlaps commits: while one is slow, the next delivery is written beside it."""
    import asyncio
    import datetime as dt

    from bot.store.base import NewDelivery
    from bot.store.group_commit import GroupCommit
    from bot.store.sqlite import SQLiteStore

    class Slow(SQLiteStore):
        gate: asyncio.Event

        async def add_deliveries(self, items):
            if items[0].id == "slow":
                await self.gate.wait()
            return await super().add_deliveries(items)

    store = Slow(tmp_path / "inbox.db")
    store.gate = asyncio.Event()
    await store.migrate()
    at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    try:
        group = GroupCommit(store, max_in_flight=2)
        slow = asyncio.create_task(group.add(NewDelivery("slow", "ping", b"{}", at)))
        await asyncio.sleep(0)
        assert await asyncio.wait_for(group.add(NewDelivery("fast", "ping", b"{}", at)), timeout=10)
        assert not slow.done(), "the slow commit is still under way"
        store.gate.set()
        assert await slow
        assert {r.id for r in await store.deliveries()} == {"slow", "fast"}
        with __import__("pytest").raises(ValueError):
            GroupCommit(store, max_in_flight=0)
    finally:
        await store.close()
