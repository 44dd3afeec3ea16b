"""The missed-deliveries sweep: ask GitHub again for the events that never reached the inbox.

GitHub does not retry a failed webhook delivery by itself, so while this app is down, or
answers 5xx, or GitHub cannot reach it, those events exist only in GitHub's delivery log. On
every scheduler tick this job reads that log as the app (``GET /app/hook/deliveries`` with the
app's JWT, newest first, by cursor, back to :data:`bot.core.redelivery.LOOKBACK`), and asks for
a redelivery (``POST /app/hook/deliveries/{id}/attempts``) of each event the core's
:func:`~bot.core.redelivery.to_redeliver` picks: none of its attempts reached us and its guid is
not in the inbox. A redelivery carries the original ``X-GitHub-Delivery``, so the inbox keeps
it once however often it arrives; an outage of hours loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.app.jobs.outbox import GITHUB_ERRORS, describe
from bot.core.redelivery import LOOKBACK, HookDelivery, to_redeliver
from bot.github import GitHubApp
from bot.store import Store

log = logging.getLogger(__name__)

PER_PAGE = 100
# Redeliveries asked for in one sweep at most (GitHub sends each one as a new delivery).
MAX_PER_SWEEP = 500


class RedeliverySweep:
    def __init__(self, *, store: Store, github: GitHubApp, lookback: dt.timedelta = LOOKBACK):
        self.store = store
        self.github = github
        self.lookback = lookback
        self.asked = 0  # redeliveries requested by this process, for the drills and metrics

    async def run(self, now: dt.datetime) -> int:
        """One sweep; returns how many redeliveries were asked for. GitHub errors end it quietly."""
        try:
            attempts = await self._recent(now)
            stored = await self.store.known_deliveries(sorted({a.guid for a in attempts}))
            chosen = to_redeliver(attempts, stored, now, lookback=self.lookback)[:MAX_PER_SWEEP]
            api, jwt = self.github.app_client(), self.github.app_jwt()
            for attempt in chosen:
                await api.post(
                    "/app/hook/deliveries/{delivery_id}/attempts",
                    url_vars={"delivery_id": str(attempt.id)},
                    data=b"",
                    jwt=jwt,
                )
                self.asked += 1
                log.info("redelivery asked for guid=%s (attempt %d)", attempt.guid, attempt.id)
        except GITHUB_ERRORS as exc:
            log.warning("missed-deliveries sweep stopped: %s", describe(exc))
            return 0
        if chosen:
            log.info(
                "missed-deliveries sweep: %d redelivered of %d listed", len(chosen), len(attempts)
            )
        return len(chosen)

    async def _recent(self, now: dt.datetime) -> list[HookDelivery]:
        """GitHub's delivery log back to the lookback (newest first, one cursor page at a time)."""
        found: list[HookDelivery] = []
        api, jwt = self.github.app_client(), self.github.app_jwt()
        async for item in api.getiter(f"/app/hook/deliveries?per_page={PER_PAGE}", jwt=jwt):
            attempt = HookDelivery.from_json(item)
            if now - attempt.delivered_at > self.lookback:
                break  # newest first: everything after this is older still
            found.append(attempt)
        return found
