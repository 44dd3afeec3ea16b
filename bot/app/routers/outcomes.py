"""Outcomes at the edge: every colleague's review of a pull request, kept for the kill switch.

A reviewed pull request is the denominator of every outcome rate, so reviews are kept whether or
not they matched a playbook, approvals without a word included. One router, composed with the
others in :mod:`bot.handlers`; it makes no GitHub call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gidgethub import routing, sansio

from bot.core.events import ReviewComment, review_comment_from_payload, review_from_payload
from bot.core.outcome import review_of

if TYPE_CHECKING:
    from bot.app.worker import Worker

outcomes = routing.Router()


@outcomes.register("pull_request_review_comment", action="created")
async def review_comment_seen(event: sansio.Event, worker: Worker) -> None:
    await keep_review(review_comment_from_payload(event.data), worker)


@outcomes.register("pull_request_review", action="submitted")
async def review_seen(event: sansio.Event, worker: Worker) -> None:
    await keep_review(review_from_payload(event.data), worker)


async def keep_review(comment: ReviewComment, worker: Worker) -> None:
    review = review_of(comment)
    if review is not None:
        await worker.store.record_review(review)
