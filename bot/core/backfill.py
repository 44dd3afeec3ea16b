"""The backfill's core: past review comments and reviews become a baseline, never nudges.

When the app is installed (and on demand, ``python -m bot backfill``) the edge reads the last
``BACKFILL_DAYS`` of review comments and reviews of the installation's repositories, parses
each into a :class:`~bot.core.events.ReviewComment` (as the webhooks are parsed), and hands them
here. Each one that a colleague wrote on someone's pull request is a reviewed pull request
(:func:`~bot.core.outcome.review_of`); each that matches a playbook is a signal, built exactly as
``decide_comment`` builds it. Nothing is decided and nothing is nudged: history is what engineers
did before the app could have influenced them, which is what the kill switch compares with.

Pure and idempotent: a comment read twice (pages overlapping after a crash, a webhook that
arrived while the backfill ran) gives the same records, and the store keeps each once by its
id. ``BackfillProgress`` is the cursor the edge saves after each page, so a backfill that
crashed resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.classify import Classifier
from bot.core.decide import ignore_reason
from bot.core.events import Actor, PayloadError, PullRequestRef, ReviewComment, parse_time
from bot.core.nudges import Signal
from bot.core.outcome import Review, review_of

BACKFILL_DAYS = 90


@dataclass(frozen=True)
class Baseline:
    """What the backfill records: reviewed pull requests and signals, and what it skipped."""

    reviews: tuple[Review, ...] = ()
    signals: tuple[Signal, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> how many
    earliest: dt.datetime | None = None  # the oldest comment read: the record begins there
    # (source, id) of each review -> the short mention-safe text kept of it (evidence_snippet)
    snippets: Mapping[tuple[str, int], str] = field(default_factory=dict)


def backfill_since(now: dt.datetime, days: int = BACKFILL_DAYS) -> dt.datetime:
    """From when history is read: ``days`` before ``now``, from 00:00 UTC that day."""
    start = now - dt.timedelta(days=days)
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def baseline_from_history(
    comments: Iterable[ReviewComment],
    classifier: Classifier,
    *,
    since: dt.datetime,
    until: dt.datetime,
) -> Baseline:
    """The reviews and signals to record for past comments written in ``[since, until)``.

    ``until`` is when live recording began (the install time): later comments came, or will
    come, through the webhooks, and are left to them so that none is decided twice. Comments by
    bots, on bots' pull requests, or by the author on their own pull request count for nothing,
    as they do live. Each comment is kept once, by its source and id.
    """
    reviews: dict[tuple[str, int], Review] = {}
    snippets: dict[tuple[str, int], str] = {}
    signals: dict[tuple[str, int, str], Signal] = {}
    skipped: dict[str, int] = {}
    earliest: dt.datetime | None = None

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for comment in comments:
        if not since <= comment.at < until:
            skip("outside the period read")
            continue
        review = review_of(comment)
        if review is None:
            skip(ignore_reason(comment) or "not a colleague's review")
            continue
        reviews.setdefault((comment.source, comment.comment_id), review)
        snippets.setdefault((comment.source, comment.comment_id), evidence_snippet(comment.body))
        earliest = comment.at if earliest is None or comment.at < earliest else earliest
        if not comment.body.strip():
            continue  # an approval without a word: a reviewed pull request, no signal
        for match in classifier.matches(comment.body, comment.diff_hunk):
            signals.setdefault(
                (comment.source, comment.comment_id, match.playbook_id),
                Signal(
                    installation_id=comment.pull.installation_id,
                    repo=comment.pull.repo,
                    pr_number=comment.pull.number,
                    engineer=comment.engineer.login,
                    playbook_id=match.playbook_id,
                    comment_id=comment.comment_id,
                    source=comment.source,
                    reviewer=comment.reviewer.login,
                    at=comment.at,
                    quote=match.quote,
                    url=comment.url,
                ),
            )
    return Baseline(
        reviews=tuple(sorted(reviews.values(), key=lambda r: (r.at, r.source, r.review_id))),
        signals=tuple(
            sorted(signals.values(), key=lambda s: (s.at, s.source, s.comment_id, s.playbook_id))
        ),
        skipped=skipped,
        earliest=earliest,
        snippets=snippets,
    )


@dataclass(frozen=True)
class BackfillProgress:
    """Where a backfill stands, saved by the edge after every page so a crash loses nothing.

    ``done`` lists the (repository, listing) pairs read to the end; ``cursor`` is the next page
    of the one being read. Listings are GitHub's per-repository review comments and reviews.
    """

    since: dt.datetime
    until: dt.datetime
    done: frozenset[tuple[str, str]] = frozenset()
    cursor: tuple[str, str, int] | None = None  # (repository, listing, next page)

    def next_page(
        self, repos: Iterable[str], listings: Iterable[str] = ("review_comments", "reviews")
    ) -> tuple[str, str, int] | None:
        """The (repository, listing, page) to read next, or None when everything is read."""
        if self.cursor is not None:
            return self.cursor
        for repo in sorted(repos):
            for listing in listings:
                if (repo, listing) not in self.done:
                    return (repo, listing, 1)
        return None

    def read(self, repo: str, listing: str, page: int, *, last: bool) -> BackfillProgress:
        """The progress once ``page`` of ``listing`` in ``repo`` is recorded."""
        if last:
            return BackfillProgress(self.since, self.until, self.done | {(repo, listing)}, None)
        return BackfillProgress(self.since, self.until, self.done, (repo, listing, page + 1))


# Reading GitHub's REST answers -----------------------------------------------------------------

# Of each reviewed comment the backfill read, this many characters are kept (mention-safe), so a
# dry run can classify the history with proposed playbooks; never the whole body.
SNIPPET_CHARS = 300
ELLIPSIS = "\u2026"
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_NEUTRAL = "@\u200b"  # a zero-width space after "@": GitHub renders no mention


def evidence_snippet(body: str) -> str:
    """The short, mention-safe text kept of a reviewed comment (an ellipsis marks a cut)."""
    text = body.strip()
    cut = len(text) > SNIPPET_CHARS
    text = _MENTION.sub(_NEUTRAL, text[:SNIPPET_CHARS])
    return text + ELLIPSIS if cut else text


def snippet_text(snippet: str) -> tuple[str, bool]:
    """What a kept snippet says, for classifying it again, and whether it was cut short."""
    cut = snippet.endswith(ELLIPSIS) and len(snippet.replace(_NEUTRAL, "@")) > SNIPPET_CHARS
    text = snippet.removesuffix(ELLIPSIS) if cut else snippet
    return text.replace(_NEUTRAL, "@"), cut


def pull_from_api(installation_id: int, repo: str, item: Mapping[str, Any]) -> PullRequestRef:
    """A pull request as ``GET /repos/{owner}/{repo}/pulls`` lists it."""
    try:
        author = Actor.from_user(item["user"])
        return PullRequestRef(installation_id, repo, int(item["number"]), author)
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"malformed pull request in the list: {exc}") from exc


def pull_number_of(item: Mapping[str, Any]) -> int:
    """The pull request a listed review comment belongs to (from its ``pull_request_url``)."""
    try:
        return int(str(item["pull_request_url"]).rstrip("/").rsplit("/", 1)[1])
    except (KeyError, IndexError, ValueError) as exc:
        raise PayloadError(f"review comment without a pull request: {exc}") from exc


def comment_from_api(item: Mapping[str, Any], pull: PullRequestRef) -> ReviewComment:
    """A review comment as ``GET /repos/{owner}/{repo}/pulls/comments`` lists it."""
    try:
        reply_to = item.get("in_reply_to_id")
        return ReviewComment(
            pull=pull,
            reviewer=Actor.from_user(item["user"]),
            body=str(item.get("body") or ""),
            at=parse_time(item["created_at"]),
            source="review_comment",
            comment_id=int(item["id"]),
            thread_id=int(reply_to) if reply_to else int(item["id"]),
            url=str(item.get("html_url") or ""),
            path=str(item.get("path") or ""),
            diff_hunk=str(item.get("diff_hunk") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"malformed review comment in the list: {exc}") from exc


def review_from_api(item: Mapping[str, Any], pull: PullRequestRef) -> ReviewComment | None:
    """A submitted review as ``GET .../pulls/{n}/reviews`` lists it; None for a pending one."""
    if not item.get("submitted_at") or item.get("state") == "PENDING" or not item.get("user"):
        return None
    try:
        return ReviewComment(
            pull=pull,
            reviewer=Actor.from_user(item["user"]),
            body=str(item.get("body") or ""),
            at=parse_time(item["submitted_at"]),
            source="review",
            comment_id=int(item["id"]),
            thread_id=None,
            url=str(item.get("html_url") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"malformed review in the list: {exc}") from exc
