"""Group commit for the inbox: deliveries that arrive together are written in one transaction.

Each webhook waits until its delivery is committed before it answers, so the answer still means
"stored". While one commit is in flight the next deliveries queue; when it finishes, everything
queued goes in the next commit (up to ``max_batch``). Under a burst, many webhooks share one
transaction; a lone webhook is written at once, with no timer to wait for.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.store.base import NewDelivery, Store


@dataclass
class GroupCommitStats:
    """Running totals, for metrics: commits made, deliveries in them, the largest batch."""

    commits: int = 0
    failed_commits: int = 0
    deliveries: int = 0
    largest_batch: int = 0

    def record(self, size: int, *, ok: bool) -> None:
        self.commits += 1
        self.failed_commits += not ok
        self.deliveries += size
        self.largest_batch = max(self.largest_batch, size)


class GroupCommit:
    """``await add(delivery)`` is ``store.add_deliveries([delivery])[0]``, shared with neighbours.

    The result for each caller comes only after the transaction holding its delivery committed.
    If the commit fails, every caller in that batch gets the exception (nothing of the batch is
    kept); the next batch is tried afresh. A caller that is cancelled while waiting does not
    stop the commit: its delivery is still written with the others.
    """

    def __init__(self, store: Store, *, max_batch: int = 256, max_in_flight: int = 1):
        """``max_in_flight``: commits that may run at once (a pool of connections overlaps them;
        one SQLite connection cannot, so it stays 1 there). A webhook arriving while every
        commit slot is busy waits for the next batch; with a free slot, it is written at once."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self._writers: set[asyncio.Task[None]] = set()
        self.store = store
        self.max_batch = max_batch
        self.stats = GroupCommitStats()
        self._queue: list[tuple[NewDelivery, asyncio.Future[bool]]] = []
        self._closed = False

    @property
    def waiting(self) -> int:
        """Deliveries queued for the next commit (not those in the commit under way)."""
        return len(self._queue)

    async def add(self, delivery: NewDelivery) -> bool:
        """Store the delivery; True when it is new, False when its id was already stored."""
        if self._closed:
            raise RuntimeError("the group commit is closed; no more deliveries are taken")
        result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((delivery, result))
        if len(self._writers) < self.max_in_flight:
            writer = asyncio.create_task(self._write(), name="inbox-group-commit")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await result

    async def close(self) -> None:
        """Take no more deliveries and wait until every one queued so far is committed."""
        self._closed = True
        while self._writers:
            await asyncio.shield(asyncio.gather(*self._writers, return_exceptions=True))

    async def _write(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            try:
                stored = await self.store.add_deliveries([d for d, _ in batch])
                if len(stored) != len(batch):
                    raise RuntimeError(
                        f"the store answered {len(stored)} results for {len(batch)} deliveries"
                    )
            except asyncio.CancelledError:
                for _, result in batch + self._queue:
                    result.cancel()
                self._queue.clear()
                raise
            except Exception as exc:  # noqa: BLE001  (each caller gets it)
                self.stats.record(len(batch), ok=False)
                for _, result in batch:
                    if not result.done():
                        result.set_exception(exc)
                continue
            self.stats.record(len(batch), ok=True)
            for (_, result), new in zip(batch, stored):
                if not result.done():
                    result.set_result(new)
