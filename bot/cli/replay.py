"""``python -m bot replay --since 90d [--playbooks DIR]``: a dry run on the recorded review history.

Reads the store (never writes it, never creates it), loads the proposed playbooks and org
settings from a folder (default: the deployment's ``PLAYBOOKS_DIR``), and prints what the app
would have decided (:mod:`bot.core.replay`): who would have been nudged, when, how often, and
how much of their budget it would have used. Nothing is posted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
from pathlib import Path
from typing import TextIO

from bot.app.jobs.dry_run import load_history
from bot.core.replay import render_markdown, render_text, replay

_SPAN = re.compile(r"^(\d+)([dw])$")


def parse_since(text: str, now: dt.datetime) -> dt.datetime:
    """``90d``, ``12w`` or a date (``2026-01-05``): from 00:00 UTC that day."""
    found = _SPAN.match(text.strip())
    if found:
        days = int(found[1]) * (7 if found[2] == "w" else 1)
        start = now - dt.timedelta(days=days)
    else:
        try:
            start = dt.datetime.combine(
                dt.date.fromisoformat(text.strip()), dt.time(), tzinfo=dt.UTC
            )
        except ValueError:
            raise ValueError(
                f"--since {text!r} is not a period: write a number of days or weeks (90d, 12w) "
                "or a date (2026-01-05)"
            ) from None
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def replay_command(
    args: argparse.Namespace, out: TextIO, err: TextIO, *, now: dt.datetime | None = None
) -> int:
    return asyncio.run(run_replay(args, out, err, now=now))


async def run_replay(
    args: argparse.Namespace, out: TextIO, err: TextIO, *, now: dt.datetime | None = None
) -> int:
    from bot.app.config import load_config
    from bot.app.settings import DEFAULT_DATABASE_URL
    from bot.cli.validate import DEFAULT_PLAYBOOKS
    from bot.store.readonly import ReadOnlyStoreError, open_read_only

    now = now or dt.datetime.now(dt.UTC)
    try:
        since = parse_since(args.since, now)
    except ValueError as exc:
        print(f"learning-nudges: {exc}", file=err)
        return 2
    folder = args.playbooks or Path(os.environ.get("PLAYBOOKS_DIR") or DEFAULT_PLAYBOOKS)
    if not folder.is_dir():
        print(f"learning-nudges: --playbooks {folder} is not a folder of playbooks", file=err)
        return 2
    in_force, problems = await asyncio.to_thread(load_config, folder)
    for problem in problems:
        print(f"learning-nudges: skipped: {problem}", file=err)
    url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL

    try:
        store = await open_read_only(url)
    except ReadOnlyStoreError as exc:
        print(f"learning-nudges: {exc}", file=err)
        return 1
    try:
        history = await load_history(store, args.installation, since)
    finally:
        await store.close()
    result = await asyncio.to_thread(
        replay,
        history,
        in_force.playbooks.playbooks,
        in_force.org,
        since=since,
        until=now,
        classifier=in_force.playbooks.classifier,
    )
    out.write(render_markdown(result) if args.markdown else render_text(result))
    return 0
