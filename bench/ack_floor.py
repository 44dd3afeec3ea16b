"""The floor for bench/ack.py: the least a webhook receiver must do before it answers 202.

    WEBHOOK_SECRET=... DATABASE_URL=sqlite:///x.db PORT=8099 python bench/ack_floor.py

A bare aiohttp app, run as its own process by bench/ack.py. ``POST /webhooks`` reads the body,
checks ``X-Hub-Signature-256`` (HMAC-SHA256 of the body with the webhook secret), stores one row
with the project's store (``bot.store.open_store`` and ``add_delivery``, the same database kind as
the server it is compared with) and answers 202. ``GET /healthz`` answers 200 once the store is
open. No routing, no parsing, no worker, no logging per request. Listens on 127.0.0.1 only and
stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.store import open_store

MAX_BODY = 25 * 1024 * 1024


async def serve(secret: bytes, database_url: str, port: int) -> None:
    store = await open_store(database_url)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", ""), expected):
            return web.json_response({"error": "bad signature"}, status=401)
        delivery = request.headers.get("X-GitHub-Delivery", "")
        event = request.headers.get("X-GitHub-Event", "")
        if not delivery or not event:
            return web.json_response(
                {"error": "missing X-GitHub-Delivery or X-GitHub-Event"}, status=400
            )
        new = await store.add_delivery(delivery, event, body, dt.datetime.now(dt.UTC))
        return web.json_response({"delivery": delivery, "stored": new}, status=202)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/webhooks", receive)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await store.close()


def main() -> int:
    secret = os.environ.get("WEBHOOK_SECRET", "")
    database_url = os.environ.get("DATABASE_URL", "")
    port = os.environ.get("PORT", "")
    if not secret or not database_url or not port.isdigit():
        print("ack_floor: set WEBHOOK_SECRET, DATABASE_URL and PORT", file=sys.stderr)
        return 2
    asyncio.run(serve(secret.encode(), database_url, int(port)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
