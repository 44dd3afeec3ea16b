"""The kill switch over synthetic organisations whose true effect is known (seeded, no I/O)."""

from __future__ import annotations

import dataclasses
import time

import scipy.stats  # noqa: F401  (loaded once here, so the timing below is the simulation's own)

from bot.cli import main
from bot.core.evaluate import Verdict
from bot.simulation import Scenario, simulate

CLEAR = {"sql-injection": 0.6, "swallowed-errors": 0.0}


def test_ninety_days_of_sixty_engineers_run_in_well_under_a_second():
    began = time.perf_counter()
    sim = simulate(Scenario(days=90, engineers=60, seed=3))
    elapsed = time.perf_counter() - began
    assert elapsed < 0.5, f"{elapsed:.2f}s"
    assert sim.reviews > 3000 and len(sim.nudges) > 100
    assert {e.playbook_id for e in sim.evaluations} == {"sql-injection", "swallowed-errors"}
    assert all(60 <= sim.day(e.at) <= 65 for e in sim.evaluations), "decided when the 60-day window closed"


def test_the_switch_keeps_an_effective_playbook_and_pauses_an_ineffective_one():
    """One seed, with enough engineers that the answer is not luck; bench/kill_switch.py gives the rates."""
    sim = simulate(Scenario(engineers=150, effects=CLEAR, seed=3))
    verdicts = sim.verdicts()
    assert verdicts["sql-injection"].verdict == Verdict.EFFECTIVE
    assert verdicts["sql-injection"].high < 0
    paused = verdicts["swallowed-errors"]
    assert paused.verdict == Verdict.NO_EFFECT and paused.low < 0 < paused.high
    # From the pause on, the ineffective playbook sends nothing; the effective one keeps going.
    assert not [n for n in sim.nudges if n.playbook_id == "swallowed-errors" and n.created_at > paused.at]
    assert [n for n in sim.nudges if n.playbook_id == "sql-injection" and n.created_at > paused.at]


def test_a_small_team_is_paused_for_lack_of_data_not_for_no_effect():
    sim = simulate(Scenario(engineers=12, effects=CLEAR, seed=2))
    for evaluation in sim.verdicts().values():
        assert evaluation.verdict == Verdict.NO_DATA
        assert evaluation.reason.startswith("too little data: ")
        assert evaluation.estimate is None


def test_the_same_seed_tells_the_same_story_and_another_seed_another():
    first = simulate(Scenario(seed=5))
    assert simulate(Scenario(seed=5)).evaluations == first.evaluations
    assert simulate(dataclasses.replace(Scenario(seed=6))).evaluations != first.evaluations


def test_the_command_prints_the_decisions_and_one_paused_playbook_with_its_evidence(capsys):
    assert main(["simulate", "--days", "90", "--engineers", "60", "--seed", "3",
                 "--effect", "sql-injection=0.5", "--effect", "swallowed-errors=0"]) == 0
    text = capsys.readouterr().out
    assert "sql-injection: nudge decisions" in text
    assert "day 62: keeps going: the nudge beat the holdout" in text
    assert "day 61: paused: the nudge did not beat the holdout" in text
    assert "The evidence issue the app opens for swallowed-errors" in text
    assert "<!-- learning-nudge-evidence:swallowed-errors -->" in text and "xychart-beta" in text
