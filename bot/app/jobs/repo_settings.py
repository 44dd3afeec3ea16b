"""Each repository's ``.github/learning-nudges.yml``, read from its default branch and cached.

The file is read through the contents API when a decision needs it and the cached copy is older
than :data:`REFRESH_EVERY` (a conditional request, which costs no rate limit when the file did
not change), and at once on a push to the default branch that touches it; that push also gets a
check run on the pushed commit saying whether the file loaded. A broken file keeps the last good
version in force (:func:`bot.core.repo_settings.apply_repo_file`); a repository without the file
has everything on. If GitHub cannot be read, the version in force stays.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from gidgethub import BadRequest

from bot.app.config import ConfigHolder
from bot.app.jobs.check_runs import publish_check_run
from bot.app.jobs.outbox import GITHUB_ERRORS, describe
from bot.core.events import Push
from bot.core.repo_settings import (
    DEFAULT,
    REPO_FILE,
    RepoSettings,
    apply_repo_file,
    parse_repo_settings,
    repo_check_report,
)
from bot.core.yamlcheck import Problem
from bot.github import GitHubApp

log = logging.getLogger(__name__)

CHECK_NAME = "Learning Nudges repository settings"
REFRESH_EVERY = dt.timedelta(minutes=10)


class RepoSettingsCache:
    def __init__(
        self, *, github: GitHubApp, config: ConfigHolder, clock: Callable[[], dt.datetime]
    ):
        self.github = github
        self.config = config
        self.clock = clock
        self._good: dict[str, RepoSettings] = {}  # lower-case owner/name -> last good version
        self._read_at: dict[str, dt.datetime] = {}

    async def get(self, installation_id: int, repo: str) -> RepoSettings:
        """The settings in force for ``repo``; read again when the cached copy is old."""
        key = repo.lower()
        now = self.clock()
        read = self._read_at.get(key)
        if read is None or now - read >= REFRESH_EVERY:
            self._read_at[key] = now
            try:
                await self.load(installation_id, repo)
            except GITHUB_ERRORS as exc:
                log.warning(
                    "repo=%s %s unreadable (%s); the version in force stays",
                    repo,
                    REPO_FILE,
                    describe(exc),
                )
        return self._good.get(key, DEFAULT)

    async def load(self, installation_id: int, repo: str, ref: str | None = None) -> list[Problem]:
        """Read and apply the file (at ``ref``, else the default branch); the problems found."""
        gh = await self.github.installation(installation_id)
        owner, name = repo.split("/", 1)
        url_vars: dict[str, Any] = {"owner": owner, "repo": name, "path": REPO_FILE}
        query = "{?ref}" if ref else ""
        if ref:
            url_vars["ref"] = ref
        try:
            item = await gh.getitem(
                "/repos/{owner}/{repo}/contents/{+path}" + query, url_vars=url_vars
            )
        except BadRequest as exc:
            if exc.status_code != 404:
                raise
            self._good[repo.lower()] = DEFAULT  # no file: everything on
            return []
        try:
            text = base64.b64decode(item.get("content") or "").decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            problems = [Problem(REPO_FILE, 1, "(file)", f"cannot be read as UTF-8 text: {exc}")]
            return problems
        known = [p.id for p in self.config.current.playbooks.playbooks]
        parsed, problems = await asyncio.to_thread(parse_repo_settings, text, REPO_FILE, known)
        self._good[repo.lower()] = apply_repo_file(self._good.get(repo.lower()), parsed, problems)
        for problem in problems:
            log.warning("repo=%s settings problem=%s", repo, problem)
        return problems

    async def on_push(self, push: Push, delivery_id: str) -> None:
        if not push.to_default_branch or (push.complete and REPO_FILE not in push.paths):
            return
        problems = await self.load(push.installation_id, push.repo, ref=push.after)
        self._read_at[push.repo.lower()] = self.clock()
        await self.report(push, problems)
        log.info(
            "delivery=%s repo=%s %s reloaded problems=%d",
            delivery_id,
            push.repo,
            REPO_FILE,
            len(problems),
        )

    async def report(self, push: Push, problems: list[Problem]) -> None:
        gh = await self.github.installation(push.installation_id)
        outcome = repo_check_report(problems)
        await publish_check_run(gh, push.repo, name=CHECK_NAME, head_sha=push.after, report=outcome)
