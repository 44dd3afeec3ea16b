"""The app installed, or given more repositories: their history is to be read (the backfill).

No GitHub call happens here: the request is recorded, and the scheduler's backfill job
(:mod:`bot.app.jobs.backfill`) reads the history page by page.
"""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.core.backfill import BACKFILL_DAYS, backfill_since
from bot.core.events import PayloadError

router = routing.Router()


def _installation_id(data) -> int:
    try:
        return int(data["installation"]["id"])
    except (KeyError, TypeError, ValueError):
        raise PayloadError("payload has no installation.id") from None


@router.register("installation", action="created")
async def installed(event: sansio.Event, deps: HandlerDeps) -> None:
    now = deps.clock()
    await deps.store.request_backfill(  # type: ignore[attr-defined]
        _installation_id(event.data), since=backfill_since(now, BACKFILL_DAYS), until=now, now=now
    )


@router.register("installation_repositories", action="added")
async def repositories_added(event: sansio.Event, deps: HandlerDeps) -> None:
    added = event.data.get("repositories_added") or []
    try:
        repos = tuple(sorted(str(r["full_name"]) for r in added))
    except (KeyError, TypeError):
        raise PayloadError(
            "payload's repositories_added lists a repository without full_name"
        ) from None
    if not repos:
        return
    now = deps.clock()
    await deps.store.request_backfill(  # type: ignore[attr-defined]
        _installation_id(event.data),
        since=backfill_since(now, BACKFILL_DAYS),
        until=now,
        now=now,
        repos=repos,
    )
