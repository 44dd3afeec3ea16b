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
import heapq
import itertools
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.core.budget import check_budget, sprint_at
from bot.core.classify import Match
from bot.core.cosign import APPROVE, VETO, Reaction, decide_cosign
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.evaluate import Evaluation, Rules, Verdict
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.evidence import describe, render_evidence
from bot.core.holdout import NUDGED
from bot.core.killswitch import due_window, epoch_start, evaluate_due, in_force, latest, resume
from bot.core.nudges import RETRYABLE_STATES, Nudge, NudgeState, Signal
from bot.core.org import OrgSettings
from bot.core.outcome import ReviewIndex, SignalIndex
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


def simulate(scenario: Scenario) -> Simulation:
    """Run the scenario day by day; deterministic for a given seed."""
    rng = np.random.default_rng(scenario.seed)
    pids = list(scenario.effects)
    k = len(pids)
    playbooks = {pid: sim_playbook(pid, scenario) for pid in pids}
    org = _Org(scenario, rng, pids)
    people = org.people
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
    pulls = [
        PullRequestRef(INSTALLATION, REPO, 0, Actor(e, False)) for e in people
    ]  # number set per PR

    reviews = ReviewIndex()
    signals = {pid: SignalIndex(pid) for pid in pids}
    # The gates' state, in seconds from the start: signals within the trigger's days, the end
    # of the quiet period after a decided nudge, the last nudge that reached the engineer.
    # (A signal in the window is kept as (seconds, comment id, reviewer, PR, moment), and made a
    # Signal only when a decision needs the engineer's history.)
    recent: dict[tuple[int, int], deque[tuple[float, int, str, int, dt.datetime]]] = defaultdict(
        deque
    )
    quiet_until: dict[tuple[int, int], float] = {}
    nudges: list[list[Nudge]] = [[] for _ in people]
    by_playbook: dict[str, list[Nudge]] = {pid: [] for pid in pids}
    groups: list[dict[str, str]] = [{} for _ in people]
    assignments: dict[tuple[str, str], str] = {}
    reached: dict[tuple[int, int], float] = {}
    refusals = 0  # repeated budget refusals, counted but not recorded (see below)
    has_record: set[tuple[int, int]] = set()
    roles = [settings.role_of(e, teams) for e in people]
    ever: dict[str, set[int]] = {pid: set() for pid in pids}
    decided: dict[str, set[int]] = {pid: set() for pid in pids}
    pending: list[tuple[dt.datetime, int, int, int, str]] = []  # co-signs to resolve, by time
    histories: dict[str, list[Evaluation]] = {pid: [] for pid in pids}
    ids = itertools.count(1)  # review, comment and co-sign ids
    next_pr = 1
    comment_count = 0
    within = [86400.0 * playbooks[p].trigger.within_days for p in pids]
    cooldown = [86400.0 * playbooks[p].trigger.cooldown_days for p in pids]
    observing = [
        (recorded_since[p] - scenario.start).total_seconds() + 86400.0 * scenario.observe_days
        for p in pids
    ]
    minutes = [playbooks[p].nudge.minutes for p in pids]
    needed = [playbooks[p].trigger.comments for p in pids]
    fade = scenario.fade_days
    effect = org.effect.tolist()
    approve, veto = scenario.lead_answers

    def deliver(i: int, j: int, at: dt.datetime) -> None:
        reached[(i, j)] = (at - scenario.start).total_seconds()
        ever[pids[j]].add(i)

    def settle(until: dt.datetime) -> None:
        """Lead answers (or silence) that came due before ``until``: the co-sign job's work."""
        while pending and pending[0][0] <= until:
            when, _, i, index, answer = heapq.heappop(pending)
            nudge = nudges[i][index]
            reactions = [Reaction(LEAD, answer, when)] if answer else []
            moved, _ = decide_cosign(nudge, reactions, settings, when)
            nudges[i][index] = moved
            if moved.state == NudgeState.COSIGNED:
                deliver(i, pids.index(moved.playbook_id), when)

    first_day = -scenario.backfill_days
    effective = playbooks
    ctx = DecisionConfig(
        playbooks=effective, org=settings, teams=teams, recorded_since=recorded_since
    )
    for day in range(first_day, scenario.days):
        today = scenario.start + dt.timedelta(days=day)
        live = day >= 0
        if day == 0:  # the backfill is recorded: keep only what the triggers can still count
            for (_, j), window in recent.items():
                while window and window[0][0] < -within[j]:
                    window.popleft()
        if live:
            effective = in_force(playbooks, histories, today)
            ctx = DecisionConfig(
                playbooks=effective, org=settings, teams=teams, recorded_since=recorded_since
            )
            paused = [effective[p].paused for p in pids]
            kept = [effective[p].kept_since is not None for p in pids]
        authors, pr_of_review, review_at, _review_by, pr_of, kind, comment_at, comment_by, luck = (
            _day_events(scenario, org, rng, day, k)
        )
        base_pr = next_pr
        next_pr += len(authors)
        if not live:
            # History before installation, as the backfill records it: reviews and signals,
            # nothing decided. (The same records as the loop below would make, faster.)
            comment_count += _record_history(
                scenario,
                people,
                pids,
                authors,
                pr_of_review,
                review_at,
                pr_of,
                kind,
                comment_at,
                comment_by,
                base_pr,
                ids,
                reviews,
                signals,
                recent,
            )
            continue
        # One time line: reviews first at a tie (a review's comments are submitted with it).
        at_all = np.concatenate([review_at, comment_at])
        is_comment = np.concatenate(
            [np.zeros(len(review_at), bool), np.ones(len(comment_at), bool)]
        )
        order = np.lexsort((is_comment, at_all)).tolist()
        seconds_of = at_all.tolist()
        author_of = authors.tolist()
        review_pr = pr_of_review.tolist()
        comment_pr, comment_kind, comment_reviewer, comment_luck = (
            pr_of.tolist(),
            kind.tolist(),
            comment_by.tolist(),
            luck.tolist(),
        )
        reviewed = len(review_pr)
        moments: dict[float, dt.datetime] = {}
        for index in order:
            seconds = seconds_of[index]
            at = moments.get(seconds)
            if at is None:
                at = moments[seconds] = scenario.start + dt.timedelta(seconds=seconds)
            if index < reviewed:
                pr = review_pr[index]
                reviews.add(people[author_of[pr]], at, REPO, base_pr + pr)  # a colleague's review
                continue
            c = index - reviewed
            pr, j = comment_pr[c], comment_kind[c]
            i = author_of[pr]
            if pending and pending[0][0] <= at:
                settle(at)
            since = reached.get((i, j))
            if since is not None and since < seconds:
                share = effect[i][j]
                if fade > 0:
                    share *= 0.5 ** ((seconds - since) / 86400 / fade)
                if comment_luck[c] < share:
                    continue  # the nudge worked: this comment is never written
            comment_count += 1
            pid = pids[j]
            cid = next(ids)
            reviewer = people[comment_reviewer[c]]
            number = base_pr + pr
            said = (seconds, cid, reviewer, number, at)
            window = recent[(i, j)]
            while window and window[0][0] < seconds - within[j]:
                window.popleft()
            if (
                not live
                or paused[j]
                or seconds < observing[j]
                or len(window) + 1 < needed[j]
                or seconds < quiet_until.get((i, j), seconds)
            ):
                # The gates decide_comment checks first say "record only": paused, observing,
                # trigger not reached, or quiet after an earlier nudge.
                signals[pid].add(people[i], at)
                window.append(said)
                continue
            if (
                not kept[j]
                and groups[i].get(pid) == NUDGED
                and (i, j) in has_record
                and not check_budget(
                    roles[i], sprint_at(at, settings), minutes[j], nudges[i]
                ).allowed
            ):
                # The budget would refuse again, for a playbook the engineer already has a record
                # of: the refusal changes nothing later (it is retryable, uncharged, not a first
                # nudge), so it is counted rather than recorded, which spares most decisions of
                # an organisation with many playbooks.
                refusals += 1
                signals[pid].add(people[i], at)
                window.append(said)
                continue
            comment = ReviewComment(
                pull=dataclasses.replace(pulls[i], number=number),
                reviewer=Actor(reviewer, False),
                body="(simulated review comment)",
                at=at,
                source="review_comment",
                comment_id=cid,
                thread_id=cid,
            )
            earlier = tuple(
                Signal(
                    INSTALLATION, REPO, pr_number, people[i], pid, c_id, "review_comment", by, when
                )
                for _, c_id, by, pr_number, when in window
            )
            history = History(earlier, nudges[i], groups[i])
            decision = decide_comment(comment, [Match(pid, "")], history, ctx, at)
            for made in decision.signals:
                signals[pid].add(made.engineer, made.at)
                window.append(said)
            has_record.add((i, j))
            groups[i].update(decision.assignments)
            for a_pid, group in decision.assignments.items():
                assignments[(people[i], a_pid)] = group
            for nudge in decision.nudges:
                nudges[i].append(nudge)
                by_playbook[pid].append(nudge)
                if nudge.state not in RETRYABLE_STATES:
                    quiet_until[(i, j)] = (
                        nudge.trigger_at - scenario.start
                    ).total_seconds() + cooldown[j]
                if nudge.state != NudgeState.HELD_OUT:
                    decided[pid].add(i)
                if nudge.state in DELIVERED:
                    deliver(i, j, nudge.created_at)
                elif nudge.state == NudgeState.AWAITING_COSIGN:
                    draw = rng.random()
                    expiry = dt.timedelta(days=settings.cosign_expiry_days)
                    if draw < approve + veto:
                        answer = APPROVE if draw < approve else VETO
                        when = at + dt.timedelta(
                            days=float(rng.uniform(0.05, 0.8)) * settings.cosign_expiry_days
                        )
                    else:
                        answer, when = "", at + expiry
                    heapq.heappush(pending, (when, next(ids), i, len(nudges[i]) - 1, answer))
        if live:
            night = today + dt.timedelta(days=1)
            settle(night)
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
            )

    every_nudge = sorted((n for ns in nudges for n in ns), key=lambda n: n.created_at)
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


def _record_history(
    scenario,
    people,
    pids,
    authors,
    pr_of_review,
    review_at,
    pr_of,
    kind,
    comment_at,
    comment_by,
    base_pr,
    ids,
    reviews,
    signals,
    recent,
) -> int:
    """One day of the backfilled history: every review and matching comment recorded in time order."""
    start = scenario.start
    moments: dict[float, dt.datetime] = {}

    def moment(seconds: float) -> dt.datetime:
        at = moments.get(seconds)
        if at is None:
            at = moments[seconds] = start + dt.timedelta(seconds=seconds)
        return at

    author_of = authors.tolist()
    order = np.argsort(review_at, kind="stable")
    for pr, seconds in zip(pr_of_review[order].tolist(), review_at[order].tolist()):
        reviews.add(people[author_of[pr]], moment(seconds), REPO, base_pr + pr)
    order = np.argsort(comment_at, kind="stable")
    for pr, j, by, seconds in zip(
        pr_of[order].tolist(),
        kind[order].tolist(),
        comment_by[order].tolist(),
        comment_at[order].tolist(),
    ):
        at = moment(seconds)
        i = author_of[pr]
        signals[pids[j]].add(people[i], at)
        recent[(i, j)].append((seconds, next(ids), people[by], base_pr + pr, at))
    return len(order)


def _nightly(
    scenario, playbooks, histories, nudges, signals, assignments, reviews, org, rules, now
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
        )
        if evaluation is not None:
            history.append(evaluation)


def report(sim: Simulation, *, evidence: bool = True) -> str:
    """What the kill switch decided and when, with the figures; and one paused playbook's issue."""
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
