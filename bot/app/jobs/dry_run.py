"""The dry run on recorded history: the review comments in the store, through proposed playbooks.

``python -m bot replay`` and the check on a playbooks pull request both read the history here
and hand it to :func:`bot.core.replay.replay`; nothing is posted and nothing is written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.app.config import PlaybookSet
from bot.core.backfill import snippet_text
from bot.core.config_folder import FolderState, apply_folder, is_org_file
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.org import OrgSettings
from bot.core.replay import HistoryComment, history_comments, render_markdown, replay

DRY_RUN_DAYS = 90


async def load_history(
    store: Any, installation: int | None, since: dt.datetime
) -> list[HistoryComment]:
    """The reviewed comments on record since ``since``, with their kept words and signals."""
    reviewed = await store.reviewed_comments(installation, since)
    signals = [s for s in await store.signals(installation) if s.at >= since]
    rows = []
    for item in reviewed:
        r = item.review
        text, cut = snippet_text(item.snippet) if item.snippet is not None else (None, False)
        comment = ReviewComment(
            PullRequestRef(r.installation_id, r.repo, r.pr_number, Actor(r.author, False)),
            Actor(r.reviewer, False),
            text or "",
            r.at,
            r.source,
            r.review_id,
            r.review_id if r.source == "review_comment" else None,
        )
        rows.append((comment, text, cut))
    return history_comments(rows, signals)


def dry_run_for_checks(
    store: Any, clock: Callable[[], dt.datetime], local_org: OrgSettings
) -> Callable[[Mapping[str, str]], Awaitable[str]]:
    """What the playbooks pull request's check calls: proposed texts -> a Markdown summary."""

    async def run(texts: Mapping[str, str]) -> str:
        now = clock()
        since = now - dt.timedelta(days=DRY_RUN_DAYS)
        listing = {path: "" for path in texts}
        folder = await asyncio.to_thread(apply_folder, FolderState(), listing, texts)
        playbooks = await asyncio.to_thread(PlaybookSet, tuple(folder.playbook_list()))
        org = folder.org if any(is_org_file(p) for p in texts) and folder.org else local_org
        history = await load_history(store, None, since)
        result = await asyncio.to_thread(
            replay,
            history,
            playbooks.playbooks,
            org,
            since=since,
            until=now,
            classifier=playbooks.classifier,
        )
        return render_markdown(result)

    return run
