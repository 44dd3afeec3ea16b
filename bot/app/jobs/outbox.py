"""The outbox: every GitHub write for a nudge, from decisions already on record.

Before posting, the bot looks for its own hidden marker, so a crash after GitHub accepted a
comment, a retry after a 502, or a second process never posts twice. What a failure leads to
(retry later, or failed with its reason) is :func:`bot.core.outbox.after_failure`'s call.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

import aiohttp
from gidgethub import BadRequest, GitHubException

from bot.app.config import ConfigHolder
from bot.app.jobs import cosign_issues
from bot.app.metrics import Metrics
from bot.core.nudges import Nudge, NudgeState
from bot.core.outbox import (
    OUTBOX_STATES,
    GiveUp,
    after_failure,
    needs_cosign_request,
    needs_write,
    orphaned,
    posted,
)
from bot.core.playbook import Playbook
from bot.core.render import find_marker, render_cosign_request, render_nudge
from bot.github import GitHubApp
from bot.store import Store

log = logging.getLogger(__name__)

# How long one process keeps a nudge to itself while it writes to GitHub for it: longer than the
# longest wait the client accepts (retry-after or a rate-limit reset), so that no other process
# looks for the marker while this one may still post.
CLAIM = dt.timedelta(minutes=20)
GITHUB_ERRORS = (GitHubException, aiohttp.ClientError, TimeoutError)


def split_repo(repo: str) -> tuple[str, str]:
    owner, name = repo.split("/", 1)
    return owner, name


def describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = str(exc) or type(exc).__name__
    return f"{int(status)} {text}" if status is not None else text


class NudgeClaims:
    """One process writes for a nudge at a time: a named lease per nudge in the shared store."""

    def __init__(self, store: Store, holder: str):
        self.store = store
        self.holder = holder

    async def claim(self, nudge: Nudge, now: dt.datetime) -> Nudge | None:
        """This nudge as now on record, if this process may write for it; None if another does."""
        if not await self.store.try_lease(f"nudge:{nudge.key}", self.holder, now, CLAIM):
            return None
        return await self.store.nudge(nudge.key)

    async def release(self, nudge: Nudge, now: dt.datetime) -> None:
        """Give the nudge back (a lease renewed to end now is free from now on)."""
        await self.store.try_lease(f"nudge:{nudge.key}", self.holder, now, dt.timedelta(0))


class Outbox:
    def __init__(
        self,
        *,
        store: Store,
        github: GitHubApp,
        config: ConfigHolder,
        metrics: Metrics,
        claims: NudgeClaims,
        rng: random.Random,
        marker_key: bytes,
        bot_login: str,
    ):
        self.marker_key = marker_key  # keys the hidden marker, so nobody else can forge it
        self.bot_login = bot_login.lower()
        self.store = store
        self.github = github
        self.config = config
        self.metrics = metrics
        self.claims = claims
        self.rng = rng

    async def flush(self, now: dt.datetime) -> int:
        """Post whatever is due; returns how many GitHub writes succeeded."""
        done = 0
        for nudge in await self.store.nudges(OUTBOX_STATES, due_by=now):
            if not needs_write(nudge):
                continue  # waiting for a lead; polled, not posted
            claimed = await self.claims.claim(nudge, now)
            if claimed is None or not needs_write(claimed):
                continue  # another process has it, or has just done it
            try:
                if needs_cosign_request(claimed):
                    await self.request_cosign(claimed, now)
                else:
                    await self.post_nudge(claimed, now)
                done += 1
            except GITHUB_ERRORS as exc:
                await self._postpone(claimed, exc, now)
            finally:
                await self.claims.release(claimed, now)
        return done

    async def _postpone(self, nudge: Nudge, exc: Exception, now: dt.datetime) -> None:
        reason = describe(exc)
        outcome = after_failure(nudge, reason, now, self.rng)
        if isinstance(outcome, GiveUp):
            await self.store.update_nudge(outcome.nudge, now)
            self.metrics.nudges.labels("failed").inc()
            log.error("nudge=%s failed for good: %s", nudge.key, reason)
            return
        await self.store.postpone_nudge(nudge.key, reason, outcome.at)
        log.warning("nudge=%s not posted (%s); retry in %.0fs", nudge.key, reason, outcome.wait_seconds)

    async def _playbook_or_fail(self, nudge: Nudge, now: dt.datetime) -> Playbook | None:
        """The nudge's playbook; if an author removed it, the nudge fails with that reason."""
        playbook = self.config.current.playbooks.get(nudge.playbook_id)
        if playbook is None:
            await self.store.update_nudge(orphaned(nudge), now)
        return playbook

    async def post_nudge(self, nudge: Nudge, now: dt.datetime) -> Nudge:
        playbook = await self._playbook_or_fail(nudge, now)
        if playbook is None:
            return nudge
        gh = await self.github.installation(nudge.installation_id)
        owner, repo = split_repo(nudge.repo)
        url_vars = {"owner": owner, "repo": repo, "n": nudge.pr_number}
        comment = await self._find(gh, nudge, cosign=False)
        if comment is None:
            body = render_nudge(nudge, playbook, self.config.current.org, self.marker_key)
            if nudge.thread_id is not None:
                try:
                    comment = await gh.post(
                        "/repos/{owner}/{repo}/pulls/{n}/comments/{thread}/replies",
                        url_vars={**url_vars, "thread": nudge.thread_id},
                        data={"body": body},
                    )
                except BadRequest as exc:
                    if exc.status_code not in (404, 422):
                        raise
                    log.info("nudge=%s thread %s is gone; posting on the PR", nudge.key, nudge.thread_id)
            if comment is None:
                comment = await gh.post(
                    "/repos/{owner}/{repo}/issues/{n}/comments", url_vars=url_vars, data={"body": body}
                )
        moved = posted(nudge, comment["id"], now)
        await self.store.update_nudge(moved, now)
        self.metrics.nudges.labels(NudgeState.POSTED.value).inc()
        log.info("nudge=%s posted engineer=%s playbook=%s comment=%s", nudge.key, nudge.engineer, nudge.playbook_id, comment["id"])
        return moved

    async def request_cosign(self, nudge: Nudge, now: dt.datetime) -> Nudge:
        if self.config.current.org.cosign_repo:  # kept out of the pull request: an issue there
            return await cosign_issues.request(self, nudge, now)
        playbook = await self._playbook_or_fail(nudge, now)
        if playbook is None:
            return nudge
        gh = await self.github.installation(nudge.installation_id)
        owner, repo = split_repo(nudge.repo)
        comment = await self._find(gh, nudge, cosign=True)
        if comment is None:
            comment = await gh.post(
                "/repos/{owner}/{repo}/issues/{n}/comments",
                url_vars={"owner": owner, "repo": repo, "n": nudge.pr_number},
                data={"body": render_cosign_request(nudge, playbook, self.config.current.org, self.marker_key)},
            )
        moved = nudge.moved(nudge.state, nudge.reason, cosign_comment_id=comment["id"])
        await self.store.update_nudge(moved, now)
        log.info("nudge=%s co-sign requested from %s", nudge.key, ",".join(nudge.leads))
        return moved

    async def _find(self, gh: Any, nudge: Nudge, *, cosign: bool) -> dict | None:
        """The comment carrying this nudge's marker, if an earlier attempt already posted it.

        Only the app's own comments count: a marker quoted or forged by anyone else is not ours.
        """
        owner, repo = split_repo(nudge.repo)
        url_vars = {"owner": owner, "repo": repo, "n": nudge.pr_number}
        lists = ["/repos/{owner}/{repo}/issues/{n}/comments"]
        if nudge.thread_id is not None and not cosign:
            lists.insert(0, "/repos/{owner}/{repo}/pulls/{n}/comments")
        for url in lists:
            for comment in await gh.getiter(url + "?per_page=100", url_vars=url_vars):
                author = ((comment.get("user") or {}).get("login") or "").lower()
                if author != self.bot_login:
                    continue
                if find_marker(comment.get("body") or "", nudge.key, self.marker_key, cosign=cosign):
                    return comment
        return None
