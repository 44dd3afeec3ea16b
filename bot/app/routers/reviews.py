"""Webhook handlers: each turns one kind of event into facts in the store (no GitHub calls).

Like bedevere, one router per concern, composed in :mod:`bot.worker`. Posting happens later,
from the outbox, so that a decision is always on record before anything reaches GitHub.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gidgethub import routing, sansio

from bot.app.jobs import config_sync
from bot.app.jobs.evaluations import playbooks_in_force
from bot.app.routers.outcomes import outcomes
from bot.core.decide import DecisionConfig, decide_comment
from bot.core.events import (
    ReviewComment,
    pull_request_from_payload,
    review_comment_from_payload,
    review_from_payload,
)

if TYPE_CHECKING:
    from bot.app.worker import Worker

log = logging.getLogger(__name__)

# How long a decision waits for another process deciding for the same engineer (about 10 s).
ENGINEER_WAIT_TRIES = 200
ENGINEER_WAIT_SECONDS = 0.05

reviews = routing.Router()
pulls = routing.Router()


@reviews.register("pull_request_review_comment", action="created")
async def review_comment_created(event: sansio.Event, worker: Worker) -> None:
    await decide_and_record(review_comment_from_payload(event.data), event.delivery_id, worker)


@reviews.register("pull_request_review", action="submitted")
async def review_submitted(event: sansio.Event, worker: Worker) -> None:
    review = review_from_payload(event.data)
    if review.body.strip():  # an approval without words says nothing to classify
        await decide_and_record(review, event.delivery_id, worker)


@pulls.register("pull_request", action="opened")
@pulls.register("pull_request", action="reopened")
@pulls.register("pull_request", action="closed")
async def pull_request_changed(event: sansio.Event, worker: Worker) -> None:
    change = pull_request_from_payload(event.data)
    await worker.store.record_pull(change)
    worker.touched.add((change.pull.installation_id, change.pull.repo, change.pull.number))


class EngineerBusy(Exception):
    """Another process kept deciding for this engineer too long; the delivery is retried later."""


@contextlib.asynccontextmanager
async def one_decision_at_a_time(worker: Worker, installation_id: int, engineer: str) -> AsyncIterator[None]:
    """Decide for one engineer in one process at a time.

    A decision reads the engineer's history and then writes to it; two processes doing that at
    once for the same engineer would both see "second comment, no nudge yet" and send two
    nudges. The named lease lasts as long as a delivery's, so a process that dies here holds
    nobody up for longer than that.
    """
    name = f"engineer:{installation_id}:{engineer.lower()}"
    for _ in range(ENGINEER_WAIT_TRIES):
        if await worker.store.try_lease(name, worker.name, worker.clock(), worker.lease):
            break
        await asyncio.sleep(ENGINEER_WAIT_SECONDS)
    else:
        raise EngineerBusy(f"another process is still deciding for {engineer}")
    try:
        yield
    finally:
        await worker.store.try_lease(name, worker.name, worker.clock(), dt.timedelta(0))


async def decide_and_record(comment: ReviewComment, delivery_id: str, worker: Worker) -> None:
    playbooks = worker.playbooks
    longest = max((p.trigger.within_days for p in playbooks.playbooks), default=30)
    teams = await worker.teams_for(comment)
    in_force = await playbooks_in_force(
        worker.store, playbooks.playbooks, comment.pull.installation_id, worker.clock()
    )  # a playbook the kill switch paused sends no nudge
    ctx = DecisionConfig(playbooks=in_force, org=worker.org, teams=teams)
    matches = playbooks.classifier.matches(comment.body) if not comment.reviewer.is_bot else []
    async with one_decision_at_a_time(worker, comment.pull.installation_id, comment.engineer.login):
        now = worker.clock()
        history = await worker.store.history(
            comment.pull.installation_id, comment.engineer.login, comment.at - dt.timedelta(days=longest)
        )
        decision = decide_comment(comment, matches, history, ctx, now)
        new = await worker.store.save_decision(decision, delivery_id, now)
    for note in decision.notes:
        log.info(
            "delivery=%s engineer=%s playbook=%s outcome=%s reason=%s",
            delivery_id, note.engineer, note.playbook_id or "-", note.outcome, note.reason,
        )
    for nudge in new:
        worker.metrics.nudges.labels(nudge.state.value).inc()
    worker.touched.add((comment.pull.installation_id, comment.pull.repo, comment.pull.number))


ROUTER = routing.Router(reviews, pulls, outcomes, config_sync.router)
