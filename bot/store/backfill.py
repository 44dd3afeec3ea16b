"""The store's part for the baseline from history, written once for SQLite and PostgreSQL.

:class:`BackfillStore` is mixed into :class:`bot.store.sql.SqlStore`: one backfill per
installation (asked for at installation or on demand), its progress per repository and listing,
saved in the same transaction as each page's reviews and signals so a crashed backfill resumes
where it stopped and records nothing twice, and the reviewed comments' short snippets a dry run
reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.backfill import BackfillProgress, Baseline
from bot.core.events import PullRequestRef
from bot.core.outcome import Review
from bot.store.dialect import Dialect
from bot.store.drivers import Driver
from bot.store.rows import INSERT_REVIEW, INSERT_SIGNAL, review_row, signal_row

ts = Dialect.timestamp

LISTINGS = ("pulls", "comments")  # pull requests with their reviews; then the review comments


@dataclass(frozen=True)
class RepoWindow:
    """One repository's part of a backfill: the period it reads, and where it stands."""

    repo: str
    listing: str
    since: dt.datetime
    until: dt.datetime
    next_page: int
    done: bool


@dataclass(frozen=True)
class BackfillState:
    installation_id: int
    since: dt.datetime
    until: dt.datetime
    requested_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    earliest: dt.datetime | None
    last_error: str | None
    pages: tuple[RepoWindow, ...] = ()

    def progress(self) -> BackfillProgress:
        """The core's cursor over what is on record."""
        done = frozenset((p.repo, p.listing) for p in self.pages if p.done)
        cursor = next(
            (
                (p.repo, p.listing, p.next_page)
                for p in self.pages
                if not p.done and p.next_page > 1
            ),
            None,
        )
        return BackfillProgress(self.since, self.until, done, cursor)

    def window(self, repo: str, listing: str) -> RepoWindow | None:
        return next((p for p in self.pages if p.repo == repo and p.listing == listing), None)


@dataclass(frozen=True)
class ReviewedComment:
    """A reviewed pull request on record, with the snippet of its words when the backfill read it."""

    review: Review
    snippet: str | None


class BackfillStore:
    driver: Driver

    async def request_backfill(
        self,
        installation_id: int,
        *,
        since: dt.datetime,
        until: dt.datetime,
        now: dt.datetime,
        repos: Sequence[str] = (),
        fresh: bool = False,
    ) -> bool:
        """Ask for a backfill; True when one was not already on record (or ``fresh`` restarts it).

        With ``repos`` (repositories added to an installation later) only those are read, over
        their own period, and a finished backfill is reopened for them.
        """
        async with self.driver.transaction() as tx:
            if fresh:
                await tx.execute(
                    "DELETE FROM backfill_pages WHERE installation_id = ?", (installation_id,)
                )
                await tx.execute(
                    "DELETE FROM backfills WHERE installation_id = ?", (installation_id,)
                )
            rows = await tx.fetch(
                "INSERT INTO backfills (installation_id, since, until, requested_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                (installation_id, since, until, now),
            )
            if repos:
                for repo in repos:
                    for listing in LISTINGS:
                        await tx.execute(
                            "INSERT INTO backfill_pages (installation_id, repo, listing, next_page,"
                            " done, since, until, updated_at) VALUES (?, ?, ?, 1, 0, ?, ?, ?)"
                            " ON CONFLICT DO NOTHING",
                            (installation_id, repo, listing, since, until, now),
                        )
                await tx.execute(
                    "UPDATE backfills SET finished_at = NULL WHERE installation_id = ?",
                    (installation_id,),
                )
        return bool(rows) or fresh

    async def backfill_state(self, installation_id: int) -> BackfillState | None:
        rows = await self.driver.fetch(
            "SELECT * FROM backfills WHERE installation_id = ?", (installation_id,)
        )
        if not rows:
            return None
        [r] = rows
        pages = await self.driver.fetch(
            "SELECT * FROM backfill_pages WHERE installation_id = ? ORDER BY repo, listing",
            (installation_id,),
        )
        return BackfillState(
            installation_id,
            ts(r["since"]),  # type: ignore[arg-type]
            ts(r["until"]),  # type: ignore[arg-type]
            ts(r["requested_at"]),  # type: ignore[arg-type]
            ts(r["started_at"]),
            ts(r["finished_at"]),
            ts(r["earliest"]),
            r["last_error"],
            tuple(
                RepoWindow(
                    p["repo"],
                    p["listing"],
                    ts(p["since"]),
                    ts(p["until"]),  # type: ignore[arg-type]
                    p["next_page"],
                    bool(p["done"]),
                )
                for p in pages
            ),
        )

    async def unfinished_backfills(self) -> list[int]:
        """Installations whose backfill was asked for and is not finished, oldest request first."""
        rows = await self.driver.fetch(
            "SELECT installation_id FROM backfills WHERE finished_at IS NULL"
            " ORDER BY requested_at, installation_id"
        )
        return [r[0] for r in rows]

    async def start_backfill_repo(
        self,
        installation_id: int,
        repo: str,
        since: dt.datetime,
        until: dt.datetime,
        now: dt.datetime,
    ) -> None:
        """Put a repository the installation lists on record, unread, if it is not yet."""
        async with self.driver.transaction() as tx:
            for listing in LISTINGS:
                await tx.execute(
                    "INSERT INTO backfill_pages (installation_id, repo, listing, next_page, done,"
                    " since, until, updated_at) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (installation_id, repo, listing, since, until, now),
                )
            await tx.execute(
                "UPDATE backfills SET started_at = COALESCE(started_at, ?) WHERE installation_id = ?",
                (now, installation_id),
            )

    async def record_backfill_page(
        self,
        installation_id: int,
        repo: str,
        listing: str,
        page: int,
        *,
        last: bool,
        baseline: Baseline,
        pulls: Iterable[PullRequestRef] = (),
        opened: dict[int, dt.datetime] | None = None,
        now: dt.datetime,
    ) -> tuple[int, int]:
        """Keep one page's reviews, signals and pull requests and move the cursor past it, together.

        Returns how many reviews and signals were new. A page read again (after a crash between reading it
        and this call) adds nothing: every record is kept once by its key.
        """
        opened = opened or {}
        added = 0
        async with self.driver.transaction() as tx:
            for pull in pulls:
                await tx.execute(
                    "INSERT INTO pulls (installation_id, repo, number, author, opened_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        pull.installation_id,
                        pull.repo,
                        pull.number,
                        pull.author.login,
                        opened.get(pull.number),
                    ),
                )
            for r in baseline.reviews:
                rows = await tx.fetch(
                    INSERT_REVIEW,
                    review_row(r, baseline.snippets.get((r.source, r.review_id))),
                )
                if rows:
                    added += 1
                else:  # a webhook kept it first: add the words it could not keep
                    await tx.execute(
                        "UPDATE reviews SET snippet = ? WHERE installation_id = ? AND repo = ?"
                        " AND source = ? AND review_id = ? AND snippet IS NULL",
                        (
                            baseline.snippets.get((r.source, r.review_id)),
                            r.installation_id,
                            r.repo,
                            r.source,
                            r.review_id,
                        ),
                    )
            signals = 0
            for s in baseline.signals:
                signals += len(
                    await tx.fetch(
                        INSERT_SIGNAL + " RETURNING 1",
                        signal_row(s),
                    )
                )
            await tx.execute(
                "UPDATE backfill_pages SET next_page = ?, done = ?, updated_at = ?"
                " WHERE installation_id = ? AND repo = ? AND listing = ?",
                (page + 1, 1 if last else 0, now, installation_id, repo, listing),
            )
            if baseline.earliest is not None:
                await tx.execute(
                    "UPDATE backfills SET earliest = ? WHERE installation_id = ?"
                    " AND (earliest IS NULL OR earliest > ?)",
                    (baseline.earliest, installation_id, baseline.earliest),
                )
        return added, signals

    async def finish_backfill(
        self, installation_id: int, now: dt.datetime, error: str | None = None
    ) -> None:
        """Finished (``error`` None), or stopped with why; a stopped one resumes on the next run."""
        if error is None:
            await self.driver.execute(
                "UPDATE backfills SET finished_at = ?, last_error = NULL WHERE installation_id = ?",
                (now, installation_id),
            )
        else:
            await self.driver.execute(
                "UPDATE backfills SET last_error = ? WHERE installation_id = ?",
                (error, installation_id),
            )

    async def recorded_since(self, installation_id: int) -> dt.datetime | None:
        """Since when the installation's review comments are on record, if a backfill was asked
        for: the oldest comment it read, or (none read yet, or none there) when it was asked."""
        rows = await self.driver.fetch(
            "SELECT earliest, until FROM backfills WHERE installation_id = ?", (installation_id,)
        )
        if not rows:
            return None
        earliest, until = ts(rows[0]["earliest"]), ts(rows[0]["until"])
        return min(earliest, until) if earliest is not None and until is not None else until

    async def pull_authors(self, installation_id: int, repo: str) -> dict[int, PullRequestRef]:
        """The pull requests of ``repo`` on record, by number (authors as recorded)."""
        from bot.core.events import Actor

        rows = await self.driver.fetch(
            "SELECT number, author FROM pulls WHERE installation_id = ? AND repo = ?",
            (installation_id, repo),
        )
        return {
            r["number"]: PullRequestRef(
                installation_id, repo, r["number"], Actor.from_user({"login": r["author"]})
            )
            for r in rows
        }

    async def reviewed_comments(
        self, installation_id: int | None = None, since: dt.datetime | None = None
    ) -> list[ReviewedComment]:
        """Reviewed pull requests on record, oldest first, with their snippets where kept."""
        clauses, args = [], []
        if installation_id is not None:
            clauses.append("installation_id = ?")
            args.append(installation_id)
        if since is not None:
            clauses.append("at >= ?")
            args.append(since)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.driver.fetch(
            f"SELECT * FROM reviews{where} ORDER BY at, source, review_id", args
        )
        return [
            ReviewedComment(
                Review(
                    r["installation_id"],
                    r["repo"],
                    r["pr_number"],
                    r["author"],
                    r["reviewer"],
                    ts(r["at"]),
                    r["source"],
                    r["review_id"],  # type: ignore[arg-type]
                ),
                r["snippet"],
            )
            for r in rows
        ]


async def known_installations(store) -> list[int]:
    """Installations the store has heard of: a backfill asked for, a review or a signal kept."""
    rows = await store.driver.fetch(
        "SELECT installation_id FROM backfills UNION SELECT installation_id FROM reviews"
        " UNION SELECT installation_id FROM signals ORDER BY 1"
    )
    return [r[0] for r in rows]
