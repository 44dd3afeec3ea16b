"""``python -m bot serve`` and ``python -m bot worker``: the long-running processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from bot.app.settings import Settings, SettingsError


def _logging(level: str = "INFO") -> None:
    from bot.app.logfmt import OneLineFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _settings(need_github: bool = True) -> Settings:
    try:
        return Settings.from_env(need_github=need_github)
    except SettingsError as exc:
        print(f"learning-nudges: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# serve / worker ------------------------------------------------------------------------------


async def _serve(settings: Settings) -> None:
    from aiohttp import web

    from bot.app.wiring import build_service

    async with build_service(settings) as service:
        runner = web.AppRunner(service.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "0.0.0.0", settings.port)
        await site.start()
        logging.getLogger("bot").info(
            "listening on port %d; playbooks=%d; store=%s",
            settings.port,
            len(service.config.current.playbooks.playbooks),
            settings.database_url.split(":", 1)[0],
        )
        await _until_signal()
        # Graceful: stop accepting connections, answer the requests in flight (their deliveries
        # are committed), then the worker finishes or hands back what it holds.
        await runner.cleanup()


async def _work(settings: Settings) -> None:
    from bot.app.wiring import build_service
    from bot.app.worker import stop_gracefully

    async with build_service(settings) as service:
        stop = asyncio.Event()
        task = asyncio.create_task(service.worker.run(stop))
        await _until_signal()
        stop.set()
        await stop_gracefully(service.worker, task)


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
