"""A strict, stateful stand-in for api.github.com, on a local socket.

Why strict: GitHub forgives. It ignores a misspelt body field, an unknown query parameter or a
field sent to the wrong endpoint, and answers 200 as if all went well, so such bugs survive
every test against a lenient mock and show up in production as a comment that silently lacks
what it should have. This fake checks every request against GitHub's own OpenAPI description
(:mod:`.spec`), answers a mismatch the way GitHub answers bad requests (404 for an unknown
route, 422 for a bad body or query) and keeps the reason in :attr:`FakeGitHub.violations`, which
the test-suite asserts is empty after every test.

Everything else is GitHub's behaviour as a client sees it: app JWTs and installation tokens,
per-resource state with GitHub's JSON, pagination with ``Link`` headers, rate-limit headers,
``ETag`` conditional requests that cost no rate limit, and injectable faults. GitHub's side of
webhooks too: the fake sends signed deliveries to the app's webhook URL, keeps GitHub's record
of each, and redelivers on request (:mod:`.webhooks`); apps made through the manifest flow
(:mod:`.apps`) can authenticate with the key the conversion handed out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.testing.fakegithub import spec
from bot.testing.fakegithub.actions import Actions
from bot.testing.fakegithub.auth import ANONYMOUS, AuthError, Caller, Credentials, credential
from bot.testing.fakegithub.faults import Faults
from bot.testing.fakegithub.handlers import Answer, Call, Handlers
from bot.testing.fakegithub.limits import Bucket, RateLimits
from bot.testing.fakegithub.paging import BadCursor, paginate, paginate_by_cursor
from bot.testing.fakegithub.seeding import StateAPI
from bot.testing.fakegithub.state import NotFound, Repo, Unprocessable, World
from bot.testing.fakegithub.webhooks import Webhooks

DOCS = "https://docs.github.com/rest"
API_VERSION = "2022-11-28"
APP_OPERATIONS = frozenset(
    {
        "apps/get-authenticated",
        "apps/list-installations",
        "apps/create-installation-access-token",
        "apps/get-repo-installation",
        "apps/list-webhook-deliveries",
        "apps/get-webhook-delivery",
        "apps/redeliver-webhook-delivery",
    }
)
OPEN_OPERATIONS = frozenset({"rate-limit/get", "users/get-by-username"})
# The manifest conversion needs no credential: the one-time code is the proof.
UNAUTHENTICATED_OPERATIONS = frozenset({"apps/create-from-manifest"})
UNMETERED_OPERATIONS = frozenset({"rate-limit/get"})  # GitHub does not count /rate_limit


@dataclass
class RecordedRequest:
    """One request as the fake received it, and the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int  # the status answered; 0 when the connection was dropped instead


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _error(status: int, message: str, **extra: Any) -> Answer:
    return Answer(
        status, {"message": message, **extra, "documentation_url": DOCS, "status": str(status)}
    )


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in candidates or "*" in candidates


class FakeGitHub(StateAPI):
    """GitHub's REST API for one app, checked against GitHub's description. See the module doc.

    ``now`` is GitHub's clock: timestamps, token expiry and rate-limit windows follow it. What
    a test does besides calling the API (seeding, faults, webhooks) is in :mod:`.seeding`.
    """

    def __init__(
        self,
        *,
        app_id: int,
        public_key_pem: bytes | str,
        now: Callable[[], dt.datetime] = _utc_now,
        bot_login: str = "learning-nudges[bot]",
        check_answers: bool = False,
    ):
        self.app_id = app_id
        self.bot_login = bot_login
        self._now = now
        self._description = spec.description()
        self._world = World(app_id=app_id, bot_login=bot_login, now=now)
        self._credentials = Credentials(app_id=app_id, public_key_pem=public_key_pem, now=now)
        self._webhooks = Webhooks(now=now)
        self._actions = Actions(self._world, now)
        self._handlers = Handlers(
            self._world, self._credentials, self._webhooks, self._actions, now
        ).table
        self._limits = RateLimits(now)
        self._faults = Faults()
        self._check_answers = check_answers
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self.violations: list[str] = []
        # With check_answers=True, the fake's own answers are checked too (its tests do this).
        self.answer_violations: list[str] = []
        self.requests: list[RecordedRequest] = []
        # Writes GitHub received but completes later (inject_late_write): (due, request, raw).
        self._late: list[tuple[dt.datetime, web.Request, spec.Route, bytes, str]] = []
        self.app = web.Application(client_max_size=32 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    # running --------------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a real socket; returns the base URL, e.g. ``http://127.0.0.1:54321``."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._base_url = f"http://{shown}:{bound_port}"
        return self._base_url

    async def close(self) -> None:
        await self._webhooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeGitHub.start() has not been awaited yet")
        return self._base_url

    # the request pipeline -----------------------------------------------------------------------
    def complete_late_writes(self, *, all_of_them: bool = False) -> int:
        """Do the late writes whose time has come (or all); returns how many were done."""
        now = self._now()
        due = [w for w in self._late if all_of_them or w[0] <= now]
        self._late = [w for w in self._late if w not in due]
        for _at, request, route, raw, rate_key in due:
            if self._off_description(request, route, raw) is None:
                self._serve(request, route, raw, rate_key)
        return len(due)

    @property
    def late_writes_pending(self) -> int:
        return len(self._late)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.complete_late_writes()
        route = self._description.route(request.method, request.path)
        rate_key = self._rate_key(request)
        fault = None
        if not isinstance(route, spec.NoRoute):
            fault = self._faults.take_slow(request.method, request.path)
        if fault is not None:
            await asyncio.sleep(fault.delay)
            if fault.late is not None and isinstance(route, spec.Route):
                due = self._now() + dt.timedelta(seconds=fault.late)
                self._late.append((due, request, route, raw, rate_key))
            if fault.drop:
                self._record(request, raw, 0)
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=502)  # never reaches the client
        answer, from_fault = self._answer(request, route, raw, rate_key)
        response = self._respond(request, route, answer, rate_key, from_fault)
        self._record(request, raw, response.status)
        return response

    def _record(self, request: web.Request, raw: bytes, status: int) -> None:
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query.items()),
                headers={k.lower(): v for k, v in request.headers.items()},
                json=_parse_json(raw),
                status=status,
            )
        )

    def _answer(
        self, request: web.Request, route: spec.Route | spec.NoRoute, raw: bytes, rate_key: str
    ) -> tuple[Answer, bool]:
        """The answer, and whether it is an injected fault."""
        if isinstance(route, spec.NoRoute):
            self._violation(request, [route.reason])
            return _error(404, "Not Found"), False
        refusal = self._off_description(request, route, raw)
        if refusal is not None:
            return refusal, False
        fault = self._faults.take(request.method, request.path)
        if fault is not None:
            return Answer(fault.status, fault.body, fault.headers), True
        return self._serve(request, route, raw, rate_key), False

    def _off_description(
        self, request: web.Request, route: spec.Route, raw: bytes
    ) -> Answer | None:
        """GitHub's answer to a request the description does not allow; the violation is kept."""
        content_type = request.headers.get("Content-Type", "")
        problems = self._description.request_problems(
            route, request.path, request.query.items(), content_type, raw
        )
        if not problems:
            return None
        self._violation(request, [str(p) for p in problems])
        if any(p.where == "path" for p in problems):
            return _error(404, "Not Found")  # GitHub's router would not have matched it
        return _error(422, "Invalid request.\n\n" + "\n".join(str(p) for p in problems))

    def _serve(self, request: web.Request, route: spec.Route, raw: bytes, rate_key: str) -> Answer:
        bucket = self._limits.bucket(rate_key)
        if bucket.remaining == 0 and route.operation.operation_id not in UNMETERED_OPERATIONS:
            return _error(403, "API rate limit exceeded. Wait for the time in x-ratelimit-reset.")
        try:
            call = self._authorize(request, route, _parse_json(raw), bucket)
            answer = self._handlers[route.operation.operation_id](call)
        except AuthError as refused:
            return _error(401, refused.message)
        except NotFound:
            return _error(404, "Not Found")
        except Unprocessable as invalid:
            extra = {"errors": invalid.errors} if invalid.errors else {}
            return _error(422, invalid.message, **extra)
        if route.operation.paginated and answer.status == 200:
            try:
                self._paginate(request, route.operation, answer)
            except BadCursor:
                return _error(400, "Bad Request")
        return answer

    @staticmethod
    def _paginate(request: web.Request, operation: spec.Operation, answer: Answer) -> None:
        """The page asked for, in place; the Link header GitHub would send with it."""
        url = str(request.url.with_query(None))
        if operation.list_key is not None and isinstance(answer.body, dict):
            # {"total_count": n, "<items>": [...]}: the array is paged, total_count stays
            key = operation.list_key
            answer.body[key], link = paginate(answer.body[key], request.query, url)
        elif operation.cursor_paged and isinstance(answer.body, list):
            ids = [item["id"] for item in answer.body]
            answer.body, link = paginate_by_cursor(answer.body, ids, request.query, url)
        elif isinstance(answer.body, list):
            answer.body, link = paginate(answer.body, request.query, url)
        else:
            return
        if link:
            answer.headers["Link"] = link

    def _authorize(
        self, request: web.Request, route: spec.Route, body: Any, bucket: Bucket
    ) -> Call:
        operation_id = route.operation.operation_id
        authorization = request.headers.get("Authorization")
        caller: Caller
        if operation_id in UNAUTHENTICATED_OPERATIONS:
            caller = ANONYMOUS
        elif operation_id in APP_OPERATIONS:
            caller = self._credentials.app(authorization)
        elif operation_id in OPEN_OPERATIONS and not authorization:
            caller = ANONYMOUS
        else:
            caller = self._credentials.installation(authorization)
        call = Call(route.path_params, request.query, body, caller, bucket)
        params = route.path_params
        if "owner" in params and "repo" in params:
            call.repo = self._world.repo(params["owner"], params["repo"])
            if caller.kind == "installation" and not self._can_see(caller, call.repo):
                raise NotFound  # GitHub does not reveal repositories an installation cannot see
        if "org" in params and caller.kind == "installation":
            account = self._world.installation(caller.installation_id or 0).account
            if account.lower() != params["org"].lower():
                raise NotFound
        return call

    @staticmethod
    def _can_see(caller: Caller, repo: Repo) -> bool:
        if repo.installation_id != caller.installation_id:
            return False
        return caller.repository_ids is None or repo.id in caller.repository_ids

    def _respond(
        self,
        request: web.Request,
        route: spec.Route | spec.NoRoute,
        answer: Answer,
        rate_key: str,
        from_fault: bool,
    ) -> web.Response:
        body = (
            b"" if answer.body is None else json.dumps(answer.body, separators=(",", ":")).encode()
        )
        headers = {
            "X-GitHub-Api-Version-Selected": API_VERSION,
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
        }
        if body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        metered = not (
            isinstance(route, spec.Route) and route.operation.operation_id in UNMETERED_OPERATIONS
        )
        if request.method == "GET" and answer.status == 200:
            headers["ETag"] = _etag(body)
            headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
            headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
            if _etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
                headers.pop("Content-Type", None)
                headers.update(self._limits.bucket(rate_key).headers())  # a 304 costs nothing
                return web.Response(status=304, headers=headers)
        bucket = self._limits.spend(rate_key) if metered else self._limits.bucket(rate_key)
        headers.update(bucket.headers())
        headers.update(answer.headers)
        if (
            self._check_answers
            and isinstance(route, spec.Route)
            and not from_fault
            and 200 <= answer.status < 300
        ):
            for problem in self._description.response_problems(route, answer.status, headers, body):
                self.answer_violations.append(
                    f"{request.method} {request.path} answered {answer.status}: {problem}"
                )
        return web.Response(status=answer.status, body=body or None, headers=headers)

    def _rate_key(self, request: web.Request) -> str:
        found = credential(request.headers.get("Authorization"))
        if found is None:
            return f"anonymous:{request.remote}"
        return "app" if found[1].count(".") == 2 else found[1]

    def _violation(self, request: web.Request, reasons: list[str]) -> None:
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        self.violations.append(f"{request.method} {target}: " + "; ".join(reasons))
