"""Spaced follow-ups through the real HTTP paths: webhooks in, PR files and comments against the
stand-in GitHub (checked against GitHub's API description), the clock moved by hand."""

from __future__ import annotations

import copy
import re
from dataclasses import replace

from conftest import INSTALLATION, OWNER, REPO, _iso, _retarget, fixture_payload

from bot.app.config import PlaybookSet
from bot.core.nudges import NudgeState
from bot.core.reinforce import FollowUpState

SQL_1 = "This builds the query with an f-string. Please use bind params here."
SQL_2 = "Same problem as before: concatenating user input into SQL; use a parameterized query."
QUERY_PATCH = '@@ -1,2 +1,2 @@\n-rows = db.all()\n+rows = cursor.execute(f"select * from orders where id={oid}")'
UI_PATCH = "@@ -1 +1 @@\n-colour = 'blue'\n+colour = 'red'"


async def nudged(bot, engineer: str = "alice") -> None:
    """Two SQL comments on the engineer's PRs 6 and 7: a nudge posted on 7."""
    for pr, body, reviewer in ((6, SQL_1, "bob"), (7, SQL_2, "erin")):
        await bot.deliver(
            "pull_request_review_comment",
            bot.review_comment(pr=pr, author=engineer, reviewer=reviewer, body=body),
        )
        await bot.worker.drain()
        bot.clock.advance(days=1)
    [nudge] = await bot.store.nudges()
    assert nudge.state == NudgeState.POSTED


async def push(
    bot,
    pr: int,
    files: dict[str, str],
    *,
    author: str = "alice",
    sha: str | None = None,
    action: str = "opened",
):
    """The engineer opens (or pushes to) a pull request changing ``files`` (path -> diff)."""
    sha = sha or f"{pr:02d}" * 20
    bot.pull(pr, author)
    bot.github.push_to_pull(OWNER, REPO, pr, head_sha=sha, files=list(files), patches=files)
    payload = copy.deepcopy(fixture_payload(f"pull_request.{action}"))
    _retarget(payload, pr, author)
    payload["action"] = action
    payload["pull_request"]["head"] = {
        **payload["pull_request"]["head"],
        "sha": sha,
        "ref": f"change-{pr}",
    }
    payload["pull_request"].update(created_at=_iso(bot.clock()), updated_at=_iso(bot.clock()))
    response = await bot.deliver("pull_request", payload)
    assert response.status == 202
    await bot.worker.drain()


def followup_comments(bot, pr: int) -> list[dict]:
    return [
        c
        for c in bot.github.issue_comments(OWNER, REPO, pr)
        if c["user"]["login"] == bot.github.bot_login and "follow-up" in c["body"]
    ]


def file_reads(bot, pr: int) -> list:
    return [
        r
        for r in bot.github.requests
        if r.method == "GET" and r.path == f"/repos/{OWNER}/{REPO}/pulls/{pr}/files"
    ]


async def test_a_due_follow_up_is_posted_once_on_the_next_relevant_pull_request(bot):
    await nudged(bot)
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH, "README.md": "+docs"})
    [comment] = followup_comments(bot, 8)
    body = comment["body"]
    assert "Learning nudge follow-up · SQL injection" in body and "#7" in body
    assert "`src/db/orders.py`" in body and "README" not in body
    assert body.count("- [ ] ") == 1 and "](https://cheatsheetseries.owasp.org/" in body
    assert re.search(r"<!-- learning-nudge:[0-9a-f]{16}:[0-9a-f]{32} -->", body)
    assert not re.search(r"@[A-Za-z0-9]", body)
    [followup] = await bot.store.followups()
    assert followup.state == FollowUpState.POSTED and followup.comment_id == comment["id"]
    assert followup.pr_number == 8 and followup.minutes == 1
    # The same head again, a redelivery and every later tick: nothing more, files read once.
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH, "README.md": "+docs"}, action="reopened")
    await bot.worker.tick()
    assert len(followup_comments(bot, 8)) == 1
    assert len(file_reads(bot, 8)) == 1
    notes = [r.note.outcome for r in await bot.store.notes()]
    assert "followup_planned" in notes


async def test_a_pull_request_touching_only_docs_gets_no_follow_up(bot):
    await nudged(bot)
    bot.clock.advance(days=3)
    await push(bot, 9, {"docs/queries.md": "+select the right index", "README.md": "+where"})
    await push(bot, 10, {"src/ui/colours.py": UI_PATCH})  # Python, but no query in what it adds
    await bot.worker.tick()
    assert followup_comments(bot, 9) == [] and followup_comments(bot, 10) == []
    assert await bot.store.followups() == []
    heads = {h.number: h for h in await bot.store.pull_heads(INSTALLATION)}
    assert heads[9].relevant == {} and heads[9].files_read_at is not None


async def test_files_are_read_past_the_first_page(bot):
    await nudged(bot)
    bot.clock.advance(days=3)
    files = {f"src/ui/widget_{i:03d}.py": UI_PATCH for i in range(230)}
    files["src/db/zz_report.py"] = QUERY_PATCH  # the 231st file: on the third page
    await push(bot, 11, files)
    assert len(file_reads(bot, 11)) == 3
    [comment] = followup_comments(bot, 11)
    assert "`src/db/zz_report.py`" in comment["body"]
    [head] = [h for h in await bot.store.pull_heads(INSTALLATION) if h.number == 11]
    assert head.file_count == 231 and head.complete


async def test_a_crash_after_posting_does_not_post_the_follow_up_twice(bot):
    await nudged(bot)
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    [followup] = await bot.store.followups()
    # As if the process died after GitHub accepted the comment but before the store knew.
    await bot.store.update_followup(
        followup.moved(FollowUpState.PLANNED, "planned", comment_id=None, posted_at=None),
        bot.clock(),
    )
    await bot.worker.tick()
    assert len(followup_comments(bot, 8)) == 1
    [after] = await bot.store.followups()
    assert after.state == FollowUpState.POSTED and after.comment_id == followup.comment_id


async def test_a_server_error_leaves_the_follow_up_for_a_later_try(bot):
    await nudged(bot)
    bot.clock.advance(days=3)
    bot.github.inject_fault("POST", f"/repos/{OWNER}/{REPO}/issues/8/comments", status=502, times=1)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    [waiting] = await bot.store.followups()
    assert waiting.state == FollowUpState.PLANNED
    bot.clock.advance(hours=2)
    await bot.worker.tick()
    assert len(followup_comments(bot, 8)) == 1


async def test_a_follow_up_is_not_due_right_after_the_nudge(bot):
    await nudged(bot)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})  # the day after: not due yet
    assert followup_comments(bot, 8) == []
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH}, sha="ab" * 20, action="synchronize")
    assert len(followup_comments(bot, 8)) == 1  # a later push to the same pull request


def alert_payload(
    action: str, pr: int, *, rule: str = "py/sql-injection", at: str | None = None
) -> dict:
    payload = copy.deepcopy(fixture_payload(f"code_scanning_alert.{action}"))
    payload["installation"] = {"id": INSTALLATION, "node_id": "x"}
    payload["repository"].update(full_name=f"{OWNER}/{REPO}", name=REPO)
    payload["ref"] = f"refs/pull/{pr}/merge"
    payload["alert"]["rule"] = {
        **payload["alert"]["rule"],
        "id": rule,
        "tags": ["security", "external/cwe/cwe-089"],
    }
    payload["alert"]["number"] = 31
    if at:
        payload["alert"]["created_at"] = at
        payload["alert"]["fixed_at"] = at
    return payload


async def test_a_code_scanning_alert_on_the_engineers_pull_request_counts_as_a_lapse(bot):
    await nudged(bot)
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    assert len(followup_comments(bot, 8)) == 1
    response = await bot.deliver(
        "code_scanning_alert", alert_payload("created", 8, at=_iso(bot.clock()))
    )
    assert response.status == 202
    await bot.worker.drain()
    [alert] = await bot.store.alerts(INSTALLATION)
    assert alert.engineer == "alice" and alert.pr_number == 8 and alert.action == "created"
    # A lapse: the next follow-up comes within a couple of days, on the next relevant push.
    bot.clock.advance(days=2)
    await push(bot, 12, {"src/db/report.py": QUERY_PATCH})
    assert len(followup_comments(bot, 12)) == 1
    assert [f.index for f in await bot.store.followups()] == [1, 2]


async def test_an_alert_on_a_branch_is_matched_to_its_pull_request(bot):
    await nudged(bot)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    payload = alert_payload("created", 8, at=_iso(bot.clock()))
    payload["ref"] = "refs/heads/change-8"
    await bot.deliver("code_scanning_alert", payload)
    payload = alert_payload("created", 99, at=_iso(bot.clock()))  # a pull request we never saw
    payload["alert"]["number"] = 32
    await bot.deliver("code_scanning_alert", payload)
    await bot.worker.drain()
    assert [(a.pr_number, a.alert_number) for a in await bot.store.alerts(INSTALLATION)] == [
        (8, 31)
    ]
    assert [d.status for d in await bot.store.deliveries()].count("failed") == 0


async def test_a_paused_playbook_sends_no_follow_up(bot):
    await nudged(bot)
    playbooks = bot.service.config.current.playbooks
    paused = [
        replace(p, paused=True) if p.id == "sql-injection" else p for p in playbooks.playbooks
    ]
    bot.service.config.replace(playbooks=PlaybookSet(tuple(paused)))
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    assert followup_comments(bot, 8) == [] and await bot.store.followups() == []
    assert "followup_paused" in [r.note.outcome for r in await bot.store.notes()]


async def test_the_report_counts_follow_ups_and_the_demo_section_charts_the_series(bot):
    from bot.cli.report import build_report
    from bot.cli.series import series_section

    await nudged(bot)
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    report = await build_report(bot.store)
    section = report[report.index("Spaced follow-ups per playbook") :]
    row = next(line for line in section.splitlines() if line.startswith("sql-injection"))
    assert row.split() == ["sql-injection", "0", "1", "0", "0", "1"]
    text = await series_section(
        bot.store, bot.service.config.current.playbooks.by_id(), INSTALLATION, bot.clock()
    )
    assert "alice · sql-injection" in text and re.search(r"follow-ups \|N·+F·*\|", text)
    assert re.search(r"day   4  follow-up on #8 +4 days after the last one", text)
    assert "next follow-up due" in text


async def test_a_full_budget_makes_the_follow_up_wait_for_the_next_sprint(bot):
    from bot.core.org import Role

    org = replace(
        bot.service.config.current.org,
        sprint_start=bot.clock().date(),
        sprint_days=14,
        roles={"engineer": Role("engineer", nudges=2, minutes=2)},
        default_role="engineer",
    )
    bot.service.config.replace(org=org)
    await nudged(bot)  # day 1: the nudge's 2 minutes fill the sprint
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    assert followup_comments(bot, 8) == [] and await bot.store.followups() == []
    [waiting] = [r.note for r in await bot.store.notes() if r.note.outcome == "followup_waiting"]
    assert "2 + 1 of 2 minutes" in waiting.reason and "waits for the next sprint" in waiting.reason
    bot.clock.advance(days=9, hours=1)  # day 14: the next sprint
    await push(bot, 9, {"src/db/report.py": QUERY_PATCH})
    assert len(followup_comments(bot, 9)) == 1


async def test_a_held_out_engineer_gets_no_follow_up(tmp_path, github, clock, rsa_key):
    from conftest import running_bot

    from bot.core.org import OrgSettings

    async with running_bot(
        tmp_path, github, clock, rsa_key, org=OrgSettings(holdout_share=1.0)
    ) as bot:
        for pr, body in ((6, SQL_1), (7, SQL_2)):
            await bot.deliver(
                "pull_request_review_comment",
                bot.review_comment(pr=pr, author="alice", reviewer="bob", body=body),
            )
            await bot.worker.drain()
        [nudge] = await bot.store.nudges()
        assert nudge.state == NudgeState.HELD_OUT
        for days, pr in ((3, 8), (20, 9), (60, 10)):
            bot.clock.advance(days=days)
            await push(bot, pr, {"src/db/orders.py": QUERY_PATCH})
            await bot.worker.tick()
        assert await bot.store.followups() == []
        assert all(followup_comments(bot, pr) == [] for pr in (8, 9, 10))


async def test_an_alert_delivery_without_an_installation_fails_with_its_reason(bot):
    payload = fixture_payload("code_scanning_alert.reopened")  # GitHub's example has none
    await bot.deliver("code_scanning_alert", payload, delivery_id="no-installation")
    await bot.worker.drain()
    [failed] = [d for d in await bot.store.deliveries() if d.id == "no-installation"]
    assert failed.status == "failed" and "installation.id" in failed.error


async def review_of(bot, pr: int, body: str, reviewer: str = "bob") -> None:
    bot.clock.advance(hours=4)
    await bot.deliver(
        "pull_request_review", bot.review(pr=pr, author="alice", reviewer=reviewer, body=body)
    )
    await bot.worker.drain()


async def test_months_of_clean_reviews_space_the_follow_ups_out_and_end_the_series(bot):
    await nudged(bot)
    intervals = []
    for pr, days in enumerate((3, 5, 8, 12, 18), start=20):
        bot.clock.advance(days=days)
        await push(bot, pr, {f"src/db/q{pr}.py": QUERY_PATCH})
        await review_of(bot, pr, "Looks good to me.")
        due = await next_due(bot)
        intervals.append(None if due is None else (due - bot.clock()).days)
    # Each clean review pushes the next follow-up further out; the fifth ends the series.
    assert intervals[-1] is None and all(intervals[:-1]), intervals
    assert intervals[:-1] == sorted(intervals[:-1]) and intervals[-2] > 3 * intervals[0]
    [first] = await bot.store.followups()
    assert first.pr_number == 20 and len(followup_comments(bot, 20)) == 1
    bot.clock.advance(days=60)
    await push(bot, 40, {"src/db/late.py": QUERY_PATCH})
    await bot.worker.tick()
    assert followup_comments(bot, 40) == [] and len(await bot.store.followups()) == 1


async def test_comments_that_come_back_bring_the_follow_ups_closer(bot):
    await nudged(bot)
    bot.clock.advance(days=3)
    await push(bot, 20, {"src/db/a.py": QUERY_PATCH})
    await review_of(bot, 20, "Looks good.")
    bot.clock.advance(days=4)
    await push(bot, 21, {"src/db/b.py": QUERY_PATCH})
    await review_of(bot, 21, "Fine by me.")
    [first] = await bot.store.followups()
    due_clean = await next_due(bot)
    bot.clock.advance(days=4)
    await push(bot, 22, {"src/db/c.py": QUERY_PATCH})
    await review_of(
        bot, 22, "This concatenates user input into the SQL string; use bind params.", "erin"
    )
    due_lapse = await next_due(bot)
    assert due_lapse < due_clean and (due_lapse - bot.clock()).days <= 3
    assert first.pr_number == 20
    bot.clock.advance(days=3)
    await push(bot, 23, {"src/db/d.py": QUERY_PATCH})
    assert len(followup_comments(bot, 23)) == 1  # the second follow-up, weeks before it was due
    assert bot.clock() < due_clean


async def next_due(bot):
    from bot.core.reinforce import current_series, observations

    playbook = bot.service.config.current.playbooks.get("sql-injection")
    nudges = await bot.store.nudges((NudgeState.POSTED,))
    found = observations(
        playbook,
        "alice",
        nudges[0].posted_at,
        signals=await bot.store.signals(INSTALLATION),
        reviews=await bot.store.reviews(INSTALLATION),
        heads=await bot.store.pull_heads(INSTALLATION),
        skip=frozenset({(f"{OWNER}/{REPO}", 7)}),
    )
    series = current_series(playbook, nudges, found, await bot.store.followups(), bot.clock())
    return series.due_at


async def test_a_locked_conversation_fails_the_follow_up_with_githubs_reason_and_others_still_go(
    bot,
):
    """GitHub will never accept it (422): failed at once, with the reason, never retried."""
    await nudged(bot)
    bot.clock.advance(days=3)
    bot.github.inject_fault("POST", f"/repos/{OWNER}/{REPO}/issues/8/comments", status=422, times=1)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    [failed] = await bot.store.followups()
    assert failed.state == FollowUpState.FAILED
    assert failed.reason.startswith("GitHub will not accept it: 422")
    bot.clock.advance(hours=2)
    await bot.worker.tick()
    [still] = [f for f in await bot.store.followups() if f.key == failed.key]
    assert still.state == FollowUpState.FAILED and still.attempts == 1, "never tried again"
