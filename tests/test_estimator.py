"""The kill switch's estimator: statsmodels' own fit on fixed data, an exact randomization test,
calibration on seeded null data, and stored evaluations that still load."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from bot.core.evaluate import (
    DEFAULT_RULES,
    POISSON,
    WELCH,
    Evaluation,
    GroupFigures,
    Rules,
    Verdict,
    design,
    evaluate_playbook,
    evaluation_from_json,
    evaluation_to_json,
    poisson_effect,
)
from bot.core.evidence import describe, render_evidence
from bot.core.holdout import HOLDOUT, NUDGED
from bot.core.outcome import Outcome, Tally

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

# (group, PRs before, comments before, PRs after, comments after): thirteen engineers, fixed.
FIXED = [
    (NUDGED, 30, 9, 22, 2),
    (NUDGED, 12, 2, 10, 1),
    (NUDGED, 40, 14, 35, 6),
    (NUDGED, 8, 3, 9, 0),
    (NUDGED, 25, 4, 20, 2),
    (NUDGED, 18, 6, 15, 2),
    (NUDGED, 0, 0, 6, 1),
    (NUDGED, 33, 7, 30, 4),
    (HOLDOUT, 28, 8, 25, 7),
    (HOLDOUT, 15, 3, 12, 3),
    (HOLDOUT, 36, 10, 30, 9),
    (HOLDOUT, 10, 2, 11, 3),
    (HOLDOUT, 22, 5, 18, 5),
]


def outcomes_of(rows) -> list[Outcome]:
    return [
        Outcome(f"eng{i}", "sql-injection", group, T0, Tally(pb, cb), Tally(pa, ca))
        for i, (group, pb, cb, pa, ca) in enumerate(rows)
    ]


def evaluate(outcomes, rules=DEFAULT_RULES, **kw):
    return evaluate_playbook(
        outcomes,
        installation_id=7,
        playbook_id="sql-injection",
        window_start=T0,
        window_end=T0 + dt.timedelta(days=60),
        at=T0 + dt.timedelta(days=61),
        rules=rules,
        **kw,
    )


def test_the_estimate_is_statsmodels_poisson_glm_with_exposure_covariate_and_robust_errors():
    outcomes = outcomes_of(FIXED)
    fit = poisson_effect(outcomes, confidence=0.90)
    # The same model written out with statsmodels' own ``exposure`` argument and HC0 errors.
    y = np.array([r[4] for r in FIXED], float)
    exposure = np.array([r[3] for r in FIXED], float)
    treated = np.array([r[0] == NUDGED for r in FIXED], float)
    cb = np.array([r[2] for r in FIXED], float)
    nb = np.array([r[1] for r in FIXED], float)
    pooled = cb.sum() / nb.sum()
    before = np.log((cb + 2 * pooled) / (nb + 2))  # shrunk toward the pooled rate by 2 PRs
    X = sm.add_constant(np.column_stack([treated, before]))
    theirs = sm.GLM(y, X, family=sm.families.Poisson(), exposure=exposure).fit(cov_type="HC0")
    assert fit.coefficient == pytest.approx(theirs.params[1], rel=1e-7)
    assert fit.standard_error == pytest.approx(theirs.bse[1], rel=1e-6)
    low, high = theirs.conf_int(alpha=0.10)[1]
    assert (fit.low, fit.high) == (
        pytest.approx(math.exp(low) - 1),
        pytest.approx(math.exp(high) - 1),
    )
    assert fit.effect == pytest.approx(math.exp(theirs.params[1]) - 1)
    assert fit.effect < -0.4, "the nudged engineers clearly received fewer matching comments"
    # An engineer with no reviewed PR before gets the pooled rate, not an undefined one.
    assert design(outcomes)[3][6] == pytest.approx(math.log(pooled))


def test_the_randomization_test_is_exact_over_every_relabelling_when_they_are_few():
    outcomes = outcomes_of(FIXED)
    fit = poisson_effect(outcomes, confidence=0.90)
    assert fit.exact, "13 engineers, 5 held out: 1,287 relabellings, all enumerated"
    # By hand: the null model (no group), its residuals, and every choice of 8 nudged engineers.
    y, offset, treated, before = design(outcomes)
    null = sm.GLM(
        y, np.column_stack([np.ones_like(y), before]), family=sm.families.Poisson(), offset=offset
    ).fit()
    residual = y - null.fittedvalues
    observed = residual[treated == 1].mean() - residual[treated == 0].mean()
    as_low = total = 0
    for chosen in itertools.combinations(range(len(y)), 8):
        mask = np.zeros(len(y), bool)
        mask[list(chosen)] = True
        total += 1
        as_low += residual[mask].mean() - residual[~mask].mean() <= observed + 1e-12
    assert fit.p_value == pytest.approx(as_low / total)
    assert fit.p_value < 0.05


def test_a_clear_reduction_keeps_the_playbook_and_says_so_in_words():
    result = evaluate(outcomes_of(FIXED))
    assert result.verdict == Verdict.EFFECTIVE and not result.pauses
    assert result.rules.method == POISSON and result.exact
    assert result.low < result.estimate < result.high < 0
    assert result.reason.startswith("nudged engineers received ")
    assert "fewer matching comments per reviewed PR than held-out ones" in result.reason
    # Pooled rates of the counted engineers: comments ÷ reviewed PRs.
    assert result.nudged.rate_after == pytest.approx(18 / 147)
    assert result.holdout.counted == 5 and result.holdout.comments_after == 27
    body = render_evidence("SQL injection", [result])
    assert "**In plain words.** Engineers who were nudged went on to receive" in body
    assert "less than 1 time in 20" in body
    assert "Randomization test over every reshuffle of the groups" in body


def test_the_same_counts_in_both_groups_pause_for_no_effect():
    same = [row for row in FIXED if row[0] == HOLDOUT]
    rows = [(NUDGED, *r[1:]) for r in same] * 2 + same + [(HOLDOUT, 20, 5, 20, 5)]
    result = evaluate(outcomes_of(rows))
    assert result.verdict == Verdict.NO_EFFECT and result.pauses
    assert result.estimate == pytest.approx(0, abs=0.02)
    assert result.low < 0 < result.high
    assert "not below 0.05" in result.reason
    assert "cannot be told apart from no effect" in render_evidence("SQL injection", [result])


def test_every_engineer_with_a_reviewed_pr_after_counts_and_only_they_do():
    rows = FIXED[:8] + [(HOLDOUT, 0, 0, 3, 1), (HOLDOUT, 20, 4, 0, 0), *FIXED[8:11]]
    result = evaluate(outcomes_of(rows))
    assert result.holdout.engineers == 5 and result.holdout.counted == 4, (
        "no reviewed PR after: not counted"
    )
    thin = evaluate(outcomes_of(FIXED[:8] + [(HOLDOUT, 20, 4, 0, 0)] + FIXED[8:11]))
    assert thin.verdict == Verdict.NO_DATA and thin.estimate is None
    assert thin.reason == (
        "too little data: 3 held-out engineers with 1+ reviewed PRs after their first (would-be) "
        "nudge (of 4); 5 per group are needed"
    )


def test_each_resume_halves_the_level_and_the_evidence_says_why():
    result = evaluate(outcomes_of(FIXED), resumes=2)
    assert result.level == pytest.approx(0.0125)
    assert result.verdict == (Verdict.EFFECTIVE if result.p_value < 0.0125 else Verdict.NO_EFFECT)
    assert "the level after 2 resumes" in result.reason
    body = render_evidence("SQL injection", [result])
    assert (
        "paused and resumed twice, so this test had to clear a stricter level: p < 0.0125 instead of 0.05"
        in body
    )
    assert "at most 10%" in body
    assert DEFAULT_RULES.level(0) == 0.05 and DEFAULT_RULES.level(1) == 0.025


def test_the_halfway_look_pauses_early_only_when_there_is_no_reduction():
    increase = [(g, pb, cb, pa, ca + (4 if g == NUDGED else 0)) for g, pb, cb, pa, ca in FIXED]
    early = evaluate(outcomes_of(increase), mid_window=True)
    assert early.verdict == Verdict.FUTILE and early.pauses and early.mid_window
    assert early.estimate > 0 and early.reason.endswith("no reduction; paused early")
    going = evaluate(outcomes_of(FIXED), mid_window=True)
    assert going.verdict == Verdict.INTERIM and not going.pauses, "a halfway look never keeps"
    assert going.reason.endswith("so far; the window goes on")
    thin = evaluate(outcomes_of(FIXED[:3] + FIXED[8:]), mid_window=True)
    assert thin.verdict == Verdict.INTERIM, "too little data halfway never stops the window"


def _null_outcomes(rng: np.random.Generator, engineers: int) -> list[Outcome]:
    rows = []
    for _i in range(engineers):
        rate = rng.gamma(2.0, 0.15 / 2)  # engineers differ; the nudge does nothing
        before, after = rng.poisson(35), rng.poisson(20) + 1
        group = HOLDOUT if rng.random() < 0.35 else NUDGED
        rows.append(
            (
                group,
                before,
                rng.poisson(rate * before),
                after,
                rng.poisson(rate * after * rng.gamma(4, 0.25)),
            )
        )
    return outcomes_of(rows)


def test_calibration_a_useless_playbook_is_kept_within_the_level():
    """Seeded null data sets, overdispersed (engineers' rates drift): false keeps stay within α."""
    rng = np.random.default_rng(20260301)
    runs = 300
    kept = sum(
        evaluate(_null_outcomes(rng, 60), Rules(resamples=499)).verdict == Verdict.EFFECTIVE
        for _ in range(runs)
    )
    low = stats.binomtest(kept, runs).proportion_ci(0.95).low
    assert low <= 0.05, f"{kept} of {runs} useless playbooks kept: more than the level"
    assert kept / runs <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / runs)


def test_evaluations_round_trip_through_json_and_unbounded_ends_become_null():
    result = evaluate(outcomes_of(FIXED), resumes=1)
    assert evaluation_from_json(json.loads(json.dumps(evaluation_to_json(result)))) == result
    unbounded = Evaluation(
        7, "p", Verdict.NO_EFFECT, T0, T0, T0, "r", estimate=0.1, low=-0.2, high=math.inf
    )
    data = evaluation_to_json(unbounded)
    assert data["high"] is None
    assert evaluation_from_json(json.loads(json.dumps(data, allow_nan=False))).high is None


def test_an_evaluation_stored_before_the_regression_still_loads_and_reads_as_it_did():
    stored = {
        "installation_id": 7,
        "playbook_id": "sql-injection",
        "verdict": "no_effect",
        "window_start": "2026-01-05T09:00:00+00:00",
        "window_end": "2026-03-06T09:00:00+00:00",
        "at": "2026-03-07T00:00:00+00:00",
        "reason": "the nudged group's rate changed by -0.066",
        "nudged": {
            "group": "nudged",
            "engineers": 35,
            "counted": 26,
            "prs_before": 189,
            "prs_after": 609,
            "comments_before": 52,
            "comments_after": 235,
            "rate_before": 0.412,
            "rate_after": 0.346,
        },
        "holdout": {
            "group": "holdout",
            "engineers": 13,
            "counted": 9,
            "prs_before": 63,
            "prs_after": 147,
            "comments_before": 19,
            "comments_after": 57,
            "rate_before": 0.378,
            "rate_after": 0.377,
        },
        "estimate": -0.066,
        "low": -0.206,
        "high": 0.074,
        "p_value": 0.27,
        "rules": {"min_engineers": 5, "min_prs": 3, "alpha": 0.1},
    }
    old = evaluation_from_json(stored)
    assert old.rules == Rules(min_engineers=5, min_prs=3, alpha=0.1, method=WELCH)
    assert (old.resumes, old.level, old.applied_level, old.mid_window) == (0, None, 0.1, False)
    assert old.nudged == GroupFigures("nudged", 35, 26, 189, 609, 52, 235, 0.412, 0.346)
    assert (
        describe(old)[3]
        == "  estimate −0.066 per reviewed PR (80% interval −0.206 to +0.074), one-sided p = 0.270"
    )
    body = render_evidence("Swallowed errors", [old])
    assert "| counted (3+ reviewed PRs before and after) | 26 | 9 |" in body
    assert "One-sided Welch test: p = 0.270; the nudge beats the holdout when p < 0.1." in body
    assert evaluation_from_json(evaluation_to_json(old)) == old


# monitoring a kept playbook --------------------------------------------------------------------

AGAINST = [
    (NUDGED, 30, 9, 22, 9),
    (NUDGED, 12, 2, 10, 4),
    (NUDGED, 40, 14, 35, 15),
    (NUDGED, 8, 3, 9, 4),
    (NUDGED, 25, 4, 20, 6),
    (NUDGED, 18, 6, 15, 7),
    (NUDGED, 0, 0, 6, 3),
    (NUDGED, 33, 7, 30, 10),
    (HOLDOUT, 28, 8, 25, 4),
    (HOLDOUT, 15, 3, 12, 1),
    (HOLDOUT, 36, 10, 30, 5),
    (HOLDOUT, 10, 2, 11, 1),
    (HOLDOUT, 22, 5, 18, 2),
]
# Nudged engineers a little below the holdout, not significantly: the keep test would pause it.
UNSHOWN = [
    (NUDGED, 30, 9, 22, 7),
    (NUDGED, 12, 2, 10, 3),
    (NUDGED, 40, 14, 35, 9),
    (NUDGED, 8, 3, 9, 2),
    (NUDGED, 25, 4, 20, 5),
    (NUDGED, 18, 6, 15, 4),
    (NUDGED, 0, 0, 6, 1),
    (NUDGED, 33, 7, 30, 8),
    (HOLDOUT, 28, 8, 25, 7),
    (HOLDOUT, 15, 3, 12, 3),
    (HOLDOUT, 36, 10, 30, 9),
    (HOLDOUT, 10, 2, 11, 3),
    (HOLDOUT, 22, 5, 18, 5),
]


def test_a_kept_playbook_that_fails_to_show_a_reduction_again_keeps_going_under_monitoring():
    retested = evaluate(outcomes_of(UNSHOWN))
    assert retested.verdict == Verdict.NO_EFFECT, "the keep-or-pause test would pause it"
    assert retested.estimate < 0 and retested.p_value >= 0.05
    monitored = evaluate(outcomes_of(UNSHOWN), monitoring=True)
    assert monitored.verdict == Verdict.EFFECTIVE and monitored.monitoring
    assert monitored.p_value == retested.p_value, "the same figures, another rule"
    assert "no evidence against a reduction, so it keeps going" in monitored.reason
    body = render_evidence("SQL injection", [evaluate(outcomes_of(FIXED)), monitored])
    assert "keeps going: monitoring found no evidence against a reduction" in body
    assert "not asked to prove itself again at every window" in body
    assert "it is paused only when the estimate shows no reduction and p is at least 0.95" in body


def test_a_kept_playbook_is_paused_when_the_evidence_turns_against_a_reduction():
    result = evaluate(outcomes_of(AGAINST), monitoring=True)
    assert result.estimate > 0 and result.p_value >= DEFAULT_RULES.monitor_p
    assert result.verdict == Verdict.NO_LONGER_EFFECTIVE and result.pauses
    assert "evidence against a reduction; paused" in result.reason
    head = describe(result)[0]
    assert "paused: since it was kept, the evidence is against a reduction" in head
    body = render_evidence("SQL injection", [evaluate(outcomes_of(FIXED)), result])
    assert "the evidence is now against the nudge helping, so it is paused" in body
    # A lenient monitor (pause whenever the estimate shows no reduction) pauses it too; the
    # clear reduction of FIXED is never paused by either.
    lenient = Rules(monitor_p=0.5)
    assert evaluate(outcomes_of(AGAINST), lenient, monitoring=True).pauses
    assert not evaluate(outcomes_of(FIXED), lenient, monitoring=True).pauses
    assert not evaluate(outcomes_of(FIXED), monitoring=True).pauses


def test_monitoring_with_too_few_held_out_engineers_keeps_the_playbook():
    few = [row for row in AGAINST if row[0] == NUDGED] + [
        row for row in AGAINST if row[0] == HOLDOUT
    ][:3]
    result = evaluate(outcomes_of(few), monitoring=True)
    assert result.verdict == Verdict.EFFECTIVE and result.monitoring and result.estimate is None
    assert "too little data to tell" in result.reason
    assert evaluate(outcomes_of(few)).verdict == Verdict.NO_DATA, "the keep test would pause it"
    assert "Too few engineers are still held out to tell this time" in render_evidence(
        "SQL injection", [result]
    )


def test_a_monitoring_evaluation_round_trips_through_json():
    result = evaluate(outcomes_of(AGAINST), monitoring=True)
    assert evaluation_from_json(json.loads(json.dumps(evaluation_to_json(result)))) == result
    older = evaluation_to_json(evaluate(outcomes_of(FIXED)))
    del older["monitoring"]
    assert not evaluation_from_json(older).monitoring, "records from before read as keep tests"
