"""Answers to ``/nudge`` commands: a reaction on the command, and a reply when there is one.

Like the outbox: the answer is on record before any GitHub call; one process at a time writes
it (a named claim per answer, renewed while the write lasts, so a process killed mid-write
frees it within seconds); before replying, the app's own comments are searched for the
answer's keyed marker, so a crash after GitHub accepted the reply, or a retry, never posts it
twice. A reaction GitHub already has is answered 200 and changes nothing. What a failure leads
to (retried with backoff, or failed with its reason) is the core's rule,
:func:`bot.core.outbox.next_attempt`, the same as for nudges and follow-ups; an error of ours
fails this answer only, never the flush.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable
from typing import Any

from bot.app.jobs.outbox import NudgeClaims, split_repo, write_failure
from bot.core.commands import has_answer_marker, render_answer
from bot.core.outbox import FailedForGood, next_attempt
from bot.github import GitHubApp
from bot.store import Store
from bot.store.say import AnswerRecord

log = logging.getLogger(__name__)


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
        claims: NudgeClaims,
        clock: Callable[[], dt.datetime],
    ):
        self.store = store
        self.github = github
        self.holder = holder
        self.marker_key = marker_key
        self.bot_login = bot_login.lower()
        self.rng = rng
        self.claims = claims
        self.clock = clock

    async def flush(self, now: dt.datetime) -> int:
        done = 0
        for listed in await self.store.answers("planned", due_by=now):  # type: ignore[attr-defined]
            async with self.claims.hold(f"answer:{listed.key}", now) as held:
                if not held:
                    continue  # another process is writing it
                current = [a for a in await self.store.answers("planned") if a.key == listed.key]  # type: ignore[attr-defined]
                if not current:
                    continue  # another process has just answered it
                answer = current[0]
                try:
                    answer_id = await self._write(answer)
                except asyncio.CancelledError:
                    raise  # a shutdown: the claim is released, the answer stays planned
                except Exception as exc:  # whatever it was, this answer only: the others go on
                    await self._after_failure(answer, exc)
                    continue
                await self.store.finish_answer(answer.key, answer_id, self.clock())  # type: ignore[attr-defined]
                done += 1
                log.info(
                    "answer=%s repo=%s pr=%s done reaction=%s reply=%s",
                    answer.key,
                    answer.repo,
                    answer.pr_number,
                    answer.reaction or "-",
                    answer_id or "-",
                )
        return done

    async def _after_failure(self, answer: AnswerRecord, exc: Exception) -> None:
        failure = write_failure(exc)
        if not failure.from_github:
            log.exception("answer=%s write failed with an error of ours", answer.key)
        seen = self.clock()  # the time the failure was seen, not when the flush began
        step = next_attempt(
            answer.attempts + 1,
            failure.reason,
            seen,
            self.rng,
            kind=failure.kind,
            unknown=failure.unknown,
        )
        if isinstance(step, FailedForGood):
            await self.store.postpone_answer(answer.key, step.reason, None, seen)  # type: ignore[attr-defined]
            log.error("answer=%s failed for good: %s", answer.key, step.reason)
            return
        await self.store.postpone_answer(answer.key, step.reason, step.at, seen)  # type: ignore[attr-defined]
        log.warning(
            "answer=%s not written (%s); retry in %.0fs", answer.key, step.reason, step.wait_seconds
        )

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
