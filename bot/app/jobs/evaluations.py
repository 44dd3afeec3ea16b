"""The kill switch's daily job: record resumes, evaluate closed windows, write the evidence issues.

Once a day (from the scheduler's tick, with the injected clock) the job records resumes an L&D
author wrote in a playbook, evaluates the playbooks whose window closed (outcomes from the
store, the decision from :mod:`bot.core.evaluate`; the spaced follow-ups on record, so the
evidence can say whether engineers who also got follow-ups improved more), and writes each playbook's evidence issue in
the org's ``evidence_repo`` (where and what: :mod:`bot.core.evidence_issue`). Decisions are on
record before any GitHub call, as nudges are; an issue that could not be written is written on
the next run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping
from functools import partial

from bot.app.config import ConfigHolder
from bot.app.jobs.outbox import GITHUB_ERRORS
from bot.app.paused import histories
from bot.core.evaluate import Evaluation, Rules
from bot.core.evidence import rollout_scope
from bot.core.evidence_issue import evidence_write, find_evidence_issue, may_publish
from bot.core.feedback import FeedbackShare, feedback_shares
from bot.core.killswitch import due_window, evaluate_due, resume
from bot.core.nudges import Nudge
from bot.core.outcome import ReviewIndex
from bot.github import GitHubApp
from bot.store import Store
from bot.store.base import EvaluationRecord

log = logging.getLogger(__name__)


class EvaluationJob:
    """Runs at most once per ``every``; each run is idempotent, so two processes cannot double it."""

    def __init__(
        self,
        *,
        store: Store,
        github: GitHubApp,
        config: ConfigHolder,
        every: dt.timedelta = dt.timedelta(days=1),
        rules: Rules | None = None,
    ):
        self.store = store
        self.github = github
        self.config = config
        self.every = every
        self.rules = rules  # None: the org settings' evaluation rules
        self.last_run: dt.datetime | None = None

    async def run_if_due(self, now: dt.datetime) -> list[Evaluation]:
        if self.last_run is not None and now - self.last_run < self.every:
            return []
        self.last_run = now
        return await self.run(now)

    async def run(self, now: dt.datetime) -> list[Evaluation]:
        """Record resumes and decisions due at ``now``; then bring the evidence issues up to date."""
        by_installation: dict[int, list[Nudge]] = defaultdict(list)
        for nudge in await self.store.nudges():
            by_installation[nudge.installation_id].append(nudge)
        added: list[Evaluation] = []
        for installation, mine in sorted(by_installation.items()):
            added += await self._evaluate(installation, mine, now)
        await self.publish(now, by_installation)
        return added

    async def _evaluate(
        self, installation: int, nudges: list[Nudge], now: dt.datetime
    ) -> list[Evaluation]:
        recorded = await histories(self.store, installation)
        added: list[Evaluation] = []
        data = None
        for playbook in self.config.current.playbooks.playbooks:
            history = recorded.get(playbook.id, [])
            resumed = resume(playbook, history, installation, now)
            if resumed is not None:
                if await self.store.add_evaluation(resumed):
                    added.append(resumed)
                    log.info(
                        "playbook=%s installation=%s %s", playbook.id, installation, resumed.reason
                    )
                history = [*history, resumed]
            window = due_window(playbook, history, nudges, now)
            if window is None:
                continue
            if data is None:  # read once per installation, and only when a window closed
                data = (
                    await self.store.reviews(installation),
                    await self.store.signals(installation),
                    await self.store.assignments(installation),
                    await self.store.followups(installation_id=installation),  # type: ignore[attr-defined]
                )
            reviews, signals, assignments, followups = data
            # The statistics are CPU work: off the loop that answers webhooks.
            org = self.config.current.org
            evaluation = await asyncio.to_thread(
                partial(
                    evaluate_due,
                    playbook,
                    history,
                    nudges=nudges,
                    reviews=ReviewIndex(reviews),
                    signals=signals,
                    assignments=assignments,
                    org=org,
                    installation_id=installation,
                    now=now,
                    rules=self.rules,
                    followups=followups,
                )
            )
            if evaluation is None:
                continue
            if await self.store.add_evaluation(evaluation):
                added.append(evaluation)
                log.info(
                    "playbook=%s installation=%s evaluated: %s; %s",
                    playbook.id,
                    installation,
                    evaluation.verdict.value,
                    evaluation.reason,
                )
        return added

    # evidence ----------------------------------------------------------------------------------
    async def publish(self, now: dt.datetime, nudges: Mapping[int, list[Nudge]]) -> int:
        """Open or update one issue per playbook for every decision not shown yet; returns writes."""
        config = self.config.current
        repo = config.org.evidence_repo
        grouped: dict[tuple[int, str], list[EvaluationRecord]] = defaultdict(list)
        for record in await self.store.evaluations():
            grouped[(record.evaluation.installation_id, record.evaluation.playbook_id)].append(
                record
            )
        written = 0
        reactions = await self.store.reactions()
        for (installation, playbook_id), records in sorted(grouped.items()):
            pending = [r for r in records if r.published_at is None]
            if not pending or not repo:
                continue
            if not may_publish(repo, (n.repo for n in nudges.get(installation, ()))):
                continue
            playbook = config.playbooks.get(playbook_id)
            try:
                number = await self._write_issue(
                    installation,
                    repo,
                    playbook.title if playbook else playbook_id,
                    playbook.source if playbook else "",
                    playbook_id,
                    [r.evaluation for r in records],
                    scope=rollout_scope(playbook.rollout) if playbook else "",
                    feedback=feedback_shares(  # the engineers' 👍/👎 on this installation's nudges
                        reactions,
                        {n.key: n.playbook_id for n in nudges.get(installation, ())},
                        threshold=config.org.feedback_threshold,
                        minimum=config.org.feedback_min_reactions,
                    ).get(playbook_id),
                )
            except GITHUB_ERRORS as exc:
                log.warning(
                    "playbook=%s evidence issue not written (%s); trying again tomorrow",
                    playbook_id,
                    exc,
                )
                continue
            await self.store.mark_published([r.seq for r in pending], number, now)
            written += 1
        return written

    async def _write_issue(
        self,
        installation: int,
        repo: str,
        shown: str,
        source: str,
        playbook_id: str,
        history: list[Evaluation],
        scope: str = "",
        feedback: FeedbackShare | None = None,
    ) -> int:
        """Find the playbook's issue by its hidden marker and edit it, or open it; its number."""
        gh = await self.github.installation(installation)
        owner, name = repo.split("/", 1)
        url_vars = {"owner": owner, "repo": name}
        listed = await gh.getiter(
            "/repos/{owner}/{repo}/issues?state=all&per_page=100", url_vars=url_vars
        )
        existing = find_evidence_issue(playbook_id, listed)
        data = evidence_write(shown, history, source, existing, scope, feedback)
        if existing is None:
            issue = await gh.post("/repos/{owner}/{repo}/issues", url_vars=url_vars, data=data)
            log.info(
                "playbook=%s evidence issue #%s opened in %s", playbook_id, issue["number"], repo
            )
        else:
            issue = await gh.patch(
                "/repos/{owner}/{repo}/issues/{number}",
                url_vars={**url_vars, "number": existing["number"]},
                data=data,
            )
            log.info(
                "playbook=%s evidence issue #%s updated in %s", playbook_id, issue["number"], repo
            )
        return int(issue["number"])
