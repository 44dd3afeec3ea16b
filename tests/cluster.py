"""Several real ``python -m bot serve`` processes on one PostgreSQL schema, and a fake GitHub.

Used by tests/test_multiprocess.py and bench/two_processes.py. The fake runs in the calling
process on a real port with the real clock; the servers are subprocesses that know it only by
``GITHUB_API_URL``, as they would know api.github.com. Review traffic comes from many engineers
in several organisations, with the labelled review comments of tests/data as bodies, so some
match playbooks and nudges get posted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from bot.core.nudges import NudgeState
from bot.store.postgres import PostgresStore, quote_ident
from bot.testing.fakegithub import FakeGitHub, app_keypair

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "github-webhooks"
DATA = ROOT / "tests" / "data" / "comments-tuning.jsonl"
SECRET = "cluster-webhook-secret"
APP_ID = 5151
MARKER = re.compile(r"<!-- learning-nudge:([0-9a-f]{16}):[0-9a-f]{32} -->")
WAITING = (NudgeState.PLANNED, NudgeState.COSIGNED)


def new_key() -> tuple[str, str]:
    return app_keypair()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Delivery:
    id: str
    event: str
    body: bytes


@dataclass
class Traffic:
    """Signed-webhook material: each delivery once, in the order GitHub would send them."""

    deliveries: list[Delivery]
    orgs: list[str]
    repo: str = "app"


def review_traffic(
    fake: FakeGitHub, count: int, *, orgs: int = 4, engineers: int = 24, seed: int = 7
) -> Traffic:
    """``count`` review-comment deliveries, with the pull requests and comments seeded in the fake."""
    rng = random.Random(seed)
    texts = [json.loads(line)["text"] for line in DATA.read_text().splitlines() if line.strip()]
    template = json.loads((FIXTURES / "pull_request_review_comment.created.json").read_text())
    names = [f"org{i}" for i in range(orgs)]
    people = [f"dev{i:03d}" for i in range(engineers)]
    pulls: dict[tuple[str, str], int] = {}
    for index, org in enumerate(names):
        fake.add_installation(900 + index, org)
        fake.add_repo(org, "app", installation_id=900 + index)
    deliveries = []
    comment_ids = iter(range(5_000_000, 6_000_000))
    for _ in range(count):
        org_index = rng.randrange(orgs)
        org = names[org_index]
        engineer = rng.choice(people)
        reviewer = rng.choice([p for p in people if p != engineer])
        key = (org, engineer)
        if key not in pulls:
            pulls[key] = len(pulls) + 1
            fake.add_pull(org, "app", pulls[key], author=engineer)
        number = pulls[key]
        comment_id = next(comment_ids)
        body = rng.choice(texts)
        fake.add_review_comment(org, "app", number, comment_id=comment_id, user=reviewer, body=body)
        payload = copy.deepcopy(template)
        payload["installation"] = {
            "id": 900 + org_index,
            "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u",
        }
        payload["repository"].update(full_name=f"{org}/app", name="app")
        payload["repository"]["owner"] = {**payload["repository"]["owner"], "login": org}
        payload["pull_request"].update(number=number)
        payload["pull_request"]["user"] = {
            **payload["pull_request"]["user"],
            "login": engineer,
            "type": "User",
        }
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        comment = payload["comment"]
        comment.update(
            id=comment_id,
            body=body,
            created_at=now,
            updated_at=now,
            pull_request_review_id=comment_id,
        )
        comment.pop("in_reply_to_id", None)
        comment["user"] = {**comment["user"], "login": reviewer, "type": "User"}
        payload["sender"] = {**payload["sender"], "login": reviewer, "type": "User"}
        deliveries.append(
            Delivery(str(uuid.uuid4()), "pull_request_review_comment", json.dumps(payload).encode())
        )
    return Traffic(deliveries, names)


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    fake: FakeGitHub
    database_url: str
    schema: str
    store: PostgresStore
    private_key: str
    workdir: Path
    playbooks_dir: Path
    lease_seconds: int
    servers: list[Server] = field(default_factory=list)

    # processes ---------------------------------------------------------------------------------
    def start_server(self) -> Server:
        port = free_port()
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "SYSTEMROOT")
            },
            "WEBHOOK_SECRET": SECRET,
            "APP_ID": str(APP_ID),
            "PRIVATE_KEY": self.private_key,
            "GITHUB_API_URL": self.fake.base_url,
            "DATABASE_URL": self.database_url,
            "PORT": str(port),
            "PLAYBOOKS_DIR": str(self.playbooks_dir),
            "DELIVERY_LEASE_SECONDS": str(self.lease_seconds),
        }
        log = self.workdir / f"serve-{len(self.servers)}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        server = Server(port, process, log)
        self.servers.append(server)
        return server

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for server in self.servers:
            while True:
                if server.process.poll() is not None:
                    raise RuntimeError(
                        f"serve exited with {server.process.returncode}:\n{server.log.read_text()}"
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(server.url + "/healthz") as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"serve on port {server.port} did not answer /healthz:\n{server.log.read_text()}"
                    )
                await asyncio.sleep(0.1)

    def kill(self, server: Server) -> None:
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)

    def stop_all(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        for server in self.servers:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()

    def worker_name(self, server: Server) -> str:
        return f"{socket.gethostname()}:{server.process.pid}"

    # traffic -----------------------------------------------------------------------------------
    async def send(self, session: aiohttp.ClientSession, server: Server, delivery: Delivery) -> int:
        signature = "sha256=" + hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        headers = {
            "content-type": "application/json",
            "x-github-event": delivery.event,
            "x-github-delivery": delivery.id,
            "x-hub-signature-256": signature,
            "user-agent": "GitHub-Hookshot/cluster",
        }
        async with session.post(
            server.url + "/webhooks", data=delivery.body, headers=headers
        ) as response:
            return response.status

    async def send_all(
        self,
        session: aiohttp.ClientSession,
        deliveries: list[Delivery],
        *,
        twice: float = 0.1,
        seed: int = 11,
        parallel: int = 16,
    ) -> int:
        """Each delivery to a random live server; a share of them sent again, to either. Returns sends."""
        rng = random.Random(seed)
        live = [s for s in self.servers if s.process.poll() is None]
        plan = [(d, rng.choice(live)) for d in deliveries]
        plan += [(d, rng.choice(live)) for d in deliveries if rng.random() < twice]
        gate = asyncio.Semaphore(parallel)

        async def one(delivery: Delivery, server: Server) -> None:
            async with gate:
                status = await self.send(session, server, delivery)
                if status != 202:
                    raise AssertionError(f"delivery {delivery.id} answered {status}")

        await asyncio.gather(*(one(d, s) for d, s in plan))
        return len(plan)

    # observing ---------------------------------------------------------------------------------
    async def drained(self, expected: int) -> bool:
        """Every delivery stored and finished, and nothing left for the outbox to write."""
        records = await self.store.deliveries()
        if len(records) < expected or any(r.status in ("pending", "processing") for r in records):
            return False
        nudges = await self.store.nudges((*WAITING, NudgeState.AWAITING_COSIGN))
        return not any(n.state in WAITING or n.cosign_comment_id is None for n in nudges)

    async def wait_drained(self, expected: int, timeout: float = 120) -> float:
        """Seconds until drained; polls the store (bounded by ``timeout``)."""
        started = time.monotonic()
        while not await self.drained(expected):
            if time.monotonic() - started > timeout:
                logs = "\n".join(s.log.read_text()[-3000:] for s in self.servers)
                raise TimeoutError(f"not drained after {timeout}s; server logs (tail):\n{logs}")
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    def markers(self, traffic: Traffic) -> collections.Counter[str]:
        """How many times each nudge's marker appears in what the bot posted on GitHub."""
        seen: collections.Counter[str] = collections.Counter()
        for org in traffic.orgs:
            for number in range(1, 1000):
                try:
                    comments = self.fake.review_comments(org, traffic.repo, number)
                    comments += self.fake.issue_comments(org, traffic.repo, number)
                except LookupError:
                    break
                for comment in comments:
                    if comment["user"]["login"] == self.fake.bot_login:
                        seen.update(MARKER.findall(comment["body"] or ""))
        return seen


@contextlib.asynccontextmanager
async def cluster(
    pg_url: str, workdir: Path, *, playbooks_dir: Path = ROOT / "playbooks", lease_seconds: int = 3
) -> AsyncIterator[Cluster]:
    """A fake GitHub and a fresh schema; start servers with :meth:`Cluster.start_server`."""
    private, public = new_key()
    fake = FakeGitHub(app_id=APP_ID, public_key_pem=public)
    await fake.start()
    schema = f"cluster_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_url)
    await admin.execute(f"CREATE SCHEMA {quote_ident(schema)}")
    separator = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{separator}search_path={schema}"
    store = await PostgresStore.connect(pg_url, schema=schema)
    await store.migrate()
    made = Cluster(fake, url, schema, store, private, workdir, playbooks_dir, lease_seconds)
    try:
        yield made
    finally:
        made.stop_all()
        await store.close()
        await fake.close()
        await admin.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
        await admin.close()
