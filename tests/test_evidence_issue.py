"""The kill switch through the running app: reviews over webhooks, the daily job from the worker's
tick, one evidence issue per playbook in the org's evidence repository (real HTTP, strict fake)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from conftest import INSTALLATION, OWNER, running_bot

from bot.app.config import PlaybookSet
from bot.cli.report import build_report
from bot.core.evaluate import Rules
from bot.core.evidence import evidence_marker
from bot.core.holdout import assign_holdout
from bot.core.org import OrgSettings

EVIDENCE = "learning-evidence"
SQL = [
    "Please use bind params here.",
    "Concatenating user input into SQL again; use a parameterized query.",
]


def seed_where(nudged: str, held_out: str) -> str:
    for i in range(10_000):
        seed = f"seed-{i}"
        if [
            assign_holdout(seed, INSTALLATION, e, "sql-injection", 0.2) for e in (nudged, held_out)
        ] == [
            "nudged",
            "holdout",
        ]:
            return seed
    raise AssertionError("no seed found")


ORG = OrgSettings(
    evidence_repo=f"{OWNER}/{EVIDENCE}", holdout_seed=seed_where("ada", "hal"), holdout_share=0.2
)


@pytest.fixture
async def bot(tmp_path, github, clock, rsa_key):
    github.add_repo(OWNER, EVIDENCE, installation_id=INSTALLATION)
    async with running_bot(tmp_path, github, clock, rsa_key, org=ORG) as bot:
        # A team's thresholds scaled down, so that a handful of webhooks has figures to show.
        bot.service.evaluations.rules = Rules(min_engineers=2, min_prs=1)
        yield bot


async def comments(bot, engineer: str, texts: list[str], pr: int) -> None:
    for text in texts:
        bot.clock.advance(hours=1)
        await bot.deliver(
            "pull_request_review_comment",
            bot.review_comment(pr=pr, author=engineer, reviewer="rita", body=text),
        )
    await bot.worker.drain()


def evidence_issues(github):
    return [
        i
        for i in github.issues(OWNER, EVIDENCE)
        if evidence_marker("sql-injection") in (i["body"] or "")
    ]


def nudges_on(github, pr: int):
    found = github.review_comments(OWNER, "shop", pr) + github.issue_comments(OWNER, "shop", pr)
    return [c for c in found if "<!-- learning-nudge:" in c["body"]]


async def test_a_pause_opens_one_evidence_issue_and_later_decisions_update_it(bot):
    # Reviews by colleagues are kept, approvals without a word too; the author's own and bots' are not.
    await bot.deliver(
        "pull_request_review", bot.review(pr=10, author="ada", reviewer="rita", body=None)
    )
    await bot.deliver(
        "pull_request_review", bot.review(pr=10, author="ada", reviewer="ada", body="fixed")
    )
    await bot.deliver(
        "pull_request_review_comment",
        bot.review_comment(
            pr=10,
            author="ada",
            reviewer="ci[bot]",
            reviewer_type="Bot",
            body="lint: SQL string concatenation",
        ),
    )
    await bot.worker.drain()
    assert [(r.pr_number, r.reviewer) for r in await bot.store.reviews(INSTALLATION)] == [
        (10, "rita")
    ]

    await comments(bot, "ada", SQL, pr=11)
    await comments(bot, "hal", SQL, pr=12)
    assert len(nudges_on(bot.github, 11)) == 1 and nudges_on(bot.github, 12) == []

    # Ten days later both are reviewed again; only the held-out engineer gets the same comment.
    bot.clock.advance(days=10)
    await bot.deliver(
        "pull_request_review", bot.review(pr=15, author="ada", reviewer="rita", body="LGTM")
    )
    await comments(bot, "hal", SQL[:1], pr=16)

    # The daily job runs from the tick; nothing to decide until the 60-day window closes.
    await bot.worker.tick()
    assert await bot.store.evaluations() == [] and evidence_issues(bot.github) == []
    bot.clock.advance(days=51)
    await bot.worker.tick()
    [record] = await bot.store.evaluations()
    assert record.evaluation.verdict.value == "no_data"
    [issue] = evidence_issues(bot.github)
    assert (
        issue["title"] == "Learning nudge evidence: SQL injection (paused: too little data to tell)"
    )
    body = issue["body"]
    assert (
        "(1 nudged engineer with 1+ reviewed PRs after their first (would-be) nudge (of 1); 1 held-out "
        "engineer with 1+ reviewed PRs after their first (would-be) nudge (of 1); 2 per group are needed)"
    ) in body
    for row in (
        "| engineers with a first (would-be) nudge | 1 | 1 |",
        "| reviewed PRs before | 2 | 1 |",
        "| reviewed PRs after | 1 | 1 |",
        "| matching comments before | 2 | 2 |",
        "| matching comments after | 0 | 1 |",
        "| change | −1.000 | −1.000 |",
    ):
        assert row in body
    assert "xychart-beta" in body and "bar [1, 0, 2, 1]" in body
    assert "write `resumed_on: 2026-05-02` (or a later date) under `evaluation:`" in body
    assert not re.search(r"@[A-Za-z0-9]", issue["body"]), "the evidence mentions nobody"
    assert record.issue_number == issue["number"] and record.published_at == bot.clock()

    # Paused: a triggering comment is still counted, but no nudge goes out.
    await comments(bot, "ada", SQL, pr=13)
    assert nudges_on(bot.github, 13) == []
    assert "paused" in {r.note.outcome for r in await bot.store.notes()}

    # The same day's second tick does not run the daily job again.
    await bot.worker.tick()
    assert len(await bot.store.evaluations()) == 1

    # An L&D author resumes it in the YAML: from then on it nudges, and the issue says so.
    today = bot.clock().date()
    bot.service.config.replace(
        playbooks=PlaybookSet(
            tuple(
                dataclasses.replace(p, evaluation_resumed_on=today)
                if p.id == "sql-injection"
                else p
                for p in bot.service.config.current.playbooks.playbooks
            )
        )
    )
    await comments(bot, "ada", SQL, pr=14)
    assert len(nudges_on(bot.github, 14)) == 1, "a resume takes effect at once"
    bot.clock.advance(days=1)
    await bot.worker.tick()
    [same] = evidence_issues(bot.github)
    assert same["number"] == issue["number"] and "resumed by its author" in same["body"]

    # The next window closes 60 days after the first nudge since the resume: a second decision, same issue.
    bot.clock.advance(days=60)
    await bot.worker.tick()
    verdicts = [r.evaluation.verdict.value for r in await bot.store.evaluations()]
    assert verdicts == ["no_data", "resumed", "no_data"]
    [same] = evidence_issues(bot.github)
    assert same["number"] == issue["number"]
    assert sum(line.startswith("| 20") for line in same["body"].splitlines()) == 3, (
        "the history is kept"
    )
    writes = [
        r
        for r in bot.github.requests
        if r.path.startswith(f"/repos/{OWNER}/{EVIDENCE}/issues") and r.method != "GET"
    ]
    assert [r.method for r in writes] == ["POST", "PATCH", "PATCH"]
    assert len(bot.github.issues(OWNER, EVIDENCE)) == 1

    report = await build_report(bot.store)
    assert "sql-injection: paused: too little data to tell" in report
    assert f"history: {(bot.clock() - dt.timedelta(days=61)):%Y-%m-%d} no_data" in report
    assert f"evidence issue #{issue['number']}" in report


async def test_without_an_evidence_repo_decisions_are_still_kept(tmp_path, github, clock, rsa_key):
    async with running_bot(
        tmp_path, github, clock, rsa_key, org=dataclasses.replace(ORG, evidence_repo=None)
    ) as bot:
        await comments(bot, "ada", SQL, pr=11)
        bot.clock.advance(days=61)
        await bot.worker.tick()
        [record] = await bot.store.evaluations()
        assert record.published_at is None
        assert [r for r in bot.github.requests if "/issues" in r.path and r.method != "GET"] == []


def nudged_under_org(*candidates: str) -> list[str]:
    return [
        e
        for e in candidates
        if assign_holdout(ORG.holdout_seed, INSTALLATION, e, "sql-injection", 0.2) == "nudged"
    ]


async def test_the_evidence_issue_compares_engineers_who_also_got_follow_ups(bot):
    """One nudged engineer gets a follow-up on a later relevant PR, another only the nudge; the
    evidence issue on GitHub says how each side's rate changed, and that it is not causal."""
    from test_followup_flow import QUERY_PATCH, push

    from bot.core.reinforce import FollowUpState

    bot.service.evaluations.rules = Rules(min_engineers=1, min_prs=1)
    ada, other = "ada", nudged_under_org("bea", "cy", "dot", "eve", "fin")[0]
    await comments(bot, ada, SQL, pr=11)
    await comments(bot, other, SQL, pr=21)
    assert len(nudges_on(bot.github, 11)) == 1 and len(nudges_on(bot.github, 21)) == 1
    # Days later ada opens a pull request that adds a query: the follow-up goes on it.
    bot.clock.advance(days=4)
    await push(bot, 30, {"src/db/orders.py": QUERY_PATCH}, author=ada)
    [followup] = await bot.store.followups()
    assert followup.state == FollowUpState.POSTED and followup.engineer == ada
    # Both are reviewed again: ada's clean, the other's with the same comment.
    await bot.deliver(
        "pull_request_review", bot.review(pr=30, author=ada, reviewer="rita", body="LGTM")
    )
    await comments(bot, other, SQL[:1], pr=22)
    bot.clock.advance(days=60)
    await bot.worker.tick()
    [issue] = evidence_issues(bot.github)
    body = issue["body"]
    assert "### Follow-ups or the nudge alone" in body
    assert (
        "Engineers who also got follow-ups went from 2.00 to 0.00 matching comments per reviewed "
        "PR (1 engineer, 1 reviewed PR before and 1 after); those who got only the nudge from 2.00 to 1.00 "
        "(1 engineer, 1 reviewed PR before and 1 after)."
    ) in body, body
    assert "not a randomized comparison" in body and "No decision rests on it." in body
    assert body.index("### Follow-ups") < body.index("### History")
    [record] = await bot.store.evaluations()
    assert record.evaluation.reinforcement.reinforced.engineers == 1  # kept with the decision
    report = await build_report(bot.store)
    assert (
        "follow-ups or the nudge alone: Engineers who also got follow-ups went from 2.00" in report
    )
