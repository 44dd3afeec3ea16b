"""The outbox: every GitHub write for a nudge, from decisions already on record.

Before posting, the bot looks for its own hidden marker, so a crash after GitHub accepted a
comment, a retry after a 502, or a second process never posts twice. What a failure leads to
(retry later, failed with its reason, re-sent once GitHub recovers) is the core's call
(:mod:`bot.core.outbox`); this edge only says what happened and when it saw it.

Each installation's nudges are written in order, and the installations side by side: a slow
write, or a 429 whose ``retry-after`` asks one installation to wait, delays only that one.
A process writing for a nudge holds its claim (a short lease, renewed while the write lasts),
so a process killed mid-write frees its nudges within :data:`HELD_CLAIM`, not after the longest
wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from gidgethub import BadRequest, GitHubException

from bot.app.config import ConfigHolder
from bot.app.jobs import cosign_issues
from bot.app.metrics import Metrics
from bot.core.nudges import Nudge, NudgeState
from bot.core.outbox import (
    OUTBOX_STATES,
    FailureKind,
    GiveUp,
    after_failure,
    failure_kind,
    needs_cosign_request,
    needs_write,
    orphaned,
    outcome_unknown,
    posted,
    resend_after_outage,
)
from bot.core.playbook import Playbook
from bot.core.render import find_marker, render_cosign_request, render_nudge
from bot.github import GitHubApp
from bot.store import Store

log = logging.getLogger(__name__)

# How long one process keeps a nudge to itself while it writes to GitHub for it. The claim is
# renewed every RENEW_EVERY_SECONDS while the write lasts (however long the client waits for a
# retry-after), so no other process looks for the marker meanwhile; a process that dies stops
# renewing, and its nudges are free again within HELD_CLAIM.
HELD_CLAIM = dt.timedelta(seconds=45)
RENEW_EVERY_SECONDS = 10.0
# A claim taken once and never renewed must outlast the longest wait the client accepts
# (retry-after or a rate-limit reset), so that no other process looks for the marker while the
# holder may still post. NudgeClaims.holding renews instead, and frees a dead holder's nudges
# within HELD_CLAIM.
CLAIM = dt.timedelta(minutes=20)
# Installations written for side by side in one flush.
PARALLEL_INSTALLATIONS = 8
GITHUB_ERRORS = (GitHubException, aiohttp.ClientError, TimeoutError)
Clock = Callable[[], dt.datetime]


def split_repo(repo: str) -> tuple[str, str]:
    owner, name = repo.split("/", 1)
    return owner, name


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return int(status) if status is not None else None


def describe(exc: BaseException) -> str:
    status = status_of(exc)
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, GITHUB_ERRORS):
        text = f"{type(exc).__name__}: {text}"
    text = text[:300]
    return f"{status} {text}" if status is not None else text


@dataclass(frozen=True)
class WriteFailure:
    """A failed GitHub write, read off its exception as the core's failure rule takes it."""

    reason: str
    kind: FailureKind
    unknown: bool  # no answer came back: GitHub may yet have done the write
    from_github: bool  # False: an error of ours, not GitHub's or the network's


def write_failure(exc: BaseException) -> WriteFailure:
    from_github = isinstance(exc, GITHUB_ERRORS)
    status = status_of(exc)
    return WriteFailure(
        describe(exc),
        failure_kind(status, from_github=from_github),
        outcome_unknown(status, from_github=from_github),
        from_github,
    )


class NudgeClaims:
    """One process writes for a nudge at a time: a named lease per nudge in the shared store."""

    def __init__(self, store: Store, holder: str, clock: Clock | None = None):
        self.store = store
        self.holder = holder
        self.clock = clock

    @contextlib.asynccontextmanager
    async def holding(self, nudge: Nudge, now: dt.datetime) -> AsyncIterator[Nudge | None]:
        """The nudge as on record while this process holds it (None: another process does).

        The claim is renewed while the block runs and released on every way out of it,
        cancellation (a shutdown) included.
        """
        async with self.hold(f"nudge:{nudge.key}", now) as held:
            yield await self.store.nudge(nudge.key) if held else None

    @contextlib.asynccontextmanager
    async def hold(self, name: str, now: dt.datetime) -> AsyncIterator[bool]:
        """The named lease while the block runs (False: another process holds it), renewed every
        few seconds and released on every way out, cancellation included."""
        if not await self.store.try_lease(name, self.holder, self._now(now), HELD_CLAIM):
            yield False
            return
        renewing = asyncio.create_task(self._renew_lease(name))
        try:
            yield True
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await asyncio.shield(
                self.store.try_lease(name, self.holder, self._now(now), dt.timedelta(0))
            )

    async def _renew_lease(self, name: str) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_SECONDS)
            if self.clock is not None:
                await self.store.try_lease(name, self.holder, self.clock(), HELD_CLAIM)

    def _now(self, fallback: dt.datetime) -> dt.datetime:
        return self.clock() if self.clock is not None else fallback

    async def claim(self, nudge: Nudge, now: dt.datetime) -> Nudge | None:
        """This nudge as now on record, if this process may write for it; None if another does.

        The claim runs from the clock's reading now, not from when the flush began: a claim
        taken late in a long flush must not be over before it starts.
        """
        now = self._now(now)
        if not await self.store.try_lease(f"nudge:{nudge.key}", self.holder, now, HELD_CLAIM):
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
        clock: Clock | None = None,
    ):
        self.clock = clock  # read when a failure is seen, never the flush's start
        self.stopping = False  # a shutdown: start no new write
        self.marker_key = marker_key  # keys the hidden marker, so nobody else can forge it
        self.bot_login = bot_login.lower()
        self.store = store
        self.github = github
        self.config = config
        self.metrics = metrics
        self.claims = claims
        self.rng = rng

    def _seen(self, fallback: dt.datetime) -> dt.datetime:
        return self.clock() if self.clock is not None else fallback

    async def flush(self, now: dt.datetime) -> int:
        """Post whatever is due; returns how many GitHub writes succeeded.

        Installations are written for side by side; within one, in the order decided.
        """
        queues: dict[int, list[Nudge]] = {}
        for nudge in await self.store.nudges(OUTBOX_STATES, due_by=now):
            if needs_write(nudge):  # a request already made waits for a lead: polled, not posted
                queues.setdefault(nudge.installation_id, []).append(nudge)
        gate = asyncio.Semaphore(PARALLEL_INSTALLATIONS)

        async def drain(queue: list[Nudge]) -> int:
            async with gate:
                return sum([await self._write_one(nudge, now) for nudge in queue])

        return sum(await asyncio.gather(*(drain(q) for q in queues.values())))

    async def _write_one(self, nudge: Nudge, now: dt.datetime) -> int:
        """One nudge's write under its claim; every failure ends in the core's decision."""
        if self.stopping:
            return 0
        async with self.claims.holding(nudge, now) as claimed:
            if claimed is None or not needs_write(claimed):
                return 0  # another process has it, or has just done it
            try:
                if needs_cosign_request(claimed):
                    await self.request_cosign(claimed, now)
                else:
                    await self.post_nudge(claimed, now)
                return 1
            except asyncio.CancelledError:
                # Stopped mid-write: GitHub may still complete it, so the next look for the
                # marker waits as after a write that got no answer; then the claim goes back.
                interrupted = TimeoutError("interrupted by a shutdown mid-write")
                await asyncio.shield(self._postpone(claimed, interrupted, self._seen(now)))
                raise
            except Exception as exc:  # whatever it was, this nudge only: the ones behind go on
                if not isinstance(exc, GITHUB_ERRORS):
                    log.exception("nudge=%s write failed with an error of ours", claimed.key)
                try:
                    await self._postpone(claimed, exc, self._seen(now))
                except Exception:
                    log.exception(
                        "nudge=%s failure could not be recorded; retried later", claimed.key
                    )
                return 0

    async def _postpone(self, nudge: Nudge, exc: Exception, seen: dt.datetime) -> None:
        """Record a failed write; ``seen`` is when it failed (a slow write gives up late)."""
        failure = write_failure(exc)
        reason = failure.reason
        outcome = after_failure(
            nudge, reason, seen, self.rng, kind=failure.kind, unknown=failure.unknown
        )
        if isinstance(outcome, GiveUp):
            await self.store.fail_nudge(outcome.nudge, outcome.kind, nudge.state, seen)
            self.metrics.nudges.labels("failed").inc()
            log.error("nudge=%s failed for good (%s): %s", nudge.key, outcome.kind, reason)
            return
        await self.store.postpone_nudge(nudge.key, reason, outcome.at)
        log.warning(
            "nudge=%s not posted (%s); retry in %.0fs", nudge.key, reason, outcome.wait_seconds
        )

    async def resend_failed(self, now: dt.datetime) -> int:
        """Put back in the outbox the nudges an outage failed for good (the core picks them)."""
        count = 0
        for failed in await self.store.failed_nudges():
            again = resend_after_outage(
                failed.nudge, failed.kind, failed.owed, failed.failed_at, failed.resends, now
            )
            if again is not None and await self.store.resend_nudge(again, now):
                count += 1
                log.info("nudge=%s back in the outbox after an outage", again.key)
        return count

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
                    log.info(
                        "nudge=%s thread %s is gone; posting on the PR", nudge.key, nudge.thread_id
                    )
            if comment is None:
                comment = await gh.post(
                    "/repos/{owner}/{repo}/issues/{n}/comments",
                    url_vars=url_vars,
                    data={"body": body},
                )
        moved = posted(nudge, comment["id"], self._seen(now))
        await self.store.update_nudge(moved, now)
        self.metrics.nudges.labels(NudgeState.POSTED.value).inc()
        log.info(
            "nudge=%s posted engineer=%s playbook=%s comment=%s",
            nudge.key,
            nudge.engineer,
            nudge.playbook_id,
            comment["id"],
        )
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
                data={
                    "body": render_cosign_request(
                        nudge, playbook, self.config.current.org, self.marker_key
                    )
                },
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
                if find_marker(
                    comment.get("body") or "", nudge.key, self.marker_key, cosign=cosign
                ):
                    return comment
        return None
