"""One gidgethub Router per concern; each handler gets ``(event, deps)``, reads, decides, writes.

A new webhook handler goes in the module of its concern (or a new module here), registered on
that module's ``router``; :func:`build_router` composes them.
"""

from __future__ import annotations

from collections.abc import Iterable

from gidgethub import routing

from bot.app.routers import commands, installations, outcomes, pulls, reinforcement, reviews


def build_router(extra: Iterable[routing.Router] = ()) -> routing.Router:
    """Every concern's router, plus deployment-specific ones (the playbooks repository's pushes)."""
    return routing.Router(
        reviews.router,
        pulls.router,
        outcomes.router,
        reinforcement.router,
        installations.router,
        commands.router,
        *extra,
    )
