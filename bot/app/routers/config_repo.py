"""The organisation's playbooks repository: pushes reload and get a check run; pull requests get one
at their head commit, with nothing put in force."""

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

    @router.register("pull_request", action="opened")
    @router.register("pull_request", action="synchronize")
    @router.register("pull_request", action="reopened")
    async def pull_request(event: sansio.Event, deps: HandlerDeps) -> None:
        repo = (event.data.get("repository") or {}).get("full_name", "")
        if repo.lower() != sync.repo.lower():
            return
        await sync.on_pull_request(
            event.data["pull_request"], int(event.data["installation"]["id"]), event.delivery_id
        )

    return router
