"""Spaced follow-ups after a nudge, scheduled with FSRS from what later reviews show.

Theory of operation
-------------------

A posted nudge starts a *series* for one engineer and one playbook. The series is a single FSRS
card (the ``fsrs`` package, its default parameters, no optimiser): the nudge itself is the first
study of it (rated Good). After that, every *observation* is a review of the card:

* a later pull request of the engineer that touches code the playbook is about (see
  :mod:`bot.core.relevance`) and was reviewed: **Again** when a review comment on it matched the
  playbook, **Good** when its reviews were clean;
* a code scanning alert on one of the engineer's pull requests whose rule the playbook names
  (by rule id or CWE): **Again** when it was raised or reopened, **Good** when it was fixed; an
  alert a person dismissed counts for nothing.

FSRS turns those ratings into the card's next due time: lapses bring it closer, clean reviews
push it further out. When the card is due, the next relevant pull request the engineer pushes
gets a short follow-up comment. A series ends after ``clean_reviews_to_end`` clean reviews in a
row, after ``max_followups`` follow-ups, when a due follow-up found no relevant pull request for
``wait_days`` (it is dropped and recorded), or when a new nudge starts a new series.

Everything is replayed from facts on record (nudges, signals, reviews, the pull requests' files,
alerts, follow-ups) and an injected ``now``; FSRS is called with explicit review times and no
fuzzing, so the same facts always give the same schedule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from fsrs import Card, Rating, Scheduler, State

from bot.core.budget import Sprint
from bot.core.evaluate import GroupChange, ReinforcementEffect, Rules, counts
from bot.core.events import PayloadError, parse_time, pull_request_ref
from bot.core.holdout import HOLDOUT, NUDGED
from bot.core.nudges import CHARGED_STATES, Note, Nudge, NudgeState, Signal
from bot.core.org import Role
from bot.core.outbox import FailedForGood, FailureKind, next_attempt
from bot.core.outcome import Outcome, Review
from bot.core.playbook import Playbook, Reinforcement
from bot.core.relevance import LANGUAGES, alert_matches
from bot.core.retry import RetryPolicy

AGAIN = "again"
GOOD = "good"
_RATINGS = {AGAIN: Rating.Again, GOOD: Rating.Good}


class FollowUpState(StrEnum):
    PLANNED = "planned"  # decided, to be posted (the follow-up outbox)
    POSTED = "posted"
    DROPPED = "dropped"  # due, but no relevant pull request came within the wait
    FAILED = "failed"  # GitHub refused it for good


# Follow-ups that used, or reserved, the engineer's attention in a sprint.
CHARGED_FOLLOWUPS = frozenset({FollowUpState.PLANNED, FollowUpState.POSTED})
FOLLOWUP_OUTBOX = (FollowUpState.PLANNED,)
MAX_FOLLOWUP_ATTEMPTS = 8
FOLLOWUP_RETRY = RetryPolicy(base_seconds=60, cap_seconds=3600)


@dataclass(frozen=True)
class FollowUp:
    key: str
    installation_id: int
    repo: str
    pr_number: int  # the pull request it is (or was to be) posted on; the nudge's when dropped
    engineer: str
    playbook_id: str
    nudge_key: str  # the series it belongs to
    index: int  # 1 for the first follow-up of the series
    state: FollowUpState
    reason: str
    due_at: dt.datetime
    created_at: dt.datetime
    minutes: int = 1
    sprint: int = 0
    files: tuple[str, ...] = ()  # the matched files of the pull request
    comment_id: int | None = None
    posted_at: dt.datetime | None = None
    attempts: int = 0

    def moved(self, state: FollowUpState, reason: str, **changes: object) -> FollowUp:
        return replace(self, state=state, reason=reason, **changes)  # type: ignore[arg-type]


def followup_key(nudge_key: str, index: int) -> str:
    """The n-th follow-up of a series has one key, however often it is decided (exactly once)."""
    return hashlib.sha256(f"followup|{nudge_key}|{index}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PullHead:
    """One head commit of a pull request as the bot saw it, and what its files were about."""

    installation_id: int
    repo: str
    number: int
    author: str
    head_sha: str
    head_ref: str
    seen_at: dt.datetime
    files_read_at: dt.datetime | None = None
    file_count: int = 0
    complete: bool = True  # False when GitHub's 3,000-file cap cut the list short
    relevant: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # playbook -> files
    closed: bool = False


@dataclass(frozen=True)
class AlertEvent:
    """A ``code_scanning_alert`` delivery on one of an engineer's pull requests."""

    installation_id: int
    repo: str
    pr_number: int
    engineer: str
    alert_number: int
    rule_id: str
    tags: tuple[str, ...]
    action: str  # created · reopened · fixed · closed_by_user (and the other GitHub actions)
    at: dt.datetime


ALERT_LAPSES = frozenset({"created", "reopened", "appeared_in_branch"})
ALERT_FIXES = frozenset({"fixed"})
ALERT_DISMISSALS = frozenset({"closed_by_user"})


@dataclass(frozen=True)
class Observation:
    """One review of the card: when, how it went, and what showed it."""

    at: dt.datetime
    rating: str  # AGAIN or GOOD
    repo: str
    pr_number: int
    source: str  # comment · review · alert · alert_fixed
    detail: str = ""


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def observations(
    playbook: Playbook,
    engineer: str,
    after: dt.datetime,
    *,
    signals: Iterable[Signal],
    reviews: Iterable[Review],
    heads: Iterable[PullHead],
    alerts: Iterable[AlertEvent] = (),
    skip: frozenset[tuple[str, int]] = frozenset(),
) -> list[Observation]:
    """The engineer's reviews of the card after ``after``, oldest first.

    A pull request counts once: Again at its first matching comment, else Good at its first
    review. Only pull requests whose files were read and match the playbook count; ``skip``
    leaves out the nudge's own pull request, where the nudge was the lesson.
    """
    who = engineer.lower()
    relevant = {
        (h.repo, h.number) for h in heads if h.author.lower() == who and playbook.id in h.relevant
    } - skip
    lapses: dict[tuple[str, int], Signal] = {}
    for s in signals:
        pr = (s.repo, s.pr_number)
        mine = s.playbook_id == playbook.id and s.engineer.lower() == who
        if mine and s.at > after and pr in relevant and (pr not in lapses or s.at < lapses[pr].at):
            lapses[pr] = s
    first_review: dict[tuple[str, int], Review] = {}
    for r in reviews:
        pr = (r.repo, r.pr_number)
        earliest = pr not in first_review or r.at < first_review[pr].at
        if r.author.lower() == who and r.at > after and pr in relevant and earliest:
            first_review[pr] = r
    found = [
        Observation(s.at, AGAIN, s.repo, s.pr_number, "comment", f"{s.reviewer}: {s.quote}")
        for s in lapses.values()
    ]
    found += [
        Observation(r.at, GOOD, r.repo, r.pr_number, "review", f"reviewed by {r.reviewer}")
        for pr, r in first_review.items()
        if pr not in lapses
    ]
    found += alert_observations(playbook, engineer, after, alerts)
    return sorted(found, key=lambda o: (o.at, o.repo, o.pr_number, o.source))


def alert_observations(
    playbook: Playbook, engineer: str, after: dt.datetime, alerts: Iterable[AlertEvent]
) -> list[Observation]:
    """Code scanning alerts of the playbook's rules: raised → Again, fixed → Good, dismissed → none."""
    who = engineer.lower()
    by_alert: dict[tuple[str, int], list[AlertEvent]] = {}
    for a in alerts:
        if a.engineer.lower() == who and alert_matches(playbook.applies_to, a.rule_id, a.tags):
            by_alert.setdefault((a.repo, a.alert_number), []).append(a)
    found = []
    for (repo, number), events in by_alert.items():
        events.sort(key=lambda a: a.at)
        if events[-1].action in ALERT_DISMISSALS:
            continue  # a person judged it not worth fixing: neither a lapse nor a success
        for a in events:
            if a.at <= after:
                continue
            if a.action in ALERT_LAPSES:
                found.append(
                    Observation(
                        a.at, AGAIN, repo, a.pr_number, "alert", f"alert {number}: {a.rule_id}"
                    )
                )
            elif a.action in ALERT_FIXES:
                found.append(
                    Observation(
                        a.at, GOOD, repo, a.pr_number, "alert_fixed", f"alert {number} fixed"
                    )
                )
    return found


# ----------------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class Step:
    """One point of a series: the nudge, a review of the card, a follow-up, or a drop."""

    at: dt.datetime
    kind: str  # nudge · review · followup · dropped
    rating: str | None = None
    due: dt.datetime | None = None  # the card's due time after this step
    stability: float | None = None  # FSRS stability in days after this step
    detail: str = ""


@dataclass(frozen=True)
class Series:
    nudge: Nudge
    steps: tuple[Step, ...]
    due_at: dt.datetime | None  # when the next follow-up is due; None once ended
    followups: int  # follow-up records of the series so far (any state)
    sent: int  # follow-ups posted or about to be
    clean_run: int  # clean reviews in a row, the latest last
    ended: str | None  # why the series ended, or None while it runs

    @property
    def next_index(self) -> int:
        return self.followups + 1

    def overdue(self, settings: Reinforcement, now: dt.datetime) -> bool:
        """Due, and it waited past ``wait_days`` for a relevant pull request."""
        return self.due_at is not None and now >= self.due_at + dt.timedelta(
            days=settings.wait_days
        )


def scheduler_for(settings: Reinforcement) -> Scheduler:
    """FSRS with its default parameters; days-long steps only, no fuzz (so replays agree)."""
    return Scheduler(
        desired_retention=settings.desired_retention,
        learning_steps=(),
        relearning_steps=(),
        enable_fuzzing=False,
    )


def _card_id(nudge_key: str) -> int:
    return int(nudge_key[:12], 16)  # stable, never the wall clock


def replay(
    playbook: Playbook,
    nudge: Nudge,
    found: Sequence[Observation],
    followups: Sequence[FollowUp],
    now: dt.datetime,
    *,
    until: dt.datetime | None = None,
) -> Series:
    """The series a posted nudge started, as the facts up to ``now`` (and before ``until``) show."""
    settings = playbook.reinforcement
    scheduler = scheduler_for(settings)
    start = _utc(nudge.posted_at or nudge.created_at)
    end = min(_utc(now), _utc(until)) if until is not None else _utc(now)
    card = Card(card_id=_card_id(nudge.key), state=State.Learning, due=start)
    card, _log = scheduler.review_card(card, Rating.Good, review_datetime=start)
    steps = [Step(start, "nudge", GOOD, card.due, card.stability, f"nudge on #{nudge.pr_number}")]
    mine = sorted(
        (f for f in followups if f.nudge_key == nudge.key),
        key=lambda f: (f.index, f.created_at),
    )
    events: list[tuple[dt.datetime, int, object]] = [
        (_utc(o.at), 1, o) for o in found if start < _utc(o.at) <= end
    ]
    events += [
        (_utc(f.posted_at or f.created_at), 0, f)
        for f in mine
        if _utc(f.posted_at or f.created_at) <= end
    ]
    events.sort(key=lambda e: (e[0], e[1]))
    clean_run = sent = records = 0
    last_sent: dt.datetime | None = None
    ended: str | None = None
    for at, _order, item in events:
        if ended:
            break
        if isinstance(item, Observation):
            card, _log = scheduler.review_card(card, _RATINGS[item.rating], review_datetime=at)
            clean_run = clean_run + 1 if item.rating == GOOD else 0
            steps.append(
                Step(
                    at,
                    "review",
                    item.rating,
                    card.due,
                    card.stability,
                    f"#{item.pr_number} {item.source}",
                )
            )
            if clean_run >= settings.clean_reviews_to_end:
                ended = f"{clean_run} clean reviews in a row"
            continue
        assert isinstance(item, FollowUp)
        records += 1
        if item.state == FollowUpState.DROPPED:
            steps.append(Step(at, "dropped", None, None, card.stability, item.reason))
            ended = f"follow-up {item.index} dropped: {item.reason}"
        elif item.state in CHARGED_FOLLOWUPS:
            sent += 1
            last_sent = at
            steps.append(
                Step(at, "followup", None, card.due, card.stability, f"on #{item.pr_number}")
            )
            if sent >= settings.max_followups:
                ended = f"{sent} follow-ups sent, the most this playbook sends"
        else:
            steps.append(Step(at, "failed", None, card.due, card.stability, item.reason))
    due: dt.datetime | None = None
    if ended is None:
        due = card.due
        if last_sent is not None and card.last_review is not None and last_sent >= card.last_review:
            # Nothing reviewed since the last follow-up: the same interval again from it.
            due = last_sent + (card.due - card.last_review)
    return Series(nudge, tuple(steps), due, records, sent, clean_run, ended)


def current_series(
    playbook: Playbook,
    nudges: Sequence[Nudge],
    found: Sequence[Observation],
    followups: Sequence[FollowUp],
    now: dt.datetime,
) -> Series | None:
    """The running series of one engineer and playbook: the latest posted nudge's.

    An earlier nudge's series ends where a later nudge of the same playbook was posted.
    """
    posted = sorted(
        (
            n
            for n in nudges
            if n.playbook_id == playbook.id and n.state == NudgeState.POSTED and n.posted_at
        ),
        key=lambda n: n.posted_at,  # type: ignore[arg-type, return-value]
    )
    if not posted:
        return None
    return replay(playbook, posted[-1], found, followups, now)


def all_series(
    playbook: Playbook,
    nudges: Sequence[Nudge],
    found: Sequence[Observation],
    followups: Sequence[FollowUp],
    now: dt.datetime,
) -> list[Series]:
    """Every series of one engineer and playbook, oldest first (for the report and the demo)."""
    posted = sorted(
        (
            n
            for n in nudges
            if n.playbook_id == playbook.id and n.state == NudgeState.POSTED and n.posted_at
        ),
        key=lambda n: n.posted_at,  # type: ignore[arg-type, return-value]
    )
    out = []
    for i, nudge in enumerate(posted):
        until = posted[i + 1].posted_at if i + 1 < len(posted) else None
        series = replay(playbook, nudge, found, followups, now, until=until)
        if until is not None and series.ended is None:
            series = replace(series, ended="a new nudge started a new series", due_at=None)
        out.append(series)
    return out


# --------------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class FollowUpContext:
    """What a follow-up decision needs besides the series: gates and the budget."""

    playbook: Playbook  # as in force (kill-switch pauses applied)
    group: str | None  # the engineer's holdout group for the playbook, if on record
    role: Role
    sprint: Sprint
    nudges: Sequence[Nudge] = ()  # the engineer's nudges (for the budget)
    followups: Sequence[FollowUp] = ()  # the engineer's follow-ups (for the budget)
    muted: bool = False  # the engineer asked not to get this playbook's notes (when muting exists)


@dataclass
class FollowUpDecision:
    followups: list[FollowUp] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def due_because(series: Series) -> str:
    """What set the series' due time, in words: the latest review of the card, or the nudge."""
    reviews = [s for s in series.steps if s.kind == "review"]
    if not reviews:
        return "the first reminder after the nudge"
    last = reviews[-1]
    pull = last.detail.split(" ", 1)[0]  # "#12"
    if last.rating == AGAIN:
        return f"a matching comment on {pull} on {last.at:%Y-%m-%d} brought it closer"
    run = series.clean_run
    return (
        f"{run} clean review{'' if run == 1 else 's'} in a row, the latest on {pull}, pushed it out"
    )


def candidate_pull(
    series: Series, heads: Iterable[PullHead], playbook_id: str, now: dt.datetime
) -> PullHead | None:
    """The pull request a due follow-up goes to: the engineer's latest relevant push since it fell due."""
    if series.due_at is None:
        return None
    who = series.nudge.engineer.lower()
    nudged_on = (series.nudge.repo, series.nudge.pr_number)
    fitting = [
        h
        for h in heads
        if h.author.lower() == who
        and (h.repo, h.number) != nudged_on  # a later pull request, not the one the nudge is on
        and h.installation_id == series.nudge.installation_id
        and playbook_id in h.relevant
        and not h.closed
        and series.due_at <= _utc(h.seen_at) <= _utc(now)
    ]
    return max(fitting, key=lambda h: (h.seen_at, h.number), default=None)


def followup_budget(ctx: FollowUpContext, minutes: int) -> tuple[bool, str]:
    """Whether a follow-up of ``minutes`` fits the engineer's minutes in the sprint.

    Follow-ups use minutes, not the count of nudges: they are one-line reminders.
    """
    sprint, role = ctx.sprint, ctx.role
    used = sum(
        n.minutes for n in ctx.nudges if n.state in CHARGED_STATES and n.sprint == sprint.index
    )
    used += sum(
        f.minutes
        for f in ctx.followups
        if f.state in CHARGED_FOLLOWUPS and f.sprint == sprint.index
    )
    where = f"role {role.name}, sprint {sprint.start:%Y-%m-%d}..{sprint.end:%Y-%m-%d}"
    if role.minutes is not None and used + minutes > role.minutes:
        return (
            False,
            f"budget spent: {used} + {minutes} of {role.minutes} minutes ({where}); waits for the next sprint",
        )
    return True, f"within budget ({where})"


def decide_followup(
    series: Series | None,
    heads: Iterable[PullHead],
    ctx: FollowUpContext,
    now: dt.datetime,
) -> FollowUpDecision:
    """What the series owes now: nothing, a drop on record, or a follow-up on a relevant PR."""
    decision = FollowUpDecision()
    playbook = ctx.playbook
    settings = playbook.reinforcement
    if series is None or series.due_at is None or series.due_at > now:
        return decision
    nudge = series.nudge
    pid, engineer = playbook.id, nudge.engineer

    def note(outcome: str, reason: str) -> None:
        decision.notes.append(Note(engineer, pid, outcome, reason))

    index = series.next_index
    base = FollowUp(
        key=followup_key(nudge.key, index),
        installation_id=nudge.installation_id,
        repo=nudge.repo,
        pr_number=nudge.pr_number,
        engineer=engineer,
        playbook_id=pid,
        nudge_key=nudge.key,
        index=index,
        state=FollowUpState.PLANNED,
        reason="",
        due_at=series.due_at,
        created_at=now,
        minutes=settings.minutes,
        sprint=ctx.sprint.index,
    )
    if series.overdue(settings, now):
        decision.followups.append(
            base.moved(
                FollowUpState.DROPPED,
                f"no relevant pull request within {settings.wait_days} days of "
                f"{series.due_at:%Y-%m-%d}",
            )
        )
        note("followup_dropped", decision.followups[-1].reason)
        return decision
    pull = candidate_pull(series, heads, pid, now)
    if pull is None:
        return decision  # waits for a relevant pull request
    if not settings.enabled:
        note("followup_off", "follow-ups are switched off for this playbook")
        return decision
    if playbook.paused:
        note("followup_paused", "playbook is paused; no follow-ups")
        return decision
    if ctx.muted:
        note("followup_muted", "the engineer muted this playbook")
        return decision
    if ctx.group == HOLDOUT:
        note("followup_held_out", "in the randomized holdout for this playbook")
        return decision
    fits, why = followup_budget(ctx, settings.minutes)
    if not fits:
        note("followup_waiting", why)
        return decision
    followup = base.moved(
        FollowUpState.PLANNED,
        f"due since {series.due_at:%Y-%m-%d} ({due_because(series)}); #{pull.number} changes "
        f"{len(pull.relevant[pid])} relevant file(s); {why}",
        repo=pull.repo,
        pr_number=pull.number,
        files=tuple(pull.relevant[pid]),
    )
    decision.followups.append(followup)
    note("followup_planned", followup.reason)
    return decision


def after_followup_failure(
    followup: FollowUp,
    reason: str,
    now: dt.datetime,
    rng: random.Random,
    *,
    kind: FailureKind = FailureKind.OUTAGE,
    unknown: bool = False,
) -> tuple[FollowUp, dt.datetime | None]:
    """A failed GitHub write for a follow-up, seen at ``now``: the follow-up as it now stands,
    and when to try again (None: failed for good).

    The same rule as every write of the app (:func:`bot.core.outbox.next_attempt`), with the
    follow-ups' own number of attempts and backoff.
    """
    attempts = followup.attempts + 1
    step = next_attempt(
        attempts,
        reason,
        now,
        rng,
        kind=kind,
        unknown=unknown,
        max_attempts=MAX_FOLLOWUP_ATTEMPTS,
        policy=FOLLOWUP_RETRY,
    )
    if isinstance(step, FailedForGood):
        return followup.moved(FollowUpState.FAILED, step.reason, attempts=attempts), None
    return followup.moved(followup.state, reason, attempts=attempts), step.at


# ------------------------------------------------------------------------------- rendering


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "from",
        "into",
        "not",
        "never",
        "every",
        "each",
        "too",
        "add",
        "use",
    }
)


def _file_words(files: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for path in files:
        p = PurePosixPath(path.lower())
        words |= set(_WORD.findall(str(p.with_suffix(""))))
        for language, suffixes in LANGUAGES.items():
            if p.suffix in suffixes:
                words.add(language)
    words |= {w[:-1] for w in words if w.endswith("s") and len(w) > 3}
    return words


def most_related_item(checklist: Sequence[str], files: Iterable[str]) -> str | None:
    """The checklist item sharing the most words with the matched files' paths (the first on a tie)."""
    if not checklist:
        return None
    words = _file_words(files)

    def score(item: str) -> int:
        found = {w for w in _WORD.findall(item.lower()) if len(w) > 2 and w not in _STOP}
        found |= {w[:-1] for w in found if w.endswith("s") and len(w) > 3}
        return len(found & words)

    best = max(range(len(checklist)), key=lambda i: (score(checklist[i]), -i))
    return checklist[best]


# ------------------------------------------------------------------------------- outcomes


def reinforced_engineers(
    followups: Iterable[FollowUp], playbook_id: str, *, until: dt.datetime | None = None
) -> frozenset[str]:
    """Lower-case logins that got at least one posted follow-up of the playbook (before ``until``)."""
    return frozenset(
        f.engineer.lower()
        for f in followups
        if f.playbook_id == playbook_id
        and f.state == FollowUpState.POSTED
        and (until is None or _utc(f.posted_at or f.created_at) < _utc(until))
    )


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def reinforcement_effect(
    playbook_id: str,
    changes: Mapping[str, float | None],
    followups: Iterable[FollowUp],
) -> ReinforcementEffect:
    """Compare nudged engineers with and without follow-ups, by their mean change alone.

    ``changes`` maps each nudged engineer (lower-case) to their outcome's change (after minus
    before, in matching comments per reviewed pull request; :attr:`bot.core.outcome.Outcome.change`
    of the nudged group), None when a period had no reviewed pull request.
    """
    reinforced = reinforced_engineers(followups, playbook_id)
    yes = [c for e, c in changes.items() if e.lower() in reinforced]
    no = [c for e, c in changes.items() if e.lower() not in reinforced]
    return ReinforcementEffect(
        playbook_id, GroupChange(len(yes), _mean(yes)), GroupChange(len(no), _mean(no))
    )


def reinforcement_effect_of(
    playbook_id: str,
    outcomes: Iterable[Outcome],
    followups: Iterable[FollowUp],
    *,
    min_prs: int = 0,
    rules: Rules | None = None,
    until: dt.datetime | None = None,
) -> ReinforcementEffect:
    """Nudged engineers who got at least one follow-up against those who got only the nudge,
    over the kill switch's outcomes (the nudged group only; held-out engineers are in neither).

    With ``rules`` (the evaluation's), an engineer is counted as the evaluation counts them and
    the comparison needs ``rules.min_engineers`` per group; otherwise ``min_prs`` keeps only
    outcomes with that many reviewed pull requests in both periods. ``until`` (the window's end)
    leaves out follow-ups posted after it. Rates are pooled like the kill switch's figures.
    """
    reinforced = reinforced_engineers(followups, playbook_id, until=until)
    kept = [
        o
        for o in outcomes
        if o.playbook_id == playbook_id
        and o.group == NUDGED
        and (counts(o, rules) if rules is not None else o.enough(min_prs))
    ]

    def group(members: list[Outcome]) -> GroupChange:
        return GroupChange(
            engineers=len(members),
            mean_change=_mean(o.change for o in members),
            prs_before=sum(o.before.reviewed_prs for o in members),
            prs_after=sum(o.after.reviewed_prs for o in members),
            comments_before=sum(o.before.comments for o in members),
            comments_after=sum(o.after.comments for o in members),
        )

    return ReinforcementEffect(
        playbook_id,
        group([o for o in kept if o.engineer.lower() in reinforced]),
        group([o for o in kept if o.engineer.lower() not in reinforced]),
        min_engineers=rules.min_engineers if rules is not None else 0,
    )


# ------------------------------------------------------------------------------- payloads


_PULL_REF = re.compile(r"^refs/pull/(\d+)/(?:merge|head)$")
_BRANCH_REF = "refs/heads/"


def pull_head_from_payload(
    payload: Mapping[str, Any], seen_at: dt.datetime
) -> tuple[PullHead, bool]:
    """A ``pull_request`` delivery's head commit, and whether its author is a bot."""
    try:
        ref = pull_request_ref(payload)
        head = payload["pull_request"]["head"]
        return (
            PullHead(
                installation_id=ref.installation_id,
                repo=ref.repo,
                number=ref.number,
                author=ref.author.login,
                head_sha=str(head["sha"]),
                head_ref=str(head.get("ref") or ""),
                seen_at=seen_at,
            ),
            ref.author.is_bot,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise PayloadError(f"malformed pull request head: {exc}") from exc


@dataclass(frozen=True)
class CodeScanningAlert:
    """A ``code_scanning_alert`` delivery: which alert, where, and what happened to it."""

    installation_id: int
    repo: str
    number: int
    rule_id: str
    tags: tuple[str, ...]
    action: str
    at: dt.datetime
    pr_number: int | None  # from a refs/pull/N/... ref
    branch: str | None  # from a refs/heads/... ref, to find the pull request it belongs to

    def on(self, pr_number: int, engineer: str) -> AlertEvent:
        return AlertEvent(
            self.installation_id,
            self.repo,
            pr_number,
            engineer,
            self.number,
            self.rule_id,
            self.tags,
            self.action,
            self.at,
        )


def code_scanning_alert_from_payload(
    payload: Mapping[str, Any], now: dt.datetime
) -> CodeScanningAlert:
    """Parse the delivery; the time is the alert's own (created, fixed, dismissed) or ``now``."""
    if (
        not isinstance(payload.get("installation"), Mapping)
        or payload["installation"].get("id") is None
    ):
        raise PayloadError("payload has no installation.id")
    alert = payload.get("alert")
    if not isinstance(alert, Mapping):
        raise PayloadError("payload has no alert")
    try:
        action = str(payload["action"])
        rule = alert.get("rule") or {}
        stamp = {
            "created": alert.get("created_at"),
            "fixed": alert.get("fixed_at"),
            "closed_by_user": alert.get("dismissed_at"),
        }.get(action)
        ref = str(payload.get("ref") or (alert.get("most_recent_instance") or {}).get("ref") or "")
        pull = _PULL_REF.match(ref)
        return CodeScanningAlert(
            installation_id=int(payload["installation"]["id"]),
            repo=str(payload["repository"]["full_name"]),
            number=int(alert["number"]),
            rule_id=str(rule.get("id") or ""),
            tags=tuple(str(t) for t in rule.get("tags") or ()),
            action=action,
            at=parse_time(stamp) if stamp else now,
            pr_number=int(pull[1]) if pull else None,
            branch=ref[len(_BRANCH_REF) :] if ref.startswith(_BRANCH_REF) else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"malformed code scanning alert: {exc}") from exc
