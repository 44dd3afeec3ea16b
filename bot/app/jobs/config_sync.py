"""Playbooks and org settings kept in a repository of the organisation, reloaded when pushed.

When the deployment's ``org.yml`` names ``playbooks_repo`` (and ``playbooks_folder``), the app
reads that folder from the repository's default branch through the contents API, at start-up,
on every push to the default branch that touches the folder, and (with a conditional request
that costs nothing when unchanged) every minute, so every process catches up with a push that
another process handled. A broken file never takes a working one down: the last good version
of that file stays in force. The process that handles the push reports on the pushed commit
with a check run whose annotations point the playbook author at each broken file and line.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import aiohttp
from gidgethub import GitHubException, routing, sansio

from bot.core.events import Push, push_from_payload
from bot.core.org import OrgSettings, parse_org_settings
from bot.core.playbook import NOT_PLAYBOOKS, Playbook, parse_playbooks
from bot.core.yamlcheck import Problem

if TYPE_CHECKING:
    from bot.app.worker import Worker

log = logging.getLogger(__name__)

router = routing.Router()
CHECK_NAME = "Learning Nudges playbooks"
ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per check-run request
REFRESH_EVERY = dt.timedelta(minutes=1)


@router.register("push")
async def push(event: sansio.Event, worker: Worker) -> None:
    if worker.config_sync is not None:
        await worker.config_sync.on_push(push_from_payload(event.data), event.delivery_id)


class ConfigUnreadable(Exception):
    """The repository could not be read; the delivery is retried, the playbooks in force stay."""


@dataclass(frozen=True)
class _File:
    sha: str
    problems: tuple[Problem, ...]


class ConfigSync:
    """The repository's playbooks and org settings, applied to ``worker`` as they change."""

    def __init__(self, worker: Worker, *, repo: str, folder: str, local_org: OrgSettings):
        self.worker = worker
        self.repo = repo
        self.folder = folder.strip("/")
        self.local_org = local_org
        self._seen: dict[str, _File] = {}  # path -> the version last read, and its problems
        self._playbooks: dict[str, Playbook] = {}  # path -> last good version
        self._org: OrgSettings | None = None  # last good org.yml of the repository
        self._installation: int | None = None
        self._last_refresh: dt.datetime | None = None

    # reading ---------------------------------------------------------------------------------
    async def load(self, *, ref: str | None = None, installation_id: int | None = None) -> list[Problem]:
        """Read the folder (at ``ref``, else the default branch) and apply it; the problems found."""
        if installation_id is not None:
            self._installation = installation_id
        if self._installation is None:
            self._installation = await self.worker.github.repo_installation(self.repo)
        gh = await self.worker.github.installation(self._installation)
        owner, name = self.repo.split("/", 1)
        url_vars: dict[str, Any] = {"owner": owner, "repo": name, "path": self.folder}
        query = "{?ref}" if ref else ""
        if ref:
            url_vars["ref"] = ref
        listing = await gh.getitem("/repos/{owner}/{repo}/contents/{+path}" + query, url_vars=url_vars)
        entries = [
            e for e in (listing if isinstance(listing, list) else [])
            if e.get("type") == "file" and e["name"].endswith((".yml", ".yaml"))
        ]
        changed = [e for e in entries if self._seen.get(e["path"], _File("", ())).sha != e["sha"]]
        removed = set(self._seen) - {e["path"] for e in entries}
        if not changed and not removed:
            return [p for f in self._seen.values() for p in f.problems]
        texts: dict[str, str] = {}
        unreadable: dict[str, Problem] = {}
        for entry in changed:
            item = await gh.getitem(
                "/repos/{owner}/{repo}/contents/{+path}" + query, url_vars={**url_vars, "path": entry["path"]}
            )
            try:
                texts[entry["path"]] = base64.b64decode(item.get("content") or "").decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                unreadable[entry["path"]] = Problem(entry["path"], 1, "(file)", f"cannot be read as UTF-8 text: {exc}")
        self._apply(entries, texts, unreadable, removed)
        return [p for f in self._seen.values() for p in f.problems]

    def _apply(
        self, entries: list[dict], texts: dict[str, str], unreadable: dict[str, Problem], removed: set[str]
    ) -> None:
        for path in removed:
            self._seen.pop(path, None)
            self._playbooks.pop(path, None)
            if _is_org(path):
                self._org = None
        sha_of = {e["path"]: e["sha"] for e in entries}
        for path, problem in unreadable.items():
            self._seen[path] = _File(sha_of[path], (problem,))
        org_path = next((p for p in texts if _is_org(p)), None)
        if org_path is not None:
            parsed, problems = parse_org_settings(texts.pop(org_path), org_path)
            self._seen[org_path] = _File(sha_of[org_path], tuple(problems))
            if parsed is not None:
                self._org = parsed
        # Playbook ids must be unique across the folder, so the changed files are parsed together
        # with the last good versions of the others (which cannot clash with each other).
        others = {path: p for path, p in self._playbooks.items() if path not in texts}
        result = parse_playbooks(sorted(texts.items()))
        taken = {p.id: path for path, p in others.items()}
        by_path: dict[str, list[Problem]] = {path: [] for path in texts}
        for problem in result.problems:
            by_path.setdefault(problem.file, []).append(problem)
        for playbook in result.playbooks:
            if playbook.id in taken:
                by_path[playbook.source].append(
                    Problem(playbook.source, 1, "id", f"'{playbook.id}' is already used by {taken[playbook.id]}")
                )
            else:
                self._playbooks[playbook.source] = playbook
        for path, problems in by_path.items():
            self._seen[path] = _File(sha_of.get(path, ""), tuple(problems))
        self._install()

    def _install(self) -> None:
        from bot.app.worker import (
            PlaybookSet,  # the worker imports the handlers, which import this module
        )

        playbooks = sorted(self._playbooks.values(), key=lambda p: p.id)
        problems = [p for f in self._seen.values() for p in f.problems]
        self.worker.playbooks = PlaybookSet(playbooks, problems)
        org = self._org or self.local_org
        self.worker.org = replace(org, playbooks_repo=self.repo, playbooks_folder=self.folder)
        for problem in problems:
            log.error("config repo=%s problem=%s (the last good version of that file stays in force)", self.repo, problem)
        log.info(
            "config repo=%s folder=%s playbooks=%d ids=%s org_settings=%s",
            self.repo, self.folder, len(playbooks), ",".join(p.id for p in playbooks) or "-",
            "repository" if self._org else "deployment",
        )

    async def start(self) -> None:
        """The first load, at start-up; if GitHub cannot be reached, the next refresh tries again."""
        try:
            await self.load()
            self._last_refresh = self.worker.clock()
        except Exception as exc:  # start-up must not fail because GitHub is briefly unreachable
            log.error("config repo=%s unreadable at start-up (%s); the deployment's playbooks serve until it can be read", self.repo, exc)

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
            log.info("delivery=%s config repo=%s push does not touch folder=%s", delivery_id, self.repo, self.folder)
            return
        try:
            problems = await self.load(ref=push.after, installation_id=push.installation_id)
        except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
            status = getattr(exc, "status_code", None)
            answer = f"GitHub answered {int(status)} {exc}" if status is not None else f"{type(exc).__name__} {exc}"
            raise ConfigUnreadable(
                f"{self.repo}/{self.folder} at {push.after[:7]} could not be read ({answer}); "
                "the playbooks in force stay until it can"
            ) from exc
        self._last_refresh = self.worker.clock()
        await self.report(push, problems)
        log.info(
            "delivery=%s config repo=%s commit=%s reloaded problems=%d", delivery_id, self.repo, push.after[:7], len(problems)
        )

    async def report(self, push: Push, problems: list[Problem]) -> None:
        """A check run on the pushed commit: success, or failure with one annotation per problem."""
        gh = await self.worker.github.installation(push.installation_id)
        owner, name = self.repo.split("/", 1)
        url_vars = {"owner": owner, "repo": name}
        run = await gh.post(
            "/repos/{owner}/{repo}/check-runs", url_vars=url_vars,
            data={"name": CHECK_NAME, "head_sha": push.after, "status": "in_progress"},
        )
        files = sorted({p.file for p in problems})
        if problems:
            title = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}"
            summary = (
                "These files were not loaded; the last good version of each stays in force until it is fixed: "
                + ", ".join(f"`{f}`" for f in files)
                + ". Check a change before pushing with `python -m bot validate`."
            )
        else:
            title = f"{len(self._playbooks)} playbooks loaded"
            summary = "Every playbook and the org settings loaded; the new version is in force."
        annotations = [
            {
                "path": p.file,
                "start_line": p.line,
                "end_line": p.line,
                "annotation_level": "failure",
                "title": p.field,
                "message": f"{p.field}: {p.message}",
            }
            for p in sorted(problems)
        ]
        batches = [annotations[i:i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)] or [[]]
        for index, batch in enumerate(batches):
            data: dict[str, Any] = {"output": {"title": title, "summary": summary, "annotations": batch}}
            if index == len(batches) - 1:
                data["conclusion"] = "failure" if problems else "success"
            await gh.patch("/repos/{owner}/{repo}/check-runs/{id}", url_vars={**url_vars, "id": run["id"]}, data=data)


def _is_org(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in NOT_PLAYBOOKS
