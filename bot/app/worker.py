"""The worker: inbox → handlers → decisions on record → outbox → GitHub, plus scheduled polls.

It runs inside ``serve`` by default (or alone as ``python -m bot worker``). Each delivery is
claimed with a lease, so a process that dies mid-delivery leaves it for another to finish. A
handler that fails is logged with the delivery id and does not stop the other handlers; a
malformed payload is recorded as failed with its reason, and the worker moves on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import cachetools
from gidgethub import GitHubException, routing, sansio

from bot.app.jobs.config_sync import ConfigSync
from bot.app.jobs.evaluations import EvaluationJob
from bot.app.jobs.outbox import Outbox
from bot.app.metrics import Metrics
from bot.app.routers.reviews import ROUTER
from bot.core.classify import Classifier
from bot.core.events import PayloadError, ReviewComment
from bot.core.org import OrgSettings
from bot.core.playbook import Playbook
from bot.core.yamlcheck import Problem
from bot.github import GitHubApp
from bot.github.retry import RetryPolicy, backoff
from bot.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
LEASE = dt.timedelta(minutes=2)
SCHEDULER_LEASE = "scheduler"
MAX_DELIVERY_ATTEMPTS = 5
DELIVERY_BACKOFF = RetryPolicy(base_seconds=10, cap_seconds=600)


@dataclass
class PlaybookSet:
    """The playbooks in force, their classifier, and the problems of those that did not load."""

    playbooks: list[Playbook]
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.classifier = Classifier(self.playbooks)
        self._by_id = {p.id: p for p in self.playbooks}

    def get(self, playbook_id: str) -> Playbook | None:
        return self._by_id.get(playbook_id)


class Worker:
    def __init__(
        self,
        *,
        store: Store,
        github: GitHubApp,
        playbooks: PlaybookSet,
        org: OrgSettings | None = None,
        clock: Clock,
        metrics: Metrics | None = None,
        router: routing.Router = ROUTER,
        poll_every: dt.timedelta = dt.timedelta(minutes=15),
        rng: random.Random | None = None,
        name: str | None = None,
        lease: dt.timedelta = LEASE,
    ):
        self.store = store
        self.github = github
        self.playbooks = playbooks
        self.org = org or OrgSettings()
        self.clock = clock
        self.metrics = metrics or github.metrics
        self.router = router
        self.poll_every = poll_every
        self.rng = rng or random.Random()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease
        self.outbox = Outbox(self, self.rng)
        self.evaluations = EvaluationJob(self)  # the kill switch, daily
        self.touched: set[tuple[int, str, int]] = set()
        self.wake = asyncio.Event()  # set when a delivery is stored: drain now, not at the next poll
        self.idle = asyncio.Event()  # set when the loop has drained everything it was told about
        self._team_cache: cachetools.TTLCache = cachetools.TTLCache(
            maxsize=256, ttl=3600, timer=lambda: self.clock().timestamp()
        )
        self._last_poll: dt.datetime | None = None
        self.config_sync: ConfigSync | None = None  # set when playbooks come from a repository

    # deliveries --------------------------------------------------------------------------------
    async def process_one(self) -> bool:
        """Claim and process one delivery; False when the inbox has nothing due."""
        now = self.clock()
        delivery = await self.store.claim_delivery(now, self.lease, self.name)
        if delivery is None:
            return False
        try:
            data = json.loads(delivery.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            await self._fail(delivery.id, f"body is not JSON: {exc}", final=True)
            return True
        event = sansio.Event(data, event=delivery.event, delivery_id=delivery.id)
        failure: tuple[str, bool] | None = None
        for callback in self.router.fetch(event):
            try:
                await callback(event, self)
            except PayloadError as exc:
                failure = (f"malformed {delivery.event} payload: {exc}", True)
            except Exception as exc:  # one handler's bug must not stop the others
                log.exception("delivery=%s handler %s failed", delivery.id, callback.__name__)
                final = delivery.attempts >= MAX_DELIVERY_ATTEMPTS
                failure = (f"{callback.__name__} failed: {type(exc).__name__}: {exc}", final)
        if failure is None:
            await self.store.finish_delivery(delivery.id, self.clock())
            self.metrics.deliveries_processed.labels("done").inc()
            log.info("delivery=%s event=%s processed", delivery.id, delivery.event)
        else:
            reason, final = failure
            retry_at = None
            if not final:
                retry_at = self.clock() + dt.timedelta(seconds=backoff(delivery.attempts, DELIVERY_BACKOFF, self.rng))
            await self.store.fail_delivery(delivery.id, reason, self.clock(), retry_at)
            self.metrics.deliveries_processed.labels("failed" if final else "retry").inc()
            log.warning("delivery=%s event=%s %s: %s", delivery.id, delivery.event, "failed" if final else "will retry", reason)
        return True

    async def _fail(self, delivery_id: str, reason: str, *, final: bool) -> None:
        await self.store.fail_delivery(delivery_id, reason, self.clock(), None)
        self.metrics.deliveries_processed.labels("failed").inc()
        log.warning("delivery=%s failed: %s", delivery_id, reason)

    async def drain(self) -> int:
        """Process everything due, then post and poll what that touched. Returns deliveries done."""
        count = 0
        while await self.process_one():
            count += 1
        await self.after_deliveries()
        return count

    async def after_deliveries(self) -> None:
        now = self.clock()
        touched, self.touched = self.touched, set()
        await self.outbox.flush(now)
        for _installation, repo, number in sorted(touched):
            await self.outbox.poll_cosigns(now, repo=repo, pr_number=number)

    async def tick(self) -> bool:
        """The scheduled part: retry the outbox, poll co-sign requests and feedback.

        However many processes share the store, the jobs run in the one holding the
        ``scheduler`` lease (a little longer than the poll period, renewed by each tick it
        runs); the others skip them until that holder stops renewing. True when the jobs ran.
        """
        now = self.clock()
        self._last_poll = now
        if not await self.store.try_lease(SCHEDULER_LEASE, self.name, now, self.poll_every * 5 / 4):
            return False
        await self.outbox.flush(now)
        await self.outbox.poll_cosigns(now)
        await self.outbox.poll_feedback(now)
        await self.evaluations.run_if_due(now)
        stats = await self.store.inbox_stats(now)
        self.metrics.queue_depth.set(stats["depth"])
        self.metrics.queue_age.set(stats["oldest_age_seconds"])
        return True

    def notify(self) -> None:
        """A delivery was stored: wake the loop (called by the web edge after its 202)."""
        self.idle.clear()
        self.wake.set()

    async def run(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """The loop in production: drain when woken or every ``idle_seconds``; tick on schedule."""
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.drain()
                now = self.clock()
                if self._last_poll is None or now - self._last_poll >= self.poll_every:
                    await self.tick()
                if self.config_sync is not None:
                    await self.config_sync.refresh_if_due(now)
            except Exception:
                log.exception("worker loop error; continuing")
            if not self.wake.is_set():
                self.idle.set()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=idle_seconds)
            except TimeoutError:
                pass

    # teams -------------------------------------------------------------------------------------
    async def teams_for(self, comment: ReviewComment) -> dict[str, frozenset[str]]:
        """Members of the teams the org settings mention, read through the API and cached."""
        slugs = self.org.team_slugs()
        if not slugs:
            return {}
        org = comment.pull.repo.split("/", 1)[0]
        teams: dict[str, frozenset[str]] = {}
        for slug in sorted(slugs):
            key = (comment.pull.installation_id, org, slug)
            if key not in self._team_cache:
                try:
                    gh = await self.github.installation(comment.pull.installation_id)
                    members = await gh.getiter(
                        "/orgs/{org}/teams/{slug}/members?per_page=100", url_vars={"org": org, "slug": slug}
                    )
                    self._team_cache[key] = frozenset(m["login"].lower() for m in members)
                except (GitHubException, aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("team %s/%s could not be read (%s); treating it as empty for now", org, slug, exc)
                    continue
            teams[slug] = self._team_cache[key]
        return teams
