"""Spaced follow-ups: read pushed pull requests' files, decide what each series owes, post it once.

Three steps, each safe to repeat and to run in several processes:

1. The files of every head commit not read yet are listed (all pages, up to GitHub's 3,000-file
   cap) and matched against each playbook's ``applies_to``; only the matched paths are kept.
2. For the engineers concerned, each running series is replayed from the facts on record
   (:mod:`bot.core.reinforce` decides); a follow-up that is due and has a relevant pull request
   is put on record (planned) before anything reaches GitHub, and one that waited too long is
   recorded as dropped. The n-th follow-up of a series has one key, so it is decided once.
3. Planned follow-ups are posted like nudges: one process at a time per follow-up (a named
   lease), and only after looking for the follow-up's keyed marker among the app's own comments
   on the pull request, so a crash or a retry never posts twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from bot.app.config import ConfigHolder
from bot.app.deps import PullKey
from bot.app.jobs.outbox import GITHUB_ERRORS, NudgeClaims, describe, split_repo, write_failure
from bot.app.paused import playbooks_in_force
from bot.app.teams import TeamDirectory
from bot.core.budget import sprint_at
from bot.core.commands import is_muted
from bot.core.nudges import Note, Nudge, NudgeState
from bot.core.playbook import Playbook
from bot.core.reinforce import (
    FOLLOWUP_OUTBOX,
    FollowUp,
    FollowUpContext,
    FollowUpState,
    PullHead,
    after_followup_failure,
    current_series,
    decide_followup,
    observations,
)
from bot.core.relevance import GITHUB_FILES_CAP, PullFiles, files_from_api, relevance
from bot.core.render import find_marker, render_followup
from bot.github import GitHubApp
from bot.store import Store

log = logging.getLogger(__name__)


def relevant_playbooks(
    playbooks: Iterable[Playbook], files: PullFiles
) -> dict[str, tuple[str, ...]]:
    """Playbook id -> matched files, for the playbooks this pull request's files are about."""
    found = {}
    for playbook in playbooks:
        match = relevance(playbook.applies_to, files)
        if match.relevant:
            found[playbook.id] = match.files
    return found


class FollowUps:
    def __init__(
        self,
        *,
        store: Store,
        github: GitHubApp,
        config: ConfigHolder,
        teams: TeamDirectory,
        holder: str,
        rng: random.Random,
        marker_key: bytes,
        bot_login: str,
        claims: NudgeClaims,
        clock: Callable[[], dt.datetime],
    ):
        self.claims = claims
        self.clock = clock
        self.store = store
        self.github = github
        self.config = config
        self.teams = teams
        self.holder = holder
        self.rng = rng
        self.marker_key = marker_key
        self.bot_login = bot_login.lower()
        self._noted: set[tuple[str, str, str]] = set()  # (series, index, outcome) already noted

    async def run(self, now: dt.datetime, touched: Sequence[PullKey] | None = None) -> int:
        """Read files, decide and post; ``touched`` limits the decisions to those PRs' authors."""
        await self.read_files(now)
        await self.decide(now, touched)
        return await self.flush(now)

    # 1. files ------------------------------------------------------------------------------
    async def read_files(self, now: dt.datetime) -> int:
        read = 0
        for head in await self.store.pull_heads(unread=True):  # type: ignore[attr-defined]
            try:
                files = await self._list_files(head)
            except GITHUB_ERRORS as exc:
                log.warning(
                    "pull=%s#%s files not read (%s); tried again later",
                    head.repo,
                    head.number,
                    describe(exc),
                )
                continue
            playbooks = self.config.current.playbooks.playbooks
            # Matching added lines is CPU work on text anyone can write: off the event loop.
            relevant = await asyncio.to_thread(relevant_playbooks, playbooks, files)
            await self.store.record_pull_files(  # type: ignore[attr-defined]
                head.installation_id,
                head.repo,
                head.number,
                head.head_sha,
                file_count=len(files.files),
                complete=files.complete,
                relevant=relevant,
                now=now,
            )
            log.info(
                "pull=%s#%s head=%s files=%d%s relevant=%s",
                head.repo,
                head.number,
                head.head_sha[:7],
                len(files.files),
                "" if files.complete else " (capped)",
                ",".join(sorted(relevant)) or "-",
            )
            read += 1
        return read

    async def _list_files(self, head: PullHead) -> PullFiles:
        gh = await self.github.installation(head.installation_id)
        owner, repo = split_repo(head.repo)
        entries = await gh.getiter(
            "/repos/{owner}/{repo}/pulls/{n}/files?per_page=100",
            url_vars={"owner": owner, "repo": repo, "n": head.number},
        )
        return files_from_api(entries[:GITHUB_FILES_CAP])

    # 2. decisions --------------------------------------------------------------------------
    async def decide(self, now: dt.datetime, touched: Sequence[PullKey] | None = None) -> int:
        posted = await self.store.nudges((NudgeState.POSTED,))
        wanted: set[tuple[int, str]] | None = None
        if touched is not None:
            wanted = set()
            for installation, repo, number in touched:
                for head in await self.store.pull_heads(installation, repo=repo):  # type: ignore[attr-defined]
                    if head.number == number:
                        wanted.add((installation, head.author.lower()))
        groups: dict[tuple[int, str], list[Nudge]] = defaultdict(list)
        for nudge in posted:
            key = (nudge.installation_id, nudge.engineer.lower())
            if wanted is None or key in wanted:
                groups[key].append(nudge)
        made = 0
        by_installation: dict[int, list[tuple[str, list[Nudge]]]] = defaultdict(list)
        for (installation, engineer), nudges in sorted(groups.items()):
            by_installation[installation].append((engineer, nudges))
        for installation, engineers in by_installation.items():
            made += await self._decide_installation(installation, engineers, now)
        return made

    async def _decide_installation(
        self, installation: int, engineers: list[tuple[str, list[Nudge]]], now: dt.datetime
    ) -> int:
        config = self.config.current
        in_force = await playbooks_in_force(
            self.store, config.playbooks.playbooks, installation, now
        )
        signals = await self.store.signals(installation)
        reviews = await self.store.reviews(installation)
        heads = await self.store.pull_heads(installation)  # type: ignore[attr-defined]
        alerts = await self.store.alerts(installation)  # type: ignore[attr-defined]
        followups = await self.store.followups(installation_id=installation)  # type: ignore[attr-defined]
        assignments = await self.store.assignments(installation)
        all_nudges = [n for n in await self.store.nudges() if n.installation_id == installation]
        sprint = sprint_at(now, config.org)
        made = 0
        mutes = await self.store.mutes(installation)  # type: ignore[attr-defined]
        for engineer, nudges in engineers:
            repo = nudges[-1].repo
            teams = await self.teams.teams_for(config.org, installation, repo)
            mine_f = [f for f in followups if f.engineer.lower() == engineer]
            mine_n = [n for n in all_nudges if n.engineer.lower() == engineer]
            for pid in sorted({n.playbook_id for n in nudges}):
                playbook = in_force.get(pid)
                if playbook is None:
                    continue
                series_nudges = [n for n in nudges if n.playbook_id == pid]
                first = min(n.posted_at or n.created_at for n in series_nudges)
                found = observations(
                    playbook,
                    engineer,
                    first,
                    signals=signals,
                    reviews=reviews,
                    heads=heads,
                    alerts=alerts,
                    skip=frozenset((n.repo, n.pr_number) for n in series_nudges),
                )
                series = current_series(playbook, series_nudges, found, mine_f, now)
                ctx = FollowUpContext(
                    playbook=playbook,
                    group=assignments.get((engineer, pid)),
                    role=config.org.role_of(engineer, teams),
                    sprint=sprint,
                    nudges=mine_n,
                    followups=mine_f,
                    muted=is_muted(mutes, engineer, pid),
                )
                decision = decide_followup(series, heads, ctx, now)
                notes: list[Note] = []
                for followup in decision.followups:
                    if await self.store.add_followup(followup, now):  # type: ignore[attr-defined]
                        made += 1
                        mine_f.append(followup)
                        log.info(
                            "followup=%s %s engineer=%s playbook=%s index=%d pr=%s: %s",
                            followup.key,
                            followup.state.value,
                            followup.engineer,
                            pid,
                            followup.index,
                            followup.pr_number,
                            followup.reason,
                        )
                for note in decision.notes:
                    marker = (
                        series.nudge.key if series else "",
                        str(series.next_index if series else 0),
                        note.outcome,
                    )
                    if marker not in self._noted:
                        self._noted.add(marker)
                        notes.append(note)
                if notes:
                    await self.store.add_notes(notes, None, now)
        return made

    # 3. posting ----------------------------------------------------------------------------
    async def flush(self, now: dt.datetime) -> int:
        """Post the follow-ups due, one at a time under a renewed claim; one that fails, for
        whatever reason, is recorded and the ones behind it still go."""
        done = 0
        for followup in await self.store.followups(FOLLOWUP_OUTBOX, due_by=now):  # type: ignore[attr-defined]
            async with self.claims.hold(f"followup:{followup.key}", now) as held:
                if not held:
                    continue  # another process has it
                claimed = await self.store.followup(followup.key)  # type: ignore[attr-defined]
                if claimed is None or claimed.state != FollowUpState.PLANNED:
                    continue
                try:
                    await self.post(claimed, now)
                    done += 1
                except asyncio.CancelledError:
                    interrupted = TimeoutError("interrupted by a shutdown mid-write")
                    await asyncio.shield(self._postpone(claimed, interrupted, self.clock()))
                    raise
                except Exception as exc:  # this follow-up only
                    if not isinstance(exc, GITHUB_ERRORS):
                        log.exception("followup=%s write failed with an error of ours", claimed.key)
                    try:
                        await self._postpone(claimed, exc, self.clock())
                    except Exception:
                        log.exception(
                            "followup=%s failure could not be recorded; retried later", claimed.key
                        )
        return done

    async def _postpone(self, followup: FollowUp, exc: BaseException, seen: dt.datetime) -> None:
        """Record a failed write as the core decides; ``seen`` is when the failure was seen."""
        failure = write_failure(exc)
        reason = failure.reason
        moved, retry_at = after_followup_failure(
            followup, reason, seen, self.rng, kind=failure.kind, unknown=failure.unknown
        )
        if retry_at is None:
            await self.store.update_followup(moved, seen)  # type: ignore[attr-defined]
            log.error("followup=%s failed for good: %s", followup.key, reason)
            return
        await self.store.postpone_followup(followup.key, reason, retry_at)  # type: ignore[attr-defined]
        log.warning(
            "followup=%s not posted (%s); retry at %s", followup.key, reason, retry_at.isoformat()
        )

    async def post(self, followup: FollowUp, now: dt.datetime) -> FollowUp:
        config = self.config.current
        playbook = config.playbooks.get(followup.playbook_id)
        nudge = await self.store.nudge(followup.nudge_key)
        if playbook is None or nudge is None:
            moved = followup.moved(
                FollowUpState.FAILED, "its playbook or nudge is no longer on record"
            )
            await self.store.update_followup(moved, now)  # type: ignore[attr-defined]
            return moved
        gh = await self.github.installation(followup.installation_id)
        owner, repo = split_repo(followup.repo)
        url_vars = {"owner": owner, "repo": repo, "n": followup.pr_number}
        comment = await self._find(gh, followup, url_vars)
        if comment is None:
            body = render_followup(followup, nudge, playbook, config.org, self.marker_key)
            comment = await gh.post(
                "/repos/{owner}/{repo}/issues/{n}/comments", url_vars=url_vars, data={"body": body}
            )
        moved = followup.moved(
            FollowUpState.POSTED, followup.reason, comment_id=comment["id"], posted_at=now
        )
        await self.store.update_followup(moved, now)  # type: ignore[attr-defined]
        log.info(
            "followup=%s posted engineer=%s playbook=%s pr=%s comment=%s",
            followup.key,
            followup.engineer,
            followup.playbook_id,
            followup.pr_number,
            comment["id"],
        )
        return moved

    async def _find(self, gh, followup: FollowUp, url_vars: dict) -> dict | None:
        """The app's own comment carrying this follow-up's marker, if an earlier attempt posted it."""
        for comment in await gh.getiter(
            "/repos/{owner}/{repo}/issues/{n}/comments?per_page=100", url_vars=url_vars
        ):
            author = ((comment.get("user") or {}).get("login") or "").lower()
            if author == self.bot_login and find_marker(
                comment.get("body") or "", followup.key, self.marker_key
            ):
                return comment
        return None
