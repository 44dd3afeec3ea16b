"""``python -m bot simulate``: the decision core and the kill switch over a synthetic organisation.

Nothing is classified and nothing leaves the process: engineers open pull requests, colleagues
review them, and each review carries a Poisson number of comments of each playbook's kind at the
engineer's own rate. Those comments go through the same ``decide_comment`` as real ones (trigger,
cooldown, holdout, budget), with the simulation's clock as ``now``; a nudge that reaches an
engineer multiplies their rate by ``1 - effect`` from then on. Every night the kill switch runs
as the worker's daily job would: windows that closed are evaluated, and paused playbooks stop
nudging. Because the true effect is known, the simulation shows whether the switch keeps an
effective playbook and pauses an ineffective one, and ``bench/kill_switch.py`` repeats it to
measure how often it gets that wrong.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.core.classify import Match
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.evaluate import DEFAULT_RULES, Evaluation, Rules, evaluate_playbook
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.evidence import describe, render_evidence
from bot.core.killswitch import due_window, in_force, resume
from bot.core.nudges import Nudge, NudgeState, Signal
from bot.core.org import OrgSettings
from bot.core.outcome import Outcome, Review, measure_outcomes
from bot.core.playbook import NudgeContent, Playbook

INSTALLATION = 1
REPO = "example/app"
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday, the first day of a sprint
DEFAULT_EFFECTS = {"sql-injection": 0.5, "swallowed-errors": 0.0}
TITLES = {"sql-injection": "SQL injection", "swallowed-errors": "Swallowed errors"}

# Nudges that reached the engineer: planned ones are posted by the outbox within seconds.
DELIVERED = frozenset({NudgeState.PLANNED, NudgeState.POSTED, NudgeState.COSIGNED})


@dataclass(frozen=True)
class Scenario:
    """The synthetic organisation. Rates vary between engineers (gamma), counts are Poisson."""

    days: int = 90
    engineers: int = 60
    effects: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EFFECTS))
    seed: int = 1
    comment_rate: float = 0.3  # matching comments per reviewed PR, mean over engineers, per playbook
    prs_per_week: float = 3.0  # per engineer, mean
    reviewers: tuple[int, int] = (1, 2)  # reviewers per pull request, at least and at most
    window_days: int = 60
    holdout_share: float = 0.2
    rules: Rules = DEFAULT_RULES
    start: dt.datetime = START


@dataclass
class Simulation:
    scenario: Scenario
    playbooks: dict[str, Playbook]
    evaluations: list[Evaluation]
    nudges: list[Nudge]
    reviews: int
    comments: int
    outcomes: dict[tuple[str, dt.datetime], list[Outcome]]  # (playbook, window end) -> outcomes

    def verdicts(self) -> dict[str, Evaluation]:
        """Each playbook's decision in force at the end (the last one on record)."""
        last: dict[str, Evaluation] = {}
        for e in self.evaluations:
            last[e.playbook_id] = e
        return last

    def day(self, moment: dt.datetime) -> int:
        return (moment - self.scenario.start).days


def sim_playbook(playbook_id: str, window_days: int) -> Playbook:
    """A playbook for the simulation: matching is bypassed, the gates are the product's defaults."""
    return Playbook(
        id=playbook_id,
        title=TITLES.get(playbook_id, playbook_id.replace("-", " ").capitalize()),
        summary="",
        patterns=(r"\b" + playbook_id + r"\b",),
        nudge=NudgeContent(play="(simulated)", minutes=2),
        evaluation_window_days=window_days,
        source=f"playbooks/{playbook_id}.yml",
    )


def simulate(scenario: Scenario) -> Simulation:
    """Run the scenario day by day; deterministic for a given seed."""
    rng = np.random.default_rng(scenario.seed)
    playbooks = {pid: sim_playbook(pid, scenario.window_days) for pid in scenario.effects}
    org = OrgSettings(
        sprint_start=scenario.start.date(),
        holdout_share=scenario.holdout_share,
        holdout_seed=f"simulation-{scenario.seed}",
    )
    people = [f"eng{i:03d}" for i in range(scenario.engineers)]
    pr_rate = {e: rng.gamma(4.0, 0.25) * scenario.prs_per_week / 7 for e in people}
    rate = {
        (e, pid): rng.gamma(2.0, scenario.comment_rate / 2) for e in people for pid in playbooks
    }
    signals: dict[str, list[Signal]] = defaultdict(list)
    nudges: dict[str, list[Nudge]] = defaultdict(list)
    assignments: dict[str, dict[str, str]] = defaultdict(dict)
    reached: dict[tuple[str, str], dt.datetime] = {}  # (engineer, playbook) -> first delivered nudge
    reviews: list[Review] = []
    histories: dict[str, list[Evaluation]] = defaultdict(list)
    ids = itertools.count(1)
    comment_count = 0
    measured: dict[tuple[str, dt.datetime], list[Outcome]] = {}

    for day in range(scenario.days):
        today = scenario.start + dt.timedelta(days=day)
        effective = in_force(playbooks, histories, today)
        ctx = DecisionConfig(playbooks=effective, org=org)
        events: list[tuple[dt.datetime, int, str, str, str | None]] = []
        for index, author in enumerate(people):
            for _ in range(rng.poisson(pr_rate[author])):
                pr = next(ids)
                opened = today + dt.timedelta(hours=float(rng.uniform(8, 18)))
                count = min(int(rng.integers(scenario.reviewers[0], scenario.reviewers[1] + 1)), len(people) - 1)
                for other in rng.choice(len(people) - 1, size=count, replace=False):
                    reviewer = people[other + (other >= index)]  # anyone but the author
                    at = opened + dt.timedelta(hours=float(rng.uniform(0.5, 20)))
                    events.append((at, pr, author, reviewer, None))
                    for pid in playbooks:
                        for _ in range(rng.poisson(rate[(author, pid)] / count)):
                            written = at + dt.timedelta(minutes=float(rng.uniform(0, 30)))
                            events.append((written, pr, author, reviewer, pid))
        for at, pr, author, reviewer, pid in sorted(events, key=lambda e: (e[0], e[1], e[4] or "")):
            item = next(ids)
            reviews.append(
                Review(INSTALLATION, REPO, pr, author, reviewer, at, "review" if pid is None else "review_comment", item)
            )
            if pid is None:
                continue
            # Drawn at the rate in force at this moment: lowered once a nudge reached the engineer.
            since = reached.get((author, pid))
            if since is not None and since < at and rng.random() < scenario.effects[pid]:
                continue
            comment_count += 1
            comment = ReviewComment(
                pull=PullRequestRef(INSTALLATION, REPO, pr, Actor(author, False)),
                reviewer=Actor(reviewer, False),
                body="(simulated review comment)",
                at=at,
                source="review_comment",
                comment_id=item,
                thread_id=item,
            )
            history = History(signals[author], nudges[author], assignments[author])
            decision = decide_comment(comment, [Match(pid, "")], history, ctx, at)
            signals[author].extend(decision.signals)
            nudges[author].extend(decision.nudges)
            assignments[author].update(decision.assignments)
            for nudge in decision.nudges:
                if nudge.state in DELIVERED:
                    reached.setdefault((author, nudge.playbook_id), nudge.created_at)
        night = today + dt.timedelta(days=1)
        measured.update(_nightly(scenario, playbooks, histories, nudges, signals, assignments, reviews, night))

    every_nudge = sorted((n for ns in nudges.values() for n in ns), key=lambda n: n.created_at)
    evaluations = sorted((e for h in histories.values() for e in h), key=lambda e: (e.at, e.playbook_id))
    return Simulation(scenario, playbooks, evaluations, every_nudge, len(reviews), comment_count, measured)


def _nightly(scenario, playbooks, histories, nudges, signals, assignments, reviews, now):
    """The worker's daily evaluation job, without the store: resume, then evaluate due windows."""
    measured = {}
    every_nudge = [n for ns in nudges.values() for n in ns]
    for pid, playbook in playbooks.items():
        history = histories[pid]
        resumed = resume(playbook, history, INSTALLATION, now)
        if resumed is not None:
            history.append(resumed)
        window = due_window(playbook, history, every_nudge, now)
        if window is None:
            continue
        outcomes = measure_outcomes(
            pid,
            reviews=reviews,
            signals=[s for ss in signals.values() for s in ss],
            nudges=every_nudge,
            assignments={(e.lower(), p): g for e, groups in assignments.items() for p, g in groups.items()},
            since=window.start,
            until=window.end,
            lookback=dt.timedelta(days=playbook.evaluation_window_days),
        )
        measured[(pid, window.end)] = outcomes
        history.append(
            evaluate_playbook(
                outcomes,
                installation_id=INSTALLATION,
                playbook_id=pid,
                window_start=window.start,
                window_end=window.end,
                at=now,
                rules=scenario.rules,
            )
        )
    return measured


def report(sim: Simulation, *, evidence: bool = True) -> str:
    """What the kill switch decided and when, with the figures; and one paused playbook's issue."""
    s = sim.scenario
    effects = ", ".join(f"{pid} {effect:g}" for pid, effect in s.effects.items())
    lines = [
        (
            f"Simulated {s.days} days from {s.start:%Y-%m-%d}: {s.engineers} engineers, seed "
            f"{s.seed}; true effect (share of matching comments a nudge removes): {effects}."
        ),
        f"{sim.reviews} reviews, {sim.comments} matching comments, {len(sim.nudges)} nudge decisions.",
        "",
    ]
    for pid in s.effects:
        mine = [n for n in sim.nudges if n.playbook_id == pid]
        states = defaultdict(int)
        for n in mine:
            states[n.state.value] += 1
        first = f"days {sim.day(mine[0].created_at)} to {sim.day(mine[-1].created_at)}" if mine else "none"
        lines.append(
            f"{pid}: nudge decisions {len(mine)} ({first}; "
            + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
            + ")"
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
    paused = sorted((e for e in sim.verdicts().values() if e.pauses), key=lambda e: s.effects[e.playbook_id])
    if evidence and paused:
        e = paused[0]
        playbook = sim.playbooks[e.playbook_id]
        history: Sequence[Evaluation] = [x for x in sim.evaluations if x.playbook_id == e.playbook_id]
        lines += [
            f"The evidence issue the app opens for {e.playbook_id} (Markdown, as posted):",
            "",
            render_evidence(playbook.title, history, playbook.source),
        ]
    return "\n".join(lines).rstrip() + "\n"
