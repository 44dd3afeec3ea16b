"""The kill switch: when a playbook is evaluated, whether it is paused, and how a pause is lifted.

A playbook's evaluation window opens with its first nudge (held-out ones included) and is
``evaluation.window_days`` long. When a window closes, the playbook is evaluated on everything
since the window opened: a nudge that beat the holdout keeps going and is monitored when the
next window closes (below); one that did not, or that had too little data to tell, is paused. A pause
stops new nudges (the comments are still recorded, and engineers keep their group). Only an L&D
author lifts it, by writing a date on or after the pause in the playbook
(``evaluation: {resumed_on: 2026-05-01}``); the next window opens with the first nudge from then.
Every decision and every resume stays on record.

Halfway through the first window after the first nudge (or after a resume), the playbook is looked
at once (``evaluation.stop_early``, on by default): if nudged engineers so far receive no fewer
matching comments than held-out ones, it is paused early, a month of nudges sooner; otherwise the
window goes on. This look can only pause, never keep, so it does not raise the chance of keeping
a useless playbook. Each resume halves the level of the next test (``Rules.level``).

Once kept, a playbook's holdout shrinks to the org's ``holdout_share_kept`` (5 % by default): an
engineer held out stays held out only if their draw is below the smaller share, so most of them
get the nudge from then on, and later evaluations count their period after only up to the keep.

Those later windows are monitoring evaluations, not the keep-or-pause test again: re-testing a
playbook that proved itself with the same test at every window would pause an effective one by
chance sooner or later. A kept playbook is paused only when the data show evidence against a
reduction: nudged engineers receive no fewer matching comments than held-out ones, and the
one-sided p-value of a reduction is at least ``Rules.monitor_p`` (0.95: the one-sided test the
other way round at 5 %). Too little data, or a reduction not shown again, keeps it going.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.evaluate import Evaluation, PoissonFitter, Rules, Verdict, evaluate_playbook
from bot.core.holdout import HOLDOUT, NUDGED, assign_holdout
from bot.core.nudges import Nudge, Signal
from bot.core.org import OrgSettings
from bot.core.outcome import Review, ReviewIndex, SignalIndex, measure_outcomes
from bot.core.playbook import Playbook
from bot.core.reinforce import FollowUp, reinforcement_effect_of


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime  # exclusive; the moment the window closes (or the halfway look)
    mid: bool = False  # the futility look halfway through, not the window's end


@dataclass(frozen=True)
class PauseState:
    paused: bool
    reason: str
    since: dt.datetime | None = None  # when the evaluation paused it (None: by the YAML, or not)


def start_of(day: dt.date) -> dt.datetime:
    """A YAML date means that day from 00:00 UTC, as sprint starts do."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def latest(history: Iterable[Evaluation]) -> Evaluation | None:
    """The decision in force: the last one on record."""
    return max(history, key=lambda e: (e.at, e.window_end), default=None)


def _lifts(playbook: Playbook, pause: Evaluation, now: dt.datetime) -> bool:
    resumed_on = playbook.evaluation_resumed_on
    return resumed_on is not None and resumed_on >= pause.at.date() and now >= start_of(resumed_on)


def pause_state(playbook: Playbook, history: Sequence[Evaluation], now: dt.datetime) -> PauseState:
    """Paused when the YAML says so, or when the last evaluation paused it and no resume lifts it."""
    if playbook.paused:
        return PauseState(True, "paused by its author (paused: true)")
    last = latest(history)
    if last is None or not last.pauses:
        return PauseState(False, "running")
    if _lifts(playbook, last, now):
        return PauseState(False, f"resumed on {playbook.evaluation_resumed_on}")
    return PauseState(
        True,
        f"paused by the kill switch on {last.at:%Y-%m-%d} ({last.verdict.value}); to resume, add "
        f"evaluation: {{resumed_on: {last.at:%Y-%m-%d}}} (or a later date) to {playbook.source or 'its file'}",
        since=last.at,
    )


def in_force(
    playbooks: Mapping[str, Playbook],
    histories: Mapping[str, Sequence[Evaluation]],
    now: dt.datetime,
) -> dict[str, Playbook]:
    """The playbooks as the decisions must see them.

    ``paused`` is the effective pause, and ``kept_since`` says since when the kill switch has
    kept the playbook (its holdout is then the smaller, long-running one).
    """
    effective = {}
    for pid, playbook in playbooks.items():
        history = histories.get(pid, ())
        state = pause_state(playbook, history, now)
        if state.paused and not playbook.paused:
            playbook = replace(playbook, paused=True)
        elif not state.paused and (kept := kept_at(history)) is not None:
            playbook = replace(playbook, kept_since=kept)
        effective[pid] = playbook
    return effective


def kept_at(history: Iterable[Evaluation]) -> dt.datetime | None:
    """When the kill switch first kept the playbook in its current epoch; None unless kept now."""
    history = list(history)
    last = latest(history)
    if last is None or last.verdict != Verdict.EFFECTIVE:
        return None
    since = epoch_start(history)
    keeps = [
        e.at for e in history if e.verdict == Verdict.EFFECTIVE and (since is None or e.at >= since)
    ]
    return min(keeps, default=None)


def resumes(history: Iterable[Evaluation]) -> int:
    """How many times an author lifted a pause: each halves the level of the next test."""
    return sum(1 for e in history if e.verdict == Verdict.RESUMED)


def resume(
    playbook: Playbook, history: Sequence[Evaluation], installation_id: int, now: dt.datetime
) -> Evaluation | None:
    """The record of a resume, when the YAML lifts the pause in force and it is not yet on record."""
    last = latest(history)
    if playbook.paused or last is None or not last.pauses or not _lifts(playbook, last, now):
        return None
    # The new windows count nudges from the resume day, and never ones from before the pause.
    day = max(start_of(playbook.evaluation_resumed_on), last.at)  # type: ignore[arg-type]
    return Evaluation(
        installation_id=installation_id,
        playbook_id=playbook.id,
        verdict=Verdict.RESUMED,
        window_start=day,
        window_end=day,
        at=now,
        reason=(
            f"resumed by its author (evaluation.resumed_on: {playbook.evaluation_resumed_on}) "
            f"after the pause of {last.at:%Y-%m-%d}; a new window opens with the next nudge"
        ),
    )


def epoch_start(history: Iterable[Evaluation]) -> dt.datetime | None:
    """Since when nudges count for the current windows: the last resume, or from the beginning."""
    resumes = [e.window_start for e in history if e.verdict == Verdict.RESUMED]
    return max(resumes, default=None)


def first_nudge_at(
    nudges: Iterable[Nudge], playbook_id: str, since: dt.datetime | None
) -> dt.datetime | None:
    return min(
        (
            n.created_at
            for n in nudges
            if n.playbook_id == playbook_id and (since is None or n.created_at >= since)
        ),
        default=None,
    )


def due_window(
    playbook: Playbook,
    history: Sequence[Evaluation],
    nudges: Iterable[Nudge],
    now: dt.datetime,
) -> Window | None:
    """The window to evaluate now: the latest one closed and not yet decided; None when none is.

    Windows follow each other from the first nudge: ``[first, first + k·days)`` for k = 1, 2, …,
    each evaluated on everything since the first nudge (after a resume: the first nudge since).
    A paused playbook has no window, nor has one in shadow mode.
    """
    last = latest(history)
    if playbook.rollout.shadow:
        return None  # nothing reached anyone: there is no effect to measure
    if playbook.paused or (last is not None and last.pauses):
        return None  # paused, or lifted by the YAML but the resume is not on record yet
    since = epoch_start(history)
    first = first_nudge_at(nudges, playbook.id, since)
    if first is None:
        return None
    length = dt.timedelta(days=playbook.evaluation_window_days)
    closed = (now - first) // length
    decided = [
        e.window_end
        for e in history
        if e.verdict != Verdict.RESUMED and (since is None or e.window_end > since)
    ]
    if closed < 1:
        mid = first + length / 2
        if playbook.evaluation_stop_early and now >= mid and not decided:
            return Window(first, mid, mid=True)  # the halfway look, taken once
        return None
    end = first + closed * length
    if decided and max(decided) >= end:
        return None
    return Window(first, end)


def holdout_ends(
    assignments: Mapping[tuple[str, str], str],
    playbook_id: str,
    kept: dt.datetime | None,
    org: OrgSettings,
    installation_id: int,
) -> dict[str, dt.datetime]:
    """Held-out engineers released when the playbook was kept, and when (lower-case logins)."""
    if kept is None:
        return {}
    return {
        engineer: kept
        for (engineer, pid), group in assignments.items()
        if pid == playbook_id and group == HOLDOUT and released(org, installation_id, engineer, pid)
    }


def released(org: OrgSettings, installation_id: int, engineer: str, playbook_id: str) -> bool:
    """Whether a held-out engineer leaves the holdout once the playbook is kept.

    The same keyed draw that put them in the holdout is compared with the smaller share, so the
    long-running holdout is a random part of the first one and nobody moves into it.
    """
    share = min(org.holdout_share_kept, org.holdout_share)
    return assign_holdout(org.holdout_seed, installation_id, engineer, playbook_id, share) == NUDGED


def evaluate_due(
    playbook: Playbook,
    history: Sequence[Evaluation],
    *,
    nudges: Sequence[Nudge],
    reviews: Iterable[Review] | ReviewIndex,
    signals: Iterable[Signal] | SignalIndex,
    assignments: Mapping[tuple[str, str], str],
    org: OrgSettings,
    installation_id: int,
    now: dt.datetime,
    rules: Rules | None = None,
    followups: Iterable[FollowUp] | None = None,
    fit: PoissonFitter | None = None,
) -> Evaluation | None:
    """The decision due now for one playbook, if any: the daily job's whole core in one call.

    ``followups`` (the installation's spaced follow-ups) split the nudged engineers into those
    who also got one and those who got only the nudge, for a descriptive comparison beside the
    decision (:attr:`Evaluation.reinforcement`); nothing is decided on it. None (a caller that
    keeps no follow-ups, like the simulation) leaves the comparison out.

    ``playbook`` is as written (or as in force), ``history`` its decisions on record, including a
    resume recorded just before (``resume``). Reviews and signals must reach back ``evaluation.pre_days``
    before the window (the backfill provides them for the first windows).
    """
    window = due_window(playbook, history, nudges, now)
    if window is None:
        return None
    rules = rules or org.evaluation_rules()
    kept = kept_at(history)
    outcomes = measure_outcomes(
        playbook.id,
        reviews=reviews,
        signals=signals,
        nudges=nudges,
        assignments=assignments,
        since=window.start,
        until=window.end,
        lookback=dt.timedelta(days=playbook.evaluation_pre_days),
        holdout_ends=holdout_ends(assignments, playbook.id, kept, org, installation_id),
    )
    evaluation = evaluate_playbook(
        outcomes,
        installation_id=installation_id,
        playbook_id=playbook.id,
        window_start=window.start,
        window_end=window.end,
        at=now,
        rules=rules,
        resumes=resumes(history),
        mid_window=window.mid,
        monitoring=rules.monitor and kept is not None,
        fit=fit,
    )
    if followups is None or not playbook.reinforcement.enabled:
        return evaluation
    effect = reinforcement_effect_of(
        playbook.id, outcomes, followups, rules=rules, until=window.end
    )
    return replace(evaluation, reinforcement=effect)
