"""Outcomes: what later reviews show for one engineer and one playbook, before and after a nudge.

An outcome is two tallies, one for the period before the engineer's first (would-be) nudge and
one from that moment to the end of the evaluation window: how many of their pull requests were
reviewed, and how many review comments of the playbook's kind those reviews contained. Nudged and
held-out engineers are measured alike. A held-out engineer's would-be nudge is on record at the
moment the nudge would have gone out, so both groups are picked by the same trigger, and the
regression to the mean a trigger brings (engineers are picked when their comments peak) is the
same on both sides of the comparison.
"""

from __future__ import annotations

import bisect
import datetime as dt
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.events import ReviewComment
from bot.core.holdout import HOLDOUT, NUDGED
from bot.core.nudges import Nudge, NudgeState, Signal


@dataclass(frozen=True, slots=True)
class Review:
    """One review of an engineer's pull request by someone else: a line comment or a review.

    Only people count: reviews by bots, and authors answering on their own pull request, are not
    recorded, as they are not signals either.
    """

    installation_id: int
    repo: str
    pr_number: int
    author: str  # the engineer whose pull request it is
    reviewer: str
    at: dt.datetime
    source: str  # "review_comment" or "review"
    review_id: int  # the review comment's id, or the review's id


def review_of(comment: ReviewComment) -> Review | None:
    """The review a comment (or a submitted review, words or not) stands for, if it counts."""
    if comment.reviewer.is_bot or comment.engineer.is_bot:
        return None
    if comment.reviewer.login.lower() == comment.engineer.login.lower():
        return None
    return Review(
        installation_id=comment.pull.installation_id,
        repo=comment.pull.repo,
        pr_number=comment.pull.number,
        author=comment.engineer.login,
        reviewer=comment.reviewer.login,
        at=comment.at,
        source=comment.source,
        review_id=comment.comment_id,
    )


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def micros(at: dt.datetime) -> int:
    """A moment as whole microseconds since 1970 (UTC): exact, and quick to compare and bisect."""
    return (at - (EPOCH if at.tzinfo is not None else _NAIVE_EPOCH)) // _MICROSECOND


class ReviewIndex:
    """Reviewed pull requests by author (lower-case login), in time order.

    ``measure_outcomes`` builds one from the reviews it is given; a caller that evaluates many
    playbooks over the same reviews (the daily job, the simulation) builds it once and passes it.
    Moments are kept as microseconds since 1970 (:func:`micros`).
    """

    def __init__(self, reviews: Iterable[Review] = ()):
        self._times: dict[str, list[int]] = {}
        self._prs: dict[str, list[int]] = {}  # each pull request as a number (``_ids``)
        self._ids: dict[tuple[str, int], int] = {}  # (repository, PR number) -> its number here
        self._unsorted: set[str] = set()
        self.count = 0
        for review in reviews:
            self.add(review.author, review.at, review.repo, review.pr_number)

    def add(self, author: str, at: dt.datetime, repo: str, pr_number: int) -> None:
        self.extend(author, [micros(at)], [(repo, pr_number)])

    def extend(self, author: str, moments: list[int], prs: list[tuple[str, int]]) -> None:
        """Many reviews of one author at once: ``moments`` in microseconds (:func:`micros`)."""
        if not moments:
            return
        ids = self._ids
        numbers = [ids.setdefault(pr, len(ids)) for pr in prs]
        self.extend_numbered(author, moments, numbers)

    def extend_numbered(self, author: str, moments: list[int], numbers: list[int]) -> None:
        """Like :meth:`extend`, with each pull request already a number unique to it.

        For a caller that numbers its pull requests itself (the simulation); do not mix it
        with :meth:`extend` on one index, whose numbers are its own.
        """
        if not moments:
            return
        key = author.lower()
        if key not in self._times:
            self._times[key], self._prs[key] = [], []
        if _extend_in_order(self._times[key], moments):
            self._unsorted.add(key)
        self._prs[key].extend(numbers)
        self.count += len(moments)

    def of(self, author: str) -> tuple[list[int], list[int]]:
        """The author's review moments (microseconds), in order, and the pull request of each.

        Pull requests are numbers unique within the index: equal numbers, the same pull request.
        """
        key = author.lower()
        if key in self._unsorted:
            pairs = sorted(zip(self._times[key], self._prs[key]), key=lambda pair: pair[0])
            self._times[key] = [at for at, _ in pairs]
            self._prs[key] = [pr for _, pr in pairs]
            self._unsorted.discard(key)
        return self._times.get(key, []), self._prs.get(key, [])

    def __len__(self) -> int:
        return self.count


def _extend_in_order(times: list[int], moments: list[int]) -> bool:
    """Append ``moments`` to ``times``; whether that left ``times`` out of order."""
    out_of_order = bool(times) and moments[0] < times[-1]
    out_of_order = out_of_order or any(map(operator.gt, moments, moments[1:]))
    times.extend(moments)
    return out_of_order


class SignalIndex:
    """One playbook's matching comments by engineer (lower-case login), in time order.

    Like :class:`ReviewIndex`, built once by a caller that measures often. A comment added twice
    (the same repository, source and id) counts once. Moments are kept as microseconds.
    """

    def __init__(self, playbook_id: str, signals: Iterable[Signal] = ()):
        self.playbook_id = playbook_id
        self._times: dict[str, list[int]] = {}
        self._seen: set[tuple[str, str, int]] = set()
        self._unsorted: set[str] = set()
        for signal in signals:
            if signal.playbook_id == playbook_id:
                self.add(
                    signal.engineer, signal.at, (signal.repo, signal.source, signal.comment_id)
                )

    def add(self, engineer: str, at: dt.datetime, key: tuple[str, str, int] | None = None) -> None:
        """One matching comment; ``key`` (repository, source, id) when it may come twice."""
        if key is not None:
            if key in self._seen:
                return
            self._seen.add(key)
        self.add_micros(engineer.lower(), micros(at))

    def add_micros(self, name: str, moment: int) -> None:
        """One matching comment of ``name`` (a lower-case login) at ``moment`` (:func:`micros`)."""
        times = self._times.get(name)
        if times is None:
            times = self._times[name] = []
        elif moment < times[-1]:
            self._unsorted.add(name)
        times.append(moment)

    def extend(self, name: str, moments: list[int]) -> None:
        """Many matching comments of ``name`` (a lower-case login) at once, never added twice."""
        if not moments:
            return
        if _extend_in_order(self._times.setdefault(name, []), moments):
            self._unsorted.add(name)

    def of(self, engineer: str) -> list[int]:
        """The engineer's matching comments, in microseconds, in order."""
        name = engineer.lower()
        if name in self._unsorted:
            self._times[name].sort()
            self._unsorted.discard(name)
        return self._times.get(name, [])


@dataclass(frozen=True)
class Tally:
    """One period of one engineer: reviewed pull requests, and matching comments in them."""

    reviewed_prs: int
    comments: int

    @property
    def rate(self) -> float | None:
        """Matching comments per reviewed pull request (None without a reviewed pull request)."""
        return self.comments / self.reviewed_prs if self.reviewed_prs else None


@dataclass(frozen=True)
class Outcome:
    engineer: str  # lower-case login
    playbook_id: str
    group: str  # "nudged" or "holdout"
    anchor: dt.datetime  # the first (would-be) nudge in the window
    before: Tally
    after: Tally

    def enough(self, min_prs: int) -> bool:
        """Whether both periods have enough reviewed pull requests for a rate worth comparing."""
        return self.before.reviewed_prs >= min_prs and self.after.reviewed_prs >= min_prs

    @property
    def change(self) -> float | None:
        """After minus before, in matching comments per reviewed pull request."""
        if self.before.rate is None or self.after.rate is None:
            return None
        return self.after.rate - self.before.rate


def first_nudges(
    nudges: Iterable[Nudge], playbook_id: str, since: dt.datetime, until: dt.datetime
) -> dict[str, Nudge]:
    """Each engineer's first nudge record of the playbook in ``[since, until)``, whatever its state.

    Every state counts (held out, over budget, vetoed …): the comparison is between the groups the
    engineers were randomized to, not between those the nudge happened to reach, which keeps it
    honest at the price of diluting the effect (intention to treat).
    """
    first: dict[str, Nudge] = {}
    for nudge in nudges:
        if nudge.playbook_id != playbook_id or not since <= nudge.created_at < until:
            continue
        key = nudge.engineer.lower()
        if key not in first or nudge.created_at < first[key].created_at:
            first[key] = nudge
    return first


def measure_outcomes(
    playbook_id: str,
    *,
    reviews: Iterable[Review] | ReviewIndex,
    signals: Iterable[Signal] | SignalIndex,
    nudges: Iterable[Nudge],
    assignments: Mapping[tuple[str, str], str],
    since: dt.datetime,
    until: dt.datetime,
    lookback: dt.timedelta,
    holdout_ends: Mapping[str, dt.datetime] | None = None,
) -> list[Outcome]:
    """Outcomes of every engineer whose first (would-be) nudge of the playbook is in ``[since, until)``.

    ``assignments`` maps (lower-case engineer, playbook id) to the group on record. The period
    before is ``lookback`` long and ends with the first nudge; the period after runs from just
    past it to ``until``. A pull request counts as reviewed in a period when it had at least one
    review in it, so a matching comment always falls on a pull request counted in its period.

    The period before reaches back into the history read at installation (the backfill): its
    reviews and signals are recorded like live ones, so every engineer has a real rate before.
    ``holdout_ends`` maps a lower-case engineer to the moment they left the holdout (it shrank
    when the playbook was kept): their period after ends there, while they were still held out.
    """
    anchors = first_nudges(nudges, playbook_id, since, until)
    if not anchors:
        return []
    if not isinstance(reviews, ReviewIndex):
        reviews = ReviewIndex(
            r for r in reviews if r.author in anchors or r.author.lower() in anchors
        )
    if isinstance(signals, SignalIndex):
        if signals.playbook_id != playbook_id:  # an index cannot be read back as signals
            raise TypeError(
                f"signals is the index of {signals.playbook_id!r}, not of {playbook_id!r}"
            )
    else:
        signals = SignalIndex(
            playbook_id,
            (
                s
                for s in signals
                if s.playbook_id == playbook_id
                and (s.engineer in anchors or s.engineer.lower() in anchors)
            ),
        )

    # The comment that tipped the trigger is written at (or just before) the nudge: it belongs
    # to the period before, so the first moment is "before" and "after" starts past it.
    left, right = bisect.bisect_left, bisect.bisect_right
    span = lookback // _MICROSECOND
    closes = micros(until)
    ends = {e: min(closes, micros(at)) for e, at in (holdout_ends or {}).items()}
    outcomes = []
    for engineer, nudge in sorted(anchors.items()):
        group = assignments.get((engineer, playbook_id)) or (
            HOLDOUT if nudge.state == NudgeState.HELD_OUT else NUDGED
        )
        anchor = nudge.created_at
        at = micros(anchor)
        # A held-out engineer released from the holdout is counted until then.
        end = ends.get(engineer, closes) if group == HOLDOUT else closes
        times, prs_of = reviews.of(engineer)
        said = signals.of(engineer)
        # Before: start <= moment <= anchor; after: anchor < moment < end.
        first, middle = left(times, at - span), right(times, at)
        said_at = right(said, at)
        before = Tally(len(set(prs_of[first:middle])), said_at - left(said, at - span))
        after = Tally(
            len(set(prs_of[middle : max(middle, left(times, end))])),
            max(0, left(said, end) - said_at),
        )
        outcomes.append(
            Outcome(
                engineer=engineer,
                playbook_id=playbook_id,
                group=group,
                anchor=anchor,
                before=before,
                after=after,
            )
        )
    return outcomes
