"""What a webhook handler is given: the few things it uses, like bedevere's ``(event, gh)``.

A handler gets ``(event, deps)``. It reads the store and the configuration in force, calls the
core, and writes the decision to the store; GitHub writes happen later, from the outbox. The
pull requests it touched are noted so the worker can post and poll for them right after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.app.config import ConfigHolder
from bot.app.metrics import Metrics
from bot.app.teams import TeamDirectory
from bot.store import Store

Clock = Callable[[], dt.datetime]
PullKey = tuple[int, str, int]  # installation, owner/repo, number


@dataclass
class Touched:
    """Pull requests that deliveries just changed: their outbox and co-sign polls run next."""

    pulls: set[PullKey] = field(default_factory=set)

    def add(self, installation_id: int, repo: str, number: int) -> None:
        self.pulls.add((installation_id, repo, number))

    def take(self) -> list[PullKey]:
        taken, self.pulls = sorted(self.pulls), set()
        return taken


@dataclass(frozen=True)
class HandlerDeps:
    store: Store
    config: ConfigHolder
    clock: Clock
    metrics: Metrics
    teams: TeamDirectory
    touched: Touched
    holder: str  # this process's name on leases
    lease: dt.timedelta  # how long a decision may hold an engineer
    repo_settings: Any = None  # bot.app.jobs.repo_settings.RepoSettingsCache, when wired
