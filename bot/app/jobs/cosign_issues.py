"""Co-sign requests as issues in the org's private ``cosign_repo`` (what they say:
:mod:`bot.core.cosign_private`).

The outbox and the reaction polls call these when the nudge's request lives there: open the
issue (after looking for its marker among the app's issues, so a retry never opens two), read
its reactions (a conditional request), and edit and close it with the outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bot.core.cosign import Reaction
from bot.core.cosign_private import (
    assignees,
    cosign_issue_body,
    cosign_issue_outcome,
    cosign_issue_title,
)
from bot.core.events import parse_time
from bot.core.nudges import Nudge
from bot.core.render import find_marker

log = logging.getLogger(__name__)


async def request(outbox: Any, nudge: Nudge, now: dt.datetime) -> Nudge:
    """Open (or find) the issue for ``nudge`` in ``cosign_repo``; the nudge as then recorded."""
    config = outbox.config.current
    repo = config.org.cosign_repo
    playbook = await outbox._playbook_or_fail(nudge, now)
    if playbook is None:
        return nudge
    gh = await outbox.github.installation(nudge.installation_id)
    owner, name = repo.split("/", 1)
    url_vars = {"owner": owner, "repo": name}
    issue = None
    for listed in await gh.getiter(
        "/repos/{owner}/{repo}/issues?state=all&per_page=100", url_vars=url_vars
    ):
        author = ((listed.get("user") or {}).get("login") or "").lower()
        if author == outbox.bot_login and find_marker(
            listed.get("body") or "", nudge.key, outbox.marker_key, cosign=True
        ):
            issue = listed
            break
    if issue is None:
        issue = await gh.post(
            "/repos/{owner}/{repo}/issues",
            url_vars=url_vars,
            data={
                "title": cosign_issue_title(nudge, playbook),
                "body": cosign_issue_body(nudge, playbook, config.org, outbox.marker_key),
                "assignees": assignees(nudge),
            },
        )
    await outbox.store.record_cosign_issue(nudge.key, repo, int(issue["number"]), now)
    moved = nudge.moved(nudge.state, nudge.reason, cosign_comment_id=int(issue["id"]))
    await outbox.store.update_nudge(moved, now)
    log.info(
        "nudge=%s co-sign requested from %s in %s#%s",
        nudge.key,
        ",".join(nudge.leads),
        repo,
        issue["number"],
    )
    return moved


async def reactions(github: Any, nudge: Nudge, where: tuple[str, int]) -> list[Reaction]:
    repo, number = where
    gh = await github.installation(nudge.installation_id)
    owner, name = repo.split("/", 1)
    items = await gh.getitem(
        "/repos/{owner}/{repo}/issues/{number}/reactions?per_page=100",
        url_vars={"owner": owner, "repo": name, "number": number},
    )
    return [
        Reaction(
            user=i["user"]["login"],
            content=i["content"],
            at=parse_time(i["created_at"]),
            reaction_id=i["id"],
        )
        for i in items
        if i.get("user")
    ]


async def close(
    github: Any, nudge: Nudge, playbook: Any, where: tuple[str, int], marker_key: bytes
) -> None:
    repo, number = where
    gh = await github.installation(nudge.installation_id)
    owner, name = repo.split("/", 1)
    await gh.patch(
        "/repos/{owner}/{repo}/issues/{number}",
        url_vars={"owner": owner, "repo": name, "number": number},
        data=cosign_issue_outcome(nudge, playbook, marker_key),
    )
