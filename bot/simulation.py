"""``python -m bot simulate``: the decision core and the kill switch over a synthetic organisation.

Nothing is classified and nothing leaves the process. Engineers open pull requests (at their own
pace: PRs per week differ between engineers), one to two colleagues review each, and each pull
request carries a Poisson number of comments of each playbook's kind at the engineer's own rate
(rates differ between engineers; ``base_rate`` is their mean, per reviewed PR and playbook).

Before the first simulated day, ``backfill_days`` of such history are recorded as the app's
backfill records them at installation: reviews and signals, never nudges. Without a backfill,
each playbook starts with its observe-only period (``evaluation.observe_days``).

From then on every matching comment goes through the same ``decide_comment`` as a real one
(paused? observing? trigger, cooldown, holdout, budget, co-sign), with the simulation's clock as
``now``. A nudge reaches its engineer only if the decision planned it, or a lead co-signed it:
budgets suppress some, leads veto some and let some expire (``lead_answers``). A nudge that
reached an engineer removes a share of their matching comments: their own effect (engineers
differ around the playbook's effect), fading with a half-life of ``fade_days`` since the last
nudge that reached them. Held-out engineers are never reached. Every night the kill switch runs
as the worker's daily job would (``killswitch.evaluate_due``), halfway looks included, and an
author may resume a paused playbook (``resume_after_days``).

Comments a decision would only record (the trigger not reached, a cooldown, a pause, an observe-only
period) are recorded here without the call, with the same signal: that gate is checked first, as
``decide_comment`` checks it, which is what makes a thousand engineers take seconds, not minutes.

Because the true effect is known, the simulation shows whether the switch keeps an effective
playbook and pauses an ineffective one; ``bench/kill_switch.py`` repeats it to measure how often
it gets that wrong, and ``bench/simulation_speed.py`` how long it takes and how much memory.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import gc
import heapq
import itertools
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.core.budget import check_budget, sprint_at
from bot.core.classify import Match
from bot.core.cosign import APPROVE, VETO, Reaction, decide_cosign
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.evaluate import Evaluation, PoissonFitter, Rules, Verdict
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.holdout import NUDGED
from bot.core.killswitch import due_window, epoch_start, evaluate_due, in_force, latest, resume
from bot.core.nudges import RETRYABLE_STATES, Nudge, NudgeState, Signal
from bot.core.org import OrgSettings
from bot.core.outcome import ReviewIndex, SignalIndex, micros
from bot.core.playbook import NudgeContent, Playbook

INSTALLATION = 1
REPO = "example/app"
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday, the first day of a sprint
DEFAULT_EFFECTS = {"sql-injection": 0.3, "swallowed-errors": 0.0}
TITLES = {"sql-injection": "SQL injection", "swallowed-errors": "Swallowed errors"}
LEAD = "lee"
TEAM = "everyone"

# Nudges that reached the engineer: planned ones are posted by the outbox within seconds.
DELIVERED = frozenset({NudgeState.PLANNED, NudgeState.POSTED, NudgeState.COSIGNED})


@dataclass(frozen=True)
class Scenario:
    """The synthetic organisation. Rates vary between engineers (gamma), counts are Poisson."""

    days: int = 90
    engineers: int = 60
    effects: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EFFECTS))
    seed: int = 1
    base_rate: float = 0.15  # matching comments per reviewed PR, mean over engineers, per playbook
    prs_per_week: float = 3.0  # per engineer, mean
    reviewers: tuple[int, int] = (1, 2)  # reviewers per pull request, at least and at most (≤ 3)
    window_days: int = 60
    holdout_share: float = 0.4  # the org's default while a playbook is evaluated
    rules: Rules | None = None  # None: the org's (level 0.05, 5 engineers per group, 1 PR after)
    start: dt.datetime = START
    backfill_days: int = 90  # history recorded at installation; 0: none, observe-only first
    observe_days: int = 30
    pre_days: int = 90
    stop_early: bool = True
    effect_spread: float = 0.5  # engineers differ: coefficient of variation of their own effect
    fade_days: float = 90.0  # half-life of an effect since the last nudge reached them (0: never)
    significant: Sequence[str] = ("sql-injection",)  # playbooks that need a lead's co-sign
    lead_answers: tuple[float, float] = (0.7, 0.1)  # approve, veto; the rest expire unanswered
    resume_after_days: int | None = None  # an author resumes a paused playbook that many days on,
    max_resumes: int = 1_000  # at most this many times
    org: OrgSettings = field(default_factory=OrgSettings)  # budgets, co-sign expiry, kept holdout


@dataclass
class Simulation:
    scenario: Scenario
    playbooks: dict[str, Playbook]
    evaluations: list[Evaluation]
    nudges: list[Nudge]
    reviews: int
    comments: int
    reached: dict[str, int]  # playbook -> engineers a nudge reached
    decided: dict[str, int]  # playbook -> nudged (not held-out) engineers with a nudge decision
    refusals: int = 0  # repeated budget refusals counted, not recorded

    def verdicts(self) -> dict[str, Evaluation]:
        """Each playbook's decision in force at the end (the last one on record)."""
        last: dict[str, Evaluation] = {}
        for e in self.evaluations:
            last[e.playbook_id] = e
        return last

    def day(self, moment: dt.datetime) -> int:
        return (moment - self.scenario.start).days


def sim_playbook(playbook_id: str, scenario: Scenario) -> Playbook:
    """A playbook for the simulation: matching is bypassed, the gates are the product's defaults."""
    return Playbook(
        id=playbook_id,
        title=TITLES.get(playbook_id, playbook_id.replace("-", " ").capitalize()),
        summary="",
        patterns=(r"\b" + playbook_id + r"\b",),
        nudge=NudgeContent(play="(simulated)", minutes=2),
        significant=playbook_id in scenario.significant,
        evaluation_window_days=scenario.window_days,
        evaluation_observe_days=scenario.observe_days,
        evaluation_pre_days=scenario.pre_days,
        evaluation_stop_early=scenario.stop_early,
        source=f"playbooks/{playbook_id}.yml",
    )


def many_effects(count: int, effect: float = 0.3) -> dict[str, float]:
    """``count`` playbooks: the two defaults, then ones alternating ``effect``, none and half of it."""
    effects = {"sql-injection": effect, "swallowed-errors": 0.0}
    cycle = itertools.cycle([effect, 0.0, effect / 2])
    for index in range(3, count + 1):
        effects[f"playbook-{index:02d}"] = next(cycle)
    return dict(itertools.islice(effects.items(), count))


class _Org:
    """The synthetic organisation's fixed traits, drawn once from the seed."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator, pids: list[str]):
        n = scenario.engineers
        if n < 4:
            raise ValueError("the simulation needs at least 4 engineers")
        self.people = [f"eng{i:05d}" for i in range(n)]
        self.pr_rate = rng.gamma(4.0, 0.25, n) * scenario.prs_per_week / 7
        self.rate = rng.gamma(2.0, scenario.base_rate / 2, (n, len(pids)))
        spread = max(scenario.effect_spread, 1e-6)
        shape = 1 / spread**2
        own = rng.gamma(shape, 1 / shape, (n, len(pids)))
        self.effect = np.minimum(1.0, own * np.array([scenario.effects[p] for p in pids]))


def _day_events(scenario: Scenario, org: _Org, rng: np.random.Generator, day: int, k: int):
    """One day's reviews and matching comments, as arrays sorted by time (seconds from start)."""
    n = len(org.people)
    per = rng.poisson(org.pr_rate)
    authors = np.repeat(np.arange(n), per)
    p = len(authors)
    low, high = scenario.reviewers
    high = min(high, 3, n - 1)
    counts = rng.integers(low, high + 1, p) if p else np.zeros(0, dtype=int)
    opened = day * 86400 + rng.uniform(8, 18, p) * 3600
    # Distinct reviewers other than the author: offsets 1..n-1 drawn without replacement.
    offsets = np.zeros((p, high), dtype=np.int64)
    for j in range(high):
        draw = rng.integers(1, n - j, p)
        for previous in np.sort(offsets[:, :j], axis=1).T:
            draw = draw + (draw >= previous)
        offsets[:, j] = draw
    reviewers = (authors[:, None] + offsets) % n
    times = opened[:, None] + rng.uniform(0.5, 20, (p, high)) * 3600
    used = np.arange(high)[None, :] < counts[:, None]
    pr_of_review, slot = np.nonzero(used)
    review_at = times[pr_of_review, slot]
    review_by = reviewers[pr_of_review, slot]
    # Matching comments of each playbook on each pull request, in one of its reviews.
    said = rng.poisson(org.rate[authors]) if p else np.zeros((0, k), dtype=int)
    pr_of, kind = np.nonzero(said)
    reps = said[pr_of, kind]
    pr_of, kind = np.repeat(pr_of, reps), np.repeat(kind, reps)
    pick = (rng.random(len(pr_of)) * counts[pr_of]).astype(int)
    comment_at = times[pr_of, pick]
    comment_by = reviewers[pr_of, pick]
    luck = rng.random(len(pr_of))
    return authors, pr_of_review, review_at, review_by, pr_of, kind, comment_at, comment_by, luck


@dataclass(frozen=True)
class _Events:
    """The organisation's whole time line as arrays: moments in microseconds from the start.

    Pull requests are numbered by their index + 1; comments are identified by their index + 1.
    """

    authors: Any  # the author of each pull request
    review_pr: Any
    review_at: Any
    comment_pr: Any
    comment_kind: Any  # the playbook's index
    comment_at: Any
    comment_by: Any  # the reviewer who wrote it
    luck: Any  # below the engineer's current effect: a nudge kept them from writing it


def _events(scenario: Scenario, org: _Org, rng: np.random.Generator, k: int) -> _Events:
    """Every day's reviews and matching comments, the backfilled history included."""
    parts = [
        _day_events(scenario, org, rng, day, k)
        for day in range(-scenario.backfill_days, scenario.days)
    ]
    base = np.cumsum([0] + [len(part[0]) for part in parts])[:-1]

    def joined(index: int) -> Any:
        return np.concatenate([part[index] for part in parts])

    def micro(seconds: Any) -> Any:  # whole microseconds: moments compare exactly
        return np.round(seconds * 1e6).astype(np.int64)

    return _Events(
        authors=joined(0).astype(np.int64),
        review_pr=np.concatenate([part[1] + b for part, b in zip(parts, base)]),
        review_at=micro(joined(2)),
        comment_pr=np.concatenate([part[4] + b for part, b in zip(parts, base)]),
        comment_kind=joined(5).astype(np.int64),
        comment_at=micro(joined(6)),
        comment_by=joined(7).astype(np.int64),
        luck=joined(8),
    )


def _grouped(keys: Any, *columns: Any) -> Iterator[tuple[int, list[Any]]]:
    """``columns`` split by ``keys``, each part in the order of the first column."""
    order = np.lexsort((columns[0], keys))
    keys = keys[order]
    columns = tuple(column[order] for column in columns)
    cuts = (np.flatnonzero(np.diff(keys)) + 1).tolist()
    for start, end in zip([0, *cuts], [*cuts, len(keys)]):
        if end > start:
            yield int(keys[start]), [column[start:end] for column in columns]


def simulate(scenario: Scenario, *, fit: PoissonFitter | None = None) -> Simulation:
    """Run the scenario day by day; deterministic for a given seed.

    ``fit`` computes each evaluation's regression (see :func:`bot.core.evaluate.evaluate_playbook`;
    the same answers wherever it runs).

    The run makes hundreds of thousands of long-lived records and no reference cycles worth
    collecting, so Python's cyclic garbage collector is paused while it runs (it would otherwise
    re-scan them all, again and again) and restored afterwards.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _simulate(scenario, fit)
    finally:
        if collecting:
            gc.enable()


def _simulate(scenario: Scenario, fit: PoissonFitter | None = None) -> Simulation:
    rng = np.random.default_rng(scenario.seed)
    answers = np.random.default_rng([scenario.seed, 1])  # the leads' answers to co-sign requests
    pids = list(scenario.effects)
    k = len(pids)
    playbooks = {pid: sim_playbook(pid, scenario) for pid in pids}
    org = _Org(scenario, rng, pids)
    people = org.people
    n = len(people)
    names = [p.lower() for p in people]
    settings = dataclasses.replace(
        scenario.org,
        sprint_start=scenario.start.date(),
        holdout_share=scenario.holdout_share,
        holdout_share_kept=min(scenario.org.holdout_share_kept, scenario.holdout_share),
        holdout_seed=f"simulation-{scenario.seed}",
        leads={LEAD: (f"team:{TEAM}",)},
    )
    rules = scenario.rules or settings.evaluation_rules()
    teams = {TEAM: frozenset(people)}
    recorded_since = {
        pid: scenario.start - dt.timedelta(days=scenario.backfill_days) for pid in pids
    }
    ev = _events(scenario, org, rng, k)
    origin = micros(scenario.start)
    day_us = 86_400_000_000

    def moment(us: int) -> dt.datetime:
        return scenario.start + dt.timedelta(microseconds=us)

    # Reviews do not depend on what the bot decides, so all of them are recorded at once: an
    # evaluation only counts those before its window closed, as the daily job would have.
    reviews = ReviewIndex()
    for author, (at, pr) in _grouped(ev.authors[ev.review_pr], ev.review_at, ev.review_pr):
        reviews.extend_numbered(people[author], (at + origin).tolist(), pr.tolist())
    signals = {pid: SignalIndex(pid) for pid in pids}
    # The gates' state by engineer i and playbook j, at i·k + j, in microseconds from the start:
    # the matching comments within the trigger's days (moment, comment, PR, reviewer; made Signals
    # only when a decision needs the engineer's history), the end of the quiet period after a
    # decided nudge, and when a nudge last reached the engineer.
    recent: list[deque[tuple[int, int, int, int]]] = [deque() for _ in range(n * k)]
    quiet_until = [-1 << 62] * (n * k)
    reached = [1 << 62] * (n * k)
    within = [day_us * playbooks[p].trigger.within_days for p in pids]
    # The history before installation, as the backfill records it: signals, nothing decided.
    before = ev.comment_at < 0
    for key, (at, index, pr, by) in _grouped(
        ev.comment_kind[before] * n + ev.authors[ev.comment_pr[before]],
        ev.comment_at[before],
        np.flatnonzero(before),
        ev.comment_pr[before],
        ev.comment_by[before],
    ):
        j, i = divmod(key, n)
        signals[pids[j]].extend(names[i], (at + origin).tolist())
        still = at >= -within[j]  # only what the trigger can still count
        recent[i * k + j].extend(zip(*(column[still].tolist() for column in (at, index, pr, by))))
    comment_count = int(before.sum())

    nudges: list[list[Nudge]] = [[] for _ in people]
    by_playbook: dict[str, list[Nudge]] = {pid: [] for pid in pids}
    groups: list[dict[str, str]] = [{} for _ in people]
    assignments: dict[tuple[str, str], str] = {}
    refusals = 0  # repeated budget refusals, counted but not recorded (see below)
    has_record: set[int] = set()
    roles = [settings.role_of(e, teams) for e in people]
    ever: dict[str, set[int]] = {pid: set() for pid in pids}
    decided: dict[str, set[int]] = {pid: set() for pid in pids}
    pending: list[tuple[int, int, int, int, str]] = []  # co-signs to resolve, by time
    histories: dict[str, list[Evaluation]] = {pid: [] for pid in pids}
    tickets = itertools.count()  # the order of co-sign requests at the same moment
    cooldown = [day_us * playbooks[p].trigger.cooldown_days for p in pids]
    observing = [micros(recorded_since[p]) - origin + day_us * scenario.observe_days for p in pids]
    minutes = [playbooks[p].nudge.minutes for p in pids]
    needed = [playbooks[p].trigger.comments for p in pids]
    fade = scenario.fade_days * day_us
    effect = org.effect.tolist()
    approve, veto = scenario.lead_answers
    expiry_us = settings.cosign_expiry_days * day_us
    made: dict[int, Signal] = {}  # Signals of comments still in a trigger's window

    def signal_of(i: int, j: int, at_us: int, c: int, pr: int, by: int) -> Signal:
        """The record of matching comment ``c`` (its id is c + 1), made once."""
        signal = made.get(c)
        if signal is None:
            signal = made[c] = Signal(
                INSTALLATION,
                REPO,
                pr + 1,
                people[i],
                pids[j],
                c + 1,
                "review_comment",
                people[by],
                moment(at_us),
            )
        return signal

    def deliver(i: int, j: int, at: dt.datetime) -> None:
        reached[i * k + j] = micros(at) - origin
        ever[pids[j]].add(i)

    def settle(until: int) -> None:
        """Lead answers (or silence) that came due by ``until``: the co-sign job's work."""
        while pending and pending[0][0] <= until:
            due, _, i, index, answer = heapq.heappop(pending)
            when = moment(due)
            nudge = nudges[i][index]
            reactions = [Reaction(LEAD, answer, when)] if answer else []
            moved, _ = decide_cosign(nudge, reactions, settings, when)
            nudges[i][index] = moved
            if moved.state == NudgeState.COSIGNED:
                deliver(i, pids.index(moved.playbook_id), when)

    live = np.flatnonzero(~before)
    live = live[np.argsort(ev.comment_at[live], kind="stable")]
    day_ends = np.searchsorted(ev.comment_at[live], np.arange(1, scenario.days + 1) * day_us)
    day_start = 0
    for day in range(scenario.days):
        today = scenario.start + dt.timedelta(days=day)
        effective = in_force(playbooks, histories, today)
        ctx = DecisionConfig(
            playbooks=effective, org=settings, teams=teams, recorded_since=recorded_since
        )
        paused = [effective[p].paused for p in pids]
        kept = [effective[p].kept_since is not None for p in pids]
        sprint = sprint_at(today, settings)  # sprints start at midnight: one for the whole day
        todays = live[day_start : day_ends[day]]
        day_start = day_ends[day]
        pr_of = ev.comment_pr[todays]
        for c, at_us, pr, i, j, by, luck in zip(
            todays.tolist(),
            ev.comment_at[todays].tolist(),
            pr_of.tolist(),
            ev.authors[pr_of].tolist(),
            ev.comment_kind[todays].tolist(),
            ev.comment_by[todays].tolist(),
            ev.luck[todays].tolist(),
        ):
            if pending and pending[0][0] <= at_us:
                settle(at_us)
            ij = i * k + j
            since = reached[ij]
            if since < at_us:
                share = effect[i][j]
                if fade > 0:
                    share *= 0.5 ** ((at_us - since) / fade)
                if luck < share:
                    continue  # the nudge worked: this comment is never written
            comment_count += 1
            window = recent[ij]
            while window and window[0][0] < at_us - within[j]:
                made.pop(window.popleft()[1], None)
            if (
                paused[j]
                or at_us < observing[j]
                or len(window) + 1 < needed[j]
                or at_us < quiet_until[ij]
            ):
                # The gates decide_comment checks first say "record only": paused, observing,
                # trigger not reached, or quiet after an earlier nudge.
                signals[pids[j]].add_micros(names[i], at_us + origin)
                window.append((at_us, c, pr, by))
                continue
            if (
                not kept[j]
                and ij in has_record
                and groups[i].get(pids[j]) == NUDGED
                and not check_budget(roles[i], sprint, minutes[j], nudges[i]).allowed
            ):
                # The budget would refuse again, for a playbook the engineer already has a record
                # of: the refusal changes nothing later (it is retryable, uncharged, not a first
                # nudge), so it is counted rather than recorded, which spares most decisions of
                # an organisation with many playbooks.
                refusals += 1
                signals[pids[j]].add_micros(names[i], at_us + origin)
                window.append((at_us, c, pr, by))
                continue
            pid = pids[j]
            at = moment(at_us)
            comment = ReviewComment(
                pull=PullRequestRef(INSTALLATION, REPO, pr + 1, Actor(people[i], False)),
                reviewer=Actor(people[by], False),
                body="(simulated review comment)",
                at=at,
                source="review_comment",
                comment_id=c + 1,
                thread_id=c + 1,
            )
            earlier = tuple(signal_of(i, j, *said) for said in window)
            decision = decide_comment(
                comment, [Match(pid, "")], History(earlier, nudges[i], groups[i]), ctx, at
            )
            for signal in decision.signals:
                signals[pid].add_micros(names[i], micros(signal.at))
                made[c] = signal
                window.append((at_us, c, pr, by))
            has_record.add(ij)
            groups[i].update(decision.assignments)
            for a_pid, group in decision.assignments.items():
                assignments[(people[i], a_pid)] = group
            for nudge in decision.nudges:
                nudges[i].append(nudge)
                by_playbook[pid].append(nudge)
                if nudge.state not in RETRYABLE_STATES:
                    quiet_until[ij] = micros(nudge.trigger_at) - origin + cooldown[j]
                if nudge.state != NudgeState.HELD_OUT:
                    decided[pid].add(i)
                if nudge.state in DELIVERED:
                    deliver(i, j, nudge.created_at)
                elif nudge.state == NudgeState.AWAITING_COSIGN:
                    draw = answers.random()
                    if draw < approve + veto:
                        answer = APPROVE if draw < approve else VETO
                        due = at_us + round(float(answers.uniform(0.05, 0.8)) * expiry_us)
                    else:
                        answer, due = "", at_us + expiry_us
                    heapq.heappush(pending, (due, next(tickets), i, len(nudges[i]) - 1, answer))
        night = today + dt.timedelta(days=1)
        settle((day + 1) * day_us)
        _nightly(
            scenario,
            playbooks,
            histories,
            by_playbook,
            signals,
            assignments,
            reviews,
            settings,
            rules,
            night,
            fit,
        )

    every_nudge = sorted((x for xs in nudges for x in xs), key=lambda x: x.created_at)
    evaluations = sorted(
        (e for h in histories.values() for e in h), key=lambda e: (e.at, e.playbook_id)
    )
    return Simulation(
        scenario,
        playbooks,
        evaluations,
        every_nudge,
        len(reviews),
        comment_count,
        {pid: len(ever[pid]) for pid in pids},
        {pid: len(decided[pid]) for pid in pids},
        refusals,
    )


def _nightly(
    scenario, playbooks, histories, nudges, signals, assignments, reviews, org, rules, now, fit
):
    """The worker's daily evaluation job, without the store: resumes, then the decisions due."""
    for pid, playbook in playbooks.items():
        history = histories[pid]
        last = latest(history)
        if (
            scenario.resume_after_days is not None
            and last is not None
            and last.pauses
            and now >= last.at + dt.timedelta(days=scenario.resume_after_days)
            and sum(e.verdict == Verdict.RESUMED for e in history) < scenario.max_resumes
        ):
            # The author writes evaluation: {resumed_on: ...} into the playbook.
            playbook = playbooks[pid] = dataclasses.replace(
                playbook, evaluation_resumed_on=now.date()
            )
        resumed = resume(playbook, history, INSTALLATION, now)
        if resumed is not None:
            history.append(resumed)
        # The nudges are in time order: the first since the epoch is enough to know whether a
        # window is due (a shortcut for the simulation's many nights; the job passes them all).
        mine = nudges[pid]
        since = epoch_start(history)
        first = bisect.bisect_left(mine, since, key=lambda n: n.created_at) if since else 0
        if due_window(playbook, history, mine[first : first + 1], now) is None:
            continue
        evaluation = evaluate_due(
            playbook,
            history,
            nudges=nudges[pid],
            reviews=reviews,
            signals=signals[pid],
            assignments=assignments,
            org=org,
            installation_id=INSTALLATION,
            now=now,
            rules=rules,
            fit=fit,
        )
        if evaluation is not None:
            history.append(evaluation)


def report(sim: Simulation, *, evidence: bool = True) -> str:
    """What the kill switch decided and when, with the figures; and one paused playbook's issue."""
    from bot.core.evidence import describe, render_evidence  # only the report renders

    s = sim.scenario
    effects = ", ".join(f"{pid} {effect:g}" for pid, effect in s.effects.items())
    history = (
        f"{s.backfill_days} days of history backfilled"
        if s.backfill_days
        else (f"no history: {s.observe_days} days observe-only")
    )
    lines = [
        (
            f"Simulated {s.days} days from {s.start:%Y-%m-%d}: {s.engineers} engineers, seed "
            f"{s.seed}, {s.prs_per_week:g} PRs a week, {s.base_rate:g} matching comments per "
            f"reviewed PR and playbook, {history}; true effect (share of matching comments a nudge "
            f"removes, varying between engineers, half-life {s.fade_days:g} days): {effects}."
        ),
        f"{sim.reviews} reviews, {sim.comments} matching comments, {len(sim.nudges)} nudge decisions"
        + (
            f" (and {sim.refusals} repeated budget refusals, counted, not recorded)."
            if sim.refusals
            else "."
        ),
        "",
    ]
    for pid in s.effects:
        mine = [n for n in sim.nudges if n.playbook_id == pid]
        states: dict[str, int] = defaultdict(int)
        for n in mine:
            states[n.state.value] += 1
        first = (
            f"days {sim.day(mine[0].created_at)} to {sim.day(mine[-1].created_at)}"
            if mine
            else "none"
        )
        significant = ", significant (co-sign)" if pid in s.significant else ""
        lines.append(
            f"{pid}{significant}: nudge decisions {len(mine)} ({first}; "
            + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
            + f"); reached {sim.reached[pid]} of {sim.decided[pid]} nudged engineers"
        )
        evaluations = [e for e in sim.evaluations if e.playbook_id == pid]
        if not evaluations:
            lines.append("  no window closed yet: nothing decided")
        for e in evaluations:
            head, *rest = describe(e)
            lines.append(f"  day {sim.day(e.at)}: {head.removeprefix(pid + ': ')}")
            lines += [f"  {line}" for line in rest]
        lines.append("")
    # Show the pause of the least effective playbook: the one the switch is for.
    paused = sorted(
        (e for e in sim.verdicts().values() if e.pauses), key=lambda e: s.effects[e.playbook_id]
    )
    if evidence and paused:
        e = paused[0]
        playbook = sim.playbooks[e.playbook_id]
        shown: Sequence[Evaluation] = [x for x in sim.evaluations if x.playbook_id == e.playbook_id]
        lines += [
            f"The evidence issue the app opens for {e.playbook_id} (Markdown, as posted):",
            "",
            render_evidence(playbook.title, shown, playbook.source),
        ]
    return "\n".join(lines).rstrip() + "\n"
