"""Pull requests opened, reopened and closed: kept, and their waiting co-signs polled next."""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.core.events import pull_request_from_payload

router = routing.Router()


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="closed")
async def pull_request_changed(event: sansio.Event, deps: HandlerDeps) -> None:
    change = pull_request_from_payload(event.data)
    await deps.store.record_pull(change)
    deps.touched.add(change.pull.installation_id, change.pull.repo, change.pull.number)
