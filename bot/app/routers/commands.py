"""``/nudge`` commands: a reply in a nudge's review thread, or a comment on the pull request.

The handler reads the engineer's nudges and mutes, lets :mod:`bot.core.commands` decide, and
keeps the decision (the mute, refused or not, and the answer owed); the answer is written to
GitHub afterwards by :mod:`bot.app.jobs.answers`. Bots, the app included, are never answered.
Pushes that touch a repository's ``.github/learning-nudges.yml`` reload it (see
:mod:`bot.app.jobs.repo_settings`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.core.commands import CommandContext, answer_key, decide_command, nudge_for, parse_command
from bot.core.events import Actor, PayloadError, parse_time, push_from_payload
from bot.store.say import AnswerRecord

log = logging.getLogger(__name__)

router = routing.Router()


@router.register("issue_comment", action="created")
async def pull_request_comment(event: sansio.Event, deps: HandlerDeps) -> None:
    data = event.data
    issue = data.get("issue") or {}
    if "pull_request" not in issue:
        return  # a comment on an issue, not on a pull request
    await _command(
        data, data.get("comment") or {}, issue.get("number"), issue.get("user"), None, event, deps
    )


@router.register("pull_request_review_comment", action="created")
async def thread_reply(event: sansio.Event, deps: HandlerDeps) -> None:
    data = event.data
    comment = data.get("comment") or {}
    pull = data.get("pull_request") or {}
    thread = comment.get("in_reply_to_id") or comment.get("id")  # a reply, or a thread of its own
    if not thread:
        return
    await _command(data, comment, pull.get("number"), pull.get("user"), int(thread), event, deps)


@router.register("push")
async def repository_settings_pushed(event: sansio.Event, deps: HandlerDeps) -> None:
    cache = getattr(deps, "repo_settings", None)
    if cache is not None:
        await cache.on_push(push_from_payload(event.data), event.delivery_id)


async def _command(
    data: dict[str, Any],
    comment: dict[str, Any],
    number: Any,
    pr_author: Any,
    thread: int | None,
    event: sansio.Event,
    deps: HandlerDeps,
) -> None:
    command = parse_command(str(comment.get("body") or ""))
    if command is None:
        return
    try:
        author = Actor.from_user(comment["user"])
        engineer = Actor.from_user(pr_author)
        installation = int(data["installation"]["id"])
        repo = str(data["repository"]["full_name"])
        pr_number = int(number)
        comment_id = int(comment["id"])
        at = parse_time(comment["created_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"malformed command comment: {exc}") from exc
    if author.is_bot:
        return  # bots, ourselves included, get no answer
    config = deps.config.current
    history = await deps.store.history(installation, engineer.login, at - dt.timedelta(days=366))
    records = await deps.store.mutes(installation, engineer.login)  # type: ignore[attr-defined]
    teams = await deps.teams.teams_for(config.org, installation, repo)
    ctx = CommandContext(
        installation_id=installation,
        repo=repo,
        pr_number=pr_number,
        author=author.login,
        engineer=engineer.login,
        comment_id=comment_id,
        at=at,
        nudge=nudge_for(history.nudges, pr_number, repo, thread),
        nudges=history.nudges,
        playbooks=config.playbooks.by_id(),
        org=config.org,
        role_teams=teams,
        records=records,
    )
    outcome = decide_command(command, ctx)
    if outcome.record is not None:
        await deps.store.record_mute(outcome.record)  # type: ignore[attr-defined]
    await deps.store.add_answer(  # type: ignore[attr-defined]
        AnswerRecord(
            answer_key(installation, repo, comment_id),
            installation,
            repo,
            pr_number,
            comment_id,
            thread,
            outcome.reaction,
            outcome.reply,
        ),
        deps.clock(),
    )
    log.info(
        "delivery=%s command=%s engineer=%s by=%s pr=%s outcome=%s",
        event.delivery_id,
        command.verb,
        engineer.login,
        author.login,
        pr_number,
        outcome.note,
    )
    deps.touched.add(installation, repo, pr_number)
