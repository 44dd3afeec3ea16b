"""The baseline from history: read the installation's last 90 days of reviews, record, never nudge.

Asked for when the app is installed (and for repositories added later) by
:mod:`bot.app.routers.installations`, which only records the request; run from the scheduler's
tick, and on demand by ``python -m bot backfill``. For each repository the installation lists:

1. ``pulls``: ``GET /repos/{owner}/{repo}/pulls?state=all&sort=updated&direction=desc``, page by
   page, stopping at the first pull request last updated before the period read; for each, its
   reviews (``GET .../pulls/{n}/reviews``). The pull requests' authors are kept, since a listed
   review comment does not say whose pull request it is on.
2. ``comments``: ``GET /repos/{owner}/{repo}/pulls/comments?since=…&sort=created&direction=asc``.

Each page becomes reviewed pull requests and signals through :func:`bot.core.backfill.
baseline_from_history` (the live classifier, the live rules for what counts), kept in one
transaction with the cursor past that page: a backfill that crashed, or met a GitHub error it
could not retry through, resumes at the page it stopped on, and a page read twice records
nothing twice. Reads are not paced (GitHub's limits for reads are the primary rate limit); the
client's retries honour ``retry-after`` and the rate-limit reset.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from bot.app.config import ConfigHolder
from bot.app.jobs.outbox import GITHUB_ERRORS, describe, split_repo
from bot.core.backfill import (
    BACKFILL_DAYS,
    Baseline,
    backfill_since,
    baseline_from_history,
    comment_from_api,
    pull_from_api,
    pull_number_of,
    review_from_api,
)
from bot.core.events import PayloadError, PullRequestRef, ReviewComment, parse_time
from bot.github import GitHubApp
from bot.store import Store
from bot.store.backfill import LISTINGS

log = logging.getLogger(__name__)

PER_PAGE = 100
# Pages per scheduler tick: a page of pull requests costs up to 101 requests (its reviews), so
# five pages every 15 minutes stay near 2,000 reads an hour of an installation's 5,000.
PAGES_PER_TICK = 5
PULLS_URL = (
    "/repos/{owner}/{repo}/pulls?state=all&sort=updated&direction=desc"
    f"&per_page={PER_PAGE}&page={{page}}"
)
COMMENTS_URL = (
    "/repos/{owner}/{repo}/pulls/comments?since={since}&sort=created&direction=asc"
    f"&per_page={PER_PAGE}&page={{page}}"
)
REVIEWS_URL = f"/repos/{{owner}}/{{repo}}/pulls/{{number}}/reviews?per_page={PER_PAGE}"
PULL_URL = "/repos/{owner}/{repo}/pulls/{number}"


@dataclass
class BackfillReport:
    """What one run read and recorded, for the log and the command's output."""

    installation_id: int
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    repos: int = 0
    pages: int = 0
    reviews: int = 0  # reviewed comments newly recorded
    signals: int = 0
    skipped: Counter = field(default_factory=Counter)
    finished: bool = False
    error: str | None = None

    def summary(self) -> str:
        period = (
            f"{self.since:%Y-%m-%d} to {self.until:%Y-%m-%d %H:%M}"
            if self.since and self.until
            else "-"
        )
        head = (
            f"installation {self.installation_id}: {self.repos} repositories, {self.pages} pages read, "
            f"{self.reviews} reviewed comments and {self.signals} matching comments newly recorded "
            f"({period})"
        )
        if self.error:
            return head + f"; stopped: {self.error} (run it again to continue where it stopped)"
        return head + ("; finished" if self.finished else "")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BackfillJob:
    """Runs the backfills asked for; each run continues what the store says is left."""

    def __init__(
        self, *, store: Store, github: GitHubApp, config: ConfigHolder, days: int = BACKFILL_DAYS
    ):
        self.store = store
        self.github = github
        self.config = config
        self.days = days

    async def request(
        self,
        installation_id: int,
        now: dt.datetime,
        *,
        repos: tuple[str, ...] = (),
        days: int | None = None,
        fresh: bool = False,
    ) -> bool:
        """Record that an installation (or some of its repositories) is to be read."""
        since = backfill_since(now, self.days if days is None else days)
        return await self.store.request_backfill(  # type: ignore[attr-defined]
            installation_id, since=since, until=now, now=now, repos=repos, fresh=fresh
        )

    async def run_pending(
        self, now: dt.datetime, *, pages: int | None = PAGES_PER_TICK
    ) -> list[BackfillReport]:
        """The unfinished backfills, oldest request first, ``pages`` pages in all (from the tick)."""
        reports = []
        for installation in await self.store.unfinished_backfills():  # type: ignore[attr-defined]
            left = None if pages is None else pages - sum(r.pages for r in reports)
            if left is not None and left <= 0:
                break
            reports.append(await self.run(installation, now, max_pages=left))
        return reports

    async def run(
        self, installation_id: int, now: dt.datetime, *, max_pages: int | None = None
    ) -> BackfillReport:
        """Continue the installation's backfill; at most ``max_pages`` pages when given (the
        scheduler's share of each tick, so the rate limit is left for the live work)."""
        report = BackfillReport(installation_id)
        state = await self.store.backfill_state(installation_id)  # type: ignore[attr-defined]
        if state is None:
            await self.request(installation_id, now)
            state = await self.store.backfill_state(installation_id)  # type: ignore[attr-defined]
        report.since, report.until = state.since, state.until
        try:
            gh = await self.github.installation(installation_id)
            listed = await gh.getiter(
                f"/installation/repositories?per_page={PER_PAGE}", iterable_key="repositories"
            )
            repos = sorted(str(r["full_name"]) for r in listed)
            for repo in repos:
                if state.window(repo, LISTINGS[0]) is None:
                    await self.store.start_backfill_repo(  # type: ignore[attr-defined]
                        installation_id, repo, state.since, state.until, now
                    )
            report.repos = len(repos)
            while True:
                state = await self.store.backfill_state(installation_id)  # type: ignore[attr-defined]
                step = state.progress().next_page(repos, LISTINGS)
                if step is None:
                    break
                if max_pages is not None and report.pages >= max_pages:
                    log.info("backfill %s; continuing on the next tick", report.summary())
                    return report
                repo, listing, page = step
                window = state.window(repo, listing)
                await self._page(
                    gh,
                    installation_id,
                    repo,
                    listing,
                    page,
                    window.since,
                    window.until,
                    report,
                    now,
                )
        except (*GITHUB_ERRORS, PayloadError) as exc:
            report.error = (
                f"GitHub answered {describe(exc)}" if isinstance(exc, GITHUB_ERRORS) else str(exc)
            )
            log.warning("backfill installation=%s stopped: %s", installation_id, report.error)
            await self.store.finish_backfill(installation_id, now, report.error)  # type: ignore[attr-defined]
            return report
        await self.store.finish_backfill(installation_id, now)  # type: ignore[attr-defined]
        report.finished = True
        log.info("backfill %s", report.summary())
        return report

    async def _page(
        self,
        gh,
        installation_id: int,
        repo: str,
        listing: str,
        page: int,
        since: dt.datetime,
        until: dt.datetime,
        report: BackfillReport,
        now: dt.datetime,
    ) -> None:
        owner, name = split_repo(repo)
        url_vars = {"owner": owner, "repo": name, "page": str(page)}
        comments: list[ReviewComment] = []
        pulls: list[PullRequestRef] = []
        opened: dict[int, dt.datetime] = {}
        if listing == "pulls":
            items = await gh.getitem(PULLS_URL, url_vars=url_vars)
            last = len(items) < PER_PAGE
            for item in items:
                if parse_time(item["updated_at"]) < since:
                    last = True  # sorted by last update: everything after is older still
                    break
                pull = pull_from_api(installation_id, repo, item)
                pulls.append(pull)
                opened[pull.number] = parse_time(item["created_at"])
                reviews = await gh.getiter(
                    REVIEWS_URL, url_vars={**url_vars, "number": str(pull.number)}
                )
                comments += [
                    c for c in (review_from_api(r, pull) for r in reviews) if c is not None
                ]
        else:
            items = await gh.getitem(COMMENTS_URL, url_vars={**url_vars, "since": _iso(since)})
            last = len(items) < PER_PAGE
            known = await self.store.pull_authors(installation_id, repo)  # type: ignore[attr-defined]
            for item in items:
                number = pull_number_of(item)
                pull = known.get(number)
                if pull is None:  # not listed among the pulls (updated while we read): ask for it
                    found = await gh.getitem(PULL_URL, url_vars={**url_vars, "number": str(number)})
                    pull = known[number] = pull_from_api(installation_id, repo, found)
                    pulls.append(pull)
                    opened[number] = parse_time(found["created_at"])
                comments.append(comment_from_api(item, pull))
        classifier = self.config.current.playbooks.classifier
        baseline: Baseline = baseline_from_history(comments, classifier, since=since, until=until)
        reviews, signals = await self.store.record_backfill_page(  # type: ignore[attr-defined]
            installation_id,
            repo,
            listing,
            page,
            last=last,
            baseline=baseline,
            pulls=pulls,
            opened=opened,
            now=now,
        )
        report.pages += 1
        report.reviews += reviews
        report.signals += signals
        report.skipped.update(baseline.skipped)
