"""Shadow mode and pilots over the real HTTP paths: what is posted, what is only recorded."""

from __future__ import annotations

import shutil

from conftest import OWNER, ROOT, running_bot
from test_nudge_flow import SQL_1, SQL_2, bot_comments, two_sql_comments

from bot.cli.report import build_report
from bot.core.nudges import NudgeState


def folder_with(tmp_path, rollout: str):
    """The shipped playbooks and org settings, the SQL playbook with a ``rollout`` block."""
    folder = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", folder, ignore=shutil.ignore_patterns("schema", "*.md"))
    sql = folder / "sql-injection.yml"
    sql.write_text(sql.read_text() + rollout)
    return folder


async def test_a_shadow_playbook_posts_nothing_and_records_every_decision(
    tmp_path, github, clock, rsa_key
):
    folder = folder_with(tmp_path, "rollout:\n  mode: shadow\n")
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=folder) as bot:
        await two_sql_comments(bot)
        clock.advance(hours=1)
        await bot.worker.drain()
        assert bot_comments(github, 7) == [] and bot_comments(github, 6) == []
        assert not [
            c
            for c in github.issue_comments(OWNER, "shop", 7)
            if c["user"]["login"] == github.bot_login
        ]
        [nudge] = await bot.store.nudges()
        assert nudge.state == NudgeState.SHADOW
        assert nudge.reason.startswith("shadow mode, would be planned: 2 matching comments")
        notes = [(r.note.playbook_id, r.note.outcome) for r in await bot.store.notes()]
        assert notes == [("sql-injection", "signal"), ("sql-injection", "shadow")]
        report = await build_report(
            bot.store,
            bot.service.config.current.org,
            {p.id: p for p in bot.service.config.current.playbooks.playbooks},
        )
        assert "sql-injection: shadow mode (decisions recorded, nothing posted)" in report
        assert "shadow decisions: 1 for 1 engineers; would be 1 planned" in report
        table = report.split("Nudge decisions per role")[0]
        assert "sql-injection" not in table, "shadow decisions stay out of the full-rollout table"


async def test_a_pilot_for_one_team_never_nudges_another(tmp_path, github, clock, rsa_key):
    github.add_team(OWNER, "payments", ["alice"])
    github.add_team(OWNER, "search", ["dora"])
    folder = folder_with(tmp_path, "rollout:\n  teams: [payments]\n")
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=folder) as bot:
        for pr, author in ((21, "dora"), (22, "dora")):
            payload = bot.review_comment(
                pr=pr, author=author, reviewer="erin", body=SQL_1 if pr == 21 else SQL_2
            )
            await bot.deliver("pull_request_review_comment", payload, delivery_id=f"d{pr}")
            await bot.worker.drain()
            clock.advance(days=3)
        assert bot_comments(github, 22) == []
        notes = [(r.note.engineer, r.note.outcome, r.note.reason) for r in await bot.store.notes()]
        assert [n[1] for n in notes] == ["pilot", "pilot"]
        assert "pilot limited to team payments; dora is not a member" in notes[0][2]
        assert await bot.store.nudges() == [], "not nudged and not counted as held out"
        await two_sql_comments(bot)
        [reply] = bot_comments(github, 7)
        assert "SQL injection" in reply["body"]
        [nudge] = await bot.store.nudges()
        assert (nudge.engineer, nudge.state) == ("alice", NudgeState.POSTED)
