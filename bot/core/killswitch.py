"""The kill switch: when a playbook is evaluated, whether it is paused, and how a pause is lifted.

A playbook's evaluation window opens with its first nudge (held-out ones included) and is
``evaluation.window_days`` long. When a window closes, the playbook is evaluated on everything
since the window opened: a nudge that beat the holdout keeps going and is evaluated again when the
next window closes; one that did not, or that had too little data to tell, is paused. A pause
stops new nudges (the comments are still recorded, and engineers keep their group). Only an L&D
author lifts it, by writing a date on or after the pause in the playbook
(``evaluation: {resumed_on: 2026-05-01}``); the next window opens with the first nudge from then.
Every decision and every resume stays on record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.evaluate import Evaluation, Verdict
from bot.core.nudges import Nudge
from bot.core.playbook import Playbook


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime  # exclusive; the moment the window closes


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
    return (
        resumed_on is not None and resumed_on >= pause.at.date() and now >= start_of(resumed_on)
    )


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
    """The playbooks as the decisions must see them: ``paused`` is the effective pause."""
    effective = {}
    for pid, playbook in playbooks.items():
        state = pause_state(playbook, histories.get(pid, ()), now)
        effective[pid] = replace(playbook, paused=True) if state.paused and not playbook.paused else playbook
    return effective


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


def first_nudge_at(nudges: Iterable[Nudge], playbook_id: str, since: dt.datetime | None) -> dt.datetime | None:
    return min(
        (n.created_at for n in nudges if n.playbook_id == playbook_id and (since is None or n.created_at >= since)),
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
    A paused playbook has no window.
    """
    last = latest(history)
    if playbook.paused or (last is not None and last.pauses):
        return None  # paused, or lifted by the YAML but the resume is not on record yet
    since = epoch_start(history)
    first = first_nudge_at(nudges, playbook.id, since)
    if first is None:
        return None
    length = dt.timedelta(days=playbook.evaluation_window_days)
    closed = (now - first) // length
    if closed < 1:
        return None
    end = first + closed * length
    decided = [e.window_end for e in history if e.verdict != Verdict.RESUMED and (since is None or e.window_end > since)]
    if decided and max(decided) >= end:
        return None
    return Window(first, end)
