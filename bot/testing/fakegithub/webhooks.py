"""Webhook deliveries: the fake sends events to an app's webhook URL the way GitHub does.

Each delivery is a signed POST (``X-Hub-Signature-256`` and the legacy ``X-Hub-Signature``
over the exact body, with the app's webhook secret) carrying GitHub's delivery headers, and is
recorded with the fields of ``GET /app/hook/deliveries``. GitHub never retries a failed delivery
by itself (the app down, a 5xx answer, a refused connection): the record says it failed and
that is all, until someone asks for a redelivery (``POST .../attempts``), which sends the same
``X-GitHub-Delivery`` guid, event and payload again as a new record with ``redelivery: true``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.testing.fakegithub.shapes import iso
from bot.testing.fakegithub.state import NotFound

TIMEOUT_SECONDS = 10  # GitHub gives up on a webhook receiver after ten seconds
USER_AGENT = "GitHub-Hookshot/fake"
FIRST_DELIVERY_ID = 90_000_000_001


@dataclass(frozen=True)
class Target:
    url: str
    secret: str | None
    hook_id: int


@dataclass
class Delivery:
    """One attempt to deliver one event, as GitHub records it."""

    id: int
    guid: str
    app_id: int
    event: str
    payload: dict[str, Any]
    delivered_at: str
    redelivery: bool
    url: str
    request_headers: dict[str, str]
    duration: float = 0.0
    status: str = "pending"
    status_code: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    def _id_of(self, key: str) -> int | None:
        found = self.payload.get(key)
        return found.get("id") if isinstance(found, dict) else None

    def item_json(self) -> dict[str, Any]:
        """A ``hook-delivery-item``, as listed."""
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": self.delivered_at,
            "redelivery": self.redelivery,
            "duration": self.duration,
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": self._id_of("installation"),
            "repository_id": self._id_of("repository"),
            "throttled_at": None,
        }

    def json(self) -> dict[str, Any]:
        """A ``hook-delivery``: the item plus the request sent and the response received."""
        return {
            **self.item_json(),
            "url": self.url,
            "request": {"headers": dict(self.request_headers), "payload": self.payload},
            "response": {"headers": dict(self.response_headers), "payload": self.response_body},
        }


class Webhooks:
    """Per app: where its webhooks go, and every delivery made (kept oldest first)."""

    def __init__(self, *, now: Callable[[], dt.datetime]):
        self._now = now
        self._targets: dict[int, Target] = {}
        self._deliveries: list[Delivery] = []
        self._ids = itertools.count(FIRST_DELIVERY_ID)
        self._hook_ids = itertools.count(500_001)
        self._pending: set[asyncio.Task[Delivery]] = set()
        self._session: aiohttp.ClientSession | None = None

    def set_target(self, app_id: int, url: str, secret: str | None) -> None:
        hook_id = self._targets[app_id].hook_id if app_id in self._targets else next(self._hook_ids)
        self._targets[app_id] = Target(url, secret, hook_id)

    def target(self, app_id: int) -> Target | None:
        return self._targets.get(app_id)

    # sending ------------------------------------------------------------------------------------
    async def send(
        self,
        app_id: int,
        event: str,
        payload: dict[str, Any],
        *,
        guid: str | None = None,
        redelivery: bool = False,
    ) -> Delivery:
        """Deliver once and record the outcome; a failure is recorded, never raised or retried."""
        target = self._targets.get(app_id)
        if target is None:
            raise LookupError(f"app {app_id} has no webhook URL; set_webhook_target first")
        body = json.dumps(payload, separators=(",", ":")).encode()
        guid = guid or str(uuid.uuid4())
        headers = {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Event": event,
            "X-GitHub-Hook-ID": str(target.hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
        }
        if target.secret:
            key = target.secret.encode()
            headers["X-Hub-Signature"] = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature-256"] = (
                "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            )
        delivery = Delivery(
            id=next(self._ids),
            guid=guid,
            app_id=app_id,
            event=event,
            payload=json.loads(body),
            delivered_at=iso(self._now()),
            redelivery=redelivery,
            url=target.url,
            request_headers=headers,
        )
        self._deliveries.append(delivery)
        started = time.monotonic()
        try:
            async with self._client().post(target.url, data=body, headers=headers) as response:
                delivery.response_body = await response.text()
                delivery.response_headers = dict(response.headers)
                delivery.status_code = response.status
                ok = 200 <= response.status < 300
                delivery.status = "OK" if ok else f"Invalid HTTP Response: {response.status}"
        except TimeoutError:
            delivery.status = "timed out"
        except aiohttp.ClientError:
            delivery.status = "failed to connect to host"
        delivery.duration = round(time.monotonic() - started, 2)
        return delivery

    def redeliver(self, app_id: int, delivery_id: int) -> None:
        """Send a recorded delivery again, in the background (GitHub answers 202 first)."""
        original = self.delivery(app_id, delivery_id)
        if original.app_id not in self._targets:
            raise NotFound
        task = asyncio.get_running_loop().create_task(
            self.send(app_id, original.event, original.payload, guid=original.guid, redelivery=True)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        """Wait until every redelivery asked for so far has been made."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
            )
        return self._session

    async def close(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*list(self._pending), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # reading ------------------------------------------------------------------------------------
    def deliveries_of(self, app_id: int, status: str | None = None) -> list[Delivery]:
        """Newest first; ``status`` is the API's filter: success (2xx-3xx) or failure."""
        found = [d for d in reversed(self._deliveries) if d.app_id == app_id]
        if status == "success":
            found = [d for d in found if 200 <= d.status_code < 400]
        elif status == "failure":
            found = [d for d in found if not 200 <= d.status_code < 400]
        return found

    def delivery(self, app_id: int, delivery_id: int) -> Delivery:
        for found in self._deliveries:
            if found.id == delivery_id and found.app_id == app_id:
                return found
        raise NotFound
