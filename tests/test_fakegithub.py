"""The fake GitHub: real HTTP against it, as the bot's client would talk to api.github.com."""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub import aiohttp as gh_aiohttp
from multidict import CIMultiDictProxy

from bot.testing.fakegithub import FakeGitHub, description

APP_ID = 31337
INSTALLATION = 9
OWNER, REPO = "acme", "shop"
PR = 7
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    return _key_pair()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(app_key, clock) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(app_id=APP_ID, public_key_pem=app_key[1], now=clock, check_answers=True)
    fake.add_installation(INSTALLATION, OWNER)
    fake.add_repo(OWNER, REPO, installation_id=INSTALLATION)
    fake.add_pull(OWNER, REPO, PR, author="alice", files=["app.py", "db.py"])
    await fake.start()
    yield fake
    await fake.close()
    assert fake.answer_violations == [], (
        "the fake answered with JSON that GitHub's description does not allow"
    )
    assert fake.violations == [], "requests that do not match GitHub's API description"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def app_jwt(private_key: str, *, iss: Any = APP_ID) -> str:
    issued = int(time.time()) - 60
    return jwt.encode(
        {"iat": issued, "exp": issued + 600, "iss": str(iss)}, private_key, algorithm="RS256"
    )


async def mint(fake: FakeGitHub, http: aiohttp.ClientSession, private_key: str) -> str:
    async with http.post(
        f"{fake.base_url}/app/installations/{INSTALLATION}/access_tokens",
        headers={
            "Authorization": f"Bearer {app_jwt(private_key)}",
            "Accept": "application/vnd.github+json",
        },
    ) as response:
        assert response.status == 201, await response.text()
        return (await response.json())["token"]


class Client:
    """Just enough of a GitHub client: base URL, token, JSON in and out."""

    def __init__(self, fake: FakeGitHub, http: aiohttp.ClientSession, token: str):
        self.fake, self.http, self.token = fake, http, token

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, CIMultiDictProxy[str], Any]:
        url = path if path.startswith("http") else self.fake.base_url + path
        sent = {"Authorization": f"token {self.token}", **(headers or {})}
        async with self.http.request(method, url, json=body, headers=sent) as response:
            text = await response.text()
            data = await response.json() if text else None
            return response.status, response.headers, data


@pytest.fixture
async def gh(fake, http, app_key) -> Client:
    return Client(fake, http, await mint(fake, http, app_key[0]))


class Receiver:
    """A tiny webhook receiver on a real socket: keeps what arrives, answers ``answers`` in turn
    (then 200)."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _receive(self, request: web.Request) -> web.Response:
        self.got.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        status = self.answers.pop(0) if self.answers else 200
        return web.json_response({"accepted": status < 300}, status=status)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhooks", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/webhooks"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    await found.start()
    yield found
    await found.stop()


def bot_comment_ids(comments: list[dict]) -> list[int]:
    return [c["id"] for c in comments if c["user"]["type"] == "Bot"]


# authentication -----------------------------------------------------------------------------------
async def test_token_is_minted_with_a_real_app_jwt_and_opens_the_repo(fake, http, app_key, clock):
    async with http.post(
        f"{fake.base_url}/app/installations/{INSTALLATION}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(app_key[0])}"},
    ) as response:
        assert response.status == 201
        minted = await response.json()
    assert re.fullmatch(r"ghs_[A-Za-z0-9]{36}", minted["token"])
    assert minted["expires_at"] == "2026-03-02T10:00:00Z"
    assert minted["repository_selection"] == "all"
    assert minted["token"] in fake.issued_tokens()

    status, _, pull = await Client(fake, http, minted["token"]).call(
        "GET", f"/repos/{OWNER}/{REPO}/pulls/{PR}"
    )
    assert status == 200
    assert (pull["number"], pull["user"]["login"], pull["changed_files"]) == (PR, "alice", 2)


async def test_forged_or_foreign_jwts_are_refused(fake, http, app_key):
    url = f"{fake.base_url}/app/installations/{INSTALLATION}/access_tokens"
    refusals = {
        "signed with another key": (
            {"Authorization": f"Bearer {app_jwt(_key_pair()[0])}"},
            "A JSON web token could not be decoded",
        ),
        "for another app": (
            {"Authorization": f"Bearer {app_jwt(app_key[0], iss=APP_ID + 1)}"},
            "'Issuer' claim",
        ),
        "sent as a token": (
            {"Authorization": f"token {app_jwt(app_key[0])}"},
            "A JSON web token could not be decoded",
        ),
        "missing": ({}, "A JSON web token could not be decoded"),
    }
    for case, (headers, message) in refusals.items():
        async with http.post(url, headers=headers) as response:
            assert response.status == 401, case
            assert (await response.json())["message"].startswith(message), case
    async with http.post(
        f"{fake.base_url}/app/installations/404/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(app_key[0])}"},
    ) as response:
        assert response.status == 404
    assert fake.issued_tokens() == []


async def test_app_endpoints_answer_to_the_jwt_only(fake, http, app_key, gh):
    bearer = {"Authorization": f"Bearer {app_jwt(app_key[0])}"}
    async with http.get(f"{fake.base_url}/app", headers=bearer) as response:
        assert response.status == 200
        assert (await response.json())["id"] == APP_ID
    async with http.get(
        f"{fake.base_url}/repos/{OWNER}/{REPO}/installation", headers=bearer
    ) as response:
        assert (await response.json())["id"] == INSTALLATION
    status, _, body = await gh.call("GET", "/app")
    assert (status, body["message"]) == (401, "A JSON web token could not be decoded")


async def test_expired_and_revoked_tokens_answer_401(fake, http, app_key, gh, clock):
    path = f"/repos/{OWNER}/{REPO}/issues/{PR}/comments"
    assert (await gh.call("GET", path))[0] == 200
    clock.advance(minutes=61)
    status, _, body = await gh.call("GET", path)
    assert (status, body["message"]) == (401, "Bad credentials")

    fresh = Client(fake, http, await mint(fake, http, app_key[0]))
    assert (await fresh.call("GET", path))[0] == 200
    fake.expire_tokens()
    assert (await fresh.call("GET", path))[0] == 401
    assert (await Client(fake, http, "ghs_made_up").call("GET", path))[0] == 401


async def test_a_repository_of_another_installation_is_not_found(fake, gh):
    fake.add_installation(10, "other")
    fake.add_repo("other", "secret", installation_id=10)
    status, _, _ = await gh.call("GET", "/repos/other/secret/issues")
    assert status == 404


# review comments and replies ----------------------------------------------------------------------
async def test_a_reply_joins_the_thread_of_its_top_level_comment(fake, gh):
    fake.add_review_comment(
        OWNER, REPO, PR, comment_id=1000, user="bob", body="Use a parameterised query here."
    )
    status, _, reply = await gh.call(
        "POST", f"/repos/{OWNER}/{REPO}/pulls/{PR}/comments/1000/replies", {"body": "A nudge"}
    )
    assert status == 201
    assert reply["user"]["login"] == "learning-nudges[bot]" and reply["user"]["type"] == "Bot"
    assert reply["in_reply_to_id"] == 1000
    assert reply["created_at"] == "2026-03-02T09:00:00Z"
    assert reply["html_url"].endswith(f"/pull/{PR}#discussion_r{reply['id']}")

    _, _, second = await gh.call(
        "POST",
        f"/repos/{OWNER}/{REPO}/pulls/{PR}/comments/{reply['id']}/replies",
        {"body": "And more"},
    )
    assert second["in_reply_to_id"] == 1000, (
        "GitHub threads a reply to a reply under the first comment"
    )

    status, _, listed = await gh.call("GET", f"/repos/{OWNER}/{REPO}/pulls/{PR}/comments")
    assert status == 200
    assert [c["id"] for c in listed] == [1000, reply["id"], second["id"]]
    assert "in_reply_to_id" not in listed[0]
    assert fake.review_comments(OWNER, REPO, PR) == listed


async def test_a_reply_to_a_comment_on_another_pull_request_is_not_found(fake, gh):
    fake.add_pull(OWNER, REPO, 8, author="carol")
    fake.add_review_comment(OWNER, REPO, 8, comment_id=2000, user="bob", body="elsewhere")
    status, _, body = await gh.call(
        "POST", f"/repos/{OWNER}/{REPO}/pulls/{PR}/comments/2000/replies", {"body": "x"}
    )
    assert (status, body["message"]) == (404, "Not Found")
    assert bot_comment_ids(fake.review_comments(OWNER, REPO, 8)) == []


async def test_review_comments_are_edited_and_deleted(fake, gh, clock):
    fake.add_review_comment(OWNER, REPO, PR, comment_id=1000, user="bob", body="first")
    _, _, reply = await gh.call(
        "POST", f"/repos/{OWNER}/{REPO}/pulls/{PR}/comments/1000/replies", {"body": "v1"}
    )
    clock.advance(minutes=5)
    status, _, edited = await gh.call(
        "PATCH", f"/repos/{OWNER}/{REPO}/pulls/comments/{reply['id']}", {"body": "v2"}
    )
    assert (status, edited["body"], edited["updated_at"]) == (200, "v2", "2026-03-02T09:05:00Z")
    assert (await gh.call("DELETE", f"/repos/{OWNER}/{REPO}/pulls/comments/{reply['id']}"))[
        0
    ] == 204
    assert (await gh.call("GET", f"/repos/{OWNER}/{REPO}/pulls/comments/{reply['id']}"))[0] == 404
    assert [c["id"] for c in fake.review_comments(OWNER, REPO, PR)] == [1000]


# strictness ----------------------------------------------------------------------------------------
async def test_an_unknown_body_field_is_refused_and_recorded(fake, gh):
    status, _, body = await gh.call(
        "POST",
        f"/repos/{OWNER}/{REPO}/issues/{PR}/comments",
        {"body": "hello", "in_reply_to": 1000},
    )
    assert status == 422
    assert "in_reply_to" in body["message"]
    assert fake.issue_comments(OWNER, REPO, PR) == [], (
        "GitHub would have posted it; the fake refuses"
    )
    [violation] = fake.violations
    assert violation.startswith(f"POST /repos/{OWNER}/{REPO}/issues/{PR}/comments: body")
    assert "'in_reply_to' was unexpected" in violation
    fake.violations.clear()


async def test_a_wrong_type_or_query_parameter_is_refused_and_recorded(fake, gh):
    assert (await gh.call("POST", f"/repos/{OWNER}/{REPO}/issues/{PR}/comments", {"body": 42}))[
        0
    ] == 422
    assert (await gh.call("GET", f"/repos/{OWNER}/{REPO}/issues/{PR}/comments?per_page=lots"))[
        0
    ] == 422
    assert (await gh.call("GET", f"/repos/{OWNER}/{REPO}/issues/{PR}/comments?perpage=100"))[
        0
    ] == 422
    assert len(fake.violations) == 3
    assert "body: body: 42 is not of type 'string'" in fake.violations[0]
    assert "parameter 'per_page'" in fake.violations[1]
    assert "unknown parameter 'perpage'" in fake.violations[2]
    fake.violations.clear()


async def test_an_unknown_path_or_method_is_404_and_recorded(fake, gh):
    status, _, body = await gh.call("GET", f"/repos/{OWNER}/{REPO}/pulls/{PR}/threads")
    assert (status, body["message"]) == (404, "Not Found")
    status, _, _ = await gh.call(
        "PUT", f"/repos/{OWNER}/{REPO}/issues/{PR}/comments", {"body": "x"}
    )
    assert status == 404
    assert [v.split(":")[0] for v in fake.violations] == [
        f"GET /repos/{OWNER}/{REPO}/pulls/{PR}/threads",
        f"PUT /repos/{OWNER}/{REPO}/issues/{PR}/comments",
    ]
    assert "the description has GET, POST" in fake.violations[1]
    assert [r.status for r in fake.requests[-2:]] == [404, 404]
    fake.violations.clear()


async def test_every_request_is_recorded(fake, gh):
    await gh.call(
        "POST",
        f"/repos/{OWNER}/{REPO}/issues/{PR}/comments?x=1",
        {"body": "hi"},
        {"X-Trace": "abc"},
    )
    last = fake.requests[-1]
    assert (last.method, last.path, last.query, last.json, last.status) == (
        "POST",
        f"/repos/{OWNER}/{REPO}/issues/{PR}/comments",
        {"x": "1"},
        {"body": "hi"},
        422,
    )
    assert last.headers["x-trace"] == "abc" and last.headers["authorization"].startswith(
        "token ghs_"
    )
    assert fake.requests[0].path.endswith("/access_tokens") and fake.requests[0].status == 201
    fake.violations.clear()


# conditional requests, rate limits, pagination ---------------------------------------------------
async def test_reactions_list_answers_304_until_someone_reacts(fake, gh):
    _, _, comment = await gh.call(
        "POST", f"/repos/{OWNER}/{REPO}/issues/{PR}/comments", {"body": "co-sign?"}
    )
    path = f"/repos/{OWNER}/{REPO}/issues/comments/{comment['id']}/reactions?per_page=100"
    status, headers, reactions = await gh.call("GET", path)
    assert (status, reactions) == (200, [])
    etag, remaining = headers["ETag"], int(headers["x-ratelimit-remaining"])
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)

    status, headers, body = await gh.call("GET", path, headers={"If-None-Match": etag})
    assert (status, body) == (304, None)
    assert int(headers["x-ratelimit-remaining"]) == remaining, "a 304 costs no rate limit"

    fake.add_reaction("issue_comment", OWNER, REPO, comment["id"], user="lead", content="+1")
    status, headers, reactions = await gh.call("GET", path, headers={"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    assert [(r["user"]["login"], r["content"]) for r in reactions] == [("lead", "+1")]
    assert int(headers["x-ratelimit-remaining"]) == remaining - 1


async def test_reacting_twice_answers_201_then_200(fake, gh):
    fake.add_review_comment(OWNER, REPO, PR, comment_id=1000, user="bob", body="x")
    path = f"/repos/{OWNER}/{REPO}/pulls/comments/1000/reactions"
    first = await gh.call("POST", path, {"content": "eyes"})
    again = await gh.call("POST", path, {"content": "eyes"})
    assert (first[0], again[0]) == (201, 200)
    assert first[2]["id"] == again[2]["id"]
    _, _, comment = await gh.call("GET", f"/repos/{OWNER}/{REPO}/pulls/comments/1000")
    assert comment["reactions"]["eyes"] == 1 and comment["reactions"]["total_count"] == 1


async def test_rate_limit_headers_count_down_per_token(fake, gh):
    _, first, _ = await gh.call("GET", f"/repos/{OWNER}/{REPO}/pulls/{PR}")
    _, second, _ = await gh.call("GET", f"/repos/{OWNER}/{REPO}/pulls/{PR}/files")
    assert first["x-ratelimit-limit"] == "5000" and first["x-ratelimit-resource"] == "core"
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    assert int(second["x-ratelimit-used"]) == int(first["x-ratelimit-used"]) + 1
    assert int(first["x-ratelimit-reset"]) == int((START + dt.timedelta(hours=1)).timestamp())
    _, _, limits = await gh.call("GET", "/rate_limit")
    assert limits["rate"]["remaining"] == int(second["x-ratelimit-remaining"])


async def test_lists_paginate_with_link_headers(fake, gh):
    for n in range(65):
        fake.add_issue_comment(OWNER, REPO, PR, user="bob", body=f"comment {n}")
    path = f"/repos/{OWNER}/{REPO}/issues/{PR}/comments"
    status, headers, page = await gh.call("GET", path)
    assert status == 200 and len(page) == 30, "GitHub's default page is 30"
    links = {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers["Link"])}
    assert set(links) == {"next", "last"}
    assert links["next"] == f"{fake.base_url}{path}?page=2" and links["last"].endswith("page=3")

    _, headers, last = await gh.call("GET", links["last"])
    assert [c["body"] for c in last] == [f"comment {n}" for n in range(60, 65)]
    assert 'rel="next"' not in headers["Link"] and 'rel="prev"' in headers["Link"]

    _, headers, everything = await gh.call("GET", path + "?per_page=500")
    assert len(everything) == 65 and "Link" not in headers, (
        "per_page is capped at 100, which covers all 65"
    )


async def test_gidgethub_follows_links_and_revalidates_with_etags(fake, http, gh):
    for n in range(45):
        fake.add_issue_comment(OWNER, REPO, PR, user="bob", body=f"c{n}")
    cache: dict = {}
    api = gh_aiohttp.GitHubAPI(
        http, "fake-test", oauth_token=gh.token, base_url=fake.base_url, cache=cache
    )
    bodies = [c["body"] async for c in api.getiter(f"/repos/{OWNER}/{REPO}/issues/{PR}/comments")]
    assert bodies == [f"c{n}" for n in range(45)]
    await api.getitem(f"/repos/{OWNER}/{REPO}/pulls/{PR}")
    await api.getitem(f"/repos/{OWNER}/{REPO}/pulls/{PR}")
    assert [r.status for r in fake.requests[-2:]] == [200, 304]


# faults -------------------------------------------------------------------------------------------
async def test_an_injected_502_answers_once_then_github_is_back(fake, gh):
    fake.add_review_comment(OWNER, REPO, PR, comment_id=1000, user="bob", body="x")
    fake.inject_fault("POST", f"/repos/{OWNER}/{REPO}/pulls/*/comments/*/replies", status=502)
    path = f"/repos/{OWNER}/{REPO}/pulls/{PR}/comments/1000/replies"
    assert (await gh.call("POST", path, {"body": "nudge"}))[0] == 502
    assert bot_comment_ids(fake.review_comments(OWNER, REPO, PR)) == [], (
        "the failed request created nothing"
    )
    assert (await gh.call("POST", path, {"body": "nudge"}))[0] == 201
    assert len(bot_comment_ids(fake.review_comments(OWNER, REPO, PR))) == 1


async def test_an_injected_secondary_rate_limit_carries_retry_after(fake, gh):
    path = f"/repos/{OWNER}/{REPO}/pulls/{PR}/comments"
    fake.inject_fault(
        "GET",
        r"^/repos/acme/shop/pulls/\d+/comments$",
        status=403,
        headers={"retry-after": "42"},
        times=2,
    )
    for _ in range(2):
        status, headers, body = await gh.call("GET", path)
        assert (status, headers["retry-after"]) == (403, "42")
        assert "secondary rate limit" in body["message"]
    status, headers, _ = await gh.call("GET", path)
    assert status == 200 and "retry-after" not in headers


# other resources ----------------------------------------------------------------------------------
async def test_issues_share_numbers_with_pull_requests(fake, gh, clock):
    status, _, issue = await gh.call(
        "POST", f"/repos/{OWNER}/{REPO}/issues", {"title": "Weekly report", "labels": ["nudges"]}
    )
    assert (status, issue["number"], issue["user"]["type"]) == (201, PR + 1, "Bot")
    assert [label["name"] for label in issue["labels"]] == ["nudges"]
    clock.advance(minutes=30)
    status, _, closed = await gh.call(
        "PATCH", f"/repos/{OWNER}/{REPO}/issues/{issue['number']}", {"state": "closed"}
    )
    assert (status, closed["state"], closed["closed_at"]) == (200, "closed", "2026-03-02T09:30:00Z")
    _, _, listed = await gh.call("GET", f"/repos/{OWNER}/{REPO}/issues?state=all")
    assert [(i["number"], "pull_request" in i) for i in listed] == [(PR + 1, False), (PR, True)]
    assert [i["number"] for i in fake.issues(OWNER, REPO)] == [PR + 1]


async def test_check_runs_keep_their_annotations(fake, gh):
    status, _, run = await gh.call(
        "POST",
        f"/repos/{OWNER}/{REPO}/check-runs",
        {"name": "nudges", "head_sha": "a" * 40, "status": "in_progress"},
    )
    assert (status, run["status"]) == (201, "in_progress")
    annotation = {
        "path": "app.py",
        "start_line": 3,
        "end_line": 3,
        "annotation_level": "notice",
        "message": "see playbook",
    }
    status, _, done = await gh.call(
        "PATCH",
        f"/repos/{OWNER}/{REPO}/check-runs/{run['id']}",
        {
            "conclusion": "neutral",
            "output": {"title": "1 nudge", "summary": "s", "annotations": [annotation]},
        },
    )
    assert (status, done["status"], done["output"]["annotations_count"]) == (200, "completed", 1)
    [stored] = fake.check_runs(OWNER, REPO)
    assert stored["output"]["annotations"] == [annotation]


async def test_contents_are_base64_files_and_directory_lists(fake, gh):
    fake.add_file(OWNER, REPO, ".github/nudges.yml", b"leads: [lead]\n")
    fake.add_file(OWNER, REPO, ".github/nudges.yml", b"leads: []\n", ref="old")
    status, _, file = await gh.call("GET", f"/repos/{OWNER}/{REPO}/contents/.github/nudges.yml")
    assert (status, file["type"], file["encoding"]) == (200, "file", "base64")
    assert base64.b64decode(file["content"]) == b"leads: [lead]\n"
    _, _, old = await gh.call("GET", f"/repos/{OWNER}/{REPO}/contents/.github/nudges.yml?ref=old")
    assert base64.b64decode(old["content"]) == b"leads: []\n"
    _, _, listing = await gh.call("GET", f"/repos/{OWNER}/{REPO}/contents/.github")
    assert [(e["name"], e["type"]) for e in listing] == [("nudges.yml", "file")]
    assert (await gh.call("GET", f"/repos/{OWNER}/{REPO}/contents/missing.txt"))[0] == 404


async def test_teams_and_org_membership(fake, gh):
    fake.add_team(OWNER, "backend-leads", ["lead", "carol"])
    _, _, members = await gh.call("GET", f"/orgs/{OWNER}/teams/backend-leads/members?per_page=100")
    assert [m["login"] for m in members] == ["lead", "carol"]
    status, _, membership = await gh.call(
        "GET", f"/orgs/{OWNER}/teams/backend-leads/memberships/carol"
    )
    assert (status, membership["state"]) == (200, "active")
    assert (await gh.call("GET", f"/orgs/{OWNER}/teams/backend-leads/memberships/alice"))[0] == 404
    assert (await gh.call("GET", f"/orgs/{OWNER}/members/lead"))[0] == 204
    assert (await gh.call("GET", f"/orgs/{OWNER}/members/alice"))[0] == 404
    assert (await gh.call("GET", f"/orgs/{OWNER}/teams/nobody/members"))[0] == 404
    _, _, user = await gh.call("GET", "/users/lead")
    assert user["login"] == "lead"


async def test_every_operation_in_the_description_answers_in_its_documented_shape(
    fake, http, app_key, gh, receiver
):
    """Each operation once, with success; the fixture checks every answer against the description."""
    fake.add_team(OWNER, "leads", ["lead"])
    fake.add_file(OWNER, REPO, "README.md", b"# shop\n")
    fake.add_review_comment(OWNER, REPO, PR, comment_id=1000, user="bob", body="x")
    fake.add_review(OWNER, REPO, PR, user="bob", body="Looks good", state="APPROVED")
    workflow_run = fake.add_workflow_run(OWNER, REPO, pull_numbers=[PR])
    fake.add_workflow_job(OWNER, REPO, workflow_run["id"], name="test", steps=[{"name": "pytest"}])
    fake.set_webhook_target(receiver.url, "s3cret")
    await fake.send_webhook("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    [delivery] = fake.deliveries()
    fake.add_manifest_code("a-code", {"name": "Nudges Staging", "url": "https://example.com"})
    app = Client(fake, http, "")
    app_calls = [
        ("GET", "/app"),
        ("GET", "/app/installations"),
        ("GET", f"/repos/{OWNER}/{REPO}/installation"),
        ("GET", "/app/hook/deliveries"),
        ("GET", f"/app/hook/deliveries/{delivery['id']}"),
        ("POST", f"/app/hook/deliveries/{delivery['id']}/attempts"),
    ]
    seen: dict[str, int] = {}
    for method, path in app_calls:
        status, _, _ = await app.call(
            method, path, headers={"Authorization": f"Bearer {app_jwt(app_key[0])}"}
        )
        seen[f"{method} {path}"] = status
    seen["POST /app-manifests/a-code/conversions"] = (
        await app.call("POST", "/app-manifests/a-code/conversions", headers={"Authorization": ""})
    )[0]
    await fake.flush_webhooks()

    base = f"/repos/{OWNER}/{REPO}"
    _, _, comment = await gh.call("POST", f"{base}/issues/{PR}/comments", {"body": "hi"})
    _, _, run = await gh.call("POST", f"{base}/check-runs", {"name": "n", "head_sha": "b" * 40})
    _, _, review_comment = await gh.call(
        "POST",
        f"{base}/pulls/{PR}/comments",
        {"body": "b", "commit_id": "c" * 40, "path": "db.py", "line": 2},
    )
    calls: list[tuple[str, str, Any]] = [
        ("GET", f"/orgs/{OWNER}/members/lead", None),
        ("GET", f"/orgs/{OWNER}/teams/leads/members", None),
        ("GET", f"/orgs/{OWNER}/teams/leads/memberships/lead", None),
        ("GET", "/rate_limit", None),
        (
            "PATCH",
            f"{base}/check-runs/{run['id']}",
            {"status": "completed", "conclusion": "success"},
        ),
        ("GET", f"{base}/code-scanning/alerts?state=open", None),
        ("GET", f"{base}/collaborators/alice/permission", None),
        ("GET", f"{base}/contents/README.md", None),
        ("GET", f"{base}/issues", None),
        ("POST", f"{base}/issues", {"title": "t"}),
        ("GET", f"{base}/issues/comments/{comment['id']}", None),
        ("PATCH", f"{base}/issues/comments/{comment['id']}", {"body": "edited"}),
        ("GET", f"{base}/issues/comments/{comment['id']}/reactions", None),
        ("POST", f"{base}/issues/comments/{comment['id']}/reactions", {"content": "heart"}),
        ("DELETE", f"{base}/issues/comments/{comment['id']}", None),
        ("PATCH", f"{base}/issues/{PR}", {"title": "Renamed"}),
        ("GET", f"{base}/issues/{PR}/comments", None),
        ("GET", f"{base}/issues/{PR}/reactions", None),
        ("GET", f"{base}/pulls/comments/{review_comment['id']}", None),
        ("PATCH", f"{base}/pulls/comments/{review_comment['id']}", {"body": "edited"}),
        ("GET", f"{base}/pulls/comments/{review_comment['id']}/reactions?content=%2B1", None),
        ("POST", f"{base}/pulls/comments/{review_comment['id']}/reactions", {"content": "+1"}),
        ("DELETE", f"{base}/pulls/comments/{review_comment['id']}", None),
        ("GET", f"{base}/pulls/{PR}", None),
        ("GET", f"{base}/pulls/{PR}/comments?sort=updated&direction=desc", None),
        ("POST", f"{base}/pulls/{PR}/comments/1000/replies", {"body": "r"}),
        ("GET", f"{base}/pulls/{PR}/files", None),
        ("GET", f"{base}/pulls/{PR}/reviews", None),
        ("GET", "/users/alice", None),
        ("GET", f"{base}/pulls?state=all", None),
        ("GET", f"{base}/pulls/comments?since=2026-01-01T00:00:00Z", None),
        ("GET", "/installation/repositories", None),
        ("GET", f"/orgs/{OWNER}/teams", None),
        ("GET", f"{base}/check-runs/{run['id']}/annotations", None),
        ("GET", f"{base}/commits/{'b' * 40}/check-runs", None),
        ("GET", f"{base}/actions/runs?event=push", None),
        ("GET", f"{base}/actions/runs/{workflow_run['id']}/jobs", None),
    ]
    for method, path, body in calls:
        seen[f"{method} {path}"] = (await gh.call(method, path, body))[0]
    assert {call: status for call, status in seen.items() if status >= 300} == {}

    served = {
        description().route(r.method, r.path).operation.operation_id
        for r in fake.requests  # type: ignore[union-attr]
    }
    assert served == {op.operation_id for op in description().operations}


async def test_a_pull_requests_files_carry_their_diffs_and_what_they_add(fake, gh):
    """Seeded diffs are served as GitHub shows them: counts from the patch, a new file "added"."""
    new_query = "@@ -0,0 +1,2 @@\n+SELECT id FROM orders\n+WHERE status = :status"
    fake.add_pull(
        OWNER,
        REPO,
        PR + 1,
        author="alice",
        files=["reports/orders.sql", "docs/reports.md"],
        patches={"reports/orders.sql": new_query},
    )
    status, _, files = await gh.call("GET", f"/repos/{OWNER}/{REPO}/pulls/{PR + 1}/files")
    assert status == 200
    sql, docs = files
    assert (sql["filename"], sql["status"], sql["patch"]) == (
        "reports/orders.sql",
        "added",
        new_query,
    )
    assert (sql["additions"], sql["deletions"], sql["changes"]) == (2, 0, 2)
    assert (docs["status"], docs["additions"], docs["deletions"]) == ("modified", 1, 1)
