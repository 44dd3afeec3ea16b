"""Telemetry for spaced follow-ups: pull request heads pushed, code scanning alerts raised or fixed.

No GitHub call happens here. A pushed head is kept (once per head commit) and its pull request
noted as touched; the follow-up job reads its files, decides, and posts. An alert is kept as a
fact on the engineer's pull request, which the series replays as a lapse or a success.
"""

from __future__ import annotations

import logging

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.core.reinforce import code_scanning_alert_from_payload, pull_head_from_payload

log = logging.getLogger(__name__)

router = routing.Router()


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="reopened")
async def head_pushed(event: sansio.Event, deps: HandlerDeps) -> None:
    head, by_bot = pull_head_from_payload(event.data, deps.clock())
    if by_bot:
        return  # a bot's pull request gets no follow-ups
    if await deps.store.record_pull_head(head):
        deps.touched.add(head.installation_id, head.repo, head.number)


@router.register("code_scanning_alert")
async def code_scanning_alert(event: sansio.Event, deps: HandlerDeps) -> None:
    alert = code_scanning_alert_from_payload(event.data, deps.clock())
    heads = []
    if alert.pr_number is not None:
        heads = [
            h
            for h in await deps.store.pull_heads(alert.installation_id, repo=alert.repo)
            if h.number == alert.pr_number
        ]
    elif alert.branch:
        heads = await deps.store.pull_heads(
            alert.installation_id, repo=alert.repo, head_ref=alert.branch
        )
    if not heads:
        log.info(
            "delivery=%s code scanning alert %s in %s is on no pull request we know; not counted",
            event.delivery_id,
            alert.number,
            alert.repo,
        )
        return
    head = heads[-1]  # the pull request most recently pushed on that branch
    await deps.store.record_alert(alert.on(head.number, head.author))
    deps.touched.add(alert.installation_id, alert.repo, head.number)
