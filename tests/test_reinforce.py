"""Spaced follow-ups in the pure core: relevance, the FSRS series, the gates, the text.

Scenarios run over months with the clock passed in by hand; nothing here reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from bot.cli.series import DEFAULT_SCRIPT, chart, demo_playbook, simulate_series
from bot.core.budget import sprint_at
from bot.core.nudges import Nudge, NudgeState, Signal
from bot.core.org import OrgSettings, Role
from bot.core.outcome import Review
from bot.core.playbook import load_playbooks, parse_playbook
from bot.core.reinforce import (
    AGAIN,
    GOOD,
    AlertEvent,
    FollowUp,
    FollowUpContext,
    FollowUpState,
    Observation,
    PullHead,
    all_series,
    current_series,
    decide_followup,
    followup_key,
    most_related_item,
    observations,
    reinforcement_effect,
    replay,
)
from bot.core.relevance import (
    GITHUB_FILES_CAP,
    AppliesTo,
    ChangedFile,
    PullFiles,
    alert_matches,
    files_from_api,
    relevance,
)
from bot.core.render import WORD_JOINER, find_marker, marker_secret, render_followup
from bot.testing.clock import ManualClock

ROOT_PLAYBOOKS = {p.id: p for p in load_playbooks("playbooks").playbooks}
SQL = ROOT_PLAYBOOKS["sql-injection"]
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ORG = OrgSettings(sprint_start=T0.date())
SECRET = marker_secret("s3cret")


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


# relevance -----------------------------------------------------------------------------------

PY_SQL = ChangedFile(
    "src/db/orders.py",
    "modified",
    "@@ -1 +1 @@\n-x = 1\n+cursor.execute(f'select * from t where id={i}')",
)
PY_UI = ChangedFile("src/ui/button.py", "modified", "@@ -1 +1 @@\n-a\n+colour = 'red'")
DOCS = ChangedFile("docs/guide.md", "modified", "@@ -1 +1 @@\n-a\n+select the option")
README = ChangedFile("README.md", "modified", "+where to start")


@pytest.mark.parametrize(
    "applies, files, expected",
    [
        (AppliesTo(), (PY_SQL, DOCS), ("src/db/orders.py",)),  # nothing said: any code, no docs
        (AppliesTo(), (DOCS, README), ()),  # a docs-only pull request is never relevant
        (
            AppliesTo(languages=("python",)),
            (PY_SQL, PY_UI, DOCS),
            ("src/db/orders.py", "src/ui/button.py"),
        ),
        (AppliesTo(languages=("java",)), (PY_SQL,), ()),
        (AppliesTo(paths=("src/db/**",)), (PY_SQL, PY_UI), ("src/db/orders.py",)),
        (AppliesTo(paths=("*.py",)), (PY_SQL, DOCS), ("src/db/orders.py",)),  # no '/': any folder
        (AppliesTo(paths=("db/*.py",)), (PY_SQL,), ()),  # with '/': from the root
        (
            AppliesTo(languages=("python",), exclude_paths=("src/ui/**",)),
            (PY_SQL, PY_UI),
            ("src/db/orders.py",),
        ),
        (
            AppliesTo(languages=("python",), added_lines=(r"\bselect\b",)),
            (PY_SQL, PY_UI),
            ("src/db/orders.py",),
        ),
        # Only added lines count: a removed "select" is not this kind of change.
        (
            AppliesTo(added_lines=(r"\bselect\b",)),
            (ChangedFile("a.py", "modified", "-select 1\n+pass"),),
            (),
        ),
        # GitHub leaves the patch out of huge files: the path is all there is.
        (
            AppliesTo(added_lines=(r"\bselect\b",)),
            (ChangedFile("big.py", "modified", None),),
            ("big.py",),
        ),
        (AppliesTo(), (ChangedFile("old.py", "removed", "-select"),), ()),  # deleting code
    ],
)
def test_which_changed_files_a_playbook_is_about(applies, files, expected):
    assert relevance(applies, PullFiles(files)).files == expected


def test_github_file_cap_is_said_in_the_reason():
    entries = [{"filename": f"f{i}.md", "status": "modified"} for i in range(GITHUB_FILES_CAP)]
    files = files_from_api(entries)
    assert files.complete is False
    assert "first 3000 files" in relevance(AppliesTo(), files).reason
    assert files_from_api(entries[:10]).complete is True


@pytest.mark.parametrize(
    "rule, tags, expected",
    [
        ("py/sql-injection", (), True),  # '*/sql-injection'
        ("java/sql-injection", (), True),
        ("js/xss", ("security", "external/cwe/cwe-079"), False),
        ("custom/query-builder", ("external/cwe/cwe-089",), True),  # by CWE, leading zero
        ("Style/FrozenStringLiteralComment", None, False),
    ],
)
def test_code_scanning_rules_by_id_or_cwe(rule, tags, expected):
    assert alert_matches(SQL.applies_to, rule, tags) is expected


# playbook settings ---------------------------------------------------------------------------

BASE = """id: demo-topic
title: Demo topic
match:
  patterns: ['\\bdemo\\b']
nudge:
  minutes: 2
  play: Two sentences.
  checklist: [One thing]
"""


@pytest.mark.parametrize(
    "extra, line, words",
    [
        ("reinforcement:\n  desired_retention: 0.5\n", 10, "between 0.7 and 0.97"),
        ("reinforcement:\n  max_followups: 40\n", 10, "write a number from 1 to 12"),
        ("reinforcement:\n  minutes: 2\n", 10, "must cost less than the nudge"),
        ("reinforcement:\n  wait_dayz: 3\n", 10, "did you mean 'wait_days'"),
        ("applies_to:\n  languages: [pyton]\n", 10, "did you mean 'python'"),
        ("applies_to:\n  paths: ['src/[ab]/*.py']\n", 10, "only *, ** and ?"),
        ("applies_to:\n  added_lines: ['(?=x)']\n", 10, "not a valid pattern"),
        ("applies_to:\n  code_scanning:\n    cwe: [CWE-89]\n", 11, "whole number"),
    ],
)
def test_bad_reinforcement_settings_name_file_line_and_what_to_write(extra, line, words):
    playbook, problems = parse_playbook(BASE + extra, "playbooks/demo-topic.yml")
    assert playbook is None
    [problem] = problems
    assert problem.file == "playbooks/demo-topic.yml" and problem.line == line
    assert words in problem.message


def test_settings_are_read_and_default_when_left_out():
    playbook, problems = parse_playbook(
        BASE + "reinforcement:\n  desired_retention: 0.85\n  max_followups: 3\n  wait_days: 10\n"
        "applies_to:\n  paths: ['src/**']\n  code_scanning:\n    rules: [py/foo]\n    cwe: [79]\n",
        "demo-topic.yml",
    )
    assert problems == []
    assert (
        playbook.reinforcement.desired_retention == 0.85
        and playbook.reinforcement.max_followups == 3
    )
    assert playbook.reinforcement.minutes == 1 and playbook.reinforcement.clean_reviews_to_end == 5
    assert playbook.applies_to == AppliesTo(
        paths=("src/**",), code_scanning_rules=("py/foo",), cwe=(79,)
    )
    plain, _ = parse_playbook(BASE, "demo-topic.yml")
    assert plain.applies_to == AppliesTo() and plain.reinforcement.enabled


def test_every_shipped_playbook_says_which_code_it_is_about():
    assert len(ROOT_PLAYBOOKS) >= 9
    for playbook in ROOT_PLAYBOOKS.values():
        assert playbook.applies_to.languages, playbook.id
        assert (
            playbook.reinforcement.minutes < playbook.nudge.minutes or playbook.nudge.minutes == 1
        )


# the series ----------------------------------------------------------------------------------


def nudge(
    posted: dt.datetime = T0, *, engineer: str = "dana", key: str = "a1a1a1a1a1a1a1a1", pr: int = 1
) -> Nudge:
    return Nudge(
        key=key,
        installation_id=1,
        repo="acme/shop",
        pr_number=pr,
        engineer=engineer,
        playbook_id=SQL.id,
        state=NudgeState.POSTED,
        reason="posted",
        created_at=posted,
        trigger_at=posted,
        thread_id=None,
        minutes=2,
        posted_at=posted,
        sprint=sprint_at(posted, ORG).index,
    )


def obs(at_day: float, rating: str, pr: int = 50) -> Observation:
    return Observation(
        day(at_day), rating, "acme/shop", pr, "comment" if rating == AGAIN else "review"
    )


def head(
    number: int, at: dt.datetime, *, relevant: bool = True, engineer: str = "dana"
) -> PullHead:
    return PullHead(
        1,
        "acme/shop",
        number,
        engineer,
        f"{number:040x}",
        f"b{number}",
        at,
        at,
        2,
        True,
        {SQL.id: ("src/db/orders.py",)} if relevant else {},
    )


def ctx(playbook=SQL, **changes) -> FollowUpContext:
    values = dict(
        playbook=playbook,
        group="nudged",
        role=Role("engineer", nudges=2, minutes=10),
        sprint=sprint_at(changes.pop("now", T0), ORG),
        nudges=[nudge()],
        followups=[],
    )
    values.update(changes)
    return FollowUpContext(**values)


def test_the_nudge_itself_is_the_first_study_and_the_first_follow_up_is_days_later():
    series = replay(SQL, nudge(), [], [], day(1))
    assert series.steps[0].kind == "nudge" and series.ended is None
    assert day(1) < series.due_at <= day(4)


def test_errors_that_recur_bring_the_next_follow_up_sooner():
    clean = replay(SQL, nudge(), [obs(3, GOOD)], [], day(4))
    lapse = replay(SQL, nudge(), [obs(3, AGAIN)], [], day(4))
    assert lapse.due_at < clean.due_at
    assert (lapse.due_at - day(3)).days <= 2 and (clean.due_at - day(3)).days >= 5


def test_errors_that_stop_space_the_series_out_and_end_it():
    reviews = [obs(d, GOOD, pr=50 + i) for i, d in enumerate((3, 15, 50, 130, 300))]
    gaps, ends = [], []
    for n in range(1, len(reviews) + 1):
        series = replay(SQL, nudge(), reviews[:n], [], reviews[n - 1].at + dt.timedelta(hours=1))
        ends.append(series.ended)
        if series.due_at:
            gaps.append((series.due_at - reviews[n - 1].at).days)
    assert gaps == sorted(gaps) and gaps[-1] > 3 * gaps[0], gaps
    assert ends[:-1] == [None] * 4 and ends[-1] == "5 clean reviews in a row"


def test_the_same_facts_always_give_the_same_schedule():
    found = [obs(3, AGAIN), obs(6, GOOD), obs(20, GOOD)]
    assert replay(SQL, nudge(), found, [], day(30)) == replay(
        SQL, nudge(), list(found), [], day(30)
    )


def test_a_lapse_restarts_the_run_of_clean_reviews():
    found = [obs(d, GOOD, 50 + d) for d in (3, 6, 9, 12)] + [obs(15, AGAIN, 70)]
    found += [obs(d, GOOD, 50 + d) for d in (18, 21, 24, 27)]
    series = replay(SQL, nudge(), found, [], day(28))
    assert series.ended is None and series.clean_run == 4


def test_most_follow_ups_end_the_series():
    few = replace(SQL, reinforcement=replace(SQL.reinforcement, max_followups=2))
    sent = [
        FollowUp(
            followup_key("a1a1a1a1a1a1a1a1", i),
            1,
            "acme/shop",
            60 + i,
            "dana",
            SQL.id,
            "a1a1a1a1a1a1a1a1",
            i,
            FollowUpState.POSTED,
            "",
            day(i * 3),
            day(i * 3),
            posted_at=day(i * 3),
        )
        for i in (1, 2)
    ]
    assert (
        replay(few, nudge(), [], sent, day(10)).ended
        == "2 follow-ups sent, the most this playbook sends"
    )
    assert replay(few, nudge(), [], sent[:1], day(10)).ended is None


def test_a_follow_up_with_nothing_reviewed_since_waits_the_same_interval_again():
    series = replay(SQL, nudge(), [], [], day(0.1))
    interval = series.due_at - T0
    sent = FollowUp(
        "k" * 16,
        1,
        "acme/shop",
        60,
        "dana",
        SQL.id,
        "a1a1a1a1a1a1a1a1",
        1,
        FollowUpState.POSTED,
        "",
        series.due_at,
        day(3),
        posted_at=day(3),
    )
    after = replay(SQL, nudge(), [], [sent], day(3.5))
    assert after.due_at == day(3) + interval


def test_a_new_nudge_starts_a_new_series():
    first, second = nudge(T0), nudge(day(60), key="b2b2b2b2b2b2b2b2", pr=9)
    both = all_series(SQL, [first, second], [obs(3, AGAIN)], [], day(61))
    assert [s.nudge.key for s in both] == [first.key, second.key]
    assert both[0].ended == "a new nudge started a new series" and both[1].ended is None
    assert current_series(SQL, [first, second], [], [], day(61)).nudge.key == second.key


# observations from the facts on record -------------------------------------------------------


def signal(pr: int, at: dt.datetime, playbook: str = SQL.id) -> Signal:
    return Signal(
        1, "acme/shop", pr, "dana", playbook, 1000 + pr, "review_comment", "rui", at, "bind params"
    )


def review(pr: int, at: dt.datetime, rid: int = 0) -> Review:
    return Review(1, "acme/shop", pr, "dana", "rui", at, "review_comment", 2000 + pr + rid)


def test_each_reviewed_relevant_pull_request_is_one_review_of_the_card():
    heads = [head(2, day(2)), head(3, day(5)), head(4, day(8), relevant=False), head(1, day(0))]
    found = observations(
        SQL,
        "Dana",
        T0,
        signals=[signal(2, day(2.3)), signal(2, day(2.4)), signal(4, day(8.2))],
        reviews=[
            review(2, day(2.2)),
            review(3, day(5.2)),
            review(3, day(5.5), 1),
            review(4, day(8.2)),
            review(1, day(0.5)),
        ],
        heads=heads,
        skip=frozenset({("acme/shop", 1)}),
    )
    # PR 2: a matching comment (once, at the first); PR 3: clean; PR 4 is docs; PR 1 is the nudge's.
    assert [(o.pr_number, o.rating, o.at) for o in found] == [
        (2, AGAIN, day(2.3)),
        (3, GOOD, day(5.2)),
    ]


def alert(
    action: str, at: dt.datetime, number: int = 5, rule: str = "py/sql-injection"
) -> AlertEvent:
    return AlertEvent(1, "acme/shop", 3, "dana", number, rule, (), action, at)


def test_a_code_scanning_alert_is_a_lapse_and_its_fix_a_success():
    found = observations(
        SQL,
        "dana",
        T0,
        signals=[],
        reviews=[],
        heads=[],
        alerts=[
            alert("created", day(4)),
            alert("fixed", day(5)),
            alert("created", day(6), 6, "js/xss"),
        ],
    )
    assert [(o.rating, o.source) for o in found] == [(AGAIN, "alert"), (GOOD, "alert_fixed")]
    with_alert = replay(SQL, nudge(), found[:1], [], day(4.5))
    without = replay(SQL, nudge(), [], [], day(4.5))
    assert with_alert.due_at < day(6) < without.due_at + dt.timedelta(days=30)
    assert with_alert.steps[-1].rating == AGAIN


def test_an_alert_a_person_dismissed_counts_for_nothing():
    found = observations(
        SQL,
        "dana",
        T0,
        signals=[],
        reviews=[],
        heads=[],
        alerts=[alert("created", day(4)), alert("closed_by_user", day(4.5))],
    )
    assert found == []


# the decision and its gates ------------------------------------------------------------------


def due_series(now: dt.datetime | None = None):
    return replay(SQL, nudge(), [], [], now or day(5))


def test_a_follow_ups_reason_says_what_brought_it_due():
    """The reason on record (and in the demo) names the review that set the schedule."""

    def reason(found, now):
        series = replay(SQL, nudge(), found, [], now)
        [followup] = decide_followup(series, [head(9, now)], ctx(now=now), now).followups
        return followup.reason

    assert "(the first reminder after the nudge); #9 changes 1 relevant file(s)" in reason(
        [], day(5)
    )
    lapse = Observation(day(3), AGAIN, "acme/shop", 4, "comment", "rui: bind params")
    assert "(a matching comment on #4 on 2026-03-05 brought it closer)" in reason([lapse], day(8))
    clean = [Observation(day(n), GOOD, "acme/shop", n, "review", "reviewed by rui") for n in (3, 5)]
    assert "(2 clean reviews in a row, the latest on #5, pushed it out)" in reason(clean, day(28))


def test_a_due_follow_up_goes_on_the_next_relevant_pull_request():
    series = due_series()
    decision = decide_followup(series, [head(2, day(1)), head(3, day(5))], ctx(now=day(5)), day(5))
    [followup] = decision.followups
    assert (
        followup.state == FollowUpState.PLANNED and followup.pr_number == 3 and followup.index == 1
    )
    assert followup.key == followup_key(series.nudge.key, 1) and followup.files == (
        "src/db/orders.py",
    )
    assert followup.minutes == 1


def test_a_docs_only_pull_request_gets_no_follow_up():
    decision = decide_followup(
        due_series(), [head(3, day(5), relevant=False)], ctx(now=day(5)), day(5)
    )
    assert decision.followups == [] and decision.notes == []


def test_not_due_yet_means_nothing():
    series = replay(SQL, nudge(), [], [], day(1))
    assert decide_followup(series, [head(3, day(1))], ctx(now=day(1)), day(1)).followups == []


@pytest.mark.parametrize(
    "change, outcome",
    [
        (dict(playbook=replace(SQL, paused=True)), "followup_paused"),
        (dict(group="holdout"), "followup_held_out"),
        (dict(muted=True), "followup_muted"),
        (
            dict(playbook=replace(SQL, reinforcement=replace(SQL.reinforcement, enabled=False))),
            "followup_off",
        ),
    ],
)
def test_paused_held_out_muted_or_switched_off_means_nothing(change, outcome):
    decision = decide_followup(due_series(), [head(3, day(5))], ctx(now=day(5), **change), day(5))
    assert decision.followups == []
    assert [n.outcome for n in decision.notes] == [outcome]


def test_a_full_budget_makes_the_follow_up_wait_for_the_next_sprint():
    clock = ManualClock(day(5))
    busy = [
        replace(nudge(), key=f"{i:016x}", minutes=5, sprint=sprint_at(clock(), ORG).index)
        for i in range(2)
    ]
    decision = decide_followup(
        due_series(), [head(3, clock())], ctx(now=clock(), nudges=busy), clock()
    )
    assert decision.followups == []
    [note] = decision.notes
    assert note.outcome == "followup_waiting" and "10 + 1 of 10 minutes" in note.reason
    clock.advance(days=14)  # the next sprint, and a new push
    later = decide_followup(
        due_series(clock()), [head(3, clock())], ctx(now=clock(), nudges=busy), clock()
    )
    assert [f.state for f in later.followups] == [FollowUpState.PLANNED]


def test_a_follow_up_that_waited_too_long_is_dropped_and_ends_the_series():
    series = due_series(day(40))
    decision = decide_followup(series, [], ctx(now=day(40)), day(40))
    [dropped] = decision.followups
    assert dropped.state == FollowUpState.DROPPED and "within 21 days" in dropped.reason
    assert replay(SQL, nudge(), [], [dropped], day(41)).ended.startswith("follow-up 1 dropped")


# months of one engineer ----------------------------------------------------------------------


def gaps(sim) -> list[int]:
    times = [T0] + [s.at for s in sim.series.steps if s.kind == "followup"]
    return [(b - a).days for a, b in zip(times, times[1:])]


def test_simulated_months_space_out_as_errors_stop_and_close_in_as_they_return():
    sim = simulate_series(demo_playbook(SQL))
    spacing = gaps(sim)
    returned = next(
        i for i, s in enumerate(sim.series.steps) if s.kind == "followup" and s.at > day(50)
    )
    before = [s for s in sim.series.steps if s.kind == "followup" and s.at <= day(50)]
    assert max(spacing[: len(before)]) <= 5  # while the comments came, every few days
    assert spacing[len(before)] > 30  # clean reviews: a long quiet spell
    assert max(spacing[len(before) + 1 :]) <= 7  # the comments came back: close again
    assert returned and sim.series.ended == "8 clean reviews in a row"
    text = chart(sim.series, sim.reviews)
    assert text.count("F") >= len(sim.followups) and "ended: 8 clean reviews in a row" in text


def test_an_engineer_whose_errors_never_return_gets_a_short_series():
    script = [(d, "good") for d in (3, 7, 12, 20, 30, 45, 60)]
    sim = simulate_series(SQL, script)
    assert sim.series.ended == "5 clean reviews in a row"
    assert 1 <= len(sim.followups) <= 3


def test_a_held_out_engineer_gets_no_follow_up_in_months():
    sim = simulate_series(SQL, DEFAULT_SCRIPT, group="holdout")
    assert sim.followups == []


# what people read ----------------------------------------------------------------------------


def test_the_follow_up_is_short_mention_safe_and_carries_its_own_marker():
    evil = replace(
        SQL,
        title="SQL @team <b>",
        nudge=replace(SQL.nudge, checklist=("Ping @admins", "Bind every value in db queries")),
    )
    followup = FollowUp(
        "f" * 16,
        1,
        "acme/shop",
        9,
        "dana",
        SQL.id,
        "a1a1a1a1a1a1a1a1",
        1,
        FollowUpState.PLANNED,
        "",
        T0,
        T0,
        files=("src/db/queries.py", "x.py", "y.py"),
    )
    body = render_followup(followup, nudge(), evil, ORG, SECRET)
    assert not re.search(r"@[A-Za-z0-9]", body) and f"@{WORD_JOINER}team" in body
    assert "<b>" not in body and "#1" in body and "and 1 more file" in body
    assert body.count("- [ ] ") == 1 and "- [ ] Bind every value in db queries" in body
    assert "](https://cheatsheetseries.owasp.org/" in body
    assert find_marker(body, followup.key, SECRET) and not find_marker(body, nudge().key, SECRET)
    assert not find_marker(body, followup.key, marker_secret("another"))


@pytest.mark.parametrize(
    "files, expected",
    [
        (
            ("src/db/raw_helpers.py",),
            "Keep raw SQL helpers (raw(), text(), knex.raw) on bound parameters too",
        ),
        (("tests/test_orders.py",), "Add a test with a quote and a semicolon in the input"),
        (("src/app/table_names.py",), "Map table or column names from input through an allow-list"),
        (
            ("src/other.py",),
            "Pass every value as a query parameter, never through concatenation, f-strings or format()",
        ),
    ],
)
def test_the_checklist_item_most_related_to_the_matched_files(files, expected):
    assert most_related_item(SQL.nudge.checklist, files) == expected


# outcomes ------------------------------------------------------------------------------------


def test_reinforced_engineers_are_compared_with_those_who_got_only_the_nudge():
    posted = FollowUp(
        "f" * 16, 1, "acme/shop", 9, "Dana", SQL.id, "n", 1, FollowUpState.POSTED, "", T0, T0
    )
    dropped = replace(posted, key="e" * 16, engineer="eli", state=FollowUpState.DROPPED)
    effect = reinforcement_effect(
        SQL.id, {"dana": -0.6, "eli": -0.2, "fay": -0.1, "gus": None}, [posted, dropped]
    )
    assert effect.reinforced.engineers == 1 and effect.reinforced.mean_change == pytest.approx(-0.6)
    assert effect.nudge_only.engineers == 3 and effect.nudge_only.mean_change == pytest.approx(
        -0.15
    )
    assert effect.difference == pytest.approx(-0.45)


def test_simulate_series_prints_the_chart(capsys):
    from bot.cli import main

    assert main(["simulate", "--series"]) == 0
    out = capsys.readouterr().out
    assert (
        "follow-ups |N" in out
        and "reviews    |" in out
        and "ended: 8 clean reviews in a row" in out
    )
    assert main(["simulate", "--series", "--playbook", "no-such"]) == 2


def test_the_follow_up_goes_on_a_later_pull_request_not_the_nudges_own():
    series = due_series()
    own = replace(head(1, day(5)), number=series.nudge.pr_number)
    assert decide_followup(series, [own], ctx(now=day(5)), day(5)).followups == []


def test_the_effect_of_follow_ups_from_the_kill_switchs_outcomes():
    from bot.core.outcome import Outcome, Tally
    from bot.core.reinforce import reinforcement_effect_of

    def outcome(engineer, group, before, after):
        return Outcome(engineer, SQL.id, group, T0, Tally(4, before), Tally(4, after))

    outcomes = [
        outcome("dana", "nudged", 4, 0),
        outcome("eli", "nudged", 4, 2),
        outcome("hal", "holdout", 4, 4),
    ]
    posted = FollowUp(
        "f" * 16, 1, "acme/shop", 9, "dana", SQL.id, "n", 1, FollowUpState.POSTED, "", T0, T0
    )
    effect = reinforcement_effect_of(SQL.id, outcomes, [posted])
    assert (effect.reinforced.engineers, effect.nudge_only.engineers) == (1, 1)  # held out: neither
    assert effect.difference == pytest.approx(-0.5)
    assert reinforcement_effect_of(SQL.id, outcomes, [posted], min_prs=5).reinforced.engineers == 0


def _outcomes_and_followups():
    """Fixed data: four nudged engineers (two reinforced), one held out."""
    from bot.core.outcome import Outcome, Tally

    def outcome(engineer, group, before, after, prs_after=4):
        return Outcome(engineer, SQL.id, group, T0, Tally(4, before), Tally(prs_after, after))

    outcomes = [
        outcome("dana", "nudged", 3, 1),  # reinforced
        outcome("eli", "nudged", 2, 0, prs_after=6),  # reinforced
        outcome("fay", "nudged", 2, 2),  # nudge only
        outcome("gus", "nudged", 3, 2),  # nudge only
        outcome("hal", "holdout", 4, 4),  # in neither group
        outcome("ivy", "nudged", 4, 0, prs_after=0),  # no reviewed PR after: not counted
    ]
    posted = FollowUp(
        "f" * 16,
        1,
        "acme/shop",
        9,
        "Dana",
        SQL.id,
        "n",
        1,
        FollowUpState.POSTED,
        "",
        T0,
        T0,
        posted_at=day(5),
    )
    followups = [
        posted,
        replace(posted, key="e" * 16, engineer="eli", posted_at=day(9)),
        replace(posted, key="d" * 16, engineer="fay", state=FollowUpState.DROPPED),  # never sent
        replace(posted, key="c" * 16, engineer="gus", posted_at=day(70)),  # after the window
        replace(posted, key="b" * 16, engineer="hal", posted_at=day(5)),
    ]
    return outcomes, followups


def test_reinforced_engineers_are_compared_on_pooled_rates_as_the_evaluation_counts_them():
    from bot.core.evaluate import Rules
    from bot.core.reinforce import reinforcement_effect_of

    outcomes, followups = _outcomes_and_followups()
    rules = Rules(min_engineers=2, min_prs=1)
    effect = reinforcement_effect_of(SQL.id, outcomes, followups, rules=rules, until=day(60))
    r, n = effect.reinforced, effect.nudge_only
    assert (r.engineers, n.engineers) == (2, 2)  # ivy is not counted, hal is held out
    assert (r.prs_before, r.prs_after, r.comments_before, r.comments_after) == (8, 10, 5, 1)
    assert r.rate_before == pytest.approx(0.625) and r.rate_after == pytest.approx(0.1)
    assert n.rate_before == pytest.approx(0.625) and n.rate_after == pytest.approx(0.5)
    assert effect.comparable and effect.min_engineers == 2
    # gus's follow-up came after the window closed: without ``until`` he counts as reinforced.
    late = reinforcement_effect_of(SQL.id, outcomes, followups, rules=rules)
    assert (late.reinforced.engineers, late.nudge_only.engineers) == (3, 1)
    assert not late.comparable
    assert not reinforcement_effect_of(
        SQL.id, outcomes, followups, rules=Rules(min_engineers=3), until=day(60)
    ).comparable


def test_the_follow_ups_comparison_is_said_in_plain_words_with_its_counts():
    from bot.core.evaluate import Rules
    from bot.core.evidence import reinforcement_words
    from bot.core.reinforce import reinforcement_effect_of

    outcomes, followups = _outcomes_and_followups()
    effect = reinforcement_effect_of(
        SQL.id, outcomes, followups, rules=Rules(min_engineers=2), until=day(60)
    )
    text = reinforcement_words(effect)
    assert text.startswith(
        "Engineers who also got follow-ups went from 0.62 to 0.10 matching comments per reviewed "
        "PR (2 engineers, 8 reviewed PRs before and 10 after); those who got only the nudge from 0.62 to 0.50 "
        "(2 engineers, 8 reviewed PRs before and 8 after)."
    ), text
    assert "not a randomized comparison" in text and "No decision rests on it." in text
    few = reinforcement_words(
        reinforcement_effect_of(
            SQL.id, outcomes, followups, rules=Rules(min_engineers=5), until=day(60)
        )
    )
    assert few.startswith(
        "2 engineers also got follow-ups and 2 engineers got only the nudge (counted as for the "
        "decision): too few to compare; 5 of each are needed."
    ), few
    assert "0.10" not in few and "0.62" not in few, "no rates of groups too small to show"
    assert "not be a causal claim" in few


def test_follow_up_minutes_share_the_sprint_budget_with_nudges():
    """A follow-up is not a nudge, but its minutes come out of the same sprint budget."""
    from bot.core.budget import check_budget, sprint_at
    from bot.core.org import OrgSettings, Role

    role = Role("junior", nudges=3, minutes=10)
    sprint = sprint_at(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), OrgSettings())
    assert check_budget(role, sprint, 2, [], followup_minutes=8).allowed
    spent = check_budget(role, sprint, 2, [], followup_minutes=9)
    assert not spent.allowed and "9 + 2 of 10 minutes" in spent.reason


def test_a_follow_ups_failed_write_is_judged_like_a_nudges():
    import random

    from bot.core.outbox import UNKNOWN_OUTCOME_WAIT_SECONDS, FailureKind
    from bot.core.reinforce import (
        MAX_FOLLOWUP_ATTEMPTS,
        FollowUp,
        FollowUpState,
        after_followup_failure,
    )

    seen = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)
    f = FollowUp(
        "f1",
        77,
        "acme/shop",
        8,
        "alice",
        "sql-injection",
        "n1",
        1,
        FollowUpState.PLANNED,
        "due",
        seen,
        seen,
    )
    moved, at = after_followup_failure(f, "502 Bad Gateway", seen, random.Random(1))
    assert (
        moved.state == FollowUpState.PLANNED
        and moved.attempts == 1
        and at is not None
        and at > seen
    )
    moved, at = after_followup_failure(f, "timed out", seen, random.Random(1), unknown=True)
    assert at is not None and (at - seen).total_seconds() >= UNKNOWN_OUTCOME_WAIT_SECONDS
    moved, at = after_followup_failure(
        f, "422 locked", seen, random.Random(1), kind=FailureKind.REFUSED
    )
    assert at is None and moved.state == FollowUpState.FAILED and "will not accept" in moved.reason
    last = f.moved(f.state, f.reason, attempts=MAX_FOLLOWUP_ATTEMPTS - 1)
    moved, at = after_followup_failure(last, "502", seen, random.Random(1), kind=FailureKind.FAULT)
    assert at is None and moved.state == FollowUpState.FAILED
