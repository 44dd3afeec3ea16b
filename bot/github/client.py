"""An installation-scoped GitHub client built on gidgethub, with the limits GitHub asks for.

gidgethub makes the app JWT and the installation token (``gidgethub.apps``) and does conditional
requests with its ``cache``; this module adds what a production app needs around it: tokens
cached until five minutes before they expire and refreshed once on a 401, retries with backoff
(:mod:`bot.core.retry`), and pacing of content-creating requests per installation (GitHub's
secondary rate limits ask for about one per second). Sleeping and time are injected.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import cachetools
from gidgethub import BadRequest, HTTPException, apps
from gidgethub import aiohttp as gh_aiohttp

from bot.core.retry import IDEMPOTENT, RetryPolicy, retry_delay

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]
DEFAULT_POLICY = RetryPolicy()
USER_AGENT = "learning-nudges"
TOKEN_MARGIN = dt.timedelta(minutes=5)
WRITE_SPACING_SECONDS = 1.0
SHARED_PACE_TRIES = 60  # waiting for other processes' writes: at most about 15 s, then go ahead
SHARED_PACE_POLL_SECONDS = 0.25
# Takes the installation's write slot for WRITE_SPACING_SECONDS across processes (a store lease).
SharedPace = Callable[[int, dt.datetime, dt.timedelta], Awaitable[bool]]
# Told of every answer (method, status or "network-error"), for the app's metrics.
OnResponse = Callable[[str, str], None]


def _ignore(_method: str, _status: str) -> None:
    return None


class _API(gh_aiohttp.GitHubAPI):
    """gidgethub's aiohttp client with our retry, pacing and metrics hooks."""

    def __init__(
        self, session: aiohttp.ClientSession, *, app: GitHubApp, pace_key: int | None, **kwargs: Any
    ):
        super().__init__(session, USER_AGENT, cache=app.etag_cache, base_url=app.base_url, **kwargs)
        self._app = app
        self._pace_key = pace_key

    async def sleep(self, seconds: float) -> None:
        await self._app.sleep(seconds)

    async def _request(self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""):
        attempt = 0
        while True:
            attempt += 1
            try:
                status, response_headers, data = await super()._request(method, url, headers, body)
            except (TimeoutError, aiohttp.ClientError) as exc:
                self._app.on_response(method, "network-error")
                wait = self._app.delay(method, None, {}, attempt)
                if wait is None:
                    raise
                log.warning(
                    "github %s %s network error %s; retrying in %.1fs",
                    method,
                    _path(url),
                    type(exc).__name__,
                    wait,
                )
                await self.sleep(wait)
                continue
            self._app.on_response(method, str(status))
            return status, response_headers, data

    async def manage_rate_limit(self, *, method: str, url: str) -> None:
        if method.upper() != "GET" and self._pace_key is not None:
            await self._app.pace(self._pace_key)

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: HTTPException, attempt: int
    ) -> bool:
        # Minting a token creates nothing visible, so it is as safe to repeat as a GET.
        kind = "PUT" if url.endswith("/access_tokens") else method
        wait = self._app.delay(kind, exception.status_code, exception.headers, attempt)
        if wait is None:
            return False
        log.warning(
            "github %s %s answered %s; retrying in %.1fs (attempt %d)",
            method,
            _path(url),
            int(exception.status_code),
            wait,
            attempt,
        )
        await self.sleep(wait)
        return True


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


class GitHubApp:
    """The app's identity: makes installation clients and owns the shared caches."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        app_id: str,
        private_key: str,
        base_url: str,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        on_response: OnResponse = _ignore,
        policy: RetryPolicy = DEFAULT_POLICY,
        rng: random.Random | None = None,
        shared_pace: SharedPace | None = None,
    ):
        self.session = session
        self.shared_pace = shared_pace
        self.app_id = app_id
        self._private_key = private_key
        self._parsed_key: Any = None
        self.base_url = base_url
        self.clock = clock
        self.sleep = sleep
        self.on_response = on_response
        self.policy = policy
        self.rng = rng or random.Random()
        self.etag_cache: cachetools.LRUCache = cachetools.LRUCache(maxsize=4096)
        self._tokens: cachetools.TLRUCache = cachetools.TLRUCache(
            maxsize=1024,
            ttu=lambda _key, token, _now: (token[1] - TOKEN_MARGIN).timestamp(),
            timer=lambda: self.clock().timestamp(),
        )
        self._last_write: dict[int, float] = {}
        self._pace_locks: dict[int, asyncio.Lock] = {}
        self.token_requests = 0

    def delay(
        self, method: str, status: int | None, headers: Mapping[str, str], attempt: int
    ) -> float | None:
        return retry_delay(
            method, status, headers, attempt, self.clock().timestamp(), self.policy, self.rng
        )

    async def pace(self, installation_id: int) -> None:
        """At most one content-creating request per second per installation.

        GitHub counts per installation, not per process: with ``shared_pace`` (a lease in the
        shared store) the processes also wait for each other's writes.
        """
        lock = self._pace_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            now = self.clock().timestamp()
            last = self._last_write.get(installation_id)
            if last is not None and now - last < WRITE_SPACING_SECONDS:
                await self.sleep(WRITE_SPACING_SECONDS - (now - last))
            if self.shared_pace is not None:
                spacing = dt.timedelta(seconds=WRITE_SPACING_SECONDS)
                for _ in range(SHARED_PACE_TRIES):
                    if await self.shared_pace(installation_id, self.clock(), spacing):
                        break
                    await self.sleep(SHARED_PACE_POLL_SECONDS)
            self._last_write[installation_id] = max(
                self.clock().timestamp(), (last or 0) + WRITE_SPACING_SECONDS
            )

    def app_client(self) -> _API:
        return _API(self.session, app=self, pace_key=None)

    def _signing_key(self) -> Any:
        """The private key, parsed once: parsing a PEM costs more than signing with it."""
        if self._parsed_key is None:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            self._parsed_key = load_pem_private_key(self._private_key.encode(), password=None)
        return self._parsed_key

    def app_jwt(self) -> str:
        """A short-lived JWT that speaks for the app itself (not for an installation)."""
        return apps.get_jwt(app_id=self.app_id, private_key=self._signing_key())

    async def token(self, installation_id: int, *, refresh: bool = False) -> str:
        """An installation token, cached until five minutes before it expires."""
        if refresh:
            self._tokens.pop(installation_id, None)
        cached = self._tokens.get(installation_id)
        if cached is not None:
            return cached[0]
        # As gidgethub.apps.get_installation_access_token does, with the key parsed once.
        response = await self.app_client().post(
            "/app/installations/{installation_id}/access_tokens",
            url_vars={"installation_id": str(installation_id)},
            data=b"",
            jwt=self.app_jwt(),
        )
        self.token_requests += 1
        expires = dt.datetime.fromisoformat(response["expires_at"].replace("Z", "+00:00"))
        self._tokens[installation_id] = (response["token"], expires)
        return response["token"]

    async def installation(self, installation_id: int) -> Installation:
        return Installation(self, installation_id)

    async def repo_installation(self, repo: str) -> int:
        """The id of the installation that can read ``owner/name`` (asked as the app itself)."""
        owner, name = repo.split("/", 1)
        jwt = self.app_jwt()
        found = await self.app_client().getitem(
            "/repos/{owner}/{repo}/installation", url_vars={"owner": owner, "repo": name}, jwt=jwt
        )
        return int(found["id"])


class Installation:
    """Calls made as one installation; a 401 (token revoked or expired early) refreshes it once."""

    def __init__(self, app: GitHubApp, installation_id: int):
        self.app = app
        self.installation_id = installation_id

    async def _call(self, verb: str, url: str, **kwargs: Any) -> Any:
        for refresh in (False, True):
            token = await self.app.token(self.installation_id, refresh=refresh)
            api = _API(
                self.app.session, app=self.app, pace_key=self.installation_id, oauth_token=token
            )
            try:
                if verb == "getiter":
                    return [item async for item in api.getiter(url, **kwargs)]
                return await getattr(api, verb)(url, **kwargs)
            except BadRequest as exc:
                if exc.status_code != 401 or refresh:
                    raise
                log.info("installation %s token refused; refreshing it once", self.installation_id)
        raise AssertionError("unreachable")

    async def getitem(self, url: str, **kwargs: Any) -> Any:
        return await self._call("getitem", url, **kwargs)

    async def getiter(self, url: str, **kwargs: Any) -> list[Any]:
        return await self._call("getiter", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self._call("post", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Any:
        return await self._call("patch", url, **kwargs)


__all__ = ["GitHubApp", "Installation", "IDEMPOTENT"]
