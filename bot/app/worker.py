"""The worker: inbox → routers → decisions on record, then the scheduled jobs.

It runs inside ``serve`` by default (or alone as ``python -m bot worker``). Each delivery is
claimed with a lease, so a process that dies mid-delivery leaves it for another to finish. A
handler that fails is logged with the delivery id and does not stop the other handlers; a
malformed payload is recorded as failed with its reason, and the worker moves on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Callable

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.app.jobs.schedule import Scheduler
from bot.app.metrics import Metrics
from bot.app.pressure import AckPressure
from bot.core.events import PayloadError, event_kind
from bot.core.retry import RetryPolicy, backoff
from bot.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
LEASE = dt.timedelta(minutes=2)
MAX_DELIVERY_ATTEMPTS = 5
DELIVERY_BACKOFF = RetryPolicy(base_seconds=10, cap_seconds=600)


class Worker:
    def __init__(
        self,
        *,
        store: Store,
        router: routing.Router,
        deps: HandlerDeps,
        scheduler: Scheduler,
        clock: Clock,
        metrics: Metrics,
        rng: random.Random,
        poll_every: dt.timedelta = dt.timedelta(minutes=15),
        pressure: AckPressure | None = None,
    ):
        self.pressure = pressure or AckPressure()
        self.store = store
        self.router = router
        self.deps = deps
        self.scheduler = scheduler
        self.clock = clock
        self.metrics = metrics
        self.rng = rng
        self.poll_every = poll_every
        self.wake = (
            asyncio.Event()
        )  # set when a delivery is stored: drain now, not at the next poll
        self.idle = asyncio.Event()  # set when the loop has drained everything it was told about
        self._last_poll: dt.datetime | None = None
        self.stopping = False  # set on shutdown: take no new delivery, finish the one held

    @property
    def name(self) -> str:
        return self.deps.holder

    async def process_one(self) -> bool:
        """Claim and process one delivery; False when the inbox has nothing due.

        Every delivery claimed ends done, retried later or failed with its reason, whatever
        its body and whatever goes wrong while handling it.
        """
        if self.stopping:
            return False
        delivery = await self.store.claim_delivery(self.clock(), self.deps.lease, self.deps.holder)
        if delivery is None:
            return False
        try:
            await self._process(delivery)
        except asyncio.CancelledError:
            # A shutdown mid-delivery: hand it back now rather than after the lease.
            await asyncio.shield(
                self.store.fail_delivery(
                    delivery.id, "interrupted by a shutdown", self.clock(), self.clock()
                )
            )
            raise
        except Exception as exc:  # a bug of ours outside the handlers: retry, then fail with why
            log.exception("delivery=%s could not be processed", delivery.id)
            final = delivery.attempts >= MAX_DELIVERY_ATTEMPTS
            await self._end(delivery, f"{type(exc).__name__}: {str(exc)[:300]}", final)
        return True

    async def _process(self, delivery) -> None:
        try:
            data = json.loads(delivery.body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            await self._fail(delivery.id, f"body is not JSON: {str(exc)[:200]}")
            return
        try:
            event_kind(delivery.event, data)  # JSON of the wrong shape fails here, with why
        except PayloadError as exc:
            await self._fail(delivery.id, f"malformed {delivery.event} payload: {exc}")
            return
        event = sansio.Event(data, event=delivery.event, delivery_id=delivery.id)
        failure: tuple[str, bool] | None = None
        for callback in self.router.fetch(event):
            try:
                await callback(event, self.deps)
            except PayloadError as exc:
                failure = (f"malformed {delivery.event} payload: {exc}", True)
            except Exception as exc:  # one handler's bug must not stop the others
                log.exception("delivery=%s handler %s failed", delivery.id, callback.__name__)
                final = delivery.attempts >= MAX_DELIVERY_ATTEMPTS
                failure = (
                    f"{callback.__name__} failed: {type(exc).__name__}: {str(exc)[:300]}",
                    final,
                )
        if failure is None:
            await self.store.finish_delivery(delivery.id, self.clock())
            self.metrics.deliveries_processed.labels("done").inc()
            log.info("delivery=%s event=%s processed", delivery.id, delivery.event)
        else:
            await self._end(delivery, *failure)

    async def _end(self, delivery, reason: str, final: bool) -> None:
        retry_at = None
        if not final:
            retry_at = self.clock() + dt.timedelta(
                seconds=backoff(delivery.attempts, DELIVERY_BACKOFF, self.rng)
            )
        await self.store.fail_delivery(delivery.id, reason, self.clock(), retry_at)
        self.metrics.deliveries_processed.labels("failed" if final else "retry").inc()
        log.warning(
            "delivery=%s event=%s %s: %s",
            delivery.id,
            delivery.event,
            "failed" if final else "will retry",
            reason,
        )

    async def _fail(self, delivery_id: str, reason: str) -> None:
        await self.store.fail_delivery(delivery_id, reason, self.clock(), None)
        self.metrics.deliveries_processed.labels("failed").inc()
        log.warning("delivery=%s failed: %s", delivery_id, reason)

    async def drain(self) -> int:
        """Process everything due, then post and poll what that touched. Returns deliveries done."""
        count = 0
        while await self.process_one():
            count += 1
            await self.pressure.give_way()  # webhooks being answered go first
        if not self.stopping:  # shutting down: what was decided waits in the outbox
            await self.scheduler.after_deliveries(self.clock(), self.deps.touched.take())
        return count

    async def tick(self) -> bool:
        """The scheduled part (see :mod:`bot.app.jobs.schedule`); True when the jobs ran here."""
        now = self.clock()
        self._last_poll = now
        return await self.scheduler.tick(now)

    def notify(self) -> None:
        """A delivery was stored: wake the loop (called by the web edge after its 202)."""
        self.idle.clear()
        self.wake.set()

    def stop_taking_work(self) -> None:
        """A shutdown begins: the delivery in hand is finished, no new one is claimed."""
        self.stopping = True
        self.scheduler.outbox.stopping = True
        self.wake.set()

    async def run(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """The loop in production: drain when woken or every ``idle_seconds``; tick on schedule."""
        while not stop.is_set() and not self.stopping:
            self.wake.clear()
            try:
                await self.drain()
                now = self.clock()
                if self._last_poll is None or now - self._last_poll >= self.poll_every:
                    await self.tick()
                await self.scheduler.refresh(now)
            except Exception:
                log.exception("worker loop error; continuing")
            if not self.wake.is_set():
                self.idle.set()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=idle_seconds)
            except TimeoutError:
                pass


GRACE_SECONDS = 20.0


async def stop_gracefully(
    worker: Worker, task: asyncio.Task, grace_seconds: float = GRACE_SECONDS
) -> None:
    """Stop taking work, let the delivery or write in hand finish for ``grace_seconds``, then
    cancel it, which hands the delivery back and releases the nudge (see the outbox)."""
    worker.stop_taking_work()
    done, _ = await asyncio.wait({task}, timeout=grace_seconds)
    if not done:
        log.warning("shutdown: work still running after %.0fs; handing it back", grace_seconds)
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("worker stopped with an error")
