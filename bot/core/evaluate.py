"""Evaluation: did a playbook's nudge beat the holdout? The figures behind the kill switch.

Theory of operation. Each engineer with a first (would-be) nudge in the window gives one number:
the change in their rate of matching comments per reviewed pull request, after minus before
(:mod:`.outcome`). Engineers were randomized to the nudged group or the holdout, so the mean change
of the holdout is what the nudged group's change would have been without the nudge, and the
difference of the two mean changes estimates the nudge's effect (a difference in differences on
per-engineer rates). Welch's t-test, one-sided, asks whether the nudged group's change is lower;
the playbook beats the holdout when that test says so at level ``alpha``.

What this assumes: engineers are independent units (nobody's comments depend on whether a
colleague was nudged; if reviewers learn from nudges too, the effect is underestimated); the
randomization held (the holdout is decided before the budget, so both groups pass the same
gates); the mean of per-engineer changes is near normal, which is why each group needs a few
engineers with a few reviewed pull requests on both sides (``Rules``). Below those minimums the
playbook is paused for lack of data, which is recorded apart from a pause for no effect.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from statistics import fmean
from typing import Any

from bot.core.holdout import HOLDOUT, NUDGED
from bot.core.outcome import Outcome


class Verdict(StrEnum):
    EFFECTIVE = "effective"  # beat the holdout: the playbook keeps going
    NO_EFFECT = "no_effect"  # paused: did not beat the holdout within its window
    NO_DATA = "no_data"  # paused: too few engineers or reviewed pull requests to tell
    RESUMED = "resumed"  # an L&D author lifted the pause in the playbook's YAML


PAUSING = frozenset({Verdict.NO_EFFECT, Verdict.NO_DATA})

VERDICT_TEXT = {
    Verdict.EFFECTIVE: "keeps going: the nudge beat the holdout",
    Verdict.NO_EFFECT: "paused: the nudge did not beat the holdout",
    Verdict.NO_DATA: "paused: too little data to tell",
    Verdict.RESUMED: "resumed by its author",
}


@dataclass(frozen=True)
class Rules:
    """How much data an evaluation needs, and how sure it must be. Measured in bench/kill_switch.py."""

    min_engineers: int = 5  # per group, each with enough reviewed pull requests before and after
    min_prs: int = 3  # reviewed pull requests per engineer in each period
    alpha: float = 0.10  # one-sided level: the chance of keeping a playbook that does nothing

    @property
    def confidence(self) -> float:
        """The interval shown is the one that agrees with the test: beaten when it is all below 0."""
        return 1 - 2 * self.alpha


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class GroupFigures:
    """One group's side of the comparison; rates are means of per-engineer rates."""

    group: str
    engineers: int  # with a first (would-be) nudge in the window
    counted: int  # of those, with enough reviewed pull requests before and after
    prs_before: int
    prs_after: int
    comments_before: int
    comments_after: int
    rate_before: float | None
    rate_after: float | None

    @property
    def change(self) -> float | None:
        if self.rate_before is None or self.rate_after is None:
            return None
        return self.rate_after - self.rate_before


@dataclass(frozen=True)
class Evaluation:
    """One decision of the kill switch about one playbook, with the figures it rests on."""

    installation_id: int
    playbook_id: str
    verdict: Verdict
    window_start: dt.datetime
    window_end: dt.datetime
    at: dt.datetime  # when it was decided (the injected clock)
    reason: str
    nudged: GroupFigures | None = None
    holdout: GroupFigures | None = None
    estimate: float | None = None  # change nudged − change holdout, comments per reviewed PR
    low: float | None = None  # the interval at ``rules.confidence``
    high: float | None = None
    p_value: float | None = None  # one-sided: the nudged group's change is not lower
    rules: Rules = DEFAULT_RULES

    @property
    def pauses(self) -> bool:
        return self.verdict in PAUSING

    @property
    def relative(self) -> float | None:
        """The estimate as a share of the nudged group's rate before (−0.5: halved)."""
        base = self.nudged.rate_before if self.nudged else None
        if self.estimate is None or not base:
            return None
        return self.estimate / base


def _figures(group: str, outcomes: list[Outcome], min_prs: int) -> GroupFigures:
    counted = [o for o in outcomes if o.enough(min_prs)]
    return GroupFigures(
        group=group,
        engineers=len(outcomes),
        counted=len(counted),
        prs_before=sum(o.before.reviewed_prs for o in counted),
        prs_after=sum(o.after.reviewed_prs for o in counted),
        comments_before=sum(o.before.comments for o in counted),
        comments_after=sum(o.after.comments for o in counted),
        rate_before=fmean(o.before.rate for o in counted) if counted else None,  # type: ignore[misc]
        rate_after=fmean(o.after.rate for o in counted) if counted else None,  # type: ignore[misc]
    )


def evaluate_playbook(
    outcomes: Iterable[Outcome],
    *,
    installation_id: int,
    playbook_id: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    at: dt.datetime,
    rules: Rules = DEFAULT_RULES,
) -> Evaluation:
    """Compare nudged and held-out engineers over one evaluation window and decide.

    Pure: the outcomes are measured by the caller, and ``at`` is the caller's clock.
    """
    outcomes = list(outcomes)
    nudged = _figures(NUDGED, [o for o in outcomes if o.group == NUDGED], rules.min_prs)
    holdout = _figures(HOLDOUT, [o for o in outcomes if o.group == HOLDOUT], rules.min_prs)
    base = {
        "installation_id": installation_id,
        "playbook_id": playbook_id,
        "window_start": window_start,
        "window_end": window_end,
        "at": at,
        "nudged": nudged,
        "holdout": holdout,
        "rules": rules,
    }
    short = [f for f in (nudged, holdout) if f.counted < rules.min_engineers]
    if short:
        lacking = "; ".join(
            f"{f.counted} {'held-out' if f.group == HOLDOUT else 'nudged'} engineer"
            f"{'' if f.counted == 1 else 's'} with {rules.min_prs}+ reviewed PRs before and after "
            f"(of {f.engineers})"
            for f in short
        )
        return Evaluation(
            verdict=Verdict.NO_DATA,
            reason=f"too little data: {lacking}; {rules.min_engineers} per group are needed",
            **base,  # type: ignore[arg-type]
        )
    treated = [o.change for o in outcomes if o.group == NUDGED and o.enough(rules.min_prs)]
    control = [o.change for o in outcomes if o.group == HOLDOUT and o.enough(rules.min_prs)]
    estimate, low, high, p_value = welch_difference(treated, control, rules.confidence)  # type: ignore[arg-type]
    beaten = p_value < rules.alpha
    verdict = Verdict.EFFECTIVE if beaten else Verdict.NO_EFFECT
    comparison = "lower" if estimate < 0 else "not lower"
    reason = (
        f"the nudged group's rate changed by {estimate:+.3f} comments per reviewed PR relative to "
        f"the holdout ({comparison}; one-sided p {'< 0.001' if p_value < 0.001 else f'= {p_value:.3f}'}, "
        f"{'below' if beaten else 'not below'} {rules.alpha:g})"
    )
    return Evaluation(
        verdict=verdict, reason=reason, estimate=estimate, low=low, high=high, p_value=p_value,
        **base,  # type: ignore[arg-type]
    )


def welch_difference(
    treated: list[float], control: list[float], confidence: float
) -> tuple[float, float, float, float]:
    """Mean difference, its two-sided interval, and the one-sided p-value that it is below zero.

    Welch's t-test does not assume the two groups vary alike (the holdout is the smaller group).
    When neither group varies at all the test is undefined; the difference is then exact.
    """
    from scipy import stats  # loaded on first use: only the daily job and the simulation need it

    estimate = fmean(treated) - fmean(control)
    if _spread(treated) == 0 and _spread(control) == 0:
        return estimate, estimate, estimate, 0.0 if estimate < 0 else 1.0
    one_sided = stats.ttest_ind(treated, control, equal_var=False, alternative="less")
    two_sided = stats.ttest_ind(treated, control, equal_var=False)
    interval = two_sided.confidence_interval(confidence_level=confidence)
    return estimate, float(interval.low), float(interval.high), float(one_sided.pvalue)


def _spread(values: list[float]) -> float:
    return max(values) - min(values) if len(values) > 1 else 0.0


# Keeping evaluations: plain JSON, so both stores keep the figures in one text column. -----------


def evaluation_to_json(evaluation: Evaluation) -> dict[str, Any]:
    data = asdict(evaluation)
    for key in ("window_start", "window_end", "at"):
        data[key] = data[key].isoformat()
    data["verdict"] = evaluation.verdict.value
    return data


def evaluation_from_json(data: Mapping[str, Any]) -> Evaluation:
    def group(value: Mapping[str, Any] | None) -> GroupFigures | None:
        return GroupFigures(**value) if value else None

    def number(value: Any) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value

    return Evaluation(
        installation_id=data["installation_id"],
        playbook_id=data["playbook_id"],
        verdict=Verdict(data["verdict"]),
        window_start=dt.datetime.fromisoformat(data["window_start"]),
        window_end=dt.datetime.fromisoformat(data["window_end"]),
        at=dt.datetime.fromisoformat(data["at"]),
        reason=data["reason"],
        nudged=group(data.get("nudged")),
        holdout=group(data.get("holdout")),
        estimate=number(data.get("estimate")),
        low=number(data.get("low")),
        high=number(data.get("high")),
        p_value=number(data.get("p_value")),
        rules=Rules(**data.get("rules", {})),
    )
