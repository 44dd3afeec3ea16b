"""Review comments and review bodies: classified, decided on, and the decision kept.

No GitHub call happens here: a decision is on record before anything reaches GitHub, and the
outbox posts it afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.app.paused import playbooks_in_force
from bot.core.commands import mutes_in_force, parse_command
from bot.core.decide import DecisionConfig, decide_comment
from bot.core.events import ReviewComment, review_comment_from_payload, review_from_payload

log = logging.getLogger(__name__)

# How long a decision waits for another process deciding for the same engineer (about 10 s).
ENGINEER_WAIT_TRIES = 200
ENGINEER_WAIT_SECONDS = 0.05

router = routing.Router()


@router.register("pull_request_review_comment", action="created")
async def review_comment_created(event: sansio.Event, deps: HandlerDeps) -> None:
    if parse_command(str((event.data.get("comment") or {}).get("body") or "")) is not None:
        return  # a /nudge command is answered by the commands router, not classified
    await decide_and_record(review_comment_from_payload(event.data), event.delivery_id, deps)


@router.register("pull_request_review", action="submitted")
async def review_submitted(event: sansio.Event, deps: HandlerDeps) -> None:
    review = review_from_payload(event.data)
    if review.body.strip():  # an approval without words says nothing to classify
        await decide_and_record(review, event.delivery_id, deps)


class EngineerBusy(Exception):
    """Another process kept deciding for this engineer too long; the delivery is retried later."""


@contextlib.asynccontextmanager
async def one_decision_at_a_time(
    deps: HandlerDeps, installation_id: int, engineer: str
) -> AsyncIterator[None]:
    """Decide for one engineer in one process at a time.

    A decision reads the engineer's history and then writes to it; two processes doing that at
    once for the same engineer would both see "second comment, no nudge yet" and send two
    nudges. The named lease lasts as long as a delivery's, so a process that dies here holds
    nobody up for longer than that.
    """
    name = f"engineer:{installation_id}:{engineer.lower()}"
    for _ in range(ENGINEER_WAIT_TRIES):
        if await deps.store.try_lease(name, deps.holder, deps.clock(), deps.lease):
            break
        await asyncio.sleep(ENGINEER_WAIT_SECONDS)
    else:
        raise EngineerBusy(f"another process is still deciding for {engineer}")
    try:
        yield
    finally:
        await deps.store.try_lease(name, deps.holder, deps.clock(), dt.timedelta(0))


async def decide_and_record(comment: ReviewComment, delivery_id: str, deps: HandlerDeps) -> None:
    config = deps.config.current  # one version for the whole decision, whatever reloads meanwhile
    playbooks = config.playbooks
    installation = comment.pull.installation_id
    longest = max((p.trigger.within_days for p in playbooks.playbooks), default=30)
    pilots = {slug for p in playbooks.playbooks for slug in p.rollout.teams}
    teams = await deps.teams.teams_for(config.org, installation, comment.pull.repo, also=pilots)
    in_force = await playbooks_in_force(deps.store, playbooks.playbooks, installation, deps.clock())
    # Since when history is on record (the backfill at installation): a playbook observes,
    # recording without nudging, until it has evaluation.observe_days of it.
    since = await deps.store.recorded_since(installation)  # type: ignore[attr-defined]
    recorded = {pid: since for pid in in_force} if since is not None else {}
    # Classification is CPU work on text anyone can write: off the loop that answers webhooks.
    matches = (
        []
        if comment.reviewer.is_bot
        else await asyncio.to_thread(playbooks.classifier.matches, comment.body, comment.diff_hunk)
    )
    # The repository's own settings and the engineer's mutes matter only when a playbook matched.
    repo_settings = None
    if matches and deps.repo_settings is not None:
        repo_settings = await deps.repo_settings.get(installation, comment.pull.repo)
    muted_all, muted = mutes_in_force(
        await deps.store.mutes(installation, comment.engineer.login),
        comment.engineer.login,  # type: ignore[attr-defined]
    )
    decision_config = DecisionConfig(
        playbooks=in_force,
        org=config.org,
        teams=teams,
        repo_settings=repo_settings,
        muted_all=muted_all,
        muted=muted,
        recorded_since=recorded,
    )
    async with one_decision_at_a_time(deps, installation, comment.engineer.login):
        now = deps.clock()
        history = await deps.store.history(
            installation, comment.engineer.login, comment.at - dt.timedelta(days=longest)
        )
        decision = decide_comment(comment, matches, history, decision_config, now)
        new = await deps.store.save_decision(decision, delivery_id, now)
    for note in decision.notes:
        log.info(
            "delivery=%s engineer=%s playbook=%s outcome=%s reason=%s",
            delivery_id,
            note.engineer,
            note.playbook_id or "-",
            note.outcome,
            note.reason,
        )
    for nudge in new:
        deps.metrics.nudges.labels(nudge.state.value).inc()
    deps.touched.add(installation, comment.pull.repo, comment.pull.number)
