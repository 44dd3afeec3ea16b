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

from bot.app.config import ConfigHolder, collect_again, keep_out_of_collections, load_config
from bot.app.deps import HandlerDeps, Touched
from bot.app.health import Health, check_app_jwt
from bot.app.jobs.answers import Answers
from bot.app.jobs.backfill import BackfillJob
from bot.app.jobs.config_sync import ConfigSync
from bot.app.jobs.dry_run import dry_run_for_checks
from bot.app.jobs.evaluations import EvaluationJob
from bot.app.jobs.followups import FollowUps
from bot.app.jobs.outbox import NudgeClaims, Outbox
from bot.app.jobs.reactions import ReactionPolls
from bot.app.jobs.redelivery import RedeliverySweep
from bot.app.jobs.repo_settings import RepoSettingsCache
from bot.app.jobs.schedule import Scheduler
from bot.app.metrics import Metrics
from bot.app.pressure import AckPressure
from bot.app.routers import build_router
from bot.app.routers.config_repo import router_for
from bot.app.settings import Settings, SettingsError
from bot.app.teams import TeamDirectory
from bot.app.web import create_app
from bot.app.worker import Worker, stop_gracefully
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
    health: Health | None = None
    backfills: BackfillJob | None = None


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
    keep_out_of_collections(collect_first=True)
    log.info(
        "loaded %d playbooks from %s", len(in_force.playbooks.playbooks), settings.playbooks_dir
    )
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            github = GitHubApp(
                session,
                app_id=settings.app_id,
                private_key=settings.private_key,
                base_url=settings.github_api_url,
                clock=clock,
                sleep=sleep,
                on_response=lambda method, status: metrics.github_requests.labels(
                    method, status
                ).inc(),
                rng=rng,
                # Writes are paced per installation across every process sharing the store.
                shared_pace=lambda installation, now, spacing: store.try_lease(
                    f"pace:{installation}", name, now, spacing
                ),
            )
            teams = TeamDirectory(github, clock)
            pressure = AckPressure()
            claims = NudgeClaims(store, name, clock)
            marker_key = marker_secret(settings.webhook_secret)  # keys every hidden marker
            outbox = Outbox(
                store=store,
                github=github,
                config=config,
                metrics=metrics,
                claims=claims,
                rng=rng,
                marker_key=marker_key,
                bot_login=settings.bot_login,
                clock=clock,
            )
            reactions = ReactionPolls(
                store=store,
                github=github,
                config=config,
                metrics=metrics,
                teams=teams,
                claims=claims,
                outbox=outbox,
            )
            evaluations = EvaluationJob(store=store, github=github, config=config)
            followups = FollowUps(
                store=store,
                github=github,
                config=config,
                teams=teams,
                holder=name,
                rng=rng,
                marker_key=marker_key,
                bot_login=settings.bot_login,
                claims=claims,
                clock=clock,
            )
            backfills = BackfillJob(store=store, github=github, config=config)
            sync = None
            org = in_force.org
            if org.playbooks_repo:
                sync = ConfigSync(
                    github=github,
                    holder=config,
                    clock=clock,
                    repo=org.playbooks_repo,
                    folder=org.playbooks_folder,
                    local_org=org,
                    dry_run=dry_run_for_checks(store, clock, org),
                )
                await sync.start()
            deps = HandlerDeps(
                store=store,
                config=config,
                clock=clock,
                metrics=metrics,
                teams=teams,
                touched=Touched(),
                holder=name,
                lease=dt.timedelta(seconds=settings.delivery_lease_seconds),
                repo_settings=RepoSettingsCache(github=github, config=config, clock=clock),
            )
            answers = Answers(
                store=store,
                github=github,
                holder=name,
                marker_key=marker_key,
                bot_login=settings.bot_login,
                rng=rng,
                claims=claims,
                clock=clock,
            )
            scheduler = Scheduler(
                store=store,
                holder=name,
                poll_every=poll_every,
                metrics=metrics,
                outbox=outbox,
                reactions=reactions,
                evaluations=evaluations,
                config_sync=sync,
                followups=followups,
                redelivery=RedeliverySweep(store=store, github=github),
                backfills=backfills,
                answers=answers,
            )
            worker = Worker(
                store=store,
                router=build_router([router_for(sync)] if sync else []),
                deps=deps,
                scheduler=scheduler,
                clock=clock,
                metrics=metrics,
                rng=rng,
                poll_every=poll_every,
                pressure=pressure,
            )
            health = Health(
                store=store,
                clock=clock,
                metrics=metrics,
                started=clock(),
                playbooks=lambda: _playbook_health(config),
                github_check=lambda: check_app_jwt(
                    session, settings.github_api_url, settings.app_id, settings.private_key
                ),
            )
            app = create_app(
                secret=settings.webhook_secret,
                store=store,
                clock=clock,
                metrics=metrics,
                on_stored=worker.notify,
                pressure=pressure,
                health=health,
            )
            if settings.run_worker:
                app.cleanup_ctx.append(_worker_loop(worker))
            loop_errors = _LoopErrors(metrics)
            logging.getLogger("bot.app.worker").addHandler(loop_errors)
            try:
                yield Service(
                    settings,
                    store,
                    github,
                    config,
                    metrics,
                    outbox,
                    reactions,
                    evaluations,
                    sync,
                    worker,
                    app,
                    health,
                    backfills=backfills,
                )
            finally:
                logging.getLogger("bot.app.worker").removeHandler(loop_errors)
    finally:
        collect_again()
        if own_store:
            await store.close()


def _worker_loop(worker: Worker):
    async def run(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop), name="learning-nudges-worker")
        yield
        stop.set()
        await stop_gracefully(worker, task)  # finish or hand back what is held; never raises

    return run


def _playbook_health(config: ConfigHolder) -> tuple[int, int]:
    playbooks = config.current.playbooks
    return len(playbooks.playbooks), len({p.file for p in playbooks.problems if not p.warning})


class _LoopErrors(logging.Handler):
    """Counts the worker loop's own errors (the store gone, a job's bug) for metrics and readiness."""

    def __init__(self, metrics: Metrics):
        super().__init__(logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("worker loop error"):
            self.metrics.loop_error("the worker loop failed")


# Start-up checks ------------------------------------------------------------------------------
# ``serve`` and ``worker`` run these before they take any work, so that a setup that cannot work
# stops at once with one line naming the setting, instead of running and failing on every event.


async def startup_checks(service: Service) -> list[str]:
    """Raise :class:`SettingsError` for what stops the app; return warnings to log."""
    settings = service.settings
    playbooks = service.config.current.playbooks
    if not playbooks.playbooks:
        broken = len({p.file for p in playbooks.problems})
        raise SettingsError(
            f"PLAYBOOKS_DIR={settings.playbooks_dir} has no playbook that loads"
            + (f" ({broken} files with problems)" if broken else " (no .yml playbook files in it)")
            + f"; run: python -m bot validate {settings.playbooks_dir}"
        )
    warnings = []
    if any(not p.warning for p in playbooks.problems):
        warnings.append(
            f"{len({p.file for p in playbooks.problems if not p.warning})} playbook files have problems and are skipped; "
            f"run: python -m bot validate {settings.playbooks_dir}"
        )
    check = await check_app_jwt(
        service.github.session, settings.github_api_url, settings.app_id, settings.private_key
    )
    if check.status is None:
        raise SettingsError(
            f"GITHUB_API_URL={settings.github_api_url} does not answer ({check.detail}); check the "
            "address (GitHub Enterprise Server: https://HOST/api/v3) and the network"
        )
    if check.status in (401, 403):
        raise SettingsError(
            f"GitHub refused the App's JWT (GET /app: {check.status}): APP_ID={settings.app_id} and "
            "the private key do not belong to the same App; copy the App ID and generate a new "
            "private key on the App's settings page"
        )
    if check.status == 404:
        raise SettingsError(
            f"GET {settings.github_api_url}/app answered 404: GITHUB_API_URL is not a GitHub API "
            "(GitHub Enterprise Server: https://HOST/api/v3)"
        )
    if not check.ok:
        raise SettingsError(
            f"GitHub answered GET /app with {check.status}; try again, or check {settings.github_api_url}"
        )
    own = f"{check.slug}[bot]"
    if check.slug and own != settings.bot_login:
        raise SettingsError(
            f"BOT_LOGIN={settings.bot_login} but this App's account is {own}; set BOT_LOGIN={own} "
            "so that the app recognises its own comments"
        )
    return warnings
