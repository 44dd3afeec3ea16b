"""Playbooks and org settings kept in a repository of the organisation, reloaded when pushed.

When the deployment's ``org.yml`` names ``playbooks_repo`` (and ``playbooks_folder``), the app
reads that folder from the repository's default branch through the contents API, at start-up,
on every push to the default branch that touches the folder, and (with a conditional request
that costs nothing when unchanged) every minute, so every process catches up with a push that
another process handled. What is in force is decided by :mod:`bot.core.config_folder` (a broken
file keeps its last good version); this module reads, installs the result in the
:class:`~bot.app.config.ConfigHolder`, and reports on the pushed commit with a check run.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import aiohttp
from gidgethub import GitHubException

from bot.app.config import ConfigHolder, PlaybookSet, keep_out_of_collections
from bot.app.jobs.check_runs import publish_check_run
from bot.core.config_folder import (
    FolderState,
    apply_folder,
    check_run_report,
    is_config_file,
)
from bot.core.events import Push
from bot.core.org import OrgSettings
from bot.core.pr_check import LabelledComment, pull_request_check
from bot.core.yamlcheck import Problem
from bot.github import GitHubApp

log = logging.getLogger(__name__)

CHECK_NAME = "Learning Nudges playbooks"
PR_CHECK_NAME = "Learning Nudges playbooks (pull request)"
REFRESH_EVERY = dt.timedelta(minutes=1)


@cache
def labelled_comments() -> tuple[LabelledComment, ...]:
    """The labelled review comments shipped with the app (``bot/data``, copied from ``tests/data``)."""
    text = (
        resources.files("bot").joinpath("data/labelled-comments.jsonl").read_text(encoding="utf-8")
    )
    rows = (json.loads(line) for line in text.splitlines() if line.strip())
    return tuple(
        LabelledComment(r["text"], tuple(r["playbooks"]), r.get("set", ""), r.get("diff_hunk", ""))
        for r in rows
    )


class ConfigUnreadable(Exception):
    """The repository could not be read; the delivery is retried, the playbooks in force stay."""


class ConfigSync:
    """The repository's playbooks and org settings, installed in ``holder`` as they change."""

    def __init__(
        self,
        *,
        github: GitHubApp,
        holder: ConfigHolder,
        clock: Callable[[], dt.datetime],
        repo: str,
        folder: str,
        local_org: OrgSettings,
        dry_run: Callable[[Mapping[str, str]], Awaitable[str]] | None = None,
    ):
        self.github = github
        self.holder = holder
        self.clock = clock
        self.repo = repo
        self.folder = folder.strip("/")
        self.local_org = local_org
        self.state = FolderState()
        self._installation: int | None = None
        # Proposed playbook texts -> Markdown summary of a dry run on history (see _dry_run).
        self.dry_run: Callable[[Mapping[str, str]], Awaitable[str]] | None = dry_run
        self._last_refresh: dt.datetime | None = None

    # reading ---------------------------------------------------------------------------------
    async def load(
        self, *, ref: str | None = None, installation_id: int | None = None
    ) -> list[Problem]:
        """Read the folder (at ``ref``, else the default branch) and apply it; the problems found."""
        if installation_id is not None:
            self._installation = installation_id
        if self._installation is None:
            self._installation = await self.github.repo_installation(self.repo)
        gh = await self.github.installation(self._installation)
        listing = await self._listing(gh, ref)
        changed, removed = self.state.to_read(listing)
        if not changed and not removed:
            return self.state.problems()
        texts, unreadable = await self._read(gh, changed, ref)
        # Parsing, checking the examples and compiling the classifier are CPU work: off the loop.
        state, playbook_set = await asyncio.to_thread(self._build, listing, texts, unreadable)
        self.state = state
        self._install(playbook_set)
        keep_out_of_collections()
        return self.state.problems()

    def _url_vars(self, ref: str | None) -> tuple[str, dict[str, Any]]:
        owner, name = self.repo.split("/", 1)
        url_vars: dict[str, Any] = {"owner": owner, "repo": name, "path": self.folder}
        if ref:
            url_vars["ref"] = ref
        return "/repos/{owner}/{repo}/contents/{+path}" + ("{?ref}" if ref else ""), url_vars

    async def _listing(self, gh: Any, ref: str | None) -> dict[str, str]:
        """The folder's YAML files at ``ref`` (path -> blob sha); empty when the folder is absent."""
        url, url_vars = self._url_vars(ref)
        try:
            entries = await gh.getitem(url, url_vars=url_vars)
        except GitHubException as exc:
            if getattr(exc, "status_code", None) == 404 and ref is not None:
                return {}  # a base branch without the folder yet: everything in it is new
            raise
        return {
            e["path"]: e["sha"]
            for e in (entries if isinstance(entries, list) else [])
            if e.get("type") == "file" and is_config_file(e["name"])
        }

    async def _read(
        self, gh: Any, paths: list[str], ref: str | None
    ) -> tuple[dict[str, str], dict[str, Problem]]:
        url, url_vars = self._url_vars(ref)
        texts: dict[str, str] = {}
        unreadable: dict[str, Problem] = {}
        for path in paths:
            item = await gh.getitem(url, url_vars={**url_vars, "path": path})
            try:
                texts[path] = base64.b64decode(item.get("content") or "").decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                unreadable[path] = Problem(
                    path, 1, "(file)", f"cannot be read as UTF-8 text: {exc}"
                )
        return texts, unreadable

    async def read_folder(self, gh: Any, ref: str) -> tuple[dict[str, str], dict[str, Problem]]:
        """Every file of the folder at ``ref``, without putting anything in force."""
        listing = await self._listing(gh, ref)
        return await self._read(gh, sorted(listing), ref)

    def _build(
        self, listing: dict[str, str], texts: dict[str, str], unreadable: dict[str, Problem]
    ) -> tuple[FolderState, PlaybookSet]:
        state = apply_folder(self.state, listing, texts, unreadable)
        return state, PlaybookSet(tuple(state.playbook_list()), tuple(state.problems()))

    def _install(self, playbook_set: PlaybookSet) -> None:
        playbooks = playbook_set.playbooks
        problems = playbook_set.problems
        org = replace(
            self.state.org or self.local_org, playbooks_repo=self.repo, playbooks_folder=self.folder
        )
        self.holder.replace(playbooks=playbook_set, org=org)
        for problem in problems:
            log.error(
                "config repo=%s problem=%s (the last good version of that file stays in force)",
                self.repo,
                problem,
            )
        log.info(
            "config repo=%s folder=%s playbooks=%d ids=%s org_settings=%s",
            self.repo,
            self.folder,
            len(playbooks),
            ",".join(p.id for p in playbooks) or "-",
            "repository" if self.state.org else "deployment",
        )

    async def start(self) -> None:
        """The first load, at start-up; if GitHub cannot be reached, the next refresh tries again."""
        try:
            await self.load()
            self._last_refresh = self.clock()
        except Exception as exc:  # start-up must not fail because GitHub is briefly unreachable
            log.error(
                "config repo=%s unreadable at start-up (%s); the deployment's playbooks serve until it can be read",
                self.repo,
                exc,
            )

    async def refresh_if_due(self, now: dt.datetime) -> None:
        """Catch up with a push another process handled; unchanged, this costs no rate limit."""
        if self._last_refresh is not None and now - self._last_refresh < REFRESH_EVERY:
            return
        self._last_refresh = now
        try:
            await self.load()
        except Exception as exc:
            log.warning("config repo=%s refresh failed: %s", self.repo, exc)

    # pushes ----------------------------------------------------------------------------------
    async def on_push(self, push: Push, delivery_id: str) -> None:
        if push.repo.lower() != self.repo.lower() or not push.to_default_branch:
            return
        if not push.touches(self.folder):
            log.info(
                "delivery=%s config repo=%s push does not touch folder=%s",
                delivery_id,
                self.repo,
                self.folder,
            )
            return
        try:
            problems = await self.load(ref=push.after, installation_id=push.installation_id)
        except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
            status = getattr(exc, "status_code", None)
            answer = (
                f"GitHub answered {int(status)} {exc}"
                if status is not None
                else f"{type(exc).__name__} {exc}"
            )
            raise ConfigUnreadable(
                f"{self.repo}/{self.folder} at {push.after[:7]} could not be read ({answer}); "
                "the playbooks in force stay until it can"
            ) from exc
        self._last_refresh = self.clock()
        await self.report(push, problems)
        log.info(
            "delivery=%s config repo=%s commit=%s reloaded problems=%d",
            delivery_id,
            self.repo,
            push.after[:7],
            len(problems),
        )

    # pull requests ---------------------------------------------------------------------------
    async def on_pull_request(
        self, pull: Mapping[str, Any], installation_id: int, delivery_id: str
    ) -> None:
        """A check run on the pull request's head commit: problems, examples and match changes.

        The folder is read at the head and base commits through the contents API; nothing is put
        in force (that happens when the merge is pushed to the default branch).
        """
        head_sha = pull["head"]["sha"]
        base_sha = pull["base"]["sha"]
        head_repo = ((pull["head"].get("repo") or {}).get("full_name") or self.repo).lower()
        gh = await self.github.installation(installation_id)
        if head_repo != self.repo.lower():
            log.info(
                "delivery=%s config repo=%s pull request from %s: not checked",
                delivery_id,
                self.repo,
                head_repo,
            )
            return
        try:
            head_texts, head_unreadable = await self.read_folder(gh, head_sha)
            base_texts, _ = await self.read_folder(gh, base_sha)
        except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigUnreadable(
                f"{self.repo}/{self.folder} at {head_sha[:7]} could not be read ({exc}); the check "
                "is tried again with the delivery"
            ) from exc
        labelled = await asyncio.to_thread(labelled_comments)
        dry_run = await self._dry_run(head_texts)
        outcome = await asyncio.to_thread(
            pull_request_check,
            base_texts,
            head_texts,
            labelled,
            dry_run=dry_run,
            unreadable=list(head_unreadable.values()),
        )
        await publish_check_run(
            gh, self.repo, name=PR_CHECK_NAME, head_sha=head_sha, report=outcome
        )
        log.info(
            "delivery=%s config repo=%s pull=%s head=%s checked problems=%d changed=%d",
            delivery_id,
            self.repo,
            pull.get("number"),
            head_sha[:7],
            len(outcome.problems),
            len(outcome.diffs),
        )

    async def _dry_run(self, head_texts: Mapping[str, str]) -> str | None:
        """The proposed playbooks over the organisation's recorded history, as a short summary.

        The hook for the dry run (``python -m bot replay``): ``self.dry_run``, when the wiring
        gives one, is called with the head's texts and returns Markdown; without it the check
        says that no dry run is available.
        """
        if self.dry_run is None:
            return None
        try:
            return await self.dry_run(head_texts)
        except Exception as exc:  # the check must still report the problems
            log.warning("config repo=%s dry run failed: %s", self.repo, exc)
            return f"The dry run could not be made ({type(exc).__name__})."

    async def report(self, push: Push, problems: list[Problem]) -> None:
        """A check run on the pushed commit: success, or failure with one annotation per problem."""
        gh = await self.github.installation(push.installation_id)
        outcome = check_run_report(problems, len(self.state.playbooks))
        await publish_check_run(gh, self.repo, name=CHECK_NAME, head_sha=push.after, report=outcome)
