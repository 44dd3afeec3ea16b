"""The kill switch at the edge: the daily evaluation job, and the playbooks in force per installation.

Once a day (from ``Worker.tick``, with the injected clock) the job records resumes an L&D author
wrote in a playbook, evaluates the playbooks whose window closed (outcomes from the store, the
decision from :mod:`bot.core.evaluate`), and writes each playbook's evidence issue in the org's
``evidence_repo``. Decisions are on record before any GitHub call, as nudges are; an issue that
could not be written is written on the next run. Every decision is also in ``python -m bot report``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp
from gidgethub import GitHubException

from bot.core.evaluate import DEFAULT_RULES, Evaluation, Rules, evaluate_playbook
from bot.core.evidence import describe, evidence_marker, render_evidence, title
from bot.core.killswitch import due_window, in_force, resume
from bot.core.nudges import Nudge
from bot.core.outcome import measure_outcomes
from bot.core.playbook import Playbook
from bot.store import Store
from bot.store.base import EvaluationRecord

if TYPE_CHECKING:
    from bot.app.worker import Worker

log = logging.getLogger(__name__)


async def histories(store: Store, installation_id: int) -> dict[str, list[Evaluation]]:
    """Each playbook's decisions on record for one installation, oldest first."""
    found: dict[str, list[Evaluation]] = defaultdict(list)
    for record in await store.evaluations(installation_id):
        found[record.evaluation.playbook_id].append(record.evaluation)
    return found


async def playbooks_in_force(
    store: Store, playbooks: Sequence[Playbook], installation_id: int, now: dt.datetime
) -> dict[str, Playbook]:
    """The playbooks as one installation's decisions must see them, kill-switch pauses included.

    A pause lifted in the YAML takes effect at once, before the daily job records the resume.
    """
    return in_force({p.id: p for p in playbooks}, await histories(store, installation_id), now)


class EvaluationJob:
    """Runs at most once per ``every``; each run is idempotent, so two processes cannot double it."""

    def __init__(
        self, worker: Worker, *, every: dt.timedelta = dt.timedelta(days=1), rules: Rules = DEFAULT_RULES
    ):
        self.worker = worker
        self.every = every
        self.rules = rules
        self.last_run: dt.datetime | None = None

    async def run_if_due(self, now: dt.datetime) -> list[Evaluation]:
        if self.last_run is not None and now - self.last_run < self.every:
            return []
        self.last_run = now
        return await self.run(now)

    async def run(self, now: dt.datetime) -> list[Evaluation]:
        """Record resumes and decisions due at ``now``; then bring the evidence issues up to date."""
        store = self.worker.store
        nudges = await store.nudges()
        by_installation: dict[int, list[Nudge]] = defaultdict(list)
        for nudge in nudges:
            by_installation[nudge.installation_id].append(nudge)
        added: list[Evaluation] = []
        for installation, mine in sorted(by_installation.items()):
            added += await self._evaluate(installation, mine, now)
        await self.publish(now, by_installation)
        return added

    async def _evaluate(self, installation: int, nudges: list[Nudge], now: dt.datetime) -> list[Evaluation]:
        store = self.worker.store
        recorded = await histories(store, installation)
        added: list[Evaluation] = []
        data = None
        for playbook in self.worker.playbooks.playbooks:
            history = recorded.get(playbook.id, [])
            resumed = resume(playbook, history, installation, now)
            if resumed is not None:
                if await store.add_evaluation(resumed):
                    added.append(resumed)
                    log.info("playbook=%s installation=%s %s", playbook.id, installation, resumed.reason)
                history = [*history, resumed]
            window = due_window(playbook, history, nudges, now)
            if window is None:
                continue
            if data is None:  # read once per installation, and only when a window closed
                data = (
                    await store.reviews(installation),
                    await store.signals(installation),
                    await store.assignments(installation),
                )
            reviews, signals, assignments = data
            outcomes = measure_outcomes(
                playbook.id,
                reviews=reviews,
                signals=signals,
                nudges=nudges,
                assignments=assignments,
                since=window.start,
                until=window.end,
                lookback=dt.timedelta(days=playbook.evaluation_window_days),
            )
            evaluation = evaluate_playbook(
                outcomes,
                installation_id=installation,
                playbook_id=playbook.id,
                window_start=window.start,
                window_end=window.end,
                at=now,
                rules=self.rules,
            )
            if await store.add_evaluation(evaluation):
                added.append(evaluation)
                log.info(
                    "playbook=%s installation=%s evaluated: %s; %s",
                    playbook.id, installation, evaluation.verdict.value, evaluation.reason,
                )
        return added

    # evidence ----------------------------------------------------------------------------------
    async def publish(self, now: dt.datetime, nudges: Mapping[int, list[Nudge]]) -> int:
        """Open or update one issue per playbook for every decision not shown yet; returns writes."""
        repo = self.worker.org.evidence_repo
        if not repo or "/" not in repo:
            return 0
        owner = repo.split("/", 1)[0].lower()
        grouped: dict[tuple[int, str], list[EvaluationRecord]] = defaultdict(list)
        for record in await self.worker.store.evaluations():
            grouped[(record.evaluation.installation_id, record.evaluation.playbook_id)].append(record)
        written = 0
        for (installation, playbook_id), records in sorted(grouped.items()):
            pending = [r for r in records if r.published_at is None]
            if not pending:
                continue
            # An installation writes only to its own organisation's repositories.
            if owner not in {n.repo.split("/", 1)[0].lower() for n in nudges.get(installation, ())}:
                continue
            playbook = self.worker.playbooks.get(playbook_id)
            try:
                number = await self._write_issue(
                    installation, repo, playbook, playbook_id, [r.evaluation for r in records]
                )
            except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("playbook=%s evidence issue not written (%s); trying again tomorrow", playbook_id, exc)
                continue
            await self.worker.store.mark_published([r.seq for r in pending], number, now)
            written += 1
        return written

    async def _write_issue(
        self,
        installation: int,
        repo: str,
        playbook: Playbook | None,
        playbook_id: str,
        history: list[Evaluation],
    ) -> int:
        """Find the playbook's issue by its hidden marker and edit it, or open it; its number."""
        gh = await self.worker.github.installation(installation)
        owner, name = repo.split("/", 1)
        url_vars = {"owner": owner, "repo": name}
        marker = evidence_marker(playbook_id)
        existing = None
        for issue in await gh.getiter("/repos/{owner}/{repo}/issues?state=all&per_page=100", url_vars=url_vars):
            if marker in (issue.get("body") or "") and "pull_request" not in issue:
                existing = issue
                break
        name_shown = playbook.title if playbook else playbook_id
        latest = max(history, key=lambda e: (e.at, e.window_end))
        data = {
            "title": title(name_shown, latest),
            "body": render_evidence(name_shown, history, playbook.source if playbook else ""),
        }
        if existing is None:
            issue = await gh.post("/repos/{owner}/{repo}/issues", url_vars=url_vars, data=data)
            log.info("playbook=%s evidence issue #%s opened in %s", playbook_id, issue["number"], repo)
        else:
            if latest.pauses and existing.get("state") == "closed":
                data["state"] = "open"  # a pause asks for an author's attention again
            issue = await gh.patch(
                "/repos/{owner}/{repo}/issues/{number}",
                url_vars={**url_vars, "number": existing["number"]},
                data=data,
            )
            log.info("playbook=%s evidence issue #%s updated in %s", playbook_id, issue["number"], repo)
        return int(issue["number"])


async def kill_switch_report(store: Store) -> list[str]:
    """The kill switch's part of ``python -m bot report``: the figures the evidence issues show."""
    grouped: dict[tuple[int, str], list[EvaluationRecord]] = defaultdict(list)
    for record in await store.evaluations():
        grouped[(record.evaluation.installation_id, record.evaluation.playbook_id)].append(record)
    lines = ["Kill switch: nudged vs held-out engineers, per playbook"]
    if not grouped:
        lines.append("(no evaluation window has closed yet)")
    several = len({installation for installation, _ in grouped}) > 1
    for (installation, _playbook_id), records in sorted(grouped.items()):
        head, *figures = describe(records[-1].evaluation)
        lines.append(f"{head}" + (f" [installation {installation}]" if several else ""))
        lines += figures
        issue = next((r.issue_number for r in reversed(records) if r.issue_number), None)
        history = ", ".join(f"{r.evaluation.at:%Y-%m-%d} {r.evaluation.verdict.value}" for r in records)
        lines.append(f"  history: {history}" + (f"; evidence issue #{issue}" if issue else ""))
    return lines + [""]
