"""Webhook handlers: each turns one kind of event into facts in the store (no GitHub calls).

Like bedevere, one router per concern, composed in :mod:`bot.worker`. Posting happens later,
from the outbox, so that a decision is always on record before anything reaches GitHub.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from gidgethub import routing, sansio

from .core.decide import Context, decide_comment
from .core.events import (
    ReviewComment,
    pull_request_from_payload,
    review_comment_from_payload,
    review_from_payload,
)

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger(__name__)

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


async def decide_and_record(comment: ReviewComment, delivery_id: str, worker: Worker) -> None:
    now = worker.clock()
    playbooks = worker.playbooks
    longest = max((p.trigger.within_days for p in playbooks.playbooks), default=30)
    history = await worker.store.history(
        comment.pull.installation_id, comment.engineer.login, comment.at - dt.timedelta(days=longest)
    )
    teams = await worker.teams_for(comment)
    ctx = Context(playbooks={p.id: p for p in playbooks.playbooks}, org=worker.org, teams=teams)
    matches = playbooks.classifier.matches(comment.body) if not comment.reviewer.is_bot else []
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


ROUTER = routing.Router(reviews, pulls)
