"""The HTTP edge: ``POST /webhooks``; ``GET /healthz``, ``/readyz`` and ``/metrics`` (:mod:`bot.app.health`).

The webhook path only verifies, stores and answers: GitHub gives a delivery ten seconds and
does not retry a failed one by itself, so no GitHub call happens before the 202. Deliveries that
arrive together are written in one transaction (a group commit), and each is answered only once
its transaction committed, so a 202 always means "stored". Nothing on this path blocks the
event loop: the store runs off it, and a large body is checked in a worker thread.

It fails closed, and cheaply. Everything that can be judged from the headers is judged before
a byte of the body is read: no ``X-Hub-Signature-256`` of the form ``sha256=<64 hex>`` (a sha1
HMAC in that header is not one) is 401; no ``Content-Length``, or one above GitHub's 25 MB, is
411 or 413; more bytes in flight than :data:`IN_FLIGHT_BYTES` is 503 (GitHub records the
failure and the missed-deliveries sweep asks for it again). The body must then arrive within
:data:`BODY_TIMEOUT_SECONDS`, and a connection must send its request headers within
:data:`HEADER_TIMEOUT_SECONDS` (aiohttp's keep-alive timer, which also runs before the first
request). A wrong signature is 401 and nothing of it is stored. A signed body that cannot be
read (not JSON, JSON nested too deep, an unknown charset) is recorded as failed with the reason
and answered 400, never 500. Only a delivery id of GitHub's form reaches a log line.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

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
HEADER_TIMEOUT_SECONDS = 15.0  # a connection that has not sent a whole request head by then
BODY_TIMEOUT_SECONDS = 20.0  # GitHub sends the body at once; a trickle is not GitHub
IN_FLIGHT_BYTES = 64 * 1024 * 1024  # bodies being read or checked at once, all requests
SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")
# GitHub's delivery ids are GUIDs; anything else in the header is not ours to print.
DELIVERY_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,99}")
EVENT_NAME = re.compile(r"[a-z][a-z_]{0,63}")


def webhook_routes(
    secret: str,
    store: Store,
    inbox: GroupCommit,
    clock: Callable[[], dt.datetime],
    metrics: Metrics,
    on_stored: Callable[[], None],
) -> web.RouteTableDef:
    if not secret:
        raise ValueError(
            "a webhook secret is required; the server does not accept unsigned webhooks"
        )
    routes = web.RouteTableDef()

    in_flight = [0]  # bytes of bodies being read or checked right now

    @routes.post("/webhooks")
    async def receive(request: web.Request) -> web.Response:
        headers = request.headers
        raw_id = headers.get("X-GitHub-Delivery", "")
        delivery_id = raw_id if DELIVERY_ID.fullmatch(raw_id) else ""
        event_name = headers.get("X-GitHub-Event", "")
        signature = headers.get("X-Hub-Signature-256", "")
        if not signature:
            return _refuse(metrics, 401, "missing X-Hub-Signature-256", delivery_id)
        if not SIGNATURE.fullmatch(signature):  # a sha1 HMAC here is not a sha256 one
            return _refuse(metrics, 401, "bad signature", delivery_id)
        length = request.content_length
        if length is None:
            return _refuse(metrics, 411, "Content-Length required", delivery_id)
        if length > MAX_BODY:
            return _refuse(metrics, 413, "body larger than 25 MB", delivery_id)
        if in_flight[0] + length > IN_FLIGHT_BYTES:
            return _refuse(metrics, 503, "too many bytes in flight; try again", delivery_id)
        in_flight[0] += length
        try:
            try:
                body = await asyncio.wait_for(
                    request.content.readexactly(length), BODY_TIMEOUT_SECONDS
                )
            except TimeoutError:
                return _refuse(metrics, 408, "body not sent in time", delivery_id)
            except asyncio.IncompleteReadError:
                return _refuse(metrics, 400, "body shorter than Content-Length", delivery_id)
            if length > CHECK_ON_LOOP_BYTES:  # hashing and parsing megabytes takes a while
                reason, body = await asyncio.to_thread(
                    _check, body, signature, secret, headers.get("Content-Type", "")
                )
            else:
                reason, body = _check(body, signature, secret, headers.get("Content-Type", ""))
        finally:
            in_flight[0] -= length
        if reason is _BAD_SIGNATURE:
            return _refuse(metrics, 401, "bad signature", delivery_id)
        if not delivery_id or not EVENT_NAME.fullmatch(event_name):
            return _refuse(
                metrics,
                400,
                "missing or malformed X-GitHub-Delivery or X-GitHub-Event",
                delivery_id,
            )
        if reason is not None:
            # Signed by GitHub (the signature is checked first) but unreadable: keep a record.
            await store.add_failed_delivery(delivery_id, event_name, reason, clock())
            metrics.deliveries_refused.labels("unreadable").inc()
            log.warning(
                "delivery=%s event=%s recorded as failed: %s", delivery_id, event_name, reason
            )
            return web.json_response({"error": reason}, status=400)
        new = await inbox.add(NewDelivery(delivery_id, event_name, body, clock()))
        if new:
            metrics.deliveries_received.labels(event_name).inc()
            on_stored()
        log.info(
            "delivery=%s event=%s %s",
            delivery_id,
            event_name,
            "stored" if new else "redelivered; already stored",
        )
        return web.json_response({"delivery": delivery_id, "stored": new}, status=202)

    return routes


_BAD_SIGNATURE = "bad signature"


def _shown(value: str) -> str:
    """A header value fit for a log line: short, and nothing that reads as another key=value."""
    return re.sub(r"[^A-Za-z0-9/_.+-]", "?", value.strip()[:60])


def _check(body: bytes, signature: str, secret: str, content_type: str) -> tuple[str | None, bytes]:
    """(None, the body as UTF-8) when it is signed and readable; otherwise (why not, b"").

    The reason is a short text of a fixed form: nothing of the body is repeated in it.
    """
    reason, text = _read(body, signature, secret, content_type)
    if reason is not None:
        return reason, b""
    return None, body if text is None else text.encode()


def _read(
    body: bytes, signature: str, secret: str, content_type: str
) -> tuple[str | None, str | None]:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode("utf-8", "surrogatepass"), expected.encode()):
        return _BAD_SIGNATURE, None
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "application/json":
        shown = _shown(media) or "(none)"
        return f"unreadable body: content-type {shown} is not application/json", None
    charset = next(
        (
            p.split("=", 1)[1].strip().strip('"')
            for p in params.split(";")
            if p.strip().lower().startswith("charset=")
        ),
        "utf-8",
    )
    try:
        codec = codecs.lookup(charset).name
        text = body.decode(codec)
    except LookupError:
        return f"unreadable body: unknown charset {_shown(charset)}", None
    except UnicodeDecodeError as error:
        return (
            f"unreadable body: not {_shown(charset)} text ({error.reason} at byte {error.start})",
            None,
        )
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return (
            f"unreadable body: not valid JSON ({error.msg}: line {error.lineno} column {error.colno})",
            None,
        )
    except RecursionError:
        return "unreadable body: JSON nested too deeply", None
    return None, None if codec == "utf-8" else text


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
    async def counted(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        with pressure.answering():  # the worker gives way meanwhile
            return await handler(request)

    # keepalive_timeout also closes a connection that sends no whole request head in time.
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[ack_timer(metrics), counted],
        handler_args={"keepalive_timeout": HEADER_TIMEOUT_SECONDS},
    )
    app[STORE] = store
    app[METRICS] = metrics
    inbox = GroupCommit(store, max_in_flight=store.write_concurrency)
    app.add_routes(webhook_routes(secret, store, inbox, clock, metrics, on_stored))
    app.add_routes(health_routes(health))  # GET /healthz, /readyz, /metrics

    async def close_inbox(_app: web.Application) -> None:
        await inbox.close()  # every delivery answered 202 is committed before the app stops

    app.on_shutdown.append(close_inbox)
    return app
