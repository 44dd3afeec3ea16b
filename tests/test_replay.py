"""Dry run on real history: a backfill over real HTTP, then ``python -m bot replay`` with proposed
playbooks and settings: who would have been nudged, when, how often, and the budget it would have
used, with nothing posted and nothing written."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import shutil
from pathlib import Path

from conftest import INSTALLATION, ROOT
from test_backfill_flow import SQL, installed, seed_history

from bot.cli.replay import replay_command, run_replay

MAGIC_PLAYBOOK = """\
id: magic-numbers
title: Magic numbers
summary: Unnamed constants hide what a number means.
match:
  patterns:
    - '\\bmagic[\\s`]+numbers?\\b'
examples:
  match:
    - "magic number here"
  no_match:
    - "the number of retries"
trigger:
  comments: 2
  within_days: 30
  cooldown_days: 14
nudge:
  minutes: 3
  play: >
    Give the number a name that says what it is, so the next reader does not have to guess.
  checklist:
    - Name the constant after what it means
  link:
    title: Refactoring - Replace Magic Number with Symbolic Constant
    url: https://refactoring.com/catalog/replaceMagicLiteral.html
"""


def proposed(tmp_path: Path) -> Path:
    folder = tmp_path / "proposed"
    shutil.copytree(ROOT / "playbooks", folder)
    (folder / "magic-numbers.yml").write_text(MAGIC_PLAYBOOK)
    org = re.sub(
        r"(?m)^(holdout_share(_kept)?): [0-9.]+", r"\1: 0.0", (folder / "org.yml").read_text()
    )
    assert org.count(": 0.0") >= 2, "the proposed folder holds nobody out"
    (folder / "org.yml").write_text(org)
    return folder


def args(
    db: Path, folder: Path | None, *, markdown: bool = False, since: str = "90d"
) -> argparse.Namespace:
    return argparse.Namespace(
        since=since,
        playbooks=folder,
        database_url=f"sqlite:///{db}",
        installation=None,
        markdown=markdown,
    )


async def tables(bot) -> dict[str, int]:
    names = [
        "reviews",
        "signals",
        "nudges",
        "assignments",
        "notes",
        "backfills",
        "backfill_pages",
        "pulls",
    ]
    return {n: (await bot.store.driver.fetch(f"SELECT COUNT(*) FROM {n}"))[0][0] for n in names}


async def backfilled(bot, tmp_path) -> Path:
    seed_history(bot.github)
    await bot.deliver("installation", installed())
    await bot.worker.drain()
    report = await bot.service.backfills.run(INSTALLATION, bot.clock())
    assert report.finished
    return tmp_path / "nudges.db"


async def test_a_replay_of_the_backfilled_history_says_who_would_have_been_nudged_and_the_budget(
    bot, tmp_path
):
    db = await backfilled(bot, tmp_path)
    # One comment delivered live afterwards: its words are not kept, only its signal.
    await bot.deliver(
        "pull_request_review_comment",
        bot.review_comment(pr=300, author="dana", reviewer="bob", body=SQL),
    )
    await bot.worker.drain()
    before, requests = await tables(bot), len(bot.github.requests)
    now = bot.clock() + dt.timedelta(hours=1)

    out, err = io.StringIO(), io.StringIO()
    assert await run_replay(args(db, proposed(tmp_path)), out, err, now=now) == 0, err.getvalue()
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert await tables(bot) == before and len(bot.github.requests) == requests, (
        "nothing written or posted"
    )

    # With no holdout: alice is nudged about SQL at most once a cooldown (30 days), erin about
    # magic numbers (a proposed playbook, classified on the kept words) once every 14 days.
    lines = {
        line.split()[0]: line
        for line in text.splitlines()
        if " nudges, " in line or " nudge, " in line
    }
    # dana: the billing review 29 days ago and the live comment make two within 30 days.
    assert set(lines) == {"alice", "dana", "erin"}, text
    n = {name: int(line.split()[1]) for name, line in lines.items()}
    assert n == {"alice": 3, "dana": 1, "erin": 6}, text  # SQL every 3.5 days, magic every 1.75
    assert "  6 min: 12-" in lines["alice"] and " 18 min: 12-10, 12-24" in lines["erin"]
    assert "In all: 10 nudges to 3 engineers, 26 minutes of reading." in text
    flat = " ".join(text.split())
    assert "1 without kept words (1 of them matched through the signals on record)" in flat
    assert (
        "a playbook that is new, or whose patterns changed, is judged on the kept words alone"
        in flat
    )

    # The Markdown summary for a check run says the same, mentioning nobody.
    md = io.StringIO()
    assert await run_replay(args(db, tmp_path / "proposed", markdown=True), md, err, now=now) == 0
    summary = md.getvalue()
    assert "**10 nudges** would have reached **3 engineers**, 26 minutes" in summary
    assert "| `alice` | 3 | 6 | 0 |" in summary and "| Magic numbers (`magic-numbers`) |" in summary
    assert "@a" not in summary and "@e" not in summary


async def test_with_the_playbooks_in_force_the_new_playbooks_nudges_are_absent(bot, tmp_path):
    db = await backfilled(bot, tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert await run_replay(args(db, ROOT / "playbooks"), out, err, now=bot.clock()) == 0, (
        err.getvalue()
    )
    text = out.getvalue()
    assert "magic-numbers" not in text and not any(
        line.startswith("  erin ") for line in text.splitlines()
    )
    sql = next(line for line in text.splitlines() if line.strip().startswith("sql-injection"))
    assert int(sql.split()[1]) == 24  # 22 of alice's, her one on #5, dana's in billing


def test_a_missing_database_is_said_and_not_created(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    db = tmp_path / "none" / "nudges.db"
    assert replay_command(args(db, ROOT / "playbooks"), out, err) == 1
    assert "no database at" in err.getvalue() and not db.exists() and not db.parent.exists()
    assert replay_command(args(db, ROOT / "playbooks", since="ninety"), out, err) == 2
    assert "--since 'ninety' is not a period" in err.getvalue()
