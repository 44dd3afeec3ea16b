"""``python -m bot serve`` and ``python -m bot worker``: the long-running processes.

Before taking any work each checks, in order: every setting (the private key parses), the store
(reachable and migrated), the playbooks (at least one loads), GitHub (it accepts the App's JWT on
``GET /app``) and, for ``serve``, the port. A failure prints one line,
``learning-nudges: cannot start: SETTING …: what to do``, and exits with status 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import sqlite3
import sys
from urllib.parse import urlsplit

from bot.app.settings import Settings, SettingsError

EXIT_CANNOT_START = 2
log = logging.getLogger("bot")


def _logging(level: str = "INFO") -> None:
    from bot.app.logfmt import configure

    configure(level)


def cannot_start(message: str) -> SystemExit:
    print(f"learning-nudges: cannot start: {message}", file=sys.stderr)
    return SystemExit(EXIT_CANNOT_START)


def _settings(need_github: bool = True) -> Settings:
    try:
        return Settings.from_env(need_github=need_github, check_key=need_github)
    except SettingsError as exc:
        raise cannot_start(str(exc)) from None


def where(database_url: str) -> str:
    """The database's address without its password, for messages."""
    if database_url.startswith("sqlite:"):
        return database_url
    parts = urlsplit(database_url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def open_checked(database_url: str):
    """The store, or a :class:`SettingsError` naming DATABASE_URL and what to do."""
    from bot.store import open_store

    try:
        return await open_store(database_url)
    except ValueError as exc:
        if "DATABASE_URL" in str(exc):
            raise SettingsError(str(exc)) from None
        raise
    except sqlite3.Error as exc:
        raise SettingsError(
            f"DATABASE_URL={database_url} cannot be opened ({exc}); check that its folder exists "
            "and is writable"
        ) from None
    except (OSError, TimeoutError) as exc:
        reason = exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else "timed out"
        raise SettingsError(
            f"DATABASE_URL={where(database_url)}: the database does not answer ({reason}); check "
            "host, port and that PostgreSQL runs"
        ) from None
    except Exception as exc:  # asyncpg's own errors: wrong password, no such database, …
        name = type(exc).__name__
        if type(exc).__module__.startswith("asyncpg"):
            raise SettingsError(
                f"DATABASE_URL={where(database_url)}: PostgreSQL refused the connection ({name}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); check user, password and database name"
            ) from None
        raise


@contextlib.asynccontextmanager
async def _checked_service(settings: Settings):
    """The built service after the start-up checks; SystemExit with one line on failure."""
    from bot.app.wiring import build_service, startup_checks

    try:
        store = await open_checked(settings.database_url)
    except SettingsError as exc:
        raise cannot_start(str(exc)) from None
    try:
        async with build_service(settings, store=store) as service:
            try:
                for warning in await startup_checks(service):
                    log.warning("%s", warning)
            except SettingsError as exc:
                raise cannot_start(str(exc)) from None
            yield service
    finally:
        await store.close()


# serve / worker ------------------------------------------------------------------------------


async def _serve(settings: Settings) -> None:
    from aiohttp import web

    async with _checked_service(settings) as service:
        runner = web.AppRunner(service.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "0.0.0.0", settings.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise cannot_start(
                    f"PORT={settings.port} is already in use by another process; stop that process "
                    "or set PORT to a free port"
                ) from None
            raise cannot_start(f"PORT={settings.port} cannot be opened ({exc.strerror})") from None
        log.info(
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
    from aiohttp import web

    from bot.app.health import health_routes
    from bot.app.worker import stop_gracefully

    async with _checked_service(settings) as service:
        runner = None
        if settings.health_port is not None and service.health is not None:
            # The worker's own health and metrics (its outbox, its GitHub calls) on a port of its own.
            health = web.Application()
            health.add_routes(health_routes(service.health))
            runner = web.AppRunner(health, access_log=None)
            await runner.setup()
            try:
                await web.TCPSite(runner, "0.0.0.0", settings.health_port).start()
            except OSError as exc:
                await runner.cleanup()
                raise cannot_start(
                    f"HEALTH_PORT={settings.health_port} cannot be opened ({exc.strerror}); "
                    "set HEALTH_PORT to a free port"
                ) from None
        log.info(
            "worker started; playbooks=%d; store=%s; health=%s",
            len(service.config.current.playbooks.playbooks),
            settings.database_url.split(":", 1)[0],
            settings.health_port or "-",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(service.worker.run(stop))
        await _until_signal()
        stop.set()
        await stop_gracefully(service.worker, task)
        if runner is not None:
            await runner.cleanup()


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def run(command: str) -> int:
    """``serve`` or ``worker``: settings, logging, the checks, then the loop until a signal."""
    settings = _settings()
    _logging(settings.log_level)
    asyncio.run(_serve(settings) if command == "serve" else _work(settings))
    return 0
