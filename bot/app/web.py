"""The HTTP edge: ``POST /webhooks``; ``GET /healthz``, ``/readyz`` and ``/metrics`` (:mod:`bot.app.health`).

The webhook path only verifies, stores and answers: GitHub gives a delivery ten seconds and
does not retry a failed one by itself, so no GitHub call happens before the 202. Deliveries that
arrive together are written in one transaction (a group commit), and each is answered only once
its transaction committed, so a 202 always means "stored". Nothing on this path blocks the
event loop: the store runs off it, and a large body is checked in a worker thread. It fails closed:
a delivery without ``X-Hub-Signature-256`` (the legacy sha1 one alone is not enough) or with a
wrong one gets 401 and nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from gidgethub import BadRequest, ValidationFailure, sansio

from bot.app.health import Health, ack_timer, health_routes
from bot.app.metrics import Metrics
from bot.app.pressure import AckPressure
from bot.store import Store
from bot.store.base import NewDelivery
from bot.store.group_commit import GroupCommit

log = logging.getLogger(__name__)

STORE = web.AppKey("store", Store)
METRICS = web.AppKey("metrics", Metrics)
MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
CHECK_ON_LOOP_BYTES = 256 * 1024


def webhook_routes(
    secret: str,
    store: Store,
    inbox: GroupCommit,
    clock: Callable[[], dt.datetime],
    metrics: Metrics,
    on_stored: Callable[[], None],
) -> web.RouteTableDef:
    if not secret:
        raise ValueError("a webhook secret is required; the server does not accept unsigned webhooks")
    routes = web.RouteTableDef()

    @routes.post("/webhooks")
    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers.pop("x-hub-signature", None)  # never fall back to sha1
        delivery_id = headers.get("x-github-delivery", "")
        event_name = headers.get("x-github-event", "")
        if "x-hub-signature-256" not in headers:
            return _refuse(metrics, 401, "missing X-Hub-Signature-256", delivery_id)
        if not delivery_id or not event_name:
            # Checked after the signature header exists but before we trust anything else.
            try:
                sansio.validate_event(body, signature=headers["x-hub-signature-256"], secret=secret)
            except ValidationFailure:
                return _refuse(metrics, 401, "bad signature", delivery_id)
            return _refuse(metrics, 400, "missing X-GitHub-Delivery or X-GitHub-Event", delivery_id)
        try:
            if len(body) > CHECK_ON_LOOP_BYTES:  # parsing megabytes of JSON takes a while
                await asyncio.to_thread(sansio.Event.from_http, headers, body, secret=secret)
            else:
                sansio.Event.from_http(headers, body, secret=secret)
        except ValidationFailure:
            return _refuse(metrics, 401, "bad signature", delivery_id)
        except BadRequest as exc:
            # Signed by GitHub (the signature is checked first) but unreadable: keep a record.
            reason = _unreadable(headers.get("content-type", ""), body, exc)
            await store.add_failed_delivery(delivery_id, event_name, reason, clock())
            metrics.deliveries_refused.labels("unreadable").inc()
            log.warning("delivery=%s event=%s recorded as failed: %s", delivery_id, event_name, reason)
            return web.json_response({"error": reason}, status=400)
        new = await inbox.add(NewDelivery(delivery_id, event_name, body, clock()))
        if new:
            metrics.deliveries_received.labels(event_name).inc()
            on_stored()
        log.info("delivery=%s event=%s %s", delivery_id, event_name, "stored" if new else "redelivered; already stored")
        return web.json_response({"delivery": delivery_id, "stored": new}, status=202)

    return routes


def _unreadable(content_type: str, body: bytes, exc: Exception) -> str:
    """Say precisely why a signed body cannot be read (gidgethub reports every case as 415)."""
    if "json" not in content_type:
        return f"unreadable body: content-type {content_type or '(none)'} is not application/json"
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"unreadable body: not valid JSON ({error})"
    return f"unreadable body: {exc}"


def _refuse(metrics: Metrics, status: int, reason: str, delivery_id: str) -> web.Response:
    metrics.deliveries_refused.labels(reason).inc()
    log.warning("delivery=%s refused (%d): %s", delivery_id or "-", status, reason)
    return web.json_response({"error": reason}, status=status)


def create_app(
    *,
    secret: str,
    store: Store,
    clock: Callable[[], dt.datetime],
    metrics: Metrics | None = None,
    on_stored: Callable[[], None] = lambda: None,
    pressure: AckPressure | None = None,
    health: Health | None = None,
) -> web.Application:
    """Build the web app; nothing runs at import, everything is passed in."""
    metrics = metrics or Metrics()
    health = health or Health(store=store, clock=clock, metrics=metrics)
    pressure = pressure or AckPressure()

    @web.middleware
    async def counted(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        with pressure.answering():  # the worker gives way meanwhile
            return await handler(request)

    app = web.Application(client_max_size=MAX_BODY, middlewares=[ack_timer(metrics), counted])
    app[STORE] = store
    app[METRICS] = metrics
    inbox = GroupCommit(store)
    app.add_routes(webhook_routes(secret, store, inbox, clock, metrics, on_stored))
    app.add_routes(health_routes(health))  # GET /healthz, /readyz, /metrics

    async def close_inbox(_app: web.Application) -> None:
        await inbox.close()  # every delivery answered 202 is committed before the app stops

    app.on_shutdown.append(close_inbox)
    return app
