"""Every colleague's review of a pull request, kept as the denominator of the kill switch's rates.

Reviews are kept whether or not they matched a playbook, approvals without a word included. No
GitHub call happens here.
"""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.core.events import ReviewComment, review_comment_from_payload, review_from_payload
from bot.core.outcome import review_of

router = routing.Router()


@router.register("pull_request_review_comment", action="created")
async def review_comment_seen(event: sansio.Event, deps: HandlerDeps) -> None:
    await keep_review(review_comment_from_payload(event.data), deps)


@router.register("pull_request_review", action="submitted")
async def review_seen(event: sansio.Event, deps: HandlerDeps) -> None:
    await keep_review(review_from_payload(event.data), deps)


async def keep_review(comment: ReviewComment, deps: HandlerDeps) -> None:
    review = review_of(comment)
    if review is not None:
        await deps.store.record_review(review)
