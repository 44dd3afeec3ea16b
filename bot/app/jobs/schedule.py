"""When the scheduled jobs run: after deliveries, and on the worker's periodic tick.

After a batch of deliveries, the outbox is flushed and the co-sign requests of the pull
requests they touched are polled at once, and their authors' spaced follow-ups are decided and
posted (every engineer's on each tick, too). On each tick, however many processes share the
store, the periodic jobs run in the one holding the ``scheduler`` lease (a little longer than
the poll period, renewed by each tick it runs); the others skip them until that holder stops
renewing. The tick first asks GitHub again for deliveries that never reached the inbox
(:mod:`bot.app.jobs.redelivery`) and puts back the nudges an outage failed for good. Every process refreshes the configuration from the playbooks repository itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.app.deps import PullKey
from bot.app.jobs.answers import Answers
from bot.app.jobs.backfill import BackfillJob
from bot.app.jobs.config_sync import ConfigSync
from bot.app.jobs.evaluations import EvaluationJob
from bot.app.jobs.followups import FollowUps
from bot.app.jobs.outbox import Outbox
from bot.app.jobs.reactions import ReactionPolls
from bot.app.jobs.redelivery import RedeliverySweep
from bot.app.metrics import Metrics
from bot.store import Store

SCHEDULER_LEASE = "scheduler"


class Scheduler:
    def __init__(
        self,
        *,
        store: Store,
        holder: str,
        poll_every: dt.timedelta,
        metrics: Metrics,
        outbox: Outbox,
        reactions: ReactionPolls,
        evaluations: EvaluationJob,
        config_sync: ConfigSync | None = None,
        redelivery: RedeliverySweep | None = None,
        followups: FollowUps | None = None,
        backfills: BackfillJob | None = None,
        answers: Answers | None = None,
    ):
        self.redelivery = redelivery
        self.store = store
        self.holder = holder
        self.poll_every = poll_every
        self.metrics = metrics
        self.outbox = outbox
        self.reactions = reactions
        self.evaluations = evaluations
        self.config_sync = config_sync
        self.followups = followups
        self.backfills = backfills
        self.answers = answers

    async def after_deliveries(self, now: dt.datetime, touched: Sequence[PullKey]) -> None:
        await self.outbox.flush(now)
        if self.answers is not None:
            await self.answers.flush(now)
        for _installation, repo, number in touched:
            await self.reactions.poll_cosigns(now, repo=repo, pr_number=number)
        if self.followups is not None and touched:
            await self.followups.run(now, touched)

    async def tick(self, now: dt.datetime) -> bool:
        """Recover missed deliveries, re-send what an outage failed, retry the outbox, poll co-sign
        requests and feedback, evaluate; True when they ran here."""
        if not await self.store.try_lease(
            SCHEDULER_LEASE, self.holder, now, self.poll_every * 5 / 4
        ):
            return False
        if self.redelivery is not None:
            await self.redelivery.run(now)
        await self.outbox.resend_failed(now)
        await self.outbox.flush(now)
        if self.answers is not None:
            await self.answers.flush(now)
        await self.reactions.poll_cosigns(now)
        await self.reactions.poll_feedback(now)
        await self.evaluations.run_if_due(now)
        if self.followups is not None:
            await self.followups.run(now)
        if self.backfills is not None:  # a few pages of history per tick, until read
            await self.backfills.run_pending(now)
        stats = await self.store.inbox_stats(now)
        self.metrics.queue_depth.set(stats["depth"])
        self.metrics.queue_age.set(stats["oldest_age_seconds"])
        return True

    async def refresh(self, now: dt.datetime) -> None:
        if self.config_sync is not None:
            await self.config_sync.refresh_if_due(now)
