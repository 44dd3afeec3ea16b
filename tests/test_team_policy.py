"""Budgets, holdout and co-sign over real HTTP: a three-sprint story with a junior, a senior, a lead."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import INSTALLATION, OWNER, REPO, START, running_bot

from bot.core.holdout import assign_holdout
from bot.core.nudges import NudgeState
from bot.core.org import OrgSettings, Role

SQL = [
    "Please use bind params here.",
    "Concatenating user input into SQL again; use a parameterized query.",
]
SWALLOW = [
    "This bare except: pass silently swallows errors.",
    "Swallowing the exception here hides failures; log it.",
]
TESTS = [
    "Please add a unit test for this branch.",
    "There are no tests covering this change, can you add some?",
]
SECRET = [
    "There's an AWS secret key hardcoded here; move it to the secret manager.",
    "Don't commit the API token; read it from an env var.",
]


def _seed_where(
    pairs_in_nudged: list[tuple[str, str]], pairs_in_holdout: list[tuple[str, str]]
) -> str:
    """A holdout seed under which the story's engineers fall where the story needs them."""
    for i in range(10_000):
        seed = f"seed-{i}"
        group = lambda e, p: assign_holdout(seed, INSTALLATION, e, p, 0.2)  # noqa: E731
        if all(group(e, p) == "nudged" for e, p in pairs_in_nudged) and all(
            group(e, p) == "holdout" for e, p in pairs_in_holdout
        ):
            return seed
    raise AssertionError("no seed found")


ORG = OrgSettings(
    sprint_days=14,
    sprint_start=START.date(),
    roles={
        "junior": Role("junior", nudges=2, minutes=10, members=("june",)),
        "senior": Role("senior", nudges=1, members=("sam",)),
    },
    default_role="junior",
    leads={"lee": ("june", "sam", "hal")},
    holdout_share=0.2,
    holdout_seed=_seed_where(
        [
            ("june", p)
            for p in ("sql-injection", "swallowed-errors", "missing-tests", "secrets-in-code")
        ]
        + [("sam", p) for p in ("sql-injection", "swallowed-errors")],
        [("hal", "sql-injection")],
    ),
    cosign_expiry_days=7,
)


@pytest.fixture
async def team(tmp_path, github, clock, rsa_key):
    async with running_bot(tmp_path, github, clock, rsa_key, org=ORG) as bot:
        yield bot


async def trigger(
    bot, engineer: str, texts: list[str], pr: int, *, hours_between: float = 1
) -> None:
    for i, text in enumerate(texts):
        if i:
            bot.clock.advance(hours=hours_between)
        payload = bot.review_comment(pr=pr, author=engineer, reviewer=f"rev{i}", body=text)
        await bot.deliver("pull_request_review_comment", payload)
    await bot.worker.drain()


def posted_nudges(github, pr):
    comments = github.review_comments(OWNER, REPO, pr) + github.issue_comments(OWNER, REPO, pr)
    return [c for c in comments if re.search(r"<!-- learning-nudge:", c["body"])]


async def states(bot, engineer):
    return {n.playbook_id: n.state for n in await bot.store.nudges() if n.engineer == engineer}


async def test_budget_spent_mid_sprint_and_refilled_next_sprint(team):
    await trigger(team, "sam", SQL, pr=21)  # senior: 1 nudge a sprint
    await trigger(team, "sam", SWALLOW, pr=22)
    assert await states(team, "sam") == {
        "sql-injection": NudgeState.POSTED,
        "swallowed-errors": NudgeState.SUPPRESSED_BUDGET,
    }
    assert posted_nudges(team.github, 22) == []
    [suppressed] = [n for n in await team.store.nudges() if n.state == NudgeState.SUPPRESSED_BUDGET]
    assert "1 of 1 nudges" in suppressed.reason and "role senior" in suppressed.reason

    # Sprints start at 00:00 UTC. The last second of the first sprint: still spent.
    next_sprint = dt.datetime.combine(START.date() + dt.timedelta(days=14), dt.time(), dt.UTC)
    team.clock.now = next_sprint - dt.timedelta(seconds=1)
    await trigger(team, "sam", SWALLOW[:1], pr=23)
    assert posted_nudges(team.github, 23) == []
    # The first second of the next sprint: refilled.
    team.clock.now = next_sprint
    await trigger(team, "sam", SWALLOW[1:], pr=24)
    assert len(posted_nudges(team.github, 24)) == 1


async def test_holdout_engineer_never_receives_the_playbook_nudge_but_is_tracked(team):
    for sprint in range(3):
        team.clock.now = START + dt.timedelta(days=14 * sprint)
        await trigger(team, "hal", SQL, pr=30 + sprint)
        assert posted_nudges(team.github, 30 + sprint) == []
    nudges = [n for n in await team.store.nudges() if n.engineer == "hal"]
    assert nudges and {n.state for n in nudges} == {NudgeState.HELD_OUT}
    assert len([s for s in await team.store.signals() if s.engineer == "hal"]) == 6


async def test_significant_nudge_waits_for_the_lead_and_ignores_others(team):
    await trigger(team, "june", SECRET, pr=40)
    [request] = team.github.issue_comments(OWNER, REPO, 40)
    assert "@lee" in request["body"]
    assert re.findall(r"@([A-Za-z0-9-]+)", request["body"]) == ["lee"], "only the lead is mentioned"
    assert posted_nudges(team.github, 40) == []

    team.github.add_reaction(
        "issue_comment", OWNER, REPO, request["id"], user="mallory", content="+1"
    )
    team.github.add_reaction("issue_comment", OWNER, REPO, request["id"], user="june", content="+1")
    await team.worker.tick()
    assert posted_nudges(team.github, 40) == []
    ignored = {(r.user, r.role, r.counted) for r in await team.store.reactions()}
    assert ignored == {("mallory", "other", False), ("june", "engineer", False)}

    team.github.add_reaction("issue_comment", OWNER, REPO, request["id"], user="lee", content="+1")
    await team.worker.tick()
    [nudge] = posted_nudges(team.github, 40)
    assert nudge["in_reply_to_id"] is not None, "the nudge goes to the review thread"
    [edited] = team.github.issue_comments(OWNER, REPO, 40)
    assert "Co-signed by lee" in edited["body"] and "@lee" not in edited["body"]
    [record] = [n for n in await team.store.nudges() if n.engineer == "june"]
    assert record.state == NudgeState.POSTED and record.resolved_by == "lee"


async def test_veto_and_expiry(team):
    await trigger(team, "june", SECRET, pr=41)
    [request] = team.github.issue_comments(OWNER, REPO, 41)
    team.github.add_reaction("issue_comment", OWNER, REPO, request["id"], user="lee", content="-1")
    await team.worker.tick()
    assert (await states(team, "june"))["secrets-in-code"] == NudgeState.VETOED
    assert "Declined by lee" in team.github.issue_comments(OWNER, REPO, 41)[0]["body"]

    team.clock.advance(days=70)  # past the playbook's 60-day cooldown: a new trigger, a new request
    await trigger(team, "june", SECRET, pr=42)
    waiting = [n for n in await team.store.nudges() if n.state == NudgeState.AWAITING_COSIGN]
    assert len(waiting) == 1
    team.clock.now = waiting[0].created_at + dt.timedelta(days=7) - dt.timedelta(seconds=1)
    await team.worker.tick()
    assert (await team.store.nudge(waiting[0].key)).state == NudgeState.AWAITING_COSIGN
    team.clock.advance(seconds=1)
    await team.worker.tick()
    assert (await team.store.nudge(waiting[0].key)).state == NudgeState.EXPIRED
    assert posted_nudges(team.github, 42) == []


async def test_polling_uses_etags_and_stops_once_resolved(team):
    await trigger(team, "june", SECRET, pr=43)
    [request] = team.github.issue_comments(OWNER, REPO, 43)
    path = f"/repos/{OWNER}/{REPO}/issues/comments/{request['id']}/reactions"
    for _ in range(3):
        await team.worker.tick()
    polls = [r for r in team.github.requests if r.path == path]
    assert len(polls) >= 3
    assert all("if-none-match" in r.headers for r in polls[1:])
    assert {r.status for r in polls[1:]} == {304}
    team.github.add_reaction("issue_comment", OWNER, REPO, request["id"], user="lee", content="+1")
    await team.worker.tick()
    resolved_at = len([r for r in team.github.requests if r.path == path])
    for _ in range(3):
        await team.worker.tick()
    assert len([r for r in team.github.requests if r.path == path]) == resolved_at


async def test_engineer_feedback_on_a_posted_nudge_is_recorded(team):
    await trigger(team, "june", SQL, pr=44)
    [nudge] = posted_nudges(team.github, 44)
    team.github.add_reaction("pull_comment", OWNER, REPO, nudge["id"], user="june", content="+1")
    team.github.add_reaction("pull_comment", OWNER, REPO, nudge["id"], user="someone", content="-1")
    await team.worker.tick()
    records = {(r.user, r.content, r.role, r.counted) for r in await team.store.reactions()}
    assert records == {("june", "+1", "engineer", True), ("someone", "-1", "other", False)}


async def test_report_counts_each_decision(team):
    from bot.cli.report import build_report

    await trigger(team, "sam", SQL, pr=50)
    await trigger(team, "sam", SWALLOW, pr=51)
    await trigger(team, "hal", SQL, pr=52)
    report = await build_report(team.store, ORG)

    def counts(name: str) -> list[str]:
        """The name's two rows (decided; not sent and feedback) in the order of the states."""
        width = len(name.split())
        decided, not_sent = [
            line.split()[width:] for line in report.splitlines() if line.startswith(name + " ")
        ][:2]
        every, posted, awaiting, vetoed, expired, failed = decided
        held, over, no_lead = not_sent[:3]
        return [every, held, over, no_lead, awaiting, vetoed, expired, posted, failed]

    # columns: planned, held out, over budget, no lead, awaiting, vetoed, expired, posted, failed
    assert counts("sql-injection") == ["2", "1", "0", "0", "0", "0", "0", "1", "0"]
    assert counts("swallowed-errors") == ["1", "0", "1", "0", "0", "0", "0", "0", "0"]
    assert counts("senior") == ["2", "0", "1", "0", "0", "0", "0", "1", "0"]
    assert counts("led by lee") == ["3", "1", "1", "0", "0", "0", "0", "1", "0"]
