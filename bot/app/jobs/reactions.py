"""Reactions, polled: the lead's answer to a co-sign request, and the engineer's 👍/👎 on a nudge.

GitHub sends no webhook for reactions, so waiting co-sign requests and recent nudges are read
with conditional requests (ETag), which cost no rate limit when nothing changed. Who counts,
and as what, is decided in :mod:`bot.core.cosign`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from gidgethub import BadRequest

from bot.app.config import ConfigHolder
from bot.app.jobs import cosign_issues
from bot.app.jobs.outbox import GITHUB_ERRORS, NudgeClaims, Outbox, describe, split_repo
from bot.app.metrics import Metrics
from bot.app.teams import TeamDirectory
from bot.core.cosign import (
    COSIGN_TARGET,
    NUDGE_TARGET,
    Reaction,
    decide_cosign,
    judge_reactions,
    leads_for,
)
from bot.core.events import parse_time
from bot.core.nudges import Nudge, NudgeState
from bot.core.render import render_cosign_outcome
from bot.github import GitHubApp
from bot.store import ReactionRecord, Store

log = logging.getLogger(__name__)

FEEDBACK_DAYS = 14


class ReactionPolls:
    def __init__(
        self,
        *,
        store: Store,
        github: GitHubApp,
        config: ConfigHolder,
        metrics: Metrics,
        teams: TeamDirectory,
        claims: NudgeClaims,
        outbox: Outbox,
    ):
        self.store = store
        self.github = github
        self.config = config
        self.metrics = metrics
        self.teams = teams
        self.claims = claims
        self.outbox = outbox

    async def poll_cosigns(
        self, now: dt.datetime, *, repo: str | None = None, pr_number: int | None = None
    ) -> int:
        """Read the reactions on waiting co-sign requests; returns how many were resolved."""
        resolved = 0
        waiting = await self.store.nudges(
            (NudgeState.AWAITING_COSIGN,), repo=repo, pr_number=pr_number
        )
        for listed in waiting:
            if listed.cosign_comment_id is None:
                continue
            async with self.claims.holding(listed, now) as nudge:
                if nudge is None or nudge.state != NudgeState.AWAITING_COSIGN:
                    continue
                try:
                    resolved += await self._resolve(nudge, now)
                except GITHUB_ERRORS as exc:
                    log.warning("nudge=%s co-sign poll failed: %s", nudge.key, describe(exc))
                except Exception:  # this request only: the others are still polled
                    log.exception("nudge=%s co-sign poll failed with an error of ours", nudge.key)
        return resolved

    async def _resolve(self, nudge: Nudge, now: dt.datetime) -> int:
        org = self.config.current.org
        private = await self.store.cosign_issue(nudge.key)  # type: ignore[attr-defined]
        if private is not None:  # the request is an issue in the org's cosign_repo
            reactions = await cosign_issues.reactions(self.github, nudge, private)
        else:
            reactions = await self._reactions(nudge, "issues", nudge.cosign_comment_id or 0)
        moved, ignored = decide_cosign(nudge, reactions, org, now)
        await self._record(nudge, COSIGN_TARGET, reactions, ignored, now)
        if moved.state == NudgeState.AWAITING_COSIGN:
            return 0
        await self.store.update_nudge(moved, now)
        self.metrics.nudges.labels(moved.state.value).inc()
        log.info("nudge=%s co-sign %s: %s", nudge.key, moved.state.value, moved.reason)
        await self._close_request(moved)
        if moved.state == NudgeState.COSIGNED:
            await self.outbox.post_nudge(moved, now)  # on a failure, the outbox retries it
        return 1

    async def _close_request(self, nudge: Nudge) -> None:
        """Edit the request into a record of the outcome, which also drops the mention."""
        playbook = self.config.current.playbooks.get(nudge.playbook_id)
        if playbook is None or nudge.cosign_comment_id is None:
            return
        private = await self.store.cosign_issue(nudge.key)  # type: ignore[attr-defined]
        if private is not None:
            await cosign_issues.close(self.github, nudge, playbook, private, self.outbox.marker_key)
            return
        gh = await self.github.installation(nudge.installation_id)
        owner, repo = split_repo(nudge.repo)
        await gh.patch(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            url_vars={"owner": owner, "repo": repo, "id": nudge.cosign_comment_id},
            data={"body": render_cosign_outcome(nudge, playbook, self.outbox.marker_key)},
        )

    async def poll_feedback(self, now: dt.datetime) -> int:
        """Reactions on posted nudges (the engineer's 👍/👎), for two weeks after posting."""
        added = 0
        for nudge in await self.store.nudges((NudgeState.POSTED,)):
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
                added += await self._record(nudge, NUDGE_TARGET, reactions, (), now)
            except GITHUB_ERRORS as exc:
                log.warning("nudge=%s feedback poll failed: %s", nudge.key, describe(exc))
            except Exception:
                log.exception("nudge=%s feedback poll failed with an error of ours", nudge.key)
        return added

    async def _reactions(self, nudge: Nudge, kind: str, comment_id: int) -> list[Reaction]:
        gh = await self.github.installation(nudge.installation_id)
        owner, repo = split_repo(nudge.repo)
        items = await gh.getitem(
            "/repos/{owner}/{repo}/" + kind + "/comments/{id}/reactions?per_page=100",
            url_vars={"owner": owner, "repo": repo, "id": comment_id},
        )
        return [
            Reaction(
                user=item["user"]["login"],
                content=item["content"],
                at=parse_time(item["created_at"]),
                reaction_id=item["id"],
            )
            for item in items
            if item.get("user")
        ]

    async def _record(
        self,
        nudge: Nudge,
        target: str,
        reactions: list[Reaction],
        ignored: Sequence[Reaction],
        now: dt.datetime,
    ) -> int:
        org = self.config.current.org
        teams = await self.teams.teams_for(org, nudge.installation_id, nudge.repo)
        verdicts = judge_reactions(nudge, target, reactions, leads_for(nudge, org, teams), ignored)
        records = [
            ReactionRecord(
                nudge.key, target, v.reaction.user, v.reaction.content, v.role, v.counted, now
            )
            for v in verdicts
        ]
        added = await self.store.record_reactions(records)
        if added:
            ignored_now = [f"{r.content} by {r.user} ({r.role})" for r in records if not r.counted]
            log.info(
                "nudge=%s %d new reaction(s) on the %s; not counted: %s",
                nudge.key,
                added,
                target,
                ", ".join(ignored_now) or "none",
            )
        return added
