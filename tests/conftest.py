"""Shared test harness: a real server, real HTTP, a strict fake GitHub and a manual clock."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app.settings import PACKAGE_ROOT, Settings
from bot.app.wiring import Service, build_service
from bot.core.org import OrgSettings
from bot.testing.clock import ManualClock
from bot.testing.fakegithub import FakeGitHub, app_keypair

ROOT = PACKAGE_ROOT
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github-webhooks"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
SECRET = "test-webhook-secret"
APP_ID = 4242
INSTALLATION = 77
OWNER, REPO = "acme", "shop"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def fixture_payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def rsa_key() -> tuple[str, str]:
    return app_keypair()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def github(clock: ManualClock, rsa_key) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(app_id=APP_ID, public_key_pem=rsa_key[1], now=clock)
    fake.add_installation(INSTALLATION, OWNER)
    fake.add_repo(OWNER, REPO, installation_id=INSTALLATION)
    await fake.start()
    yield fake
    await fake.close()
    assert fake.violations == [], "requests that do not match GitHub's API description"


def make_settings(tmp_path: Path, github: FakeGitHub, rsa_key, **overrides: Any) -> Settings:
    values = dict(
        webhook_secret=SECRET,
        app_id=str(APP_ID),
        private_key=rsa_key[0],
        github_api_url=github.base_url,
        database_url=f"sqlite:///{tmp_path / 'nudges.db'}",
        playbooks_dir=ROOT / "playbooks",
        run_worker=False,
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class Bot:
    """The running app as GitHub sees it, plus handles to its worker and store."""

    service: Service
    client: TestClient
    github: FakeGitHub
    clock: ManualClock
    ids = itertools.count(1000)

    @property
    def worker(self):
        return self.service.worker

    @property
    def playbooks(self):
        return self.service.config.current.playbooks

    @contextlib.asynccontextmanager
    async def another_process(
        self, name: str, *, org: OrgSettings | None = None
    ) -> AsyncIterator[Service]:
        """A second process of the same deployment: its own jobs and worker, the same store."""
        async with build_service(
            self.service.settings,
            clock=self.clock,
            sleep=self.clock.sleep,
            store=self.store,
            name=name,
        ) as other:
            if org is not None:
                other.config.replace(org=org)
            yield other

    @property
    def store(self):
        return self.service.store

    async def deliver(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery_id: str | None = None,
        secret: str | None = SECRET,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "content-type": "application/json",
            "x-github-event": event,
            "x-github-delivery": delivery_id or str(uuid.uuid4()),
            "user-agent": "GitHub-Hookshot/test",
        }
        if signature is not None:
            sent["x-hub-signature-256"] = signature
        elif secret is not None:
            sent["x-hub-signature-256"] = (
                "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            )
        sent.update(headers or {})
        return await self.client.post("/webhooks", data=body, headers=sent)

    # payloads built from GitHub's published examples ----------------------------------------
    def pull(self, number: int, author: str, *, author_type: str = "User") -> None:
        if not any(p == number for p in getattr(self, "_pulls", set())):
            self.github.add_pull(OWNER, REPO, number, author=author, author_type=author_type)
            self._pulls = getattr(self, "_pulls", set()) | {number}

    def review_comment(
        self,
        *,
        pr: int,
        author: str,
        reviewer: str,
        body: str,
        reviewer_type: str = "User",
        comment_id: int | None = None,
        in_reply_to: int | None = None,
        diff_hunk: str | None = None,
    ) -> dict[str, Any]:
        """A pull_request_review_comment.created payload, and the comment in the fake's state."""
        self.pull(pr, author)
        comment_id = comment_id or next(self.ids)
        self.github.add_review_comment(
            OWNER,
            REPO,
            pr,
            comment_id=comment_id,
            user=reviewer,
            body=body,
            user_type=reviewer_type,
            in_reply_to_id=in_reply_to,
            diff_hunk=diff_hunk,
        )
        payload = copy.deepcopy(fixture_payload("pull_request_review_comment.created"))
        _retarget(payload, pr, author)
        comment = payload["comment"]
        comment.update(
            id=comment_id,
            body=body,
            created_at=_iso(self.clock()),
            updated_at=_iso(self.clock()),
            pull_request_review_id=comment_id + 1,
        )
        if diff_hunk is not None:
            comment["diff_hunk"] = diff_hunk
        comment["user"] = {**comment["user"], "login": reviewer, "type": reviewer_type}
        if in_reply_to:
            comment["in_reply_to_id"] = in_reply_to
        else:
            comment.pop("in_reply_to_id", None)
        payload["sender"] = {**payload["sender"], "login": reviewer, "type": reviewer_type}
        return payload

    def review(self, *, pr: int, author: str, reviewer: str, body: str | None) -> dict[str, Any]:
        self.pull(pr, author)
        payload = copy.deepcopy(fixture_payload("pull_request_review.submitted"))
        _retarget(payload, pr, author)
        review = payload["review"]
        review.update(id=next(self.ids), body=body, submitted_at=_iso(self.clock()))
        review["user"] = {**review["user"], "login": reviewer, "type": "User"}
        return payload


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _retarget(payload: dict[str, Any], pr: int, author: str) -> None:
    payload["installation"] = {
        "id": INSTALLATION,
        "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=",
    }
    payload["repository"].update(full_name=f"{OWNER}/{REPO}", name=REPO)
    payload["repository"]["owner"] = {**payload["repository"]["owner"], "login": OWNER}
    payload["pull_request"].update(number=pr)
    payload["pull_request"]["user"] = {
        **payload["pull_request"]["user"],
        "login": author,
        "type": "User",
    }


@pytest.fixture
async def bot(tmp_path, github, clock, rsa_key) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, github, clock, rsa_key) as b:
        yield b


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path,
    github,
    clock,
    rsa_key,
    *,
    org: OrgSettings | None = None,
    name: str | None = None,
    **overrides,
):
    settings = make_settings(tmp_path, github, rsa_key, **overrides)
    async with build_service(settings, clock=clock, sleep=clock.sleep, name=name) as service:
        if org is not None:
            service.config.replace(org=org)
        server = TestServer(service.app)
        client = TestClient(server)
        await client.start_server()
        try:
            yield Bot(service, client, github, clock)
        finally:
            await client.close()
