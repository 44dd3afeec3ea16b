"""Composition: build the store, the GitHub client, the jobs, the worker and the web app from settings.

The one place that wires edges together, used by ``serve``, ``worker``, the demo and the tests,
so they all run the same product. Nothing happens at import; :func:`build_service` builds
everything from the settings and the injected clock, sleep and randomness.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.app.config import ConfigHolder, load_config
from bot.app.deps import HandlerDeps, Touched
from bot.app.jobs.answers import Answers
from bot.app.jobs.config_sync import ConfigSync
from bot.app.jobs.evaluations import EvaluationJob
from bot.app.jobs.followups import FollowUps
from bot.app.jobs.outbox import NudgeClaims, Outbox
from bot.app.jobs.reactions import ReactionPolls
from bot.app.jobs.repo_settings import RepoSettingsCache
from bot.app.jobs.schedule import Scheduler
from bot.app.metrics import Metrics
from bot.app.pressure import AckPressure
from bot.app.routers import build_router
from bot.app.routers.config_repo import router_for
from bot.app.settings import Settings
from bot.app.teams import TeamDirectory
from bot.app.web import create_app
from bot.app.worker import Worker
from bot.core.render import marker_secret
from bot.github import GitHubApp
from bot.store import Store, open_store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Service:
    """Everything one process runs, each part built with only what it uses."""

    settings: Settings
    store: Store
    github: GitHubApp
    config: ConfigHolder
    metrics: Metrics
    outbox: Outbox
    reactions: ReactionPolls
    evaluations: EvaluationJob
    config_sync: ConfigSync | None
    worker: Worker
    app: web.Application


@contextlib.asynccontextmanager
async def build_service(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    store: Store | None = None,
    poll_every: dt.timedelta = dt.timedelta(minutes=15),
    rng: random.Random | None = None,
    name: str | None = None,
) -> AsyncIterator[Service]:
    """Everything ``serve`` runs. The worker loop starts with the web app when enabled."""
    own_store = store is None
    store = store or await open_store(settings.database_url)
    rng = rng or random.Random()
    name = name or process_name()
    metrics = Metrics()
    in_force, _problems = await asyncio.to_thread(load_config, settings.playbooks_dir)
    config = ConfigHolder(in_force)
    log.info("loaded %d playbooks from %s", len(in_force.playbooks.playbooks), settings.playbooks_dir)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            github = GitHubApp(
                session,
                app_id=settings.app_id,
                private_key=settings.private_key,
                base_url=settings.github_api_url,
                clock=clock,
                sleep=sleep,
                on_response=lambda method, status: metrics.github_requests.labels(method, status).inc(),
                rng=rng,
                # Writes are paced per installation across every process sharing the store.
                shared_pace=lambda installation, now, spacing: store.try_lease(
                    f"pace:{installation}", name, now, spacing
                ),
            )
            teams = TeamDirectory(github, clock)
            pressure = AckPressure()
            claims = NudgeClaims(store, name)
            outbox = Outbox(
                store=store, github=github, config=config, metrics=metrics, claims=claims, rng=rng,
                marker_key=marker_secret(settings.webhook_secret), bot_login=settings.bot_login,
            )
            reactions = ReactionPolls(
                store=store, github=github, config=config, metrics=metrics, teams=teams, claims=claims, outbox=outbox
            )
            evaluations = EvaluationJob(store=store, github=github, config=config)
            followups = FollowUps(
                store=store, github=github, config=config, teams=teams, holder=name, rng=rng,
                marker_key=marker_secret(settings.webhook_secret), bot_login=settings.bot_login,
            )
            sync = None
            org = in_force.org
            if org.playbooks_repo:
                sync = ConfigSync(
                    github=github, holder=config, clock=clock, repo=org.playbooks_repo,
                    folder=org.playbooks_folder, local_org=org,
                )
                await sync.start()
            deps = HandlerDeps(
                store=store, config=config, clock=clock, metrics=metrics, teams=teams, touched=Touched(),
                holder=name, lease=dt.timedelta(seconds=settings.delivery_lease_seconds),
                repo_settings=RepoSettingsCache(github=github, config=config, clock=clock),
            )
            answers = Answers(
                store=store, github=github, holder=name, marker_key=marker_secret(settings.webhook_secret),
                bot_login=settings.bot_login, rng=rng,
            )
            scheduler = Scheduler(
                store=store, holder=name, poll_every=poll_every, metrics=metrics, outbox=outbox,
                reactions=reactions, evaluations=evaluations, config_sync=sync, followups=followups,
                answers=answers,
            )
            worker = Worker(
                store=store, router=build_router([router_for(sync)] if sync else []), deps=deps,
                scheduler=scheduler, clock=clock, metrics=metrics, rng=rng, poll_every=poll_every,
                pressure=pressure,
            )
            app = create_app(
                secret=settings.webhook_secret, store=store, clock=clock, metrics=metrics,
                on_stored=worker.notify, pressure=pressure,
            )
            if settings.run_worker:
                app.cleanup_ctx.append(_worker_loop(worker))
            yield Service(
                settings, store, github, config, metrics, outbox, reactions, evaluations, sync, worker, app
            )
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
