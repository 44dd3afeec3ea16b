"""The outbox: every GitHub write the bot makes, from decisions already on record.

Before posting, the bot looks for its own hidden marker, so a crash after GitHub accepted a
comment, a retry after a 502, or a second process never posts twice. Failures are postponed with
backoff; after ``MAX_ATTEMPTS`` the nudge is marked failed with the reason (never dropped).
Co-sign requests and posted nudges are polled for reactions with conditional requests (ETag):
GitHub sends no webhook for reactions, and an unchanged list costs no rate limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import TYPE_CHECKING, Any

import aiohttp
from gidgethub import BadRequest, GitHubException

from bot.core.cosign import Reaction, decide_cosign
from bot.core.nudges import Nudge, NudgeState
from bot.core.playbook import Playbook
from bot.core.render import find_marker, render_cosign_outcome, render_cosign_request, render_nudge
from bot.github.retry import RetryPolicy, backoff
from bot.store.base import ReactionRecord

if TYPE_CHECKING:
    from bot.app.worker import Worker

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FEEDBACK_DAYS = 14
OUTBOX_BACKOFF = RetryPolicy(base_seconds=30, cap_seconds=3600)
# How long one process keeps a nudge to itself while it writes to GitHub for it: longer than the
# longest wait the client accepts (retry-after or a rate-limit reset), so that no other process
# looks for the marker while this one may still post.
CLAIM = dt.timedelta(minutes=20)


def _split(repo: str) -> tuple[str, str]:
    owner, name = repo.split("/", 1)
    return owner, name


class Outbox:
    def __init__(self, worker: Worker, rng: random.Random | None = None):
        self.worker = worker
        self.rng = rng or random.Random()

    # posting -----------------------------------------------------------------------------------
    async def flush(self, now: dt.datetime) -> int:
        """Post whatever is due; returns how many GitHub writes succeeded."""
        done = 0
        store = self.worker.store
        due = await store.nudges(
            (NudgeState.PLANNED, NudgeState.COSIGNED, NudgeState.AWAITING_COSIGN), due_by=now
        )
        for nudge in due:
            if not _needs_write(nudge):
                continue  # waiting for a lead; polled, not posted
            claimed = await self._claim(nudge, now)
            if claimed is None or not _needs_write(claimed):
                continue  # another process has it, or has just done it
            try:
                if claimed.state == NudgeState.AWAITING_COSIGN:
                    await self.request_cosign(claimed, now)
                else:
                    await self.post_nudge(claimed, now)
                done += 1
            except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
                await self._postpone(claimed, exc, now)
            await self._release(claimed, now)
        return done

    async def _claim(self, nudge: Nudge, now: dt.datetime) -> Nudge | None:
        """This nudge as now on record, if this process may write for it; None if another does.

        Several processes flush the outbox; the marker check alone cannot stop two of them that
        look at the same moment, so each nudge is leased to one process while it is written.
        """
        if not await self.worker.store.try_lease(f"nudge:{nudge.key}", self.worker.name, now, CLAIM):
            return None
        return await self.worker.store.nudge(nudge.key)

    async def _release(self, nudge: Nudge, now: dt.datetime) -> None:
        """Give the nudge back (a lease renewed to end now is free from now on)."""
        await self.worker.store.try_lease(f"nudge:{nudge.key}", self.worker.name, now, dt.timedelta(0))

    async def _postpone(self, nudge: Nudge, exc: Exception, now: dt.datetime) -> None:
        reason = _describe(exc)
        attempts = nudge.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            await self.worker.store.update_nudge(
                nudge.moved(NudgeState.FAILED, f"GitHub refused it {attempts} times; last: {reason}"), now
            )
            self.worker.metrics.nudges.labels("failed").inc()
            log.error("nudge=%s failed for good: %s", nudge.key, reason)
            return
        wait = backoff(attempts, OUTBOX_BACKOFF, self.rng)
        await self.worker.store.postpone_nudge(nudge.key, reason, now + dt.timedelta(seconds=wait))
        log.warning("nudge=%s not posted (%s); retry in %.0fs", nudge.key, reason, wait)

    async def _playbook_or_fail(self, nudge: Nudge, now: dt.datetime) -> Playbook | None:
        """The nudge's playbook; if an author removed it, the nudge fails with that reason."""
        playbook = self.worker.playbooks.get(nudge.playbook_id)
        if playbook is None:
            moved = nudge.moved(NudgeState.FAILED, f"playbook {nudge.playbook_id} is no longer loaded")
            await self.worker.store.update_nudge(moved, now)
        return playbook

    async def post_nudge(self, nudge: Nudge, now: dt.datetime) -> Nudge:
        playbook = await self._playbook_or_fail(nudge, now)
        if playbook is None:
            return nudge
        gh = await self.worker.github.installation(nudge.installation_id)
        owner, repo = _split(nudge.repo)
        url_vars = {"owner": owner, "repo": repo, "n": nudge.pr_number}
        comment = await self._find(gh, nudge, cosign=False)
        if comment is None:
            body = render_nudge(nudge, playbook)
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
        reason = f"posted ({nudge.resolved_by and 'co-signed by ' + nudge.resolved_by or nudge.reason})"
        moved = nudge.moved(NudgeState.POSTED, reason, comment_id=comment["id"], posted_at=now)
        await self.worker.store.update_nudge(moved, now)
        self.worker.metrics.nudges.labels("posted").inc()
        log.info("nudge=%s posted engineer=%s playbook=%s comment=%s", nudge.key, nudge.engineer, nudge.playbook_id, comment["id"])
        return moved

    async def request_cosign(self, nudge: Nudge, now: dt.datetime) -> Nudge:
        playbook = await self._playbook_or_fail(nudge, now)
        if playbook is None:
            return nudge
        gh = await self.worker.github.installation(nudge.installation_id)
        owner, repo = _split(nudge.repo)
        comment = await self._find(gh, nudge, cosign=True)
        if comment is None:
            comment = await gh.post(
                "/repos/{owner}/{repo}/issues/{n}/comments",
                url_vars={"owner": owner, "repo": repo, "n": nudge.pr_number},
                data={"body": render_cosign_request(nudge, playbook)},
            )
        moved = nudge.moved(nudge.state, nudge.reason, cosign_comment_id=comment["id"])
        await self.worker.store.update_nudge(moved, now)
        log.info("nudge=%s co-sign requested from %s", nudge.key, ",".join(nudge.leads))
        return moved

    async def _find(self, gh: Any, nudge: Nudge, *, cosign: bool) -> dict | None:
        """The comment carrying this nudge's marker, if an earlier attempt already posted it."""
        owner, repo = _split(nudge.repo)
        url_vars = {"owner": owner, "repo": repo, "n": nudge.pr_number}
        lists = ["/repos/{owner}/{repo}/issues/{n}/comments"]
        if nudge.thread_id is not None and not cosign:
            lists.insert(0, "/repos/{owner}/{repo}/pulls/{n}/comments")
        for url in lists:
            for comment in await gh.getiter(url + "?per_page=100", url_vars=url_vars):
                if find_marker(comment.get("body") or "", nudge.key, cosign=cosign):
                    return comment
        return None

    # polling -----------------------------------------------------------------------------------
    async def poll_cosigns(self, now: dt.datetime, *, repo: str | None = None, pr_number: int | None = None) -> int:
        """Read the reactions on waiting co-sign requests; returns how many were resolved."""
        resolved = 0
        waiting = await self.worker.store.nudges(
            (NudgeState.AWAITING_COSIGN,), repo=repo, pr_number=pr_number
        )
        for listed in waiting:
            if listed.cosign_comment_id is None:
                continue
            nudge = await self._claim(listed, now)
            if nudge is None or nudge.state != NudgeState.AWAITING_COSIGN:
                continue
            try:
                reactions = await self._reactions(nudge, "issues", nudge.cosign_comment_id)
                moved, ignored = decide_cosign(nudge, reactions, self.worker.org, now)
                await self._record(nudge, "cosign", reactions, ignored, now)
                if moved.state == NudgeState.AWAITING_COSIGN:
                    continue
                resolved += 1
                await self.worker.store.update_nudge(moved, now)
                self.worker.metrics.nudges.labels(moved.state.value).inc()
                log.info("nudge=%s co-sign %s: %s", nudge.key, moved.state.value, moved.reason)
                await self._close_request(moved, now)
                if moved.state == NudgeState.COSIGNED:
                    await self.post_nudge(moved, now)
            except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("nudge=%s co-sign poll failed: %s", nudge.key, _describe(exc))
            finally:
                await self._release(nudge, now)
        return resolved

    async def _close_request(self, nudge: Nudge, now: dt.datetime) -> None:
        """Edit the request into a record of the outcome, which also drops the mention."""
        playbook = self.worker.playbooks.get(nudge.playbook_id)
        if playbook is None or nudge.cosign_comment_id is None:
            return
        gh = await self.worker.github.installation(nudge.installation_id)
        owner, repo = _split(nudge.repo)
        await gh.patch(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            url_vars={"owner": owner, "repo": repo, "id": nudge.cosign_comment_id},
            data={"body": render_cosign_outcome(nudge, playbook)},
        )

    async def poll_feedback(self, now: dt.datetime) -> int:
        """Reactions on posted nudges (the engineer's 👍/👎), for two weeks after posting."""
        added = 0
        for nudge in await self.worker.store.nudges((NudgeState.POSTED,)):
            if nudge.comment_id is None or nudge.posted_at is None:
                continue
            if now - nudge.posted_at > dt.timedelta(days=FEEDBACK_DAYS):
                continue
            kind = "pulls" if nudge.thread_id is not None else "issues"
            try:
                try:
                    reactions = await self._reactions(nudge, kind, nudge.comment_id)
                except BadRequest as exc:
                    if exc.status_code != 404 or kind == "issues":
                        raise
                    reactions = await self._reactions(nudge, "issues", nudge.comment_id)
                added += await self._record(nudge, "nudge", reactions, (), now)
            except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("nudge=%s feedback poll failed: %s", nudge.key, _describe(exc))
        return added

    async def _reactions(self, nudge: Nudge, kind: str, comment_id: int) -> list[Reaction]:
        gh = await self.worker.github.installation(nudge.installation_id)
        owner, repo = _split(nudge.repo)
        items = await gh.getitem(
            "/repos/{owner}/{repo}/" + kind + "/comments/{id}/reactions?per_page=100",
            url_vars={"owner": owner, "repo": repo, "id": comment_id},
        )
        return [
            Reaction(
                user=item["user"]["login"],
                content=item["content"],
                at=dt.datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")),
                reaction_id=item["id"],
            )
            for item in items
            if item.get("user")
        ]

    async def _record(self, nudge: Nudge, target: str, reactions: list[Reaction], ignored, now: dt.datetime) -> int:
        leads = {lead.lower() for lead in nudge.leads} or {
            lead.lower() for lead in self.worker.org.leads_of(nudge.engineer)
        }
        records = []
        for r in reactions:
            login = r.user.lower()
            role = "engineer" if login == nudge.engineer.lower() else "lead" if login in leads else "other"
            counted = r not in ignored if target == "cosign" else role == "engineer"
            records.append(ReactionRecord(nudge.key, target, r.user, r.content, role, counted, now))
        added = await self.worker.store.record_reactions(records)
        if added:
            ignored_now = [f"{r.content} by {r.user} ({r.role})" for r in records if not r.counted]
            log.info("nudge=%s %d new reaction(s) on the %s; not counted: %s", nudge.key, added, target, ", ".join(ignored_now) or "none")
        return added


def _needs_write(nudge: Nudge) -> bool:
    """Whether the outbox still owes GitHub a write for this nudge."""
    if nudge.state == NudgeState.AWAITING_COSIGN:
        return nudge.cosign_comment_id is None
    return nudge.state in (NudgeState.PLANNED, NudgeState.COSIGNED)


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = str(exc) or type(exc).__name__
    return f"{int(status)} {text}" if status is not None else text
