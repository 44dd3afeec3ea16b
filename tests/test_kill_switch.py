"""The kill switch in the pure core: outcomes, the holdout comparison, pauses and resumes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from test_playbook_format import FILE, GOOD

from bot.core.classify import Match
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.evaluate import DEFAULT_RULES, Verdict, evaluate_playbook
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.evidence import describe, evidence_marker, render_evidence, title
from bot.core.holdout import HOLDOUT, NUDGED
from bot.core.killswitch import due_window, in_force, pause_state, resume
from bot.core.nudges import Nudge, NudgeState, Signal
from bot.core.org import OrgSettings
from bot.core.outcome import Outcome, Review, Tally, measure_outcomes, review_of
from bot.core.playbook import NudgeContent, Playbook, parse_playbook

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
INSTALLATION = 77
REPO = "acme/shop"
PID = "sql-injection"
ids = itertools.count(1)


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def review(engineer: str, pr: int, when: dt.datetime) -> Review:
    return Review(INSTALLATION, REPO, pr, engineer, "rita", when, "review_comment", next(ids))


def signal(engineer: str, pr: int, when: dt.datetime, playbook: str = PID) -> Signal:
    return Signal(INSTALLATION, REPO, pr, engineer, playbook, next(ids), "review_comment", "rita", when)


def nudge(engineer: str, when: dt.datetime, state: NudgeState = NudgeState.POSTED, playbook: str = PID) -> Nudge:
    return Nudge(
        key=f"{engineer}-{when:%j%H%M}", installation_id=INSTALLATION, repo=REPO, pr_number=1,
        engineer=engineer, playbook_id=playbook, state=state, reason="", created_at=when,
        trigger_at=when, thread_id=None,
    )


PLAYBOOK = Playbook(
    id=PID, title="SQL injection", summary="", patterns=(r"\bbind params\b",),
    nudge=NudgeContent(play="Use placeholders."), source="playbooks/sql-injection.yml",
)


# outcomes -------------------------------------------------------------------------------------


def test_outcomes_count_reviewed_prs_and_matching_comments_on_each_side_of_the_first_nudge():
    reviews = [review("ada", pr, day(pr)) for pr in (1, 2, 3)]  # three PRs reviewed before
    reviews += [review("ada", 3, day(5)), review("ada", 4, day(9)), review("ada", 5, day(12))]
    signals = [signal("ada", 1, day(1)), signal("ada", 3, day(5))]  # the second tips the trigger
    signals += [signal("ada", 4, day(9)), signal("ada", 4, day(9), playbook="missing-tests")]
    [outcome] = measure_outcomes(
        PID, reviews=reviews, signals=signals, nudges=[nudge("Ada", day(5))],
        assignments={("ada", PID): NUDGED}, since=day(0), until=day(60), lookback=dt.timedelta(days=60),
    )
    # The comment written at the moment of the nudge is the one that fired it: it counts before.
    assert outcome.before == Tally(reviewed_prs=3, comments=2)
    assert outcome.after == Tally(reviewed_prs=2, comments=1)
    assert outcome.change == pytest.approx(1 / 2 - 2 / 3)
    assert (outcome.engineer, outcome.group, outcome.anchor) == ("ada", NUDGED, day(5))


def test_held_out_engineers_are_measured_from_their_would_be_nudge_like_the_others():
    nudges = [nudge("hal", day(3), NudgeState.HELD_OUT), nudge("hal", day(40), NudgeState.HELD_OUT),
              nudge("ned", day(70))]  # ned's first nudge is after the window: not measured
    reviews = [review("hal", 1, day(1)), review("hal", 2, day(20)), review("hal", 3, day(50))]
    [outcome] = measure_outcomes(
        PID, reviews=reviews, signals=[], nudges=nudges, assignments={("hal", PID): HOLDOUT},
        since=day(0), until=day(60), lookback=dt.timedelta(days=60),
    )
    assert (outcome.group, outcome.anchor) == (HOLDOUT, day(3))
    assert (outcome.before.reviewed_prs, outcome.after.reviewed_prs) == (1, 2)


def test_only_a_colleague_reviewing_counts_as_a_review():
    pull = PullRequestRef(INSTALLATION, REPO, 9, Actor("ada", False))
    comment = ReviewComment(pull, Actor("rita", False), "", T0, "review", 55, None)
    assert review_of(comment) == Review(INSTALLATION, REPO, 9, "ada", "rita", T0, "review", 55)
    assert review_of(dataclasses.replace(comment, reviewer=Actor("ci[bot]", True))) is None
    assert review_of(dataclasses.replace(comment, reviewer=Actor("ADA", False))) is None
    bot_pull = dataclasses.replace(pull, author=Actor("dependabot[bot]", True))
    assert review_of(dataclasses.replace(comment, pull=bot_pull)) is None


# the comparison --------------------------------------------------------------------------------


def outcomes_for(group: str, changes: list[tuple[int, int, int, int]]) -> list[Outcome]:
    return [
        Outcome(f"{group}{i}", PID, group, day(1), Tally(pb, cb), Tally(pa, ca))
        for i, (pb, cb, pa, ca) in enumerate(changes)
    ]


def evaluate(outcomes, rules=DEFAULT_RULES):
    return evaluate_playbook(
        outcomes, installation_id=INSTALLATION, playbook_id=PID, window_start=day(0),
        window_end=day(60), at=day(61), rules=rules,
    )


HOLDOUT_SAME = [(10, 4, 10, 4), (8, 3, 8, 3), (6, 2, 6, 2), (10, 3, 10, 2), (5, 2, 5, 2), (9, 3, 9, 4)]


def test_a_clear_drop_against_the_holdout_keeps_the_playbook():
    nudged = [(10, 4, 10, 1), (8, 3, 8, 1), (6, 2, 6, 0), (10, 3, 10, 1), (5, 2, 5, 1), (9, 3, 9, 1)]
    result = evaluate(outcomes_for(NUDGED, nudged) + outcomes_for(HOLDOUT, HOLDOUT_SAME))
    assert result.verdict == Verdict.EFFECTIVE and not result.pauses
    assert result.estimate < result.high < 0, "the whole interval is below zero"
    assert result.p_value < 0.10
    assert (result.nudged.counted, result.holdout.counted) == (6, 6)
    assert (result.nudged.comments_before, result.nudged.comments_after) == (17, 5)


def test_no_difference_from_the_holdout_pauses_for_no_effect():
    result = evaluate(outcomes_for(NUDGED, HOLDOUT_SAME) + outcomes_for(HOLDOUT, HOLDOUT_SAME))
    assert result.verdict == Verdict.NO_EFFECT and result.pauses
    assert result.estimate == pytest.approx(0)
    assert result.low < 0 < result.high
    assert "not below 0.1" in result.reason


def test_too_few_engineers_pauses_for_lack_of_data_not_for_no_effect():
    thin = outcomes_for(HOLDOUT, HOLDOUT_SAME[:4]) + outcomes_for(HOLDOUT, [(2, 1, 2, 1)])
    result = evaluate(outcomes_for(NUDGED, HOLDOUT_SAME) + thin)
    assert result.verdict == Verdict.NO_DATA and result.pauses
    assert result.estimate is None and result.p_value is None
    assert result.holdout.engineers == 5 and result.holdout.counted == 4, "2 reviewed PRs are too few"
    assert result.reason == (
        "too little data: 4 held-out engineers with 3+ reviewed PRs before and after (of 5); "
        "5 per group are needed"
    )


# windows, pauses, resumes -----------------------------------------------------------------------


def test_the_window_closes_window_days_after_the_first_nudge_and_is_decided_once():
    nudges = [nudge("ada", day(2)), nudge("hal", day(9), NudgeState.HELD_OUT)]
    assert due_window(PLAYBOOK, [], nudges, day(61.9)) is None
    window = due_window(PLAYBOOK, [], nudges, day(62))
    assert (window.start, window.end) == (day(2), day(62))
    kept = dataclasses.replace(evaluate([]), verdict=Verdict.EFFECTIVE, window_end=window.end)
    assert due_window(PLAYBOOK, [kept], nudges, day(63)) is None
    # Effective: evaluated again on everything since the first nudge when the next window closes.
    assert due_window(PLAYBOOK, [kept], nudges, day(122)).end == day(122)
    assert due_window(PLAYBOOK, [], [], day(400)) is None, "no nudge yet, no window"


def paused_on(when: dt.datetime, verdict: Verdict = Verdict.NO_EFFECT):
    return dataclasses.replace(evaluate([]), verdict=verdict, at=when, window_end=when)


def test_a_paused_playbook_sends_no_new_nudge_but_still_counts_the_comment():
    history = {PID: [paused_on(day(62))]}
    playbooks = in_force({PID: PLAYBOOK}, history, day(70))
    assert playbooks[PID].paused
    assert pause_state(PLAYBOOK, history[PID], day(70)).reason.startswith("paused by the kill switch on 2026-05-03")
    pull = PullRequestRef(INSTALLATION, REPO, 9, Actor("ada", False))
    comment = ReviewComment(pull, Actor("rita", False), "use bind params", day(70), "review_comment", 99, 99)
    earlier = signal("ada", 8, day(69))
    decision = decide_comment(comment, [Match(PID, "bind params")], History([earlier]), DecisionConfig(playbooks), day(70))
    assert decision.nudges == [] and len(decision.signals) == 1
    assert decision.notes[0].outcome == "paused"
    assert due_window(PLAYBOOK, history[PID], [nudge("ada", day(2))], day(200)) is None


def test_resumed_on_lifts_only_a_pause_made_on_or_before_that_day():
    history = [paused_on(day(62))]  # 2026-05-03
    on_the_day = dataclasses.replace(PLAYBOOK, evaluation_resumed_on=dt.date(2026, 5, 3))
    assert not pause_state(on_the_day, history, day(62.5)).paused
    assert resume(on_the_day, history, INSTALLATION, day(62.5)).window_start == day(62), (
        "nudges from before the pause never count for the new window"
    )
    older = dataclasses.replace(PLAYBOOK, evaluation_resumed_on=dt.date(2026, 4, 1))
    assert pause_state(older, history, day(90)).paused, "an old resume does not lift a newer pause"
    ahead = dataclasses.replace(PLAYBOOK, evaluation_resumed_on=dt.date(2026, 6, 1))
    assert pause_state(ahead, history, day(88)).paused
    assert not pause_state(ahead, history, day(91)).paused
    author_paused = dataclasses.replace(on_the_day, paused=True)
    assert pause_state(author_paused, history, day(91)).reason == "paused by its author (paused: true)"


def test_a_resume_is_recorded_once_and_opens_a_new_window_with_the_next_nudge():
    resumed = dataclasses.replace(PLAYBOOK, evaluation_resumed_on=dt.date(2026, 5, 10))
    history = [paused_on(day(62), Verdict.NO_DATA)]
    nudges = [nudge("ada", day(2))]
    assert due_window(resumed, history, nudges, day(80)) is None, "the resume must be on record first"
    record = resume(resumed, history, INSTALLATION, day(80))
    assert record.verdict == Verdict.RESUMED and record.window_start == dt.datetime(2026, 5, 10, tzinfo=dt.UTC)
    history.append(record)
    assert resume(resumed, history, INSTALLATION, day(81)) is None
    assert due_window(resumed, history, nudges, day(200)) is None, "no nudge since the resume"
    nudges.append(nudge("ada", day(90)))
    assert due_window(resumed, history, nudges, day(149)) is None
    window = due_window(resumed, history, nudges, day(150))
    assert (window.start, window.end) == (day(90), day(150))


def test_an_engineer_held_out_before_the_pause_stays_held_out_after_the_resume():
    resumed = dataclasses.replace(PLAYBOOK, evaluation_resumed_on=dt.date(2026, 5, 10))
    history = {PID: [paused_on(day(62))]}
    playbooks = in_force({PID: resumed}, history, day(80))
    pull = PullRequestRef(INSTALLATION, REPO, 9, Actor("hal", False))
    comment = ReviewComment(pull, Actor("rita", False), "use bind params", day(80), "review_comment", 98, 98)
    past = History([signal("hal", 8, day(79))], [nudge("hal", day(3), NudgeState.HELD_OUT)], {PID: HOLDOUT})
    decision = decide_comment(comment, [Match(PID, "bind params")], past, DecisionConfig(playbooks, OrgSettings(holdout_share=0.0)), day(80))
    assert [n.state for n in decision.nudges] == [NudgeState.HELD_OUT]


# the playbook field -----------------------------------------------------------------------------


def test_resumed_on_is_a_date_and_a_wrong_one_names_file_line_and_field():
    playbook, problems = parse_playbook(GOOD + "evaluation:\n  window_days: 45\n  resumed_on: 2026-05-01\n", FILE)
    assert problems == []
    assert (playbook.evaluation_window_days, playbook.evaluation_resumed_on) == (45, dt.date(2026, 5, 1))
    _, problems = parse_playbook(GOOD + "evaluation:\n  resumed_on: next monday\n", FILE)
    assert [str(p) for p in problems] == [
        f"{FILE}:30: evaluation.resumed_on: expected a date like 2026-01-05, found 'next monday'"
    ]


# evidence ---------------------------------------------------------------------------------------


def test_the_evidence_has_the_figures_a_chart_and_its_marker_and_mentions_nobody():
    nudged = [(10, 4, 10, 1), (8, 3, 8, 1), (6, 2, 6, 0), (10, 3, 10, 1), (5, 2, 5, 1), (9, 3, 9, 1)]
    result = evaluate(outcomes_for(NUDGED, nudged) + outcomes_for(HOLDOUT, HOLDOUT_SAME))
    body = render_evidence("SQL injection @security-team", [paused_on(day(10), Verdict.NO_DATA), result])
    assert body.startswith(evidence_marker(PID))
    assert "| engineers with a first (would-be) nudge | 6 | 6 |" in body
    assert "| matching comments before | 17 | 17 |" in body
    assert "```mermaid\nxychart-beta" in body and "bar [0.357, 0.106, 0.357, 0.359]" in body
    assert "@security" not in body and "@\u2060security-team" in body
    history = [line for line in body.splitlines() if line.startswith("| 2026-")]
    assert len(history) == 2, "both decisions are in the history"
    assert title("SQL injection", result) == "Learning nudge evidence: SQL injection (keeps going: the nudge beat the holdout)"
    assert describe(result)[1].startswith("  nudged    6 engineers (6 counted), reviewed PRs 48 → 48")
