"""Answers to ``/nudge`` commands: a reaction on the command, and a reply when there is one.

Like the outbox: the answer is on record before any GitHub call; one process at a time writes
it (a named lease per answer); before replying, the app's own comments are searched for the
answer's keyed marker, so a crash after GitHub accepted the reply, or a retry, never posts it
twice. A reaction GitHub already has is answered 200 and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from bot.app.jobs.outbox import GITHUB_ERRORS, describe, split_repo
from bot.core.commands import has_answer_marker, render_answer
from bot.core.outbox import MAX_ATTEMPTS, OUTBOX_BACKOFF
from bot.core.retry import backoff
from bot.github import GitHubApp
from bot.store import Store
from bot.store.say import AnswerRecord

log = logging.getLogger(__name__)

CLAIM = dt.timedelta(minutes=20)


class Answers:
    def __init__(
        self,
        *,
        store: Store,
        github: GitHubApp,
        holder: str,
        marker_key: bytes,
        bot_login: str,
        rng: random.Random,
    ):
        self.store = store
        self.github = github
        self.holder = holder
        self.marker_key = marker_key
        self.bot_login = bot_login.lower()
        self.rng = rng

    async def flush(self, now: dt.datetime) -> int:
        done = 0
        for listed in await self.store.answers("planned", due_by=now):  # type: ignore[attr-defined]
            name = f"answer:{listed.key}"
            if not await self.store.try_lease(name, self.holder, now, CLAIM):
                continue
            try:
                current = [a for a in await self.store.answers("planned") if a.key == listed.key]  # type: ignore[attr-defined]
                if not current:
                    continue  # another process has just answered it
                answer = current[0]
                try:
                    answer_id = await self._write(answer)
                except GITHUB_ERRORS as exc:
                    await self._postpone(answer, describe(exc), now)
                    continue
                await self.store.finish_answer(answer.key, answer_id, now)  # type: ignore[attr-defined]
                done += 1
                log.info(
                    "answer=%s repo=%s pr=%s done reaction=%s reply=%s",
                    answer.key,
                    answer.repo,
                    answer.pr_number,
                    answer.reaction or "-",
                    answer_id or "-",
                )
            finally:
                await self.store.try_lease(name, self.holder, now, dt.timedelta(0))
        return done

    async def _postpone(self, answer: AnswerRecord, reason: str, now: dt.datetime) -> None:
        attempts = answer.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            await self.store.postpone_answer(
                answer.key, f"GitHub refused it {attempts} times; last: {reason}", None, now
            )  # type: ignore[attr-defined]
            log.error("answer=%s failed for good: %s", answer.key, reason)
            return
        wait = backoff(attempts, OUTBOX_BACKOFF, self.rng)
        await self.store.postpone_answer(answer.key, reason, now + dt.timedelta(seconds=wait), now)  # type: ignore[attr-defined]
        log.warning("answer=%s not written (%s); retry in %.0fs", answer.key, reason, wait)

    async def _write(self, answer: AnswerRecord) -> int | None:
        gh = await self.github.installation(answer.installation_id)
        owner, repo = split_repo(answer.repo)
        url_vars = {"owner": owner, "repo": repo, "n": answer.pr_number}
        if answer.reaction:
            kind = "pulls" if answer.thread_id is not None else "issues"
            await gh.post(
                "/repos/{owner}/{repo}/" + kind + "/comments/{id}/reactions",
                url_vars={**url_vars, "id": answer.command_comment_id},
                data={"content": answer.reaction},
            )
        if not answer.body:
            return None
        found = await self._find(gh, answer, url_vars)
        if found is not None:
            return int(found["id"])
        body = render_answer(answer.body, answer.key, self.marker_key)
        if answer.thread_id is not None:
            posted = await gh.post(
                "/repos/{owner}/{repo}/pulls/{n}/comments/{thread}/replies",
                url_vars={**url_vars, "thread": answer.thread_id},
                data={"body": body},
            )
        else:
            posted = await gh.post(
                "/repos/{owner}/{repo}/issues/{n}/comments", url_vars=url_vars, data={"body": body}
            )
        return int(posted["id"])

    async def _find(self, gh: Any, answer: AnswerRecord, url_vars: dict[str, Any]) -> dict | None:
        """The app's own comment carrying this answer's marker, if an earlier attempt posted it."""
        kind = "pulls" if answer.thread_id is not None else "issues"
        for comment in await gh.getiter(
            "/repos/{owner}/{repo}/" + kind + "/{n}/comments?per_page=100", url_vars=url_vars
        ):
            author = ((comment.get("user") or {}).get("login") or "").lower()
            if author == self.bot_login and has_answer_marker(
                comment.get("body") or "", answer.key, self.marker_key
            ):
                return comment
        return None
