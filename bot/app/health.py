"""Health that tells the truth: ``GET /healthz`` (liveness), ``GET /readyz`` (readiness), ``GET /metrics``.

``/healthz`` answers 200 while the process runs its event loop, with the inbox's depth and age
when the store answers (503 when it does not). ``/readyz`` answers 200 only when every check
passes, else 503 with the failing ones named:

- ``github``: GitHub accepts the App's JWT (``GET /app``, asked at most once a minute);
- ``worker``: the worker has not failed its last few deliveries (or loop turns) in a row;
- ``playbooks``: at least one playbook is in force and none of the files is broken;
- ``outbox``: no nudge has owed GitHub its write for longer than half an hour;
- ``inbox``: no delivery has waited longer than a quarter of an hour.

Point the platform's restart probe at ``/healthz`` and alerting at ``/readyz`` (or the
``learning_nudges_ready`` gauge). Do not take a process out of webhook routing on ``/readyz``:
GitHub does not retry a delivery that failed, and the inbox keeps deliveries safe meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot.app.metrics import CONTENT_TYPE, UNPOSTED_AGES, Metrics
from bot.core.nudges import NudgeState
from bot.core.outbox import OUTBOX_STATES, needs_write
from bot.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
WORKER_FAILURES = 3  # in a row, with no delivery done in between
OUTBOX_STUCK = dt.timedelta(minutes=30)
INBOX_STUCK = dt.timedelta(minutes=15)
AUTH_CHECK_EVERY = 60.0  # seconds between two GET /app of the readiness check


@dataclass(frozen=True)
class AppCheck:
    """What GitHub answered to ``GET /app`` with the App's JWT."""

    ok: bool
    status: int | None  # None: no answer (network)
    slug: str = ""
    detail: str = ""


async def check_app_jwt(
    session: aiohttp.ClientSession,
    api_url: str,
    app_id: str,
    private_key: str,
    timeout: float = 10.0,
) -> AppCheck:
    """``GET /app`` as the App: does GitHub accept its JWT (APP_ID and PRIVATE_KEY together)?"""
    from gidgethub.apps import get_jwt

    headers = {
        "Authorization": f"Bearer {get_jwt(app_id=app_id, private_key=private_key)}",
        "Accept": "application/vnd.github+json",
        "User-Agent": "learning-nudges",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    try:
        async with session.get(
            f"{api_url}/app", headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            if response.status == 200:
                body = await response.json()
                return AppCheck(True, 200, slug=str(body.get("slug") or ""))
            text = (await response.text())[:200]
            return AppCheck(False, response.status, detail=text)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return AppCheck(False, None, detail=type(exc).__name__)


@dataclass
class Health:
    """The readiness checks, over the parts of one process; each check is cheap or cached."""

    store: Store
    clock: Clock
    metrics: Metrics
    playbooks: Callable[[], tuple[int, int]] = lambda: (1, 0)  # (in force, broken files)
    github_check: Callable[[], Awaitable[AppCheck]] | None = None
    _auth: AppCheck | None = field(default=None, init=False)
    _auth_at: float = field(default=float("-inf"), init=False)
    _seen_posted: set[str] = field(default_factory=set, init=False)
    started: dt.datetime | None = None

    async def github(self) -> AppCheck | None:
        if self.github_check is None:
            return None
        now = time.monotonic()
        if self._auth is None or now - self._auth_at >= AUTH_CHECK_EVERY:
            self._auth = await self.github_check()
            self._auth_at = now
        return self._auth

    def forget_auth(self) -> None:
        """Ask GitHub again on the next check (tests, and after a key rotation)."""
        self._auth = None

    async def observe(self) -> dict[str, float]:
        """Refresh the gauges (inbox, unposted nudges) and the webhook-to-nudge histogram."""
        now = self.clock()
        stats = await self.store.inbox_stats(now)
        self.metrics.queue_depth.set(stats["depth"])
        self.metrics.queue_age.set(stats["oldest_age_seconds"])
        owed = [n for n in await self.store.nudges(OUTBOX_STATES) if needs_write(n)]
        ages = [max(0.0, (now - n.created_at).total_seconds()) for n in owed]
        lower = 0.0
        for label, upper in UNPOSTED_AGES:
            self.metrics.unposted.labels(label).set(sum(lower <= a < upper for a in ages))
            lower = upper
        self.metrics.unposted_oldest.set(max(ages, default=0.0))
        started = self.started or now
        for nudge in await self.store.nudges((NudgeState.POSTED,)):
            if (
                nudge.key in self._seen_posted
                or nudge.posted_at is None
                or nudge.posted_at < started
            ):
                continue
            self._seen_posted.add(nudge.key)
            path = "cosigned" if nudge.cosign_comment_id else "direct"
            seconds = max(0.0, (nudge.posted_at - nudge.trigger_at).total_seconds())
            self.metrics.webhook_to_nudge.labels(path).observe(seconds)
        return {**stats, "unposted_oldest_age_seconds": max(ages, default=0.0)}

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        checks: dict[str, str] = {}
        failing: set[str] = set()
        try:
            stats = await self.observe()
        except Exception as exc:  # noqa: BLE001 (whatever the store raised, it did not answer)
            stats = None
            checks["store"] = f"the store does not answer ({type(exc).__name__})"
            failing.add("store")
        else:
            checks["store"] = "ok"
        auth = await self.github()
        if auth is not None:
            if auth.ok:
                checks["github"] = "ok"
            else:
                failing.add("github")
                checks["github"] = (
                    f"GitHub refused the App's JWT ({auth.status}); APP_ID and PRIVATE_KEY do not "
                    "belong together"
                    if auth.status in (401, 403, 404)
                    else f"GitHub did not answer GET /app ({auth.status or auth.detail})"
                )
        track = self.metrics.worker
        if track.failures_in_a_row >= WORKER_FAILURES:
            failing.add("worker")
            checks["worker"] = (
                f"{track.failures_in_a_row} failures in a row since the last delivery done "
                f"(last: {track.last_failure_reason}); see the log"
            )
        else:
            checks["worker"] = "ok"
        in_force, broken = self.playbooks()
        if in_force == 0 or broken:
            failing.add("playbooks")
            checks["playbooks"] = (
                f"{in_force} playbooks in force, {broken} files with problems; "
                "run python -m bot validate on the playbooks folder"
            )
        else:
            checks["playbooks"] = "ok"
        if stats is not None:
            oldest = stats["unposted_oldest_age_seconds"]
            if oldest > OUTBOX_STUCK.total_seconds():
                failing.add("outbox")
                checks["outbox"] = (
                    f"a nudge has waited {oldest / 60:.0f} minutes to be written to GitHub"
                )
            else:
                checks["outbox"] = "ok"
            if stats["oldest_age_seconds"] > INBOX_STUCK.total_seconds():
                failing.add("inbox")
                checks["inbox"] = (
                    f"a delivery has waited {stats['oldest_age_seconds'] / 60:.0f} minutes; "
                    "is a worker running?"
                )
            else:
                checks["inbox"] = "ok"
        self.metrics.ready.set(0 if failing else 1)
        return not failing, checks


def health_routes(health: Health) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/healthz")
    async def healthz(request: web.Request) -> web.Response:
        try:
            stats = await health.store.inbox_stats(health.clock())
        except Exception as exc:  # noqa: BLE001 (whatever the store raised, it did not answer)
            return web.json_response(
                {"status": "unhealthy", "store": type(exc).__name__}, status=503
            )
        return web.json_response({"status": "ok", "inbox": stats})

    @routes.get("/readyz")
    async def readyz(request: web.Request) -> web.Response:
        ready, checks = await health.readiness()
        return web.json_response(
            {"status": "ready" if ready else "unready", "checks": checks},
            status=200 if ready else 503,
        )

    @routes.get("/metrics")
    async def metrics_endpoint(request: web.Request) -> web.Response:
        try:
            await health.readiness()
        except Exception:  # the scrape still answers with what it has
            log.exception("metrics: readiness checks failed")
        return web.Response(body=health.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return routes


def ack_timer(metrics: Metrics):
    """Middleware: how long ``POST /webhooks`` takes to answer, by status."""

    @web.middleware
    async def timed(request: web.Request, handler):
        if request.path != "/webhooks" or request.method != "POST":
            return await handler(request)
        began = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.webhook_ack.labels(str(status)).observe(time.perf_counter() - began)

    return timed
