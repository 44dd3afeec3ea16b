"""Pushes to the organisation's playbooks repository: reload, and report on the pushed commit."""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.app.deps import HandlerDeps
from bot.app.jobs.config_sync import ConfigSync
from bot.core.events import push_from_payload


def router_for(sync: ConfigSync) -> routing.Router:
    """The push router of a deployment whose playbooks live in a repository."""
    router = routing.Router()

    @router.register("push")
    async def push(event: sansio.Event, deps: HandlerDeps) -> None:
        await sync.on_push(push_from_payload(event.data), event.delivery_id)

    return router
