"""Composition: build the store, the GitHub app client, the worker and the web app from settings.

The one place that wires edges together, used by ``serve``, ``worker``, the demo and the tests,
so they all run the same product.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.app.jobs.config_sync import ConfigSync
from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.app.web import create_app
from bot.app.worker import PlaybookSet, Worker
from bot.core.org import ORG_FILE, OrgSettings, parse_org_settings
from bot.core.playbook import load_playbooks
from bot.core.yamlcheck import Problem
from bot.github import GitHubApp
from bot.store import Store, open_store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_config(directory: Path) -> tuple[PlaybookSet, OrgSettings, list[Problem]]:
    """Playbooks and org settings from a folder; problems are returned, good files still load."""
    result = load_playbooks(directory)
    problems = list(result.problems)
    org = OrgSettings()
    org_file = directory / ORG_FILE
    if org_file.exists():
        parsed, org_problems = parse_org_settings(org_file.read_text(encoding="utf-8"), str(org_file))
        problems += org_problems
        if parsed is not None:
            org = parsed
    for problem in problems:
        log.error("configuration problem (this file is skipped, the others work): %s", problem)
    return PlaybookSet(result.playbooks, problems), org, problems


@dataclass
class Service:
    settings: Settings
    store: Store
    github: GitHubApp
    worker: Worker
    app: web.Application
    metrics: Metrics


@contextlib.asynccontextmanager
async def build_service(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    store: Store | None = None,
    poll_every: dt.timedelta = dt.timedelta(minutes=15),
) -> AsyncIterator[Service]:
    """Everything ``serve`` runs. The worker loop starts with the web app when enabled."""
    own_store = store is None
    store = store or await open_store(settings.database_url)
    metrics = Metrics()
    playbooks, org, _problems = load_config(settings.playbooks_dir)
    log.info("loaded %d playbooks from %s", len(playbooks.playbooks), settings.playbooks_dir)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        github = GitHubApp(
            session,
            app_id=settings.app_id,
            private_key=settings.private_key,
            base_url=settings.github_api_url,
            clock=clock,
            sleep=sleep,
            metrics=metrics,
        )
        worker = Worker(
            store=store, github=github, playbooks=playbooks, org=org, clock=clock, metrics=metrics,
            poll_every=poll_every, lease=dt.timedelta(seconds=settings.delivery_lease_seconds),
        )
        if org.playbooks_repo:
            worker.config_sync = ConfigSync(
                worker, repo=org.playbooks_repo, folder=org.playbooks_folder, local_org=org
            )
            await worker.config_sync.start()
        # Writes are paced per installation across every process sharing the store.
        github.shared_pace = lambda installation, now, spacing: store.try_lease(
            f"pace:{installation}", worker.name, now, spacing
        )
        app = create_app(
            secret=settings.webhook_secret, store=store, clock=clock, metrics=metrics,
            on_stored=worker.notify,
        )
        if settings.run_worker:
            app.cleanup_ctx.append(_worker_loop(worker))
        try:
            yield Service(settings, store, github, worker, app, metrics)
        finally:
            if own_store:
                await store.close()


def _worker_loop(worker: Worker):
    async def run(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop), name="learning-nudges-worker")
        yield
        stop.set()
        worker.wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)

    return run
