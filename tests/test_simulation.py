"""The kill switch over synthetic organisations whose true effect is known (seeded, no I/O).

How fast the simulation runs, and how much memory it takes, is measured in
bench/simulation_speed.py; how often the switch is wrong, in bench/kill_switch.py.
"""

from __future__ import annotations

import dataclasses

from bot.cli import main
from bot.core.evaluate import Verdict
from bot.core.nudges import NudgeState
from bot.simulation import Scenario, many_effects, simulate

CLEAR = {"sql-injection": 0.6, "swallowed-errors": 0.0}


def test_ninety_days_of_sixty_engineers_with_a_backfilled_baseline():
    sim = simulate(Scenario(days=90, engineers=60, seed=3))
    assert sim.reviews > 6000 and len(sim.nudges) > 80
    assert {e.playbook_id for e in sim.evaluations} == {"sql-injection", "swallowed-errors"}
    # With 90 days of history on record, nudges start on the first day (no observe-only period)
    # and every counted engineer has a real period before.
    assert min(sim.day(n.created_at) for n in sim.nudges) == 0
    for e in sim.evaluations:
        assert e.nudged.prs_before > 10 * e.nudged.counted
    full = [e for e in sim.evaluations if not e.mid_window]
    assert full and all(60 <= sim.day(e.at) <= 65 for e in full), (
        "decided when the 60-day window closed"
    )
    assert all(29 <= sim.day(e.at) <= 35 for e in sim.evaluations if e.mid_window), (
        "the halfway look"
    )


def test_the_switch_keeps_an_effective_playbook_and_pauses_an_ineffective_one():
    """One seed, with enough engineers that the answer is not luck; bench/kill_switch.py gives the rates."""
    sim = simulate(Scenario(engineers=200, effects=CLEAR, significant=(), seed=1))
    verdicts = sim.verdicts()
    kept = verdicts["sql-injection"]
    assert kept.verdict == Verdict.EFFECTIVE and kept.high < 0
    paused = verdicts["swallowed-errors"]
    assert paused.pauses and paused.estimate is not None
    # From the pause on, the ineffective playbook sends nothing; the effective one keeps going.
    assert not [
        n for n in sim.nudges if n.playbook_id == "swallowed-errors" and n.created_at > paused.at
    ]
    later = [n for n in sim.nudges if n.playbook_id == "sql-injection" and n.created_at > kept.at]
    assert later, "the kept playbook keeps nudging"
    # Once kept, its holdout is the long-running 5 %: new would-be nudges are rarely held out.
    held = sum(n.state == NudgeState.HELD_OUT for n in later)
    assert held < 0.15 * len(later)


def test_reach_is_below_one_hundred_percent_budgets_vetoes_and_expiries():
    sim = simulate(Scenario(engineers=120, effects=many_effects(6), seed=4))
    states = {n.state for n in sim.nudges}
    assert {
        NudgeState.SUPPRESSED_BUDGET,
        NudgeState.VETOED,
        NudgeState.EXPIRED,
        NudgeState.COSIGNED,
    } <= states
    assert sim.reached["sql-injection"] < sim.decided["sql-injection"], (
        "a co-signed playbook reaches fewer"
    )


def test_without_history_each_playbook_first_observes_for_thirty_days():
    sim = simulate(Scenario(engineers=60, backfill_days=0, seed=3))
    assert min(sim.day(n.created_at) for n in sim.nudges) == 30
    assert sim.evaluations, "the windows open with the first nudge after the observe-only period"
    assert all(sim.day(e.window_start) >= 30 for e in sim.evaluations)


def test_a_small_team_is_paused_for_lack_of_data_not_for_no_effect():
    sim = simulate(Scenario(engineers=12, effects=CLEAR, seed=2))
    for evaluation in sim.verdicts().values():
        assert evaluation.verdict == Verdict.NO_DATA
        assert evaluation.reason.startswith("too little data: ")
        assert evaluation.estimate is None
    halfway = [e for e in sim.evaluations if e.mid_window]
    assert halfway and all(e.verdict == Verdict.INTERIM for e in halfway), (
        "too little data never stops early"
    )


def test_the_same_seed_tells_the_same_story_and_another_seed_another():
    first = simulate(Scenario(seed=5))
    assert simulate(Scenario(seed=5)).evaluations == first.evaluations
    assert simulate(dataclasses.replace(Scenario(seed=6))).evaluations != first.evaluations


def test_the_regressions_computed_in_a_second_process_give_the_same_decisions():
    # python -m bot simulate computes them in a process of their own, started at once
    from bot.cli.simulate import statistics_process

    scenario = Scenario(engineers=60, days=90, seed=4)
    with statistics_process() as fit:
        elsewhere = simulate(scenario, fit=fit)
    here = simulate(scenario)
    assert elsewhere.evaluations == here.evaluations
    assert [e.p_value for e in here.evaluations if e.p_value is not None]  # tests were run


def test_the_command_prints_the_decisions_and_one_paused_playbook_with_its_evidence(capsys):
    assert (
        main(
            [
                "simulate",
                "--days",
                "90",
                "--engineers",
                "60",
                "--seed",
                "3",
                "--effect",
                "sql-injection=0.3",
                "--effect",
                "swallowed-errors=0",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert (
        "0.15 matching comments per reviewed PR and playbook, 90 days of history backfilled" in text
    )
    assert "sql-injection, significant (co-sign): nudge decisions" in text
    assert "day 31: halfway look" in text
    assert "The evidence issue the app opens for swallowed-errors" in text
    assert "<!-- learning-nudge-evidence:swallowed-errors -->" in text and "xychart-beta" in text
    assert "**In plain words.**" in text


def test_the_command_takes_the_base_rate_pace_and_number_of_playbooks(capsys):
    assert (
        main(
            [
                "simulate",
                "--engineers",
                "30",
                "--days",
                "20",
                "--playbooks",
                "5",
                "--base-rate",
                "0.1",
                "--prs-per-week",
                "2",
                "--backfill-days",
                "0",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert (
        "30 engineers, seed 3, 2 PRs a week, 0.1 matching comments per reviewed PR and playbook"
        in text
    )
    assert "no history: 30 days observe-only" in text
    assert "playbook-05" in text and "playbook-06" not in text


def test_calibration_seeded_null_simulations_keep_useless_playbooks_within_the_level():
    """Organisations where no nudge does anything: the switch keeps about 5 % of the playbooks."""
    useless = {f"useless-{n}": 0.0 for n in range(4)}
    verdicts = [
        e.verdict
        for seed in range(25)
        for e in simulate(
            Scenario(engineers=80, effects=useless, significant=("useless-0",), seed=seed)
        )
        .verdicts()
        .values()
    ]
    assert len(verdicts) == 100
    kept = verdicts.count(Verdict.EFFECTIVE)
    # At a level of 5 %, 100 useless playbooks give more than 11 keeps less than 1 time in 100.
    assert kept <= 11, f"{kept} of 100 useless playbooks kept; the level is 5 %"
    assert verdicts.count(Verdict.FUTILE) >= 30, "the halfway look pauses many of them early"
