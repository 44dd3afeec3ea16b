"""Pilots and shadow mode: who a playbook reaches, and a mode that decides without posting."""

from __future__ import annotations

import dataclasses

import pytest
from test_decide import DAY, SQL, T0, comment, context, run

from bot.core.evidence import rollout_scope
from bot.core.holdout import HOLDOUT
from bot.core.killswitch import due_window
from bot.core.nudges import NudgeState
from bot.core.outbox import OUTBOX_STATES
from bot.core.playbook import Rollout, parse_playbook

TEAMS = {"payments": frozenset({"alice"}), "search": frozenset({"dora"})}


def with_rollout(**rollout) -> object:
    return dataclasses.replace(SQL, rollout=Rollout(**rollout))


def two_comments(author: str, repo_pr: int = 7):
    return [
        (comment(at=T0, author=author, pr=repo_pr), None),
        (comment(at=T0 + DAY, author=author, pr=repo_pr), None),
    ]


@pytest.mark.parametrize(
    ("rollout", "author", "expected"),
    [
        ({}, "alice", "planned"),
        ({"teams": ("payments",)}, "alice", "planned"),
        ({"teams": ("payments",)}, "dora", "pilot"),
        ({"teams": ("payments", "search")}, "dora", "planned"),
        ({"repos": ("acme/shop",)}, "dora", "planned"),
        ({"repos": ("acme/other",)}, "alice", "pilot"),
        ({"teams": ("payments",), "repos": ("acme/other",)}, "alice", "pilot"),
        ({"mode": "shadow"}, "alice", "shadow"),
        ({"mode": "shadow", "teams": ("search",)}, "alice", "pilot"),
    ],
)
def test_who_a_pilot_or_shadow_playbook_reaches(rollout, author, expected):
    ctx = context(with_rollout(**rollout), teams=TEAMS)
    decisions, history = run(ctx, *two_comments(author))
    [note] = decisions[-1].notes
    assert str(note.outcome) == expected
    if expected == "pilot":
        assert history.nudges == [] and history.assignments == {}, "not held out, not nudged"
        assert "pilot limited to" in note.reason
    elif expected == "shadow":
        [nudge] = history.nudges
        assert nudge.state == NudgeState.SHADOW and nudge.state not in OUTBOX_STATES
        assert nudge.reason.startswith("shadow mode, would be planned:")


def test_a_shadow_playbook_records_what_would_have_happened_holdout_and_cosign_too():
    ctx = context(with_rollout(mode="shadow"), holdout_share=1.0)
    _, history = run(ctx, *two_comments("alice"))
    [nudge] = history.nudges
    assert nudge.state == NudgeState.SHADOW and "would be held_out" in nudge.reason
    assert history.assignments == {"sql-injection": HOLDOUT}
    significant = dataclasses.replace(SQL, significant=True, rollout=Rollout(mode="shadow"))
    ctx = context(significant, leads={"carol": ("alice",)})
    _, history = run(ctx, *two_comments("alice"))
    [nudge] = history.nudges
    assert "would be awaiting_cosign" in nudge.reason and nudge.leads == (), "no lead is asked"


def test_a_shadow_decision_starts_the_quiet_period_like_a_real_one():
    ctx = context(with_rollout(mode="shadow"))
    steps = two_comments("alice") + [(comment(at=T0 + 2 * DAY), None)]
    decisions, history = run(ctx, *steps)
    assert [str(n.outcome) for n in decisions[-1].notes] == ["cooldown"]
    assert len(history.nudges) == 1


def test_the_kill_switch_never_evaluates_a_shadow_playbook():
    shadow = with_rollout(mode="shadow")
    _, history = run(context(shadow), *two_comments("alice"))
    assert due_window(shadow, [], history.nudges, T0 + 400 * DAY) is None
    live = SQL
    _, history = run(context(live), *two_comments("alice"))
    assert due_window(live, [], history.nudges, T0 + 400 * DAY) is not None


BASE = """\
id: sql-injection
title: SQL injection
match:
  patterns: ['bind param']
nudge:
  play: Use bind parameters.
"""


@pytest.mark.parametrize(
    ("block", "line", "message"),
    [
        (
            "rollout:\n  mode: shadw\n",
            8,
            "rollout.mode: 'shadw' is not known; did you mean 'shadow'?",
        ),
        (
            "rollout:\n  teams: ['pay ments']\n",
            8,
            "rollout.teams[0]: 'pay ments' is not a team slug",
        ),
        (
            "rollout:\n  repos: [payments]\n",
            8,
            "rollout.repos[0]: 'payments' is not a repository; write owner/name",
        ),
        ("rollout:\n  team: [payments]\n", 8, "rollout.team: unknown field"),
    ],
)
def test_rollout_mistakes_name_the_line_and_what_to_write(block, line, message):
    playbook, problems = parse_playbook(BASE + block, "playbooks/sql-injection.yml")
    assert playbook is None
    [problem] = problems
    assert problem.line == line and f"{problem.field}: {problem.message}".startswith(message), str(
        problem
    )


def test_rollout_settings_are_read_and_described():
    text = BASE + "rollout:\n  mode: shadow\n  teams: [team:Payments]\n  repos: [Acme/Shop]\n"
    playbook, problems = parse_playbook(text, "playbooks/sql-injection.yml")
    assert problems == []
    assert playbook.rollout == Rollout("shadow", ("payments",), ("acme/shop",))
    assert rollout_scope(playbook.rollout) == (
        "shadow mode (decisions recorded, nothing posted), pilot limited to team payments and "
        "repositories acme/shop"
    )
    assert rollout_scope(Rollout()) == ""
