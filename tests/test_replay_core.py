"""The dry run's core: history through decide_comment with proposed playbooks, no I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.app.config import load_config
from bot.app.settings import PACKAGE_ROOT
from bot.core.backfill import (
    comment_from_api,
    evidence_snippet,
    pull_from_api,
    review_from_api,
    snippet_text,
)
from bot.core.classify import Match
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.nudges import NudgeState
from bot.core.org import OrgSettings, Role
from bot.core.replay import HistoryComment, render_markdown, render_text, replay

IN_FORCE, _ = load_config(PACKAGE_ROOT / "playbooks")
PLAYBOOKS = IN_FORCE.playbooks.playbooks
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
NO_HOLDOUT = dataclasses.replace(OrgSettings(), holdout_share=0.0, holdout_share_kept=0.0)
SQL = "Please use bind params here."
LEAK = "This file handle is never closed; use a with block."


def comment(
    n: int,
    engineer: str,
    body: str,
    *,
    day: float,
    text: bool = True,
    recorded: tuple[Match, ...] = (),
) -> HistoryComment:
    c = ReviewComment(
        PullRequestRef(1, "acme/shop", n, Actor(engineer, False)),
        Actor("bob", False),
        body if text else "",
        T0 + dt.timedelta(days=day),
        "review_comment",
        1000 + n,
        1000 + n,
    )
    return HistoryComment(c, body if text else None, False, recorded)


def run(history, org=NO_HOLDOUT):
    return replay(history, PLAYBOOKS, org, since=T0, until=T0 + dt.timedelta(days=90))


def test_the_second_matching_comment_nudges_and_the_cooldown_holds_the_rest():
    result = run([comment(n, "ada", SQL, day=n) for n in range(10)])
    assert [(n.engineer, n.playbook_id, n.state, n.trigger_at.day) for n in result.decisions] == [
        ("ada", "sql-injection", NudgeState.PLANNED, 6)
    ]
    [line] = result.engineers
    assert (line.nudges, line.minutes, line.dates) == (1, 2, (dt.date(2026, 1, 6),))


def test_a_tight_budget_is_spent_and_the_rest_is_counted_over_budget():
    org = dataclasses.replace(
        NO_HOLDOUT, roles={"engineer": Role("engineer", nudges=1, minutes=10)}
    )
    history = [comment(n, "ada", SQL if n % 2 else LEAK, day=n / 4) for n in range(8)]
    result = run(history, org)
    states = sorted(n.state.value for n in result.decisions)
    # The SQL nudge spends the one nudge; each later leak comment tries again and is over budget.
    assert states == ["planned"] + ["suppressed_budget"] * 3, states
    [line] = result.engineers
    assert (line.nudges, line.over_budget) == (1, 3)
    assert [v[1:] for v in result.sprints.values()] == [(1, 1, 2)]
    assert "1 nudge,    2 min, 3 over budget" in render_text(result)


def test_comments_without_words_count_through_their_recorded_signals_only():
    history = [
        comment(n, "ada", "", day=n, text=False, recorded=(Match("sql-injection", "bind"),))
        for n in (1, 2)
    ]
    history += [
        comment(n, "ada", "", day=n, text=False, recorded=(Match("retired-playbook", "x"),))
        for n in (3, 4)
    ]
    result = run(history)
    assert [n.playbook_id for n in result.decisions] == ["sql-injection"]
    assert (result.without_text, result.judged_on_record) == (4, 2)
    assert "judged on the kept words alone" in " ".join(render_text(result).split())


def test_renderings_fit_80_columns_and_mention_nobody():
    result = run([comment(n, "a-very-long-login-name-indeed", SQL, day=n * 3) for n in range(30)])
    text = render_text(result)
    assert max(map(len, text.splitlines())) <= 80
    md = render_markdown(dataclasses.replace(result))
    assert "`a-very-long-login-name-indeed`" in md and "@" not in md.replace("@\u200b", "")


def test_snippets_are_short_mention_safe_and_read_back():
    assert (
        evidence_snippet("  thanks @ada, use bind params  ") == "thanks @\u200bada, use bind params"
    )
    assert snippet_text(evidence_snippet("thanks @ada")) == ("thanks @ada", False)
    long = "x" * 299 + "@ada" + "y" * 50
    text, cut = snippet_text(evidence_snippet(long))
    assert cut and text == long[:300]


def test_the_rest_answers_become_the_comments_the_webhooks_give():
    user = {"login": "ada", "type": "User"}
    pull = pull_from_api(1, "acme/shop", {"number": 7, "user": user})
    c = comment_from_api(
        {
            "id": 5,
            "user": {"login": "bob", "type": "User"},
            "body": SQL,
            "created_at": "2026-01-05T09:00:00Z",
            "in_reply_to_id": 4,
            "pull_request_url": "https://api.github.com/repos/acme/shop/pulls/7",
        },
        pull,
    )
    assert (c.engineer.login, c.thread_id, c.source) == ("ada", 4, "review_comment")
    assert (
        review_from_api({"id": 6, "user": user, "state": "PENDING", "submitted_at": None}, pull)
        is None
    )
