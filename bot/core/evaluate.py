"""Evaluation: did a playbook's nudge beat the holdout? The figures behind the kill switch.

Theory of operation. Engineers were randomized to the nudged group or the holdout when the
playbook first fired for them, so the holdout shows what the nudged group would have done
without the nudge. For each engineer (:mod:`.outcome`) we know the reviewed pull requests and the
matching comments after their first (would-be) nudge, and the same for the period before it,
which reaches back into the history read when the app was installed (the backfill).

The estimate is a Poisson regression (statsmodels' GLM, log link) of each engineer's matching
comments after, with their reviewed pull requests after as exposure (an offset), the group as
treatment and the engineer's own rate before as covariate; its errors are robust (HC0), so the
interval does not lean on the counts being exactly Poisson. ``exp(coefficient) − 1`` is the
share of matching comments the nudge removed (−0.3: 30 % fewer), adjusted for how often each
engineer received such comments before. An engineer with 30 reviewed pull requests weighs more
than one with 3, as the counts say they should.

The decision is an exact randomization test (``scipy.stats.permutation_test``) of the
regression's score statistic for the treatment: the regression is fitted without the group,
and the mean residual of the nudged engineers is compared with the holdout's over every
reshuffle of the group labels (or 1,999 random ones when there are more). If the nudge did
nothing for anyone, the labels are exchangeable — that is what the randomization guarantees —
so the chance of keeping a useless playbook is at most the level, whatever the counts'
distribution. The nudge beats the holdout when the one-sided p-value is below the level.

Each resume of a paused playbook halves the level of its next test (an alpha spent per resume),
so an author who resumes a useless playbook until it passes is kept by chance at most twice the
level over any number of resumes. Records written before this design (``method: welch``: a
Welch t-test on per-engineer changes of rates) still load and read as they did.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from statistics import fmean
from typing import Any, Protocol

from bot.core.holdout import HOLDOUT, NUDGED
from bot.core.outcome import Outcome

POISSON = "poisson-randomization"
WELCH = "welch"  # the method of records written before the regression; read, no longer decided


class Verdict(StrEnum):
    EFFECTIVE = "effective"  # beat the holdout: the playbook keeps going
    NO_EFFECT = "no_effect"  # paused: did not beat the holdout within its window
    NO_DATA = "no_data"  # paused: too few engineers or reviewed pull requests to tell
    FUTILE = "futile"  # paused early: halfway through the window the nudge showed no reduction
    INTERIM = "interim"  # the halfway look found a reduction so far: the window goes on
    RESUMED = "resumed"  # an L&D author lifted the pause in the playbook's YAML
    # Paused by a monitoring evaluation of a kept playbook: the evidence is against a reduction.
    NO_LONGER_EFFECTIVE = "no_longer_effective"


PAUSING = frozenset(
    {Verdict.NO_EFFECT, Verdict.NO_DATA, Verdict.FUTILE, Verdict.NO_LONGER_EFFECTIVE}
)

VERDICT_TEXT = {
    Verdict.EFFECTIVE: "keeps going: the nudge beat the holdout",
    Verdict.NO_EFFECT: "paused: the nudge did not beat the holdout",
    Verdict.NO_DATA: "paused: too little data to tell",
    Verdict.FUTILE: "paused early: halfway through, the nudge showed no reduction",
    Verdict.INTERIM: "halfway look: the window goes on",
    Verdict.RESUMED: "resumed by its author",
    Verdict.NO_LONGER_EFFECTIVE: "paused: since it was kept, the evidence is against a reduction",
}
MONITORING_TEXT = "keeps going: monitoring found no evidence against a reduction"


@dataclass(frozen=True)
class Rules:
    """How much data an evaluation needs, and how sure it must be. Measured in bench/kill_switch.py.

    Set in ``org.yml`` under ``evaluation:`` (``level``, ``min_engineers``, ``min_prs``).
    """

    min_engineers: int = 5  # per group, each with enough reviewed pull requests after
    min_prs: int = 1  # reviewed pull requests after the first (would-be) nudge (welch: each period)
    alpha: float = (
        0.05  # one-sided level of the first test: the chance of keeping a useless playbook
    )
    method: str = POISSON
    resamples: int = 1_999  # random relabellings when the exact enumeration is larger
    # The halfway look pauses early when the estimate shows no reduction and its one-sided
    # p-value is at least this (0.5: the estimate is an increase, or no change).
    futility_p: float = 0.5
    halve_per_resume: bool = True  # False only to measure what re-testing from scratch would do
    # Once kept, later windows are monitoring evaluations: the playbook is paused only when the
    # estimate shows no reduction and its one-sided p-value (of a reduction) is at least this:
    # 0.95 is the one-sided test in the other direction at 5 % (nudged engineers receive more
    # matching comments than held-out ones, beyond what chance explains 1 time in 20).
    monitor_p: float = 0.95
    monitor: bool = True  # False only to measure what re-testing kept playbooks would do

    @property
    def confidence(self) -> float:
        """The interval shown agrees with a one-sided test at ``alpha``: it is two-sided at 1 − 2α."""
        return 1 - 2 * self.alpha

    def level(self, resumes: int) -> float:
        """The level of a test after ``resumes`` resumes: halved by each one."""
        return self.alpha / 2**resumes if self.halve_per_resume else self.alpha


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class GroupFigures:
    """One group's side of the comparison.

    Rates are pooled (matching comments ÷ reviewed PRs of the counted engineers); in records of
    the ``welch`` method they are means of per-engineer rates.
    """

    group: str
    engineers: int  # with a first (would-be) nudge in the window
    counted: int  # of those, with enough reviewed pull requests
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
class GroupChange:
    """One side of the follow-ups comparison: nudged engineers with, or without, a follow-up.

    Pooled like the kill switch's figures: the counted engineers' matching comments divided by
    their reviewed pull requests, before and after their first nudge.
    """

    engineers: int  # counted nudged engineers in the group
    mean_change: float | None  # mean of their own changes (after minus before), where both exist
    prs_before: int = 0
    prs_after: int = 0
    comments_before: int = 0
    comments_after: int = 0

    @property
    def rate_before(self) -> float | None:
        return self.comments_before / self.prs_before if self.prs_before else None

    @property
    def rate_after(self) -> float | None:
        return self.comments_after / self.prs_after if self.prs_after else None


@dataclass(frozen=True)
class ReinforcementEffect:
    """Nudged engineers split by whether they got at least one spaced follow-up.

    Descriptive only: who gets a follow-up is not randomized (it depends on the pull requests an
    engineer opens and on how their reviews go), so no decision rests on it.
    """

    playbook_id: str
    reinforced: GroupChange
    nudge_only: GroupChange
    min_engineers: int = 0  # per group, for the comparison to be shown at all

    @property
    def comparable(self) -> bool:
        """Both groups have at least ``min_engineers`` counted engineers (and one at least)."""
        least = max(1, self.min_engineers)
        return self.reinforced.engineers >= least and self.nudge_only.engineers >= least

    @property
    def difference(self) -> float | None:
        """Reinforced minus nudge-only mean change: below zero, follow-ups went with more improvement."""
        if self.reinforced.mean_change is None or self.nudge_only.mean_change is None:
            return None
        return self.reinforced.mean_change - self.nudge_only.mean_change


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
    # poisson: the share of matching comments the nudge removed, as exp(coefficient) − 1
    # (−0.3: 30 % fewer); welch: change nudged − change holdout, comments per reviewed PR.
    estimate: float | None = None
    low: float | None = None  # the interval at ``rules.confidence``
    high: float | None = None
    p_value: float | None = None  # one-sided: the nudge did not lower the rate
    rules: Rules = DEFAULT_RULES
    resumes: int = 0  # resumes before this test; each halves its level
    level: float | None = None  # the level this test had to clear (None: ``rules.alpha``)
    mid_window: bool = False  # a futility look halfway through the window, not the window's end
    exact: bool = False  # the randomization test enumerated every relabelling
    monitoring: bool = (
        False  # a window after the playbook was kept: pauses only on evidence against
    )
    # Follow-ups or the nudge alone, among the nudged (descriptive; None: not measured).
    reinforcement: ReinforcementEffect | None = None

    @property
    def headline(self) -> str:
        """The decision in a few words (a monitoring keep says so)."""
        if self.monitoring and self.verdict == Verdict.EFFECTIVE:
            return MONITORING_TEXT
        return VERDICT_TEXT[self.verdict]

    @property
    def pauses(self) -> bool:
        return self.verdict in PAUSING

    @property
    def applied_level(self) -> float:
        return self.rules.alpha if self.level is None else self.level

    @property
    def relative(self) -> float | None:
        """The estimate as a share of the rate without the nudge (−0.5: halved)."""
        if self.estimate is None:
            return None
        if self.rules.method != WELCH:
            return self.estimate
        base = self.nudged.rate_before if self.nudged else None
        if not base:
            return None
        return self.estimate / base


def counts(outcome: Outcome, rules: Rules) -> bool:
    """Whether an engineer's outcome has enough reviewed pull requests to be counted."""
    if rules.method == WELCH:
        return outcome.enough(rules.min_prs)
    return outcome.after.reviewed_prs >= rules.min_prs


def _figures(group: str, outcomes: list[Outcome], rules: Rules) -> GroupFigures:
    counted = [o for o in outcomes if counts(o, rules)]
    prs_before = sum(o.before.reviewed_prs for o in counted)
    prs_after = sum(o.after.reviewed_prs for o in counted)
    comments_before = sum(o.before.comments for o in counted)
    comments_after = sum(o.after.comments for o in counted)
    if rules.method == WELCH:
        before = fmean(o.before.rate for o in counted) if counted else None  # type: ignore[misc]
        after = fmean(o.after.rate for o in counted) if counted else None  # type: ignore[misc]
    else:
        before = comments_before / prs_before if prs_before else None
        after = comments_after / prs_after if prs_after else None
    return GroupFigures(
        group=group,
        engineers=len(outcomes),
        counted=len(counted),
        prs_before=prs_before,
        prs_after=prs_after,
        comments_before=comments_before,
        comments_after=comments_after,
        rate_before=before,
        rate_after=after,
    )


def _p_text(p_value: float) -> str:
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.3f}"


class PoissonFitter(Protocol):
    """What computes :func:`poisson_effect`'s answer for :func:`evaluate_playbook`."""

    def __call__(
        self, outcomes: list[Outcome], /, *, confidence: float, resamples: int
    ) -> PoissonFit: ...


def evaluate_playbook(
    outcomes: Iterable[Outcome],
    *,
    installation_id: int,
    playbook_id: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    at: dt.datetime,
    rules: Rules = DEFAULT_RULES,
    resumes: int = 0,
    mid_window: bool = False,
    monitoring: bool = False,
    fit: PoissonFitter | None = None,
) -> Evaluation:
    """Compare nudged and held-out engineers over one evaluation window and decide.

    ``fit`` computes the regression and its randomization test from the counted outcomes
    (:func:`poisson_effect` unless the caller runs it elsewhere, as ``python -m bot simulate``
    does in a second process while the simulation goes on).

    Pure: the outcomes are measured by the caller, and ``at`` is the caller's clock. With
    ``mid_window`` it is the futility look halfway through: the playbook is paused early
    (``FUTILE``) when the estimate shows no reduction at all, and otherwise the window goes on
    (``INTERIM``, recorded so the look is taken once); too little data never stops it early.

    With ``monitoring`` the playbook was kept at an earlier window: it keeps going unless the
    data show evidence against a reduction (the estimate is no reduction and the one-sided
    p-value of a reduction is at least ``rules.monitor_p``: ``NO_LONGER_EFFECTIVE``); failing to
    show a reduction again, or too little data, keeps it.
    """
    outcomes = list(outcomes)
    nudged = _figures(NUDGED, [o for o in outcomes if o.group == NUDGED], rules)
    holdout = _figures(HOLDOUT, [o for o in outcomes if o.group == HOLDOUT], rules)
    level = rules.level(resumes)
    base: dict[str, Any] = {
        "installation_id": installation_id,
        "playbook_id": playbook_id,
        "window_start": window_start,
        "window_end": window_end,
        "at": at,
        "nudged": nudged,
        "holdout": holdout,
        "rules": rules,
        "resumes": resumes,
        "level": level,
        "mid_window": mid_window,
        "monitoring": monitoring,
    }
    short = [f for f in (nudged, holdout) if f.counted < rules.min_engineers]
    if short:
        periods = (
            "before and after" if rules.method == WELCH else "after their first (would-be) nudge"
        )
        lacking = "; ".join(
            f"{f.counted} {'held-out' if f.group == HOLDOUT else 'nudged'} engineer"
            f"{'' if f.counted == 1 else 's'} with {rules.min_prs}+ reviewed PRs {periods} "
            f"(of {f.engineers})"
            for f in short
        )
        if mid_window:
            return Evaluation(
                verdict=Verdict.INTERIM,
                reason=f"halfway look: too little data yet ({lacking}); the window goes on",
                **base,
            )
        if monitoring:
            return Evaluation(
                verdict=Verdict.EFFECTIVE,
                reason=f"monitoring since it was kept: too little data to tell ({lacking}); "
                "no evidence against a reduction, so it keeps going",
                **base,
            )
        return Evaluation(
            verdict=Verdict.NO_DATA,
            reason=f"too little data: {lacking}; {rules.min_engineers} per group are needed",
            **base,
        )
    counted = [o for o in outcomes if counts(o, rules)]
    if rules.method == WELCH:
        treated = [o.change for o in counted if o.group == NUDGED]
        control = [o.change for o in counted if o.group == HOLDOUT]
        estimate, low, high, p_value = welch_difference(treated, control, 1 - 2 * level)  # type: ignore[arg-type]
        exact = False
    else:
        fitted = (fit or poisson_effect)(
            counted, confidence=1 - 2 * level, resamples=rules.resamples
        )
        estimate, low, high = fitted.effect, fitted.low, fitted.high
        p_value, exact = fitted.p_value, fitted.exact
    if mid_window:
        if estimate >= 0 and p_value >= rules.futility_p:
            return Evaluation(
                verdict=Verdict.FUTILE,
                estimate=estimate,
                low=low,
                high=high,
                p_value=p_value,
                exact=exact,
                reason=_futile_reason(estimate, rules),
                **base,
            )
        return Evaluation(
            verdict=Verdict.INTERIM,
            estimate=estimate,
            low=low,
            high=high,
            p_value=p_value,
            exact=exact,
            reason=f"halfway look: {_change_words(estimate, rules)} so far; the window goes on",
            **base,
        )
    figures: dict[str, Any] = {
        "estimate": estimate,
        "low": low,
        "high": high,
        "p_value": p_value,
        "exact": exact,
    }
    if monitoring:
        against = estimate >= 0 and p_value >= rules.monitor_p
        words = _change_words(estimate, rules)
        if against:
            return Evaluation(
                verdict=Verdict.NO_LONGER_EFFECTIVE,
                reason=(
                    f"monitoring since it was kept: {words} (one-sided randomization p of a "
                    f"reduction {_p_text(p_value)}, at least {rules.monitor_p:g}): evidence "
                    "against a reduction; paused"
                ),
                **figures,
                **base,
            )
        return Evaluation(
            verdict=Verdict.EFFECTIVE,
            reason=(
                f"monitoring since it was kept: {words} (one-sided randomization p of a "
                f"reduction {_p_text(p_value)}; it is paused only with no reduction and p at "
                f"least {rules.monitor_p:g}); no evidence against a reduction, so it keeps going"
            ),
            **figures,
            **base,
        )
    beaten = p_value < level
    verdict = Verdict.EFFECTIVE if beaten else Verdict.NO_EFFECT
    spent = f", the level after {resumes} resume{'' if resumes == 1 else 's'}" if resumes else ""
    if rules.method == WELCH:
        comparison = "lower" if estimate < 0 else "not lower"
        reason = (
            f"the nudged group's rate changed by {estimate:+.3f} comments per reviewed PR relative to "
            f"the holdout ({comparison}; one-sided p {_p_text(p_value)}, "
            f"{'below' if beaten else 'not below'} {level:g}{spent})"
        )
    else:
        reason = (
            f"{_change_words(estimate, rules)} (one-sided randomization p {_p_text(p_value)}, "
            f"{'below' if beaten else 'not below'} {level:g}{spent})"
        )
    return Evaluation(
        verdict=verdict,
        reason=reason,
        estimate=estimate,
        low=low,
        high=high,
        p_value=p_value,
        exact=exact,
        **base,
    )


def _change_words(estimate: float, rules: Rules) -> str:
    if rules.method == WELCH:
        return f"the nudged group's rate changed by {estimate:+.3f} comments per reviewed PR relative to the holdout"
    if abs(estimate) < 0.005:
        return (
            "nudged engineers received as many matching comments per reviewed PR as held-out ones"
        )
    if estimate < 0:
        return f"nudged engineers received {-100 * estimate:.0f} % fewer matching comments per reviewed PR than held-out ones"
    return f"nudged engineers received {100 * estimate:.0f} % more matching comments per reviewed PR than held-out ones"


def _futile_reason(estimate: float, rules: Rules) -> str:
    return f"halfway look: {_change_words(estimate, rules)}, no reduction; paused early"


@dataclass(frozen=True)
class PoissonFit:
    """The regression's answer: the nudge's effect as a share, its interval, and the test."""

    effect: float  # exp(coefficient of the group) − 1
    low: float
    high: float
    p_value: float  # one-sided exact randomization test of the score statistic
    exact: bool  # every relabelling enumerated (else ``resamples`` random ones)
    coefficient: float
    standard_error: float  # robust (HC0)
    wald_p: float  # one-sided, from the robust standard error (shown for reference, not decided on)


# An engineer's rate before is shrunk toward the pooled rate by this many reviewed PRs, so that
# an engineer with no reviewed PR before gets the pooled rate rather than an undefined one.
PRIOR_PRS = 2.0


def design(outcomes: list[Outcome]) -> tuple[Any, Any, Any, Any]:
    """The regression's data: counts after, log exposure, group (1 nudged), log rate before."""
    import numpy as np

    y = np.array([o.after.comments for o in outcomes], dtype=float)
    exposure = np.array([o.after.reviewed_prs for o in outcomes], dtype=float)
    treated = np.array([o.group == NUDGED for o in outcomes], dtype=float)
    c_before = np.array([o.before.comments for o in outcomes], dtype=float)
    n_before = np.array([o.before.reviewed_prs for o in outcomes], dtype=float)
    pooled = c_before.sum() / n_before.sum() if n_before.sum() else 0.0
    if pooled > 0:
        covariate = np.log((c_before + PRIOR_PRS * pooled) / (n_before + PRIOR_PRS))
    else:
        covariate = np.zeros_like(y)
    return y, np.log(exposure), treated, covariate


def libraries() -> tuple[Any, Any, Any]:
    """statsmodels' GLM, its Poisson family, and scipy.stats, imported on first use.

    Only the daily job and the simulation evaluate: the app's web process and the other commands
    never pay for these imports. The GLM is imported from its own module, not ``statsmodels.api``
    (which also loads time series, plotting and data sets).
    """
    from scipy import stats
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM

    return GLM, Poisson, stats


# Relabellings drawn at a time by the randomization test: bounds its memory (a batch is
# BATCH × engineers numbers) without changing the relabellings drawn.
BATCH = 256


def poisson_effect(
    outcomes: list[Outcome], *, confidence: float, resamples: int = 1_999
) -> PoissonFit:
    """Poisson GLM with exposure and pre-period covariate, robust errors, randomization test."""
    return poisson_effect_of(*design(outcomes), confidence=confidence, resamples=resamples)


def poisson_effect_of(
    y: Any, offset: Any, treated: Any, covariate: Any, *, confidence: float, resamples: int = 1_999
) -> PoissonFit:
    """:func:`poisson_effect` on the regression's data (:func:`design`): a few arrays, cheap to
    hand to another process."""
    import numpy as np

    GLM, Poisson, stats = libraries()
    varies = np.ptp(covariate) > 1e-12
    columns = [np.ones_like(y), treated] + ([covariate] if varies else [])
    null_columns = [np.ones_like(y)] + ([covariate] if varies else [])
    family = Poisson()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # separation (no comment at all in a group) is handled below
        full = GLM(y, np.column_stack(columns), family=family, offset=offset).fit(cov_type="HC0")
        null = GLM(y, np.column_stack(null_columns), family=family, offset=offset).fit()
    coefficient = float(full.params[1])
    se = float(full.bse[1])
    if not math.isfinite(se) or se <= 0:
        se = math.inf
    z = stats.norm.ppf(0.5 + confidence / 2)
    low = math.exp(coefficient - z * se) - 1 if math.isfinite(se) else -1.0
    high = math.exp(coefficient + z * se) - 1 if math.isfinite(se) else math.inf
    wald_p = float(stats.norm.cdf(coefficient / se)) if math.isfinite(se) else 0.5
    residual = y - null.fittedvalues
    nudged, held = residual[treated == 1], residual[treated == 0]
    exact = math.comb(len(residual), len(nudged)) <= resamples
    common = {
        "vectorized": True,
        "n_resamples": resamples,
        "alternative": "less",
        "batch": BATCH,
        "rng": np.random.default_rng(0),  # the same figures give the same decision
    }
    if exact:
        # Every split of the engineers into groups of these sizes, enumerated.
        test = stats.permutation_test(
            (nudged, held), _mean_difference, permutation_type="independent", **common
        )
    else:
        # The same test with random relabellings: the residuals in one row, nudged first, and a
        # statistic that reads the first ones as nudged. Shuffling the row ("pairings", scipy's
        # one-sample form for order-dependent statistics) relabels the engineers at random, and
        # scipy draws those shuffles in whole batches rather than one by one.
        split = len(nudged)

        def difference(row: Any, axis: int = -1) -> Any:
            return _mean_difference(
                np.take(row, range(split), axis=axis),
                np.take(row, range(split, row.shape[axis]), axis=axis),
                axis=axis,
            )

        test = stats.permutation_test(
            (np.concatenate([nudged, held]),),
            difference,
            permutation_type="pairings",
            **common,
        )
    effect = math.exp(coefficient) - 1
    return PoissonFit(
        effect=max(effect, -1.0),
        low=max(low, -1.0),
        high=high,
        p_value=float(test.pvalue),
        exact=exact,
        coefficient=coefficient,
        standard_error=se,
        wald_p=wald_p,
    )


def _mean_difference(a: Any, b: Any, axis: int = -1) -> Any:
    return a.mean(axis=axis) - b.mean(axis=axis)


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
    for key in ("estimate", "low", "high", "p_value"):
        if isinstance(data[key], float) and not math.isfinite(data[key]):
            data[key] = None  # an unbounded interval end: JSON has no infinity
    return data


def evaluation_from_json(data: Mapping[str, Any]) -> Evaluation:
    """Read a stored evaluation; records from before the regression read as ``welch`` ones."""

    def group(value: Mapping[str, Any] | None) -> GroupFigures | None:
        return GroupFigures(**value) if value else None

    def number(value: Any) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value

    def effect(value: Mapping[str, Any] | None) -> ReinforcementEffect | None:
        if not value:
            return None
        return ReinforcementEffect(
            playbook_id=value["playbook_id"],
            reinforced=GroupChange(**value["reinforced"]),
            nudge_only=GroupChange(**value["nudge_only"]),
            min_engineers=int(value.get("min_engineers") or 0),
        )

    rules = dict(data.get("rules") or {})
    rules.setdefault("method", WELCH)  # older records name no method: they were Welch tests
    rules.setdefault("min_prs", 3)
    rules.setdefault("alpha", 0.10)
    known = {f for f in Rules.__dataclass_fields__}
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
        rules=Rules(**{k: v for k, v in rules.items() if k in known}),
        resumes=int(data.get("resumes") or 0),
        level=number(data.get("level")),
        mid_window=bool(data.get("mid_window", False)),
        exact=bool(data.get("exact", False)),
        monitoring=bool(data.get("monitoring", False)),
        reinforcement=effect(data.get("reinforcement")),
    )
