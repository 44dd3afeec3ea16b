"""Members of the teams the org settings name (``team:slug``), read through the API and cached."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

import aiohttp
import cachetools
from gidgethub import GitHubException

from bot.core.org import OrgSettings
from bot.github import GitHubApp

log = logging.getLogger(__name__)


class TeamDirectory:
    """``GET /orgs/{org}/teams/{slug}/members``, cached for ``ttl`` of the injected clock."""

    def __init__(self, github: GitHubApp, clock: Callable[[], dt.datetime], *, ttl: float = 3600):
        self._github = github
        self._cache: cachetools.TTLCache = cachetools.TTLCache(
            maxsize=256, ttl=ttl, timer=lambda: clock().timestamp()
        )

    async def teams_for(
        self, org_settings: OrgSettings, installation_id: int, repo: str, also: Iterable[str] = ()
    ) -> dict[str, frozenset[str]]:
        """slug -> lower-case logins, for every team the settings mention (and the slugs ``also``
        names: the pilots' teams); unreadable ones left out."""
        slugs = org_settings.team_slugs() | set(also)
        if not slugs:
            return {}
        org = repo.split("/", 1)[0]
        teams: dict[str, frozenset[str]] = {}
        for slug in sorted(slugs):
            key = (installation_id, org, slug)
            if key not in self._cache:
                try:
                    gh = await self._github.installation(installation_id)
                    members = await gh.getiter(
                        "/orgs/{org}/teams/{slug}/members?per_page=100",
                        url_vars={"org": org, "slug": slug},
                    )
                    self._cache[key] = frozenset(m["login"].lower() for m in members)
                except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
                    log.warning(
                        "team %s/%s could not be read (%s); treating it as empty for now",
                        org,
                        slug,
                        exc,
                    )
                    continue
            teams[slug] = self._cache[key]
        return teams
