"""The kill switch in the pure core: outcomes, the holdout comparison, pauses and resumes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from test_playbook_format import FILE, GOOD

from bot.core.classify import Match
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.evaluate import DEFAULT_RULES, Rules, Verdict, evaluate_playbook
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.evidence import describe, evidence_marker, render_evidence, title
from bot.core.holdout import HOLDOUT, NUDGED, assign_holdout
from bot.core.killswitch import (
    due_window,
    evaluate_due,
    holdout_ends,
    in_force,
    pause_state,
    resume,
    resumes,
)
from bot.core.nudges import Nudge, NudgeState, Signal
from bot.core.org import OrgSettings, parse_org_settings
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
    return Signal(
        INSTALLATION, REPO, pr, engineer, playbook, next(ids), "review_comment", "rita", when
    )


def nudge(
    engineer: str, when: dt.datetime, state: NudgeState = NudgeState.POSTED, playbook: str = PID
) -> Nudge:
    return Nudge(
        key=f"{engineer}-{when:%j%H%M}",
        installation_id=INSTALLATION,
        repo=REPO,
        pr_number=1,
        engineer=engineer,
        playbook_id=playbook,
        state=state,
        reason="",
        created_at=when,
        trigger_at=when,
        thread_id=None,
    )


PLAYBOOK = Playbook(
    id=PID,
    title="SQL injection",
    summary="",
    patterns=(r"\bbind params\b",),
    nudge=NudgeContent(play="Use placeholders."),
    source="playbooks/sql-injection.yml",
)


# outcomes -------------------------------------------------------------------------------------


def test_outcomes_count_reviewed_prs_and_matching_comments_on_each_side_of_the_first_nudge():
    reviews = [review("ada", pr, day(pr)) for pr in (1, 2, 3)]  # three PRs reviewed before
    reviews += [review("ada", 3, day(5)), review("ada", 4, day(9)), review("ada", 5, day(12))]
    signals = [signal("ada", 1, day(1)), signal("ada", 3, day(5))]  # the second tips the trigger
    signals += [signal("ada", 4, day(9)), signal("ada", 4, day(9), playbook="missing-tests")]
    [outcome] = measure_outcomes(
        PID,
        reviews=reviews,
        signals=signals,
        nudges=[nudge("Ada", day(5))],
        assignments={("ada", PID): NUDGED},
        since=day(0),
        until=day(60),
        lookback=dt.timedelta(days=60),
    )
    # The comment written at the moment of the nudge is the one that fired it: it counts before.
    assert outcome.before == Tally(reviewed_prs=3, comments=2)
    assert outcome.after == Tally(reviewed_prs=2, comments=1)
    assert outcome.change == pytest.approx(1 / 2 - 2 / 3)
    assert (outcome.engineer, outcome.group, outcome.anchor) == ("ada", NUDGED, day(5))


def test_held_out_engineers_are_measured_from_their_would_be_nudge_like_the_others():
    nudges = [
        nudge("hal", day(3), NudgeState.HELD_OUT),
        nudge("hal", day(40), NudgeState.HELD_OUT),
        nudge("ned", day(70)),
    ]  # ned's first nudge is after the window: not measured
    reviews = [review("hal", 1, day(1)), review("hal", 2, day(20)), review("hal", 3, day(50))]
    [outcome] = measure_outcomes(
        PID,
        reviews=reviews,
        signals=[],
        nudges=nudges,
        assignments={("hal", PID): HOLDOUT},
        since=day(0),
        until=day(60),
        lookback=dt.timedelta(days=60),
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


# the comparison (the estimator itself: tests/test_estimator.py) ------------------------------


def outcomes_for(group: str, changes: list[tuple[int, int, int, int]]) -> list[Outcome]:
    return [
        Outcome(f"{group}{i}", PID, group, day(1), Tally(pb, cb), Tally(pa, ca))
        for i, (pb, cb, pa, ca) in enumerate(changes)
    ]


def evaluate(outcomes, rules=DEFAULT_RULES):
    return evaluate_playbook(
        outcomes,
        installation_id=INSTALLATION,
        playbook_id=PID,
        window_start=day(0),
        window_end=day(60),
        at=day(61),
        rules=rules,
    )


HOLDOUT_SAME = [
    (10, 4, 10, 4),
    (8, 3, 8, 3),
    (6, 2, 6, 2),
    (10, 3, 10, 2),
    (5, 2, 5, 2),
    (9, 3, 9, 4),
]
NUDGED_DROP = [
    (10, 4, 10, 1),
    (8, 3, 8, 1),
    (6, 2, 6, 0),
    (10, 3, 10, 1),
    (5, 2, 5, 1),
    (9, 3, 9, 1),
]


def test_a_clear_drop_against_the_holdout_keeps_the_playbook():
    result = evaluate(outcomes_for(NUDGED, NUDGED_DROP) + outcomes_for(HOLDOUT, HOLDOUT_SAME))
    assert result.verdict == Verdict.EFFECTIVE and not result.pauses
    assert result.estimate < result.high < 0, "the whole interval is below zero"
    assert result.p_value < 0.05
    assert (result.nudged.counted, result.holdout.counted) == (6, 6)
    assert (result.nudged.comments_before, result.nudged.comments_after) == (17, 5)


def test_no_difference_from_the_holdout_pauses_for_no_effect():
    result = evaluate(outcomes_for(NUDGED, HOLDOUT_SAME) + outcomes_for(HOLDOUT, HOLDOUT_SAME))
    assert result.verdict == Verdict.NO_EFFECT and result.pauses
    assert result.estimate == pytest.approx(0, abs=1e-6)
    assert result.low < 0 < result.high
    assert "not below 0.05" in result.reason


def test_too_few_engineers_pauses_for_lack_of_data_not_for_no_effect():
    thin = outcomes_for(HOLDOUT, HOLDOUT_SAME[:4]) + outcomes_for(HOLDOUT, [(2, 1, 0, 0)])
    result = evaluate(outcomes_for(NUDGED, HOLDOUT_SAME) + thin)
    assert result.verdict == Verdict.NO_DATA and result.pauses
    assert result.estimate is None and result.p_value is None
    assert result.holdout.engineers == 5 and result.holdout.counted == 4, (
        "no reviewed PR after: not counted"
    )
    assert result.reason == (
        "too little data: 4 held-out engineers with 1+ reviewed PRs after their first (would-be) "
        "nudge (of 5); 5 per group are needed"
    )


# windows, pauses, resumes -----------------------------------------------------------------------


def test_the_window_closes_window_days_after_the_first_nudge_and_is_decided_once():
    nudges = [nudge("ada", day(2)), nudge("hal", day(9), NudgeState.HELD_OUT)]
    assert due_window(PLAYBOOK, [], nudges, day(31.9)) is None
    halfway = due_window(PLAYBOOK, [], nudges, day(32))
    assert (halfway.start, halfway.end, halfway.mid) == (day(2), day(32), True)
    look = dataclasses.replace(
        evaluate([]), verdict=Verdict.INTERIM, window_end=halfway.end, mid_window=True
    )
    assert due_window(PLAYBOOK, [look], nudges, day(40)) is None, "the halfway look is taken once"
    no_look = dataclasses.replace(PLAYBOOK, evaluation_stop_early=False)
    assert due_window(no_look, [], nudges, day(40)) is None
    assert due_window(PLAYBOOK, [look], nudges, day(61.9)) is None
    window = due_window(PLAYBOOK, [look], nudges, day(62))
    assert (window.start, window.end) == (day(2), day(62))
    kept = dataclasses.replace(evaluate([]), verdict=Verdict.EFFECTIVE, window_end=window.end)
    assert due_window(PLAYBOOK, [kept], nudges, day(63)) is None
    # Effective: evaluated again on everything since the first nudge when the next window closes.
    assert due_window(PLAYBOOK, [kept], nudges, day(122)).end == day(122)
    assert due_window(PLAYBOOK, [], [], day(400)) is None, "no nudge yet, no window"
    assert due_window(PLAYBOOK, [], nudges, day(70)).mid is False, (
        "past the window's end: the full test"
    )


def paused_on(when: dt.datetime, verdict: Verdict = Verdict.NO_EFFECT):
    return dataclasses.replace(evaluate([]), verdict=verdict, at=when, window_end=when)


def test_a_paused_playbook_sends_no_new_nudge_but_still_counts_the_comment():
    history = {PID: [paused_on(day(62))]}
    playbooks = in_force({PID: PLAYBOOK}, history, day(70))
    assert playbooks[PID].paused
    assert pause_state(PLAYBOOK, history[PID], day(70)).reason.startswith(
        "paused by the kill switch on 2026-05-03"
    )
    pull = PullRequestRef(INSTALLATION, REPO, 9, Actor("ada", False))
    comment = ReviewComment(
        pull, Actor("rita", False), "use bind params", day(70), "review_comment", 99, 99
    )
    earlier = signal("ada", 8, day(69))
    decision = decide_comment(
        comment, [Match(PID, "bind params")], History([earlier]), DecisionConfig(playbooks), day(70)
    )
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
    assert (
        pause_state(author_paused, history, day(91)).reason == "paused by its author (paused: true)"
    )


def test_a_resume_is_recorded_once_and_opens_a_new_window_with_the_next_nudge():
    resumed = dataclasses.replace(PLAYBOOK, evaluation_resumed_on=dt.date(2026, 5, 10))
    history = [paused_on(day(62), Verdict.NO_DATA)]
    nudges = [nudge("ada", day(2))]
    assert due_window(resumed, history, nudges, day(80)) is None, (
        "the resume must be on record first"
    )
    record = resume(resumed, history, INSTALLATION, day(80))
    assert record.verdict == Verdict.RESUMED and record.window_start == dt.datetime(
        2026, 5, 10, tzinfo=dt.UTC
    )
    history.append(record)
    assert resume(resumed, history, INSTALLATION, day(81)) is None
    assert due_window(resumed, history, nudges, day(200)) is None, "no nudge since the resume"
    nudges.append(nudge("ada", day(90)))
    assert due_window(resumed, history, nudges, day(120)).mid, "a new window has its halfway look"
    history.append(
        dataclasses.replace(
            evaluate([]),
            verdict=Verdict.INTERIM,
            at=day(120),
            window_start=day(90),
            window_end=day(120),
        )
    )
    assert due_window(resumed, history, nudges, day(149)) is None
    window = due_window(resumed, history, nudges, day(150))
    assert (window.start, window.end) == (day(90), day(150))
    assert resumes(history) == 1


def test_an_engineer_held_out_before_the_pause_stays_held_out_after_the_resume():
    resumed = dataclasses.replace(PLAYBOOK, evaluation_resumed_on=dt.date(2026, 5, 10))
    history = {PID: [paused_on(day(62))]}
    playbooks = in_force({PID: resumed}, history, day(80))
    pull = PullRequestRef(INSTALLATION, REPO, 9, Actor("hal", False))
    comment = ReviewComment(
        pull, Actor("rita", False), "use bind params", day(80), "review_comment", 98, 98
    )
    past = History(
        [signal("hal", 8, day(79))], [nudge("hal", day(3), NudgeState.HELD_OUT)], {PID: HOLDOUT}
    )
    decision = decide_comment(
        comment,
        [Match(PID, "bind params")],
        past,
        DecisionConfig(playbooks, OrgSettings(holdout_share=0.0)),
        day(80),
    )
    assert [n.state for n in decision.nudges] == [NudgeState.HELD_OUT]


# the playbook field -----------------------------------------------------------------------------


def test_resumed_on_is_a_date_and_a_wrong_one_names_file_line_and_field():
    playbook, problems = parse_playbook(
        GOOD + "evaluation:\n  window_days: 45\n  resumed_on: 2026-05-01\n", FILE
    )
    assert problems == []
    assert (playbook.evaluation_window_days, playbook.evaluation_resumed_on) == (
        45,
        dt.date(2026, 5, 1),
    )
    _, problems = parse_playbook(GOOD + "evaluation:\n  resumed_on: next monday\n", FILE)
    assert [str(p) for p in problems] == [
        f"{FILE}:30: evaluation.resumed_on: expected a date like 2026-01-05, found 'next monday'"
    ]


# evidence ---------------------------------------------------------------------------------------


def test_the_evidence_has_the_figures_a_chart_and_its_marker_and_mentions_nobody():
    result = evaluate(outcomes_for(NUDGED, NUDGED_DROP) + outcomes_for(HOLDOUT, HOLDOUT_SAME))
    body = render_evidence(
        "SQL injection @security-team", [paused_on(day(10), Verdict.NO_DATA), result]
    )
    assert body.startswith(evidence_marker(PID))
    assert "| engineers with a first (would-be) nudge | 6 | 6 |" in body
    assert "| matching comments before | 17 | 17 |" in body
    assert "```mermaid\nxychart-beta" in body and "bar [0.354, 0.104, 0.354, 0.354]" in body, (
        "pooled: comments ÷ reviewed PRs"
    )
    assert "@security" not in body and "@\u2060security-team" in body
    history = [line for line in body.splitlines() if line.startswith("| 2026-")]
    assert len(history) == 2, "both decisions are in the history"
    assert (
        title("SQL injection", result)
        == "Learning nudge evidence: SQL injection (keeps going: the nudge beat the holdout)"
    )
    assert describe(result)[1].startswith(
        "  nudged    6 engineers (6 counted), reviewed PRs 48 → 48"
    )


# the observe-only period -----------------------------------------------------------------------


def sql_comment(engineer: str, when: dt.datetime, comment_id: int) -> ReviewComment:
    pull = PullRequestRef(INSTALLATION, REPO, 9, Actor(engineer, False))
    return ReviewComment(
        pull,
        Actor("rita", False),
        "use bind params",
        when,
        "review_comment",
        comment_id,
        comment_id,
    )


def test_with_short_history_comments_are_recorded_as_a_baseline_and_nothing_is_nudged():
    installed = day(0)
    ctx = DecisionConfig(
        {PID: PLAYBOOK}, OrgSettings(holdout_share=0.0), recorded_since={PID: installed}
    )
    earlier = History([signal("ada", 8, day(20))])
    during = decide_comment(
        sql_comment("ada", day(21), 501), [Match(PID, "bind params")], earlier, ctx, day(21)
    )
    assert during.nudges == [] and len(during.signals) == 1, "the comment is the baseline"
    [note] = during.notes
    assert note.outcome == "observing"
    assert note.reason.startswith(
        "observe-only until 2026-04-01: less than 30 days of review history"
    )
    after = decide_comment(
        sql_comment("ada", day(30), 502),
        [Match(PID, "bind params")],
        History([signal("ada", 8, day(29))]),
        ctx,
        day(30),
    )
    assert [n.state for n in after.nudges] == [NudgeState.PLANNED], "from day 30 it nudges"
    # A 90-day backfill is more history than the period asks for: no observe-only period at all.
    backfilled = dataclasses.replace(ctx, recorded_since={PID: installed - dt.timedelta(days=90)})
    yesterday = History([signal("ada", 8, day(0.5))])
    first = decide_comment(
        sql_comment("ada", day(1), 503), [Match(PID, "bind params")], yesterday, backfilled, day(1)
    )
    assert [n.state for n in first.nudges] == [NudgeState.PLANNED]
    # Without a record of when history begins (edges not yet passing it), nothing changes.
    plain = decide_comment(
        sql_comment("ada", day(1), 504),
        [Match(PID, "bind params")],
        yesterday,
        DecisionConfig({PID: PLAYBOOK}, OrgSettings(holdout_share=0.0)),
        day(1),
    )
    assert [n.state for n in plain.nudges] == [NudgeState.PLANNED]


# the holdout once kept -------------------------------------------------------------------------


def test_once_kept_the_holdout_shrinks_to_the_long_running_share_and_most_get_the_nudge():
    org = OrgSettings(holdout_share=0.35, holdout_share_kept=0.05, holdout_seed="shrink")
    people = [f"eng{i}" for i in range(400)]
    held = [
        e for e in people if assign_holdout(org.holdout_seed, INSTALLATION, e, PID, 0.35) == HOLDOUT
    ]
    kept_at = day(61)
    history = {
        PID: [
            dataclasses.replace(
                evaluate([]), verdict=Verdict.EFFECTIVE, at=kept_at, window_end=day(60)
            )
        ]
    }
    playbooks = in_force({PID: PLAYBOOK}, history, day(70))
    assert playbooks[PID].kept_since == kept_at and not playbooks[PID].paused
    states = {}
    for index, engineer in enumerate(held):
        past = History(
            [signal(engineer, 8, day(99))],
            [nudge(engineer, day(3), NudgeState.HELD_OUT)],
            {PID: HOLDOUT},
        )
        decision = decide_comment(
            sql_comment(engineer, day(100), 1000 + index),
            [Match(PID, "q")],
            past,
            DecisionConfig(playbooks, org),
            day(100),
        )
        states[engineer] = decision.nudges[0].state
    still = [e for e, state in states.items() if state == NudgeState.HELD_OUT]
    assert 0 < len(still) < len(held) / 3, "most held-out engineers now get the nudge"
    assert all(
        assign_holdout(org.holdout_seed, INSTALLATION, e, PID, 0.05) == HOLDOUT for e in still
    )
    # Engineers the playbook meets from now on are held out at the long-running share.
    newcomers = [
        decide_comment(
            sql_comment(e, day(100), 5000 + i),
            [Match(PID, "q")],
            History([signal(e, 8, day(99))]),
            DecisionConfig(playbooks, org),
            day(100),
        ).assignments[PID]
        for i, e in enumerate(f"new{i}" for i in range(400))
    ]
    assert 0 < newcomers.count(HOLDOUT) < 40
    # Later evaluations count a released engineer's period after only while they were held out.
    assignments = {(e, PID): HOLDOUT for e in held}
    ends = holdout_ends(assignments, PID, kept_at, org, INSTALLATION)
    assert set(ends) == set(held) - set(still) and set(ends.values()) == {kept_at}


def test_a_later_evaluation_stops_a_released_engineers_period_after_at_the_keep():
    reviews = [review("hal", pr, day(pr)) for pr in range(1, 100, 5)]
    signals = [signal("hal", pr, day(pr)) for pr in range(1, 100, 10)]
    [outcome] = measure_outcomes(
        PID,
        reviews=reviews,
        signals=signals,
        nudges=[nudge("hal", day(3), NudgeState.HELD_OUT)],
        assignments={("hal", PID): HOLDOUT},
        since=day(0),
        until=day(120),
        lookback=dt.timedelta(days=90),
        holdout_ends={"hal": day(61)},
    )
    assert outcome.after == Tally(reviewed_prs=11, comments=5), (
        "days 6 to 56 only, not up to day 120"
    )


def test_evaluate_due_measures_the_backfilled_pre_period_and_decides_with_the_orgs_rules():
    org = OrgSettings(
        holdout_share=0.5, holdout_seed="due", evaluation_min_engineers=2, evaluation_level=0.2
    )
    people = ["ada", "bea", "cyd", "dan", "eve", "fay", "gus", "hal"]
    groups = {(e, PID): assign_holdout(org.holdout_seed, INSTALLATION, e, PID, 0.5) for e in people}
    reviews, signals, nudges = [], [], []
    for n, engineer in enumerate(people):
        nudged = groups[(engineer, PID)] == NUDGED
        for k in range(12):  # backfilled: days −80 to −3, before the app was installed
            reviews.append(review(engineer, 100 * n + k, day(-80 + 7 * k)))
            signals.append(signal(engineer, 100 * n + k, day(-80 + 7 * k)))
        nudges.append(nudge(engineer, day(1), NudgeState.POSTED if nudged else NudgeState.HELD_OUT))
        for k in range(8):
            reviews.append(review(engineer, 100 * n + 50 + k, day(5 + 6 * k)))
            if not nudged or k == 0:
                signals.append(signal(engineer, 100 * n + 50 + k, day(5 + 6 * k)))
    playbook = dataclasses.replace(PLAYBOOK, evaluation_stop_early=False)
    common = {
        "nudges": nudges,
        "reviews": reviews,
        "signals": signals,
        "assignments": groups,
        "org": org,
        "installation_id": INSTALLATION,
    }
    assert evaluate_due(playbook, [], now=day(60), **common) is None, "the window closes on day 61"
    result = evaluate_due(playbook, [], now=day(61.5), **common)
    assert (
        result.verdict == Verdict.EFFECTIVE
        and result.rules.alpha == 0.2
        and result.rules.min_engineers == 2
    )
    assert result.nudged.prs_before == 12 * result.nudged.counted, (
        "the period before is the backfill's"
    )
    assert result.estimate < -0.5
    assert not result.monitoring, "the first window is the keep-or-pause test"
    # The next window closes on day 121: the playbook was kept, so it is monitored, not
    # re-tested, and the record says so.
    later = evaluate_due(playbook, [result], now=day(121.5), **common)
    assert later.monitoring and later.verdict == Verdict.EFFECTIVE and not later.pauses
    assert later.reason.startswith("monitoring since it was kept: ")
    assert "no evidence against a reduction" in later.reason
    assert result.reinforcement is None, "without follow-ups on record, no comparison is made"
    # With the follow-ups on record: the nudged split by whether they got one before the window
    # closed, counted as the decision counts them; the decision itself is the same.
    from bot.core.reinforce import FollowUp, FollowUpState

    treated = sorted(e for (e, _), g in groups.items() if g == NUDGED)
    sent = FollowUp(
        "f" * 16,
        INSTALLATION,
        "acme/shop",
        9,
        treated[0],
        PID,
        "n",
        1,
        FollowUpState.POSTED,
        "",
        day(10),
        day(10),
        posted_at=day(10),
    )
    late = dataclasses.replace(sent, key="e" * 16, engineer=treated[1], posted_at=day(70))
    with_followups = evaluate_due(playbook, [], now=day(61.5), followups=[sent, late], **common)
    effect = with_followups.reinforcement
    assert with_followups.verdict == result.verdict and with_followups.estimate == result.estimate
    assert (effect.reinforced.engineers, effect.nudge_only.engineers) == (1, len(treated) - 1)
    assert effect.min_engineers == 2 and not effect.comparable
    assert effect.reinforced.prs_after == 8 and effect.reinforced.comments_after == 1


# the settings ----------------------------------------------------------------------------------


def test_the_evaluation_settings_of_a_playbook_are_read_and_a_wrong_one_names_file_and_line():
    text = (
        GOOD
        + "evaluation:\n  window_days: 45\n  observe_days: 14\n  pre_days: 60\n  stop_early: false\n"
    )
    playbook, problems = parse_playbook(text, FILE)
    assert problems == []
    assert (
        playbook.evaluation_observe_days,
        playbook.evaluation_pre_days,
        playbook.evaluation_stop_early,
    ) == (14, 60, False)
    defaults, _ = parse_playbook(GOOD, FILE)
    assert (
        defaults.evaluation_observe_days,
        defaults.evaluation_pre_days,
        defaults.evaluation_stop_early,
    ) == (30, 90, True)
    _, problems = parse_playbook(
        GOOD + "evaluation:\n  observe_days: -1\n  stop_early: sometimes\n", FILE
    )
    assert [str(p) for p in problems] == [
        f"{FILE}:30: evaluation.observe_days: must be at least 0, found -1",
        f"{FILE}:31: evaluation.stop_early: expected true or false, found 'sometimes'",
    ]


def test_the_orgs_holdout_and_evaluation_settings_are_validated_with_file_and_line():
    text = "holdout_share: 0.3\nholdout_share_kept: 0.05\nevaluation:\n  level: 0.1\n  min_engineers: 8\n  min_prs: 2\n  monitor_p: 0.9\n"
    org, problems = parse_org_settings(text, "playbooks/org.yml")
    assert problems == []
    assert org.evaluation_rules() == Rules(min_engineers=8, min_prs=2, alpha=0.1, monitor_p=0.9)
    assert (org.holdout_share, org.holdout_share_kept) == (0.3, 0.05)
    defaults, _ = parse_org_settings("", "playbooks/org.yml")
    assert (defaults.holdout_share, defaults.holdout_share_kept) == (0.4, 0.05)
    assert defaults.evaluation_rules() == DEFAULT_RULES
    _, problems = parse_org_settings(
        "holdout_share: 0.2\nholdout_share_kept: 0.3\n", "playbooks/org.yml"
    )
    assert [str(p) for p in problems] == [
        (
            "playbooks/org.yml:2: holdout_share_kept: the holdout kept after a playbook proved itself "
            "(0.3) cannot be larger than holdout_share (0.2); write a share like 0.05"
        )
    ]
    _, problems = parse_org_settings(
        "evaluation:\n  level: 5%\n  min_engineers: 1\n  monitor_p: 1.5\n", "playbooks/org.yml"
    )
    assert [str(p) for p in problems] == [
        "playbooks/org.yml:2: evaluation.level: expected a number such as 0.05, found '5%'",
        "playbooks/org.yml:3: evaluation.min_engineers: must be at least 2, found 1",
        "playbooks/org.yml:4: evaluation.monitor_p: must be between 0.5 and 0.999, found 1.5",
    ]
