"""One review comment, the engineer's history and the time: who gets a nudge, and why not."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest

from bot.core.budget import sprint_at
from bot.core.classify import Classifier
from bot.core.cosign import Reaction, decide_cosign
from bot.core.decide import CommentDecision, DecisionConfig, History, decide_comment
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.holdout import HOLDOUT, NUDGED, assign_holdout
from bot.core.nudges import NudgeState
from bot.core.org import OrgSettings, Role
from bot.core.playbook import Playbook, parse_playbook

UTC = dt.UTC
DAY = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, early in sprint 4
INSTALLATION = 77
REPO = "acme/shop"


def make_playbook(
    pid: str,
    pattern: str,
    *,
    comments: int = 2,
    within: int = 30,
    cooldown: int = 30,
    minutes: int = 2,
    significant: bool = False,
    paused: bool = False,
) -> Playbook:
    text = f"""\
id: {pid}
title: {pid.replace("-", " ").capitalize()}
significant: {str(significant).lower()}
paused: {str(paused).lower()}
match:
  patterns:
    - '{pattern}'
trigger:
  comments: {comments}
  within_days: {within}
  cooldown_days: {cooldown}
nudge:
  minutes: {minutes}
  play: Read about {pid}.
  checklist:
    - Check for {pid}
  link:
    title: More on {pid}
    url: https://example.org/{pid}
"""
    playbook, problems = parse_playbook(text, f"playbooks/{pid}.yml")
    assert problems == [], problems
    return playbook


SQL = make_playbook("sql-injection", r"\bbind\s+params?\b")
TESTS = make_playbook("missing-tests", r"\badd\s+a\s+test\b", comments=1)
LEAKS = make_playbook("resource-leaks", r"\bnever\s+closed\b", comments=1)
SQL_BODY = "Please use bind params here."

UNLIMITED = {"engineer": Role("engineer", nudges=None, minutes=None)}


def context(*playbooks: Playbook, teams=None, **org) -> DecisionConfig:
    org.setdefault("holdout_share", 0.0)
    org.setdefault("roles", UNLIMITED)
    return DecisionConfig(
        playbooks={p.id: p for p in playbooks or (SQL,)},
        org=OrgSettings(**org),
        teams=teams or {},
    )


_ids = itertools.count(5000)


def comment(
    body: str = SQL_BODY,
    at: dt.datetime = T0,
    *,
    author: str = "alice",
    reviewer: str = "bob",
    reviewer_type: str = "User",
    author_type: str = "User",
    pr: int = 7,
    comment_id: int | None = None,
    in_reply_to: int | None = None,
) -> ReviewComment:
    cid = comment_id or next(_ids)
    return ReviewComment(
        pull=PullRequestRef(
            INSTALLATION, REPO, pr, Actor.from_user({"login": author, "type": author_type})
        ),
        reviewer=Actor.from_user({"login": reviewer, "type": reviewer_type}),
        body=body,
        at=at,
        source="review_comment",
        comment_id=cid,
        thread_id=in_reply_to or cid,
        url=f"https://github.com/{REPO}/pull/{pr}#discussion_r{cid}",
    )


def decide(
    c: ReviewComment, history: History, ctx: DecisionConfig, now: dt.datetime | None = None
) -> CommentDecision:
    matches = Classifier(list(ctx.playbooks.values())).matches(c.body)
    return decide_comment(c, matches, history, ctx, now or c.at)


def remember(history: History, decision: CommentDecision) -> History:
    """What the store would hold after the decision is saved."""
    return History(
        signals=[*history.signals, *decision.signals],
        nudges=[*history.nudges, *decision.nudges],
        assignments={**history.assignments, **decision.assignments},
    )


def run(ctx: DecisionConfig, *steps: tuple[ReviewComment, dt.datetime | None]):
    history = History()
    decisions = []
    for c, now in steps:
        decision = decide(c, history, ctx, now)
        history = remember(history, decision)
        decisions.append(decision)
    return decisions, history


def outcomes(decision: CommentDecision) -> list[tuple[str | None, str]]:
    return [(n.playbook_id, str(n.outcome)) for n in decision.notes]


# ------------------------------------------------------------------------------- trigger


def test_the_first_matching_comment_is_recorded_and_nothing_is_sent():
    c = comment(at=T0)
    decision = decide(c, History(), context())
    assert decision.nudges == []
    assert outcomes(decision) == [("sql-injection", "signal")]
    assert decision.notes[0].reason == "1 of 2 matching comments within 30 days; not yet"
    [signal] = decision.signals
    assert (signal.engineer, signal.reviewer, signal.playbook_id) == (
        "alice",
        "bob",
        "sql-injection",
    )
    assert (signal.repo, signal.pr_number, signal.comment_id, signal.at) == (
        REPO,
        7,
        c.comment_id,
        T0,
    )
    assert "bind params" in signal.quote


def test_the_second_matching_comment_within_the_window_plans_a_nudge_in_its_thread():
    first = comment(at=T0, pr=6)
    second = comment(
        "Again: bind params, please.", at=T0 + 3 * DAY, pr=7, reviewer="erin", in_reply_to=4242
    )
    now = T0 + 3 * DAY + dt.timedelta(seconds=5)
    (_, decision), _ = run(context(), (first, None), (second, now))
    [nudge] = decision.nudges
    assert nudge.state == NudgeState.PLANNED
    assert (nudge.engineer, nudge.playbook_id, nudge.repo, nudge.pr_number) == (
        "alice",
        "sql-injection",
        REPO,
        7,
    )
    assert nudge.thread_id == 4242  # the reply goes into the thread of the second comment
    assert nudge.trigger_at == second.at and nudge.created_at == now
    assert [s.comment_id for s in nudge.evidence] == [first.comment_id, second.comment_id]
    assert nudge.sprint == sprint_at(now, OrgSettings()).index == 4
    assert nudge.minutes == 2
    assert outcomes(decision) == [("sql-injection", "planned")]


@pytest.mark.parametrize(
    "gap, nudged",
    [
        (DAY, True),
        (30 * DAY, True),  # exactly the window: still inside
        (30 * DAY + US, False),
        (45 * DAY, False),
    ],
)
def test_the_trigger_window_is_exact(gap, nudged):
    (_, decision), _ = run(context(), (comment(at=T0), None), (comment(at=T0 + gap), None))
    assert bool(decision.nudges) is nudged
    if not nudged:
        assert outcomes(decision) == [("sql-injection", "signal")]
        assert decision.notes[0].reason.startswith("1 of 2 ")


def test_a_redelivered_comment_does_not_count_twice():
    c = comment(at=T0)
    (_, again), _ = run(context(), (c, None), (c, T0 + DAY))
    assert again.nudges == []
    assert again.notes[0].reason.startswith("1 of 2 ")


def test_three_comments_in_a_playbook_that_needs_three():
    ctx = context(make_playbook("sql-injection", r"\bbind\s+params?\b", comments=3, within=7))
    steps = [(comment(at=T0 + n * 3 * DAY), None) for n in range(3)]
    decisions, _ = run(ctx, *steps)
    assert [d.notes[0].reason.split(" matching")[0] for d in decisions[:2]] == ["1 of 3", "2 of 3"]
    # T0, T0+3d and T0+6d all fall within the 7 days before the third comment.
    assert [n.state for n in decisions[2].nudges] == [NudgeState.PLANNED]
    assert len(decisions[2].nudges[0].evidence) == 3


def test_the_window_slides():
    ctx = context(make_playbook("sql-injection", r"\bbind\s+params?\b", comments=3, within=7))
    steps = [(comment(at=T0 + n * 4 * DAY), None) for n in range(4)]
    decisions, _ = run(ctx, *steps)
    assert [bool(d.nudges) for d in decisions] == [False, False, False, False]
    assert [d.notes[0].reason.split(" matching")[0] for d in decisions] == [
        "1 of 3",
        "2 of 3",
        "2 of 3",
        "2 of 3",
    ]


# ------------------------------------------------------------------------------ cooldown


def test_after_a_nudge_the_playbook_is_quiet_for_the_cooldown():
    nudge_at = T0 + 2 * DAY
    decisions, history = run(
        context(),
        (comment(at=T0), None),
        (comment(at=nudge_at), None),
        (comment(at=nudge_at + 5 * DAY), None),
        (comment(at=nudge_at + 30 * DAY - US), None),
    )
    assert [len(d.nudges) for d in decisions] == [0, 1, 0, 0]
    assert outcomes(decisions[2]) == [("sql-injection", "cooldown")]
    assert (
        decisions[2].notes[0].reason == "already decided on 2026-03-04 (planned); quiet for 30 days"
    )
    assert len(decisions[3].signals) == 1  # still counted, for the outcome report
    # Exactly thirty days after the nudge the quiet period is over.
    [again] = decide(comment(at=nudge_at + 30 * DAY), history, context()).nudges
    assert again.state == NudgeState.PLANNED


def test_the_cooldown_is_per_playbook():
    ctx = context(SQL, TESTS)
    decisions, _ = run(
        ctx,
        (comment(at=T0), None),
        (comment(at=T0 + DAY), None),
        (comment("please add a test", at=T0 + 2 * DAY), None),
    )
    assert [n.playbook_id for n in decisions[2].nudges] == ["missing-tests"]


# ------------------------------------------------------------------------------- ignored


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        (
            {"reviewer": "learning-nudges[bot]", "reviewer_type": "Bot"},
            "comment by a bot (learning-nudges[bot])",
        ),
        ({"reviewer": "some-ci", "reviewer_type": "Bot"}, "comment by a bot (some-ci)"),
        ({"reviewer": "dependabot[bot]"}, "comment by a bot (dependabot[bot])"),
        ({"author": "renovate[bot]"}, "pull request by a bot (renovate[bot])"),
        ({"reviewer": "alice"}, "the author commenting on their own pull request"),
        ({"reviewer": "ALICE"}, "the author commenting on their own pull request"),
        ({"body": "   \n"}, "empty review body"),
    ],
)
def test_comments_we_never_learn_from(kwargs, reason):
    history = History(signals=decide(comment(at=T0 - DAY), History(), context()).signals)
    decision = decide(comment(**{"at": T0, **kwargs}), history, context())
    assert decision.signals == [] and decision.nudges == []
    assert [(n.outcome, n.reason) for n in decision.notes] == [("ignored", reason)]


def test_a_comment_matching_nothing_is_noted():
    decision = decide(comment("Looks good to me!"), History(), context())
    assert decision.signals == [] and decision.nudges == []
    assert [(n.playbook_id, n.outcome) for n in decision.notes] == [(None, "no_match")]


def test_a_paused_playbook_records_the_signal_but_sends_nothing():
    paused = make_playbook("sql-injection", r"\bbind\s+params?\b", paused=True)
    decisions, history = run(context(paused), (comment(at=T0), None), (comment(at=T0 + DAY), None))
    assert [len(d.signals) for d in decisions] == [1, 1]
    assert [d.nudges for d in decisions] == [[], []]
    assert outcomes(decisions[1]) == [("sql-injection", "paused")]
    assert len(history.signals) == 2
    # Unpaused, the next comment triggers at once: the paused signals counted.
    [nudge] = decide(comment(at=T0 + 2 * DAY), history, context()).nudges
    assert nudge.state == NudgeState.PLANNED


# -------------------------------------------------------------------------------- holdout


def engineers_in(
    group: str, share: float, playbook_id: str = "sql-injection", seed: str = "learning-nudges"
):
    return [
        login
        for login in (f"engineer-{n}" for n in range(500))
        if assign_holdout(seed, INSTALLATION, login, playbook_id, share) == group
    ]


def test_an_engineer_in_the_holdout_gets_a_held_out_nudge():
    engineer = engineers_in(HOLDOUT, 0.5)[0]
    ctx = context(holdout_share=0.5)
    decisions, history = run(
        ctx, (comment(at=T0, author=engineer), None), (comment(at=T0 + DAY, author=engineer), None)
    )
    [nudge] = decisions[1].nudges
    assert nudge.state == NudgeState.HELD_OUT
    assert nudge.reason == "in the randomized holdout for this playbook"
    assert history.assignments == {"sql-injection": HOLDOUT}
    # Held out is a decision: the next comment is in the quiet period, not another draw.
    third = decide(comment(at=T0 + 2 * DAY, author=engineer), history, ctx)
    assert outcomes(third) == [("sql-injection", "cooldown")]


def test_an_engineer_outside_the_holdout_is_nudged_and_the_draw_is_stored():
    engineer = engineers_in(NUDGED, 0.5)[0]
    decisions, _ = run(
        context(holdout_share=0.5),
        (comment(at=T0, author=engineer), None),
        (comment(at=T0 + DAY, author=engineer), None),
    )
    assert decisions[0].assignments == {}  # no draw before the playbook triggers
    assert decisions[1].assignments == {"sql-injection": NUDGED}
    assert [n.state for n in decisions[1].nudges] == [NudgeState.PLANNED]


@pytest.mark.parametrize(
    "stored, share, state",
    [
        (HOLDOUT, 0.0, NudgeState.HELD_OUT),  # the share was lowered to nothing: still held out
        (NUDGED, 0.9, NudgeState.PLANNED),  # raised: still nudged, even if the draw would differ
    ],
)
def test_a_stored_assignment_never_flips_when_the_share_changes(stored, share, state):
    # Pick an engineer whose fresh draw at this share is the other group.
    other = NUDGED if stored == HOLDOUT else HOLDOUT
    engineer = engineers_in(other, share)[0]
    history = History(
        signals=decide(comment(at=T0, author=engineer), History(), context()).signals,
        assignments={"sql-injection": stored},
    )
    decision = decide(comment(at=T0 + DAY, author=engineer), history, context(holdout_share=share))
    assert [n.state for n in decision.nudges] == [state]
    assert decision.assignments == {}  # nothing new to store


def test_held_out_nudges_spend_no_budget():
    share = 0.5
    held = set(engineers_in(HOLDOUT, share, "missing-tests"))
    engineer = next(e for e in engineers_in(NUDGED, share, "resource-leaks") if e in held)
    ctx = context(TESTS, LEAKS, holdout_share=share, roles={"engineer": Role("engineer", nudges=1)})
    decision = decide(
        comment("add a test; the file is never closed", at=T0, author=engineer), History(), ctx
    )
    assert [(n.playbook_id, n.state) for n in decision.nudges] == [
        ("missing-tests", NudgeState.HELD_OUT),
        ("resource-leaks", NudgeState.PLANNED),
    ]


# --------------------------------------------------------------------------------- budget

ONE_A_SPRINT = {"engineer": Role("engineer", nudges=1, minutes=None)}


def test_a_second_playbook_in_the_same_sprint_is_over_budget():
    ctx = context(TESTS, LEAKS, roles=ONE_A_SPRINT)
    decisions, _ = run(
        ctx,
        (comment("please add a test", at=T0), None),
        (comment("this file is never closed", at=T0 + 2 * DAY), None),
    )
    assert [n.state for n in decisions[0].nudges] == [NudgeState.PLANNED]
    [suppressed] = decisions[1].nudges
    assert suppressed.state == NudgeState.SUPPRESSED_BUDGET
    assert (
        suppressed.reason
        == "budget spent: 1 of 1 nudges (role engineer, sprint 2026-03-02..2026-03-16)"
    )


def test_one_comment_triggering_two_playbooks_sends_only_what_the_budget_allows():
    ctx = context(TESTS, LEAKS, roles=ONE_A_SPRINT)
    decision = decide(comment("add a test; the file is never closed", at=T0), History(), ctx)
    assert [(n.playbook_id, n.state) for n in decision.nudges] == [
        ("missing-tests", NudgeState.PLANNED),
        ("resource-leaks", NudgeState.SUPPRESSED_BUDGET),
    ]


@pytest.mark.parametrize(
    "offset, state", [(-US, NudgeState.SUPPRESSED_BUDGET), (dt.timedelta(0), NudgeState.PLANNED)]
)
def test_the_budget_renews_exactly_at_the_sprint_boundary(offset, state):
    org = OrgSettings()
    end = sprint_at(T0, org).end  # 2026-03-16 00:00 UTC
    last_moment = end - US
    assert sprint_at(last_moment, org).index == 4 and sprint_at(end, org).index == 5
    ctx = context(TESTS, LEAKS, roles=ONE_A_SPRINT)
    decisions, _ = run(
        ctx,
        (comment("please add a test", at=last_moment), None),
        (comment("this file is never closed", at=end + offset), None),
    )
    assert [n.sprint for n in decisions[0].nudges] == [4]
    [second] = decisions[1].nudges
    assert second.state == state
    assert second.sprint == sprint_at(end + offset, org).index


def test_a_suppressed_playbook_tries_again_in_the_next_sprint():
    ctx = context(TESTS, LEAKS, roles=ONE_A_SPRINT)
    decisions, _ = run(
        ctx,
        (comment("please add a test", at=T0), None),
        (comment("this file is never closed", at=T0 + DAY), None),
        (comment("this socket is never closed either", at=T0 + 15 * DAY), None),
    )
    assert [n.state for d in decisions for n in d.nudges] == [
        NudgeState.PLANNED,
        NudgeState.SUPPRESSED_BUDGET,
        NudgeState.PLANNED,  # no cooldown after a suppressed nudge; a new sprint, a new budget
    ]


def test_the_budget_is_per_role():
    roles = {
        "engineer": Role("engineer", nudges=1),
        "senior": Role("senior", nudges=2, members=("team:platform",)),
    }
    ctx = context(TESTS, LEAKS, roles=roles, teams={"platform": frozenset({"heidi"})})
    steps = lambda who: [
        (comment("please add a test", at=T0, author=who), None),
        (comment("this file is never closed", at=T0 + DAY, author=who), None),
    ]
    for who, second in (("alice", NudgeState.SUPPRESSED_BUDGET), ("heidi", NudgeState.PLANNED)):
        decisions, _ = run(ctx, *steps(who))
        assert decisions[1].nudges[0].state == second, who


def test_the_minutes_budget():
    quick = make_playbook("swallowed-errors", r"\bexcept\s*:\s*pass\b", comments=1, minutes=1)
    ctx = context(TESTS, LEAKS, quick, roles={"engineer": Role("engineer", nudges=None, minutes=3)})
    decisions, _ = run(
        ctx,
        (comment("please add a test", at=T0), None),  # 2 minutes
        (comment("this file is never closed", at=T0 + DAY), None),  # 2 more: over 3
        (comment("except: pass hides the error", at=T0 + 2 * DAY), None),  # 1 more: fits
    )
    states = [n.state for d in decisions for n in d.nudges]
    assert states == [NudgeState.PLANNED, NudgeState.SUPPRESSED_BUDGET, NudgeState.PLANNED]
    assert decisions[1].nudges[0].reason == (
        "budget spent: 2 + 2 of 3 minutes (role engineer, sprint 2026-03-02..2026-03-16)"
    )


# -------------------------------------------------------------------------------- co-sign

SIGNIFICANT = make_playbook(
    "secrets-in-code", r"\bhard-?coded\s+(password|secret|token)\b", comments=1, significant=True
)
LEADS = {"carol": ("alice", "team:backend"), "dave": ("alice",)}


def awaiting(now: dt.datetime = T0, **org):
    ctx = context(SIGNIFICANT, leads=LEADS, **org)
    [nudge] = decide(comment("a hardcoded password", at=now), History(), ctx).nudges
    assert nudge.state == NudgeState.AWAITING_COSIGN
    return nudge, ctx.org


def test_a_significant_playbook_waits_for_the_leads():
    nudge, _ = awaiting()
    assert nudge.leads == ("carol", "dave")
    assert nudge.reason == "waiting for a co-sign from carol, dave"


def test_leads_through_a_team():
    ctx = context(SIGNIFICANT, leads=LEADS, teams={"backend": frozenset({"frank"})})
    [nudge] = decide(comment("hardcoded token here", author="frank"), History(), ctx).nudges
    assert (nudge.state, nudge.leads) == (NudgeState.AWAITING_COSIGN, ("carol",))


def test_a_significant_playbook_without_a_lead_is_not_sent():
    ctx = context(SIGNIFICANT, leads=LEADS)
    [nudge] = decide(comment("a hardcoded secret", author="ivan"), History(), ctx).nudges
    assert nudge.state == NudgeState.NO_LEAD
    assert nudge.leads == ()
    assert nudge.reason == "significant playbook, but no lead is configured for this engineer"


def test_a_waiting_co_sign_counts_against_the_budget():
    ctx = context(SIGNIFICANT, TESTS, leads=LEADS, roles=ONE_A_SPRINT)
    decisions, _ = run(
        ctx,
        (comment("a hardcoded password", at=T0), None),
        (comment("add a test", at=T0 + DAY), None),
    )
    assert [n.state for d in decisions for n in d.nudges] == [
        NudgeState.AWAITING_COSIGN,
        NudgeState.SUPPRESSED_BUDGET,
    ]


def r(user: str, content: str, at: dt.datetime = T0 + DAY, rid: int = 0) -> Reaction:
    return Reaction(user, content, at, rid)


@pytest.mark.parametrize(
    "reactions, state, by",
    [
        ([r("carol", "+1")], NudgeState.COSIGNED, "carol"),
        ([r("CAROL", "+1")], NudgeState.COSIGNED, "CAROL"),
        ([r("dave", "-1")], NudgeState.VETOED, "dave"),
        ([r("carol", "+1", T0 + DAY), r("dave", "-1", T0 + 2 * DAY)], NudgeState.VETOED, "dave"),
        ([r("dave", "-1", T0 + DAY), r("carol", "+1", T0 + 2 * DAY)], NudgeState.VETOED, "dave"),
        ([r("dave", "+1", T0 + 2 * DAY), r("carol", "+1", T0 + DAY)], NudgeState.COSIGNED, "carol"),
        ([r("carol", "heart"), r("carol", "+1")], NudgeState.COSIGNED, "carol"),
    ],
)
def test_a_lead_co_signs_or_vetoes(reactions, state, by):
    nudge, org = awaiting()
    moved, _ = decide_cosign(nudge, reactions, org, T0 + 3 * DAY)
    assert (moved.state, moved.resolved_by) == (state, by)
    verb = "co-signed" if state == NudgeState.COSIGNED else "vetoed"
    assert moved.reason == f"{verb} by {by}"


def test_reactions_of_anyone_but_a_lead_are_ignored_and_returned():
    nudge, org = awaiting()
    others = [
        r("alice", "+1", rid=1),
        r("bob", "+1", rid=2),
        r("mallory", "-1", rid=3),
        r("carol", "rocket", rid=4),
    ]
    moved, ignored = decide_cosign(nudge, others, org, T0 + DAY)
    assert moved == nudge  # still waiting
    assert ignored == tuple(others)
    moved, ignored = decide_cosign(nudge, [*others, r("carol", "+1", rid=5)], org, T0 + DAY)
    assert (moved.state, moved.resolved_by) == (NudgeState.COSIGNED, "carol")
    assert ignored == tuple(others)


def test_the_engineer_cannot_co_sign_even_when_listed_as_a_lead():
    nudge, org = awaiting()
    nudge = dataclasses.replace(nudge, leads=("alice", "carol"))
    moved, ignored = decide_cosign(nudge, [r("alice", "+1")], org, T0 + DAY)
    assert moved.state == NudgeState.AWAITING_COSIGN
    assert ignored == (r("alice", "+1"),)


@pytest.mark.parametrize(
    "elapsed, state",
    [
        (7 * DAY - US, NudgeState.AWAITING_COSIGN),
        (7 * DAY, NudgeState.EXPIRED),
        (30 * DAY, NudgeState.EXPIRED),
    ],
)
def test_a_co_sign_request_expires_exactly_after_the_expiry_days(elapsed, state):
    nudge, org = awaiting(cosign_expiry_days=7)
    moved, _ = decide_cosign(nudge, [r("bob", "+1")], org, nudge.created_at + elapsed)
    assert moved.state == state
    if state == NudgeState.EXPIRED:
        assert moved.reason == "no lead answered within 7 days"
        assert moved.resolved_by is None


def test_an_answer_in_time_wins_over_expiry():
    nudge, org = awaiting(cosign_expiry_days=7)
    moved, _ = decide_cosign(nudge, [r("carol", "+1", T0 + 6 * DAY)], org, T0 + 10 * DAY)
    assert moved.state == NudgeState.COSIGNED


def test_an_approval_after_the_co_sign_period_does_not_send_the_nudge():
    # The request promises that without an answer the nudge is dropped after the co-sign period.
    # Whether a late 👍 sends it must not depend on when the worker happens to poll next.
    nudge, org = awaiting(cosign_expiry_days=7)
    late = r("carol", "+1", nudge.created_at + 8 * DAY)
    moved, _ = decide_cosign(
        nudge, [late], org, nudge.created_at + 8 * DAY + dt.timedelta(minutes=5)
    )
    assert moved.state == NudgeState.EXPIRED
