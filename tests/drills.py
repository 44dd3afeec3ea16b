"""Reliability drills: the app's promises tried as an attacker and as a bad day would.

Each drill runs the real app (webhooks over real HTTP, HMAC-signed; the strict stand-in GitHub
on a real socket; a manual clock) and returns a :class:`Row`: cases tried, failures (a promise
broken in any other way), deliveries or due nudges lost, and nudges posted twice. The same
drills run short in the test suite (tests/test_reliability_drills.py asserts zero lost and zero
duplicated) and as ``python bench/drills.py`` (``--short`` for CI, ``--soak`` for longer).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import random
import re
import signal
import socket
import string
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from conftest import APP_ID, FIXTURES, SECRET, START, Bot, make_settings

from bot.app.logfmt import OneLineFormatter
from bot.app.wiring import build_service
from bot.core.nudges import NudgeState
from bot.core.render import QUOTE_LIMIT, marker, marker_secret
from bot.testing.clock import ManualClock
from bot.testing.fakegithub import FakeGitHub, app_keypair

MARKER = re.compile(r"<!-- learning-nudge:([0-9a-f]{16}):[0-9a-f]{32} -->")
LIVE_MENTION = re.compile(r"@[A-Za-z0-9_]")
SQL_1 = "This builds the query with an f-string. Please use bind params here."
SQL_2 = "Same problem as before: concatenating user input into SQL; use a parameterized query."
WAITING = (NudgeState.PLANNED, NudgeState.COSIGNED, NudgeState.AWAITING_COSIGN)
_KEYS: list[tuple[str, str]] = []


@dataclass
class Row:
    drill: str
    cases: int = 0
    failures: int = 0
    lost: int = 0
    duplicated: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def fail(self, why: str) -> None:
        self.failures += 1
        if len(self.notes) < 5:
            self.notes.append(why)


def keypair() -> tuple[str, str]:
    if not _KEYS:
        _KEYS.append(app_keypair())
    return _KEYS[0]


class LogCapture(logging.Handler):
    """Every log line the app writes, formatted as in production, for the secrets scan."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(OneLineFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


CAPTURE = LogCapture()


@contextlib.asynccontextmanager
async def drill_bot(workdir: Path, *, installations: int = 1, sleep=None) -> AsyncIterator[Bot]:
    """A fresh app on its own SQLite file, a fresh stand-in GitHub, a manual clock."""
    workdir.mkdir(parents=True, exist_ok=True)
    clock = ManualClock(START)
    private, public = keypair()
    fake = FakeGitHub(app_id=APP_ID, public_key_pem=public, now=clock)
    for i in range(installations):
        fake.add_installation(77 + i, org(i))
        fake.add_repo(org(i), "shop", installation_id=77 + i)
    await fake.start()
    root = logging.getLogger("bot")
    root.addHandler(CAPTURE)
    root.setLevel(logging.INFO)
    try:
        settings = make_settings(workdir, fake, (private, public))
        async with build_service(
            settings, clock=clock, sleep=sleep or clock.sleep, name="drill"
        ) as service:
            client = TestClient(TestServer(service.app))
            await client.start_server()
            try:
                yield Bot(service, client, fake, clock)
            finally:
                await client.close()
    finally:
        root.removeHandler(CAPTURE)
        await fake.close()


def org(i: int) -> str:
    return "acme" if i == 0 else f"org{i}"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


_ids = iter(range(10_000, 10_000_000))


def review_comment(
    bot: Bot, *, installation: int, pr: int, author: str, reviewer: str, body: str
) -> dict[str, Any]:
    """A pull_request_review_comment.created payload, with the comment seeded in the fake."""
    owner = org(installation - 77)
    with contextlib.suppress(Exception):
        bot.github.add_pull(owner, "shop", pr, author=author)
    comment_id = next(_ids)
    bot.github.add_review_comment(
        owner, "shop", pr, comment_id=comment_id, user=reviewer, body=body
    )
    payload = json.loads((FIXTURES / "pull_request_review_comment.created.json").read_text())
    payload["installation"] = {"id": installation, "node_id": "MDIzOkludGVncmF0aW9u"}
    payload["repository"].update(full_name=f"{owner}/shop", name="shop")
    payload["repository"]["owner"] = {**payload["repository"]["owner"], "login": owner}
    payload["pull_request"].update(number=pr)
    payload["pull_request"]["user"] = {
        **payload["pull_request"]["user"],
        "login": author,
        "type": "User",
    }
    at = bot.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    comment = payload["comment"]
    comment.update(
        id=comment_id,
        body=body,
        created_at=at,
        updated_at=at,
        pull_request_review_id=comment_id + 1,
    )
    comment.pop("in_reply_to_id", None)
    comment["user"] = {**comment["user"], "login": reviewer, "type": "User"}
    payload["sender"] = {**payload["sender"], "login": reviewer, "type": "User"}
    return payload


def posted_markers(bot: Bot, installations: int, prs: int) -> collections.Counter[str]:
    """How often each nudge's marker appears in what the app itself posted on GitHub."""
    seen: collections.Counter[str] = collections.Counter()
    for i in range(installations):
        for pr in range(1, prs + 1):
            try:
                comments = bot.github.review_comments(
                    org(i), "shop", pr
                ) + bot.github.issue_comments(org(i), "shop", pr)
            except LookupError:
                continue
            for c in comments:
                if c["user"]["login"] == bot.github.bot_login:
                    seen.update(MARKER.findall(c["body"] or ""))
    return seen


async def engineers_with_nudges(
    bot: Bot, rng: random.Random, installations: int, engineers: int
) -> int:
    """Two SQL-injection comments for each engineer (a nudge each, unless held out); PR count."""
    pr = 0
    for i in range(installations):
        for e in range(engineers):
            pr += 1
            for body in (SQL_1, SQL_2):
                payload = review_comment(
                    bot,
                    installation=77 + i,
                    pr=pr,
                    author=f"dev{e:03d}",
                    reviewer=rng.choice(["bob", "erin", "kim"]),
                    body=body,
                )
                response = await bot.deliver("pull_request_review_comment", payload)
                assert response.status == 202
            bot.clock.advance(minutes=1)
    return pr


# forged requests -----------------------------------------------------------------------------


def forged(rng: random.Random) -> tuple[dict[str, str], bytes]:
    """One request nobody but GitHub could sign, in one of the ways an attacker would try."""
    body = json.dumps(
        {
            "action": "created",
            "zen": "".join(rng.choices(string.printable, k=rng.randrange(0, 200))),
        }
    ).encode()
    delivery = rng.choice(
        [str(uuid.uuid4()), "x level=ERROR msg=forged", "a b=c level=ERROR", "", "=" * 300]
    )
    headers = {
        "content-type": "application/json",
        "x-github-event": rng.choice(["ping", "pull_request_review_comment", "", "a b"]),
        "x-github-delivery": delivery,
    }
    kind = rng.randrange(8)
    if kind == 0:
        pass  # no signature at all
    elif kind == 1:  # the right HMAC under the wrong secret
        headers["x-hub-signature-256"] = sign(body, "guessed-" + str(rng.random()))
    elif kind == 2:  # a correct sha1 HMAC, placed where the sha256 one goes
        headers["x-hub-signature-256"] = (
            "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        )
    elif kind == 3:  # a correct sha1 HMAC in the legacy header alone
        headers["x-hub-signature"] = (
            "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        )
    elif kind == 4:  # a real signature of another body
        headers["x-hub-signature-256"] = sign(body + b" ")
    elif kind == 5:  # random bytes of the right shape
        headers["x-hub-signature-256"] = "sha256=" + "".join(rng.choices("0123456789abcdef", k=64))
    elif kind == 6:  # garbage of every other shape
        headers["x-hub-signature-256"] = rng.choice(
            ["sha256=", "sha256=zz", "md5=abc", "SHA256=" + "0" * 64, "sha256=" + "0" * 65]
        )
    else:  # a signature truncated or padded
        good = sign(body)
        headers["x-hub-signature-256"] = rng.choice([good[:-1], good + "0", good.upper()])
    return headers, body


async def forged_drill(workdir: Path, cases: int, seed: int = 1) -> Row:
    row = Row("forged requests (wrong/sha1/truncated signatures, hostile headers)")
    rng = random.Random(seed)
    async with drill_bot(workdir) as bot:
        statuses: collections.Counter[int] = collections.Counter()
        for _ in range(cases):
            headers, body = forged(rng)
            async with bot.client.post("/webhooks", data=body, headers=headers) as response:
                statuses[response.status] += 1
                if response.status >= 500 or response.status < 400:
                    row.fail(f"answered {response.status}")
            row.cases += 1
        stored = await bot.store.deliveries()
        if stored:
            row.fail(f"{len(stored)} forged deliveries stored")
        for line in CAPTURE.lines:
            if "level=ERROR msg=forged" in line or "\n" in line:
                row.fail("a header value forged a log field or line")
                break
    return row


# malformed signed payloads -------------------------------------------------------------------

MALFORMED: list[tuple[str, bytes, str]] = [
    ("null", b"null", "application/json"),
    ("number", b"42", "application/json"),
    ("true", b"true", "application/json"),
    ("string", b'"hello"', "application/json"),
    ("list", b"[1, 2]", "application/json"),
    ("empty object", b"{}", "application/json"),
    ("action not a string", b'{"action": 5}', "application/json"),
    ("action null", b'{"action": null, "comment": 3}', "application/json"),
    (
        "comment a list",
        b'{"action": "created", "comment": [], "pull_request": "x"}',
        "application/json",
    ),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ("deep object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    ("not json", b"{not json", "application/json"),
    ("odd charset", b'{"action": "created"}', "application/json; charset=x-no-such-charset"),
    (
        "latin-1 charset",
        '{"action": "créé"}'.encode("latin-1"),
        "application/json; charset=latin-1",
    ),
    ("bad utf-8", b'{"action": "\xff\xfe"}', "application/json"),
    ("form encoded", b"payload=%7B%7D", "application/x-www-form-urlencoded"),
    ("empty body", b"", "application/json"),
]


async def malformed_drill(workdir: Path, rounds: int, seed: int = 2) -> Row:
    row = Row("malformed signed payloads (every JSON shape, depth, charset)")
    rng = random.Random(seed)
    async with drill_bot(workdir) as bot:
        good_ids: list[str] = []
        bad_ids: list[str] = []
        for r in range(rounds):
            for name, body, content_type in rng.sample(MALFORMED, len(MALFORMED)):
                for event in ("pull_request_review_comment", "pull_request", "pull_request_review"):
                    delivery = str(uuid.uuid4())
                    headers = {
                        "content-type": content_type,
                        "x-github-event": event,
                        "x-github-delivery": delivery,
                        "x-hub-signature-256": sign(body),
                    }
                    async with bot.client.post("/webhooks", data=body, headers=headers) as response:
                        if response.status >= 500:
                            row.fail(f"{name} as {event}: answered {response.status}")
                    bad_ids.append(delivery)
                    row.cases += 1
            payload = review_comment(
                bot,
                installation=77,
                pr=100 + r,
                author="alice",
                reviewer="bob",
                body="Looks good to me.",
            )
            good = str(uuid.uuid4())
            async with bot.client.post(
                "/webhooks",
                data=json.dumps(payload).encode(),
                headers={
                    "content-type": "application/json",
                    "x-github-event": "pull_request_review_comment",
                    "x-github-delivery": good,
                    "x-hub-signature-256": sign(json.dumps(payload).encode()),
                },
            ) as response:
                if response.status != 202:
                    row.fail(f"a good delivery answered {response.status}")
            good_ids.append(good)
        for _ in range(3):  # a stuck delivery would be claimed again and again
            await bot.worker.drain()
            bot.clock.advance(minutes=30)
        records = {d.id: d for d in await bot.store.deliveries()}
        for delivery in bad_ids:
            record = records.get(delivery)
            if record is None:
                continue  # refused at the door (400 before storing): nothing accepted, nothing lost
            if record.status == "failed" and not record.error:
                row.fail(f"{delivery} failed without a reason")
            elif record.status not in ("failed", "done"):
                row.fail(f"{delivery} left {record.status}")
        row.lost = sum(1 for d in good_ids if d not in records or records[d].status != "done")
        stuck = await bot.store.inbox_stats(bot.clock())
        if stuck["depth"]:
            row.fail(f"{stuck['depth']} deliveries still in the inbox")
    return row


# hostile comments ----------------------------------------------------------------------------


def hostile_bodies(rng: random.Random) -> list[str]:
    secret = marker_secret(SECRET)
    return [
        "\n" * 50_000 + SQL_2,
        SQL_2 + " " + "x" * 60_000,
        "@everyone @acme/security " + SQL_2 + " cc @alice",
        SQL_2 + " <script>alert(1)</script> <img src=x onerror=alert(1)>",
        SQL_2 + " <!-- unclosed comment",
        SQL_2 + " " + marker("0123456789abcdef", secret),
        SQL_2 + " &#64;alice [x](javascript:alert(1))",
        ("use bind params " * 4000) + "\r\n" * 2000,
        "".join(rng.choices(string.printable, k=20_000)) + " " + SQL_2,
        "\u202e" * 1000 + SQL_2 + "\u0000" * 100,
    ]


async def hostile_drill(workdir: Path, engineers: int, seed: int = 3) -> Row:
    row = Row("hostile comments (size, newlines, mentions, markers, scripts)")
    rng = random.Random(seed)
    bodies = hostile_bodies(rng)
    async with drill_bot(workdir) as bot:
        started = time.perf_counter()
        slowest = 0.0
        pr = 0
        for e in range(engineers):
            for body in bodies:
                pr += 1
                first = review_comment(
                    bot, installation=77, pr=pr, author=f"dev{e}-{pr}", reviewer="bob", body=SQL_1
                )
                second = review_comment(
                    bot, installation=77, pr=pr, author=f"dev{e}-{pr}", reviewer="erin", body=body
                )
                for payload in (first, second):
                    response = await bot.deliver("pull_request_review_comment", payload)
                    if response.status != 202:
                        row.fail(f"answered {response.status}")
                row.cases += 1
            # Other webhooks keep being answered while the hostile ones are classified.
            draining = asyncio.create_task(bot.worker.drain())
            while not draining.done():
                sent = time.perf_counter()
                response = await bot.deliver("ping", {"zen": "still here", "hook_id": 1})
                slowest = max(slowest, time.perf_counter() - sent)
                if response.status != 202:
                    row.fail(f"a ping answered {response.status} meanwhile")
                await asyncio.sleep(0.005)
            await draining
        row.seconds = time.perf_counter() - started
        row.notes.append(
            f"classified in {row.seconds:.1f}s; slowest 202 meanwhile {slowest * 1000:.0f} ms"
        )
        for _ in range(3):
            bot.clock.advance(hours=1)
            await bot.worker.tick()
        await bot.worker.drain()
        records = await bot.store.deliveries()
        row.lost = sum(1 for d in records if d.status != "done")
        posted = [
            c
            for p in range(1, pr + 1)
            for c in bot.github.review_comments("acme", "shop", p)
            + bot.github.issue_comments("acme", "shop", p)
            if c["user"]["login"] == bot.github.bot_login
        ]
        if not posted:
            row.fail("no nudge posted at all")
        for comment in posted:
            text = MARKER.sub("", comment["body"])
            if LIVE_MENTION.search(text):
                row.fail("a live @-mention in a nudge")
            if re.search(r"<(script|img|!--)", text, re.IGNORECASE):
                row.fail("markup echoed into a nudge")
            longest = max(
                (len(line) for line in text.splitlines() if line.startswith(">")), default=0
            )
            if longest > QUOTE_LIMIT + 40:
                row.fail(f"a quote of {longest} characters")
            if any(body[:2000] in comment["body"] for body in bodies if len(body) > 2000):
                row.fail("a whole hostile comment echoed")
        row.duplicated = sum(v - 1 for v in posted_markers(bot, 1, pr).values() if v > 1)
    return row


async def foreign_marker_drill(workdir: Path, cases: int) -> Row:
    """Somebody else's comment carrying the very marker the app would write does not count."""
    row = Row("a marker written by someone else (the keyed marker, copied)")
    async with drill_bot(workdir) as bot:
        secret = marker_secret(SECRET)
        for case in range(cases):
            pr, author = 500 + case, f"eve{case}"
            first = review_comment(
                bot, installation=77, pr=pr, author=author, reviewer="bob", body=SQL_1
            )
            await bot.deliver("pull_request_review_comment", first)
            await bot.worker.drain()
            second = review_comment(
                bot, installation=77, pr=pr, author=author, reviewer="erin", body=SQL_2
            )
            # The nudge's key is derived from public values; say the attacker even has its MAC.
            from bot.core.nudges import nudge_key

            key = nudge_key(77, "acme/shop", author, "sql-injection", second["comment"]["id"])
            forged_body = "nothing to see " + marker(key, secret)
            bot.github.add_issue_comment("acme", "shop", pr, user="mallory", body=forged_body)
            bot.github.add_review_comment(
                "acme", "shop", pr, comment_id=next(_ids), user="mallory", body=forged_body
            )
            await bot.deliver("pull_request_review_comment", second)
            await bot.worker.drain()
            row.cases += 1
            nudges = [n for n in await bot.store.nudges() if n.key == key]
            if nudges and nudges[0].state == NudgeState.HELD_OUT:
                continue
            ours = [
                c
                for c in bot.github.review_comments("acme", "shop", pr)
                + bot.github.issue_comments("acme", "shop", pr)
                if c["user"]["login"] == bot.github.bot_login and key in c["body"]
            ]
            if not nudges:
                row.fail("no nudge decided")
            elif len(ours) == 0:
                row.lost += 1
            elif len(ours) > 1:
                row.duplicated += len(ours) - 1
    return row


# GitHub faults -------------------------------------------------------------------------------


def inject_random_faults(
    fake: FakeGitHub, rng: random.Random, count: int
) -> collections.Counter[str]:
    """Faults on the nudge writes and the reads around them, of every kind GitHub has."""
    kinds: collections.Counter[str] = collections.Counter()
    writes = "^/repos/[^/]+/shop/(issues|pulls)/[0-9]+/comments(/[0-9]+/replies)?$"
    reads = "^/repos/[^/]+/shop/(issues|pulls)/[0-9]+/comments$"
    for _ in range(count):
        kind = rng.choice(
            [
                "5xx",
                "timeout",
                "late",
                "late",
                "late",
                "reset",
                "403",
                "429",
                "401",
                "404",
                "422",
                "read-5xx",
            ]
        )
        kinds[kind] += 1
        if kind == "5xx":
            fake.inject_fault("POST", writes, status=rng.choice([500, 502, 503]))
        elif kind == "timeout":
            fake.inject_late_write("POST", writes, after_seconds=0)
        elif kind == "late":
            fake.inject_late_write("POST", writes, after_seconds=rng.uniform(30, 240))
        elif kind == "reset":
            fake.inject_disconnect("POST", writes)
        elif kind == "403":
            fake.inject_fault(
                "POST", writes, status=403, headers={"retry-after": str(rng.randint(1, 120))}
            )
        elif kind == "429":
            fake.inject_fault(
                "POST", writes, status=429, headers={"retry-after": str(rng.randint(1, 120))}
            )
        elif kind == "401":
            fake.expire_tokens()
        elif kind == "404":  # the review comment the nudge replies to was deleted
            fake.inject_fault(
                "POST", "^/repos/[^/]+/shop/pulls/[0-9]+/comments/[0-9]+/replies$", status=404
            )
        elif kind == "422":  # the conversation is locked: that nudge can never be posted
            fake.inject_fault(
                "POST",
                "^/repos/[^/]+/shop/issues/[0-9]+/comments$",
                status=422,
                body={
                    "message": "Unable to create comment because issue is locked.",
                    "documentation_url": "https://docs.github.com/rest",
                },
            )
        else:
            fake.inject_fault("GET", reads, status=502)
    return kinds


async def faults_drill(
    workdir: Path, engineers: int, faults: int, minutes: int, seed: int = 4
) -> Row:
    row = Row(
        "GitHub faults (5xx, timeouts, late writes, resets, 403/429 retry-after, 401, 404, 422)"
    )
    rng = random.Random(seed)
    installations = 3
    async with drill_bot(workdir, installations=installations) as bot:
        kinds = inject_random_faults(bot.github, rng, faults)
        prs = await engineers_with_nudges(bot, rng, installations, engineers)
        await bot.worker.drain()
        for _ in range(minutes):
            bot.clock.advance(minutes=1)
            await bot.worker.tick()
            await bot.worker.scheduler.outbox.flush(bot.clock())
            if not await bot.store.nudges(WAITING, due_by=bot.clock() + dt.timedelta(days=1)):
                break
        bot.clock.advance(hours=2)  # an outage's failures are re-sent once GitHub is back
        bot.github.complete_late_writes(all_of_them=True)
        for _ in range(30):
            bot.clock.advance(minutes=30)
            await bot.worker.tick()
        nudges = await bot.store.nudges()
        row.cases = sum(kinds.values())
        owed = [
            n for n in nudges if n.state not in (NudgeState.HELD_OUT, NudgeState.SUPPRESSED_BUDGET)
        ]
        markers = posted_markers(bot, installations, prs)
        if not any(n.state == NudgeState.POSTED for n in owed):
            row.fail("nothing posted at all")
        for n in owed:
            if n.state == NudgeState.FAILED:
                if "will not accept" not in n.reason:
                    row.fail(f"failed without a lasting reason: {n.reason[:80]}")
            elif n.state != NudgeState.POSTED or markers[n.key] == 0:
                row.lost += 1
        row.duplicated = sum(v - 1 for v in markers.values() if v > 1)
        row.notes.append(", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        if bot.github.violations:
            row.fail(f"{len(bot.github.violations)} requests off GitHub's description")
    return row


# an outage of the app: GitHub records failed deliveries, the sweep asks for them again ------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: nothing listens there


async def outage_drill(workdir: Path, events: int, seed: int = 5) -> Row:
    row = Row("outage: GitHub's deliveries fail for hours, then the sweep recovers them")
    rng = random.Random(seed)
    async with drill_bot(workdir) as bot:
        url = str(bot.client.make_url("/webhooks"))
        sent: list[str] = []
        guids: list[str] = []
        for i in range(events):
            down = i % 4 != 0  # most of them while the app is down or answering 5xx
            target = (
                f"http://127.0.0.1:{closed_port()}/webhooks" if down and rng.random() < 0.5 else url
            )
            secret = SECRET if target == url and not down else "wrong-secret-while-misconfigured"
            bot.github.set_webhook_target(target, secret)
            payload = review_comment(
                bot,
                installation=77,
                pr=1 + i % 20,
                author=f"dev{i % 7}",
                reviewer="bob",
                body=rng.choice([SQL_1, SQL_2, "Nice work."]),
            )
            guids.append(await bot.github.send_webhook("pull_request_review_comment", payload))
            sent.append(guids[-1])
            bot.clock.advance(minutes=3)
            row.cases += 1
        failed_at_github = sum(
            1 for d in bot.github.deliveries() if not 200 <= d["status_code"] < 300
        )
        bot.github.set_webhook_target(url, SECRET)  # the app is back
        for _ in range(3):
            bot.clock.advance(minutes=15)
            await bot.worker.tick()
            await bot.github.flush_webhooks()
            await bot.worker.drain()
        records = {d.id: d for d in await bot.store.deliveries()}
        row.lost = sum(1 for g in set(guids) if g not in records or records[g].status != "done")
        row.duplicated = sum(1 for r in records.values() if r.attempts > 1)
        by_guid = collections.Counter(
            d["guid"] for d in bot.github.deliveries() if 200 <= d["status_code"] < 300
        )
        row.duplicated += sum(v - 1 for v in by_guid.values() if v > 1)
        row.notes.append(
            f"{failed_at_github} failed at GitHub, {bot.worker.scheduler.redelivery.asked} redelivered"
        )
        row.duplicated += sum(v - 1 for v in posted_markers(bot, 1, 20).values() if v > 1)
    return row


# configuration that validates but breaks ----------------------------------------------------

PLAYBOOK_CASES: list[tuple[str, str, str]] = [
    ("huge within_days", "  within_days: 30\n", "  within_days: 1000000000000\n"),
    ("huge cooldown_days", "  cooldown_days: 30\n", "  cooldown_days: 99999999999999999999\n"),
    ("within_days beyond int64", "  within_days: 30\n", "  within_days: 1" + "0" * 40 + "\n"),
    ("deep nesting", "evaluation:\n", "deep: " + "[" * 5000 + "]" * 5000 + "\nevaluation:\n"),
    (
        "deep mapping",
        "evaluation:\n",
        "deep:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 400)) + "evaluation:\n",
    ),
    (
        "link with a live mention",
        "    url: https://cheatsheetseries",
        "    url: https://example.com/@alice?x=https://cheatsheetseries",
    ),
    (
        "link with an unclosed comment",
        "    url: https://cheatsheetseries",
        "    url: https://example.com/<!--https://cheatsheetseries",
    ),
    (
        "javascript link",
        "    url: https://cheatsheetseries",
        "    url: javascript:alert(1)//cheatsheetseries",
    ),
    (
        "anchors and aliases",
        "evaluation:\n",
        "a: &a [x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nevaluation:\n",
    ),
]
ORG_CASES: list[tuple[str, str, str]] = [
    ("huge sprint days", "  days: 14", "  days: 100000000000"),
    ("deep org nesting", "sprint:", "deep: " + "{a: " * 3000 + "1" + "}" * 3000 + "\nsprint:"),
]


async def config_drill(workdir: Path) -> Row:
    """Each hostile setting is a problem naming its file (no crash), the other files still load,
    and a running app given the folder processes every delivery."""
    import shutil
    import subprocess
    import sys

    from bot.app.config import load_config
    from bot.app.settings import PACKAGE_ROOT

    row = Row("config that validates but breaks (huge day counts, deep YAML, unsafe link.url)")
    source = PACKAGE_ROOT / "playbooks"
    for index, (name, old, new) in enumerate(PLAYBOOK_CASES + ORG_CASES):
        folder = workdir / f"config{index}"
        shutil.copytree(source, folder)
        target = folder / ("org.yml" if (name, old, new) in ORG_CASES else "sql-injection.yml")
        text = target.read_text()
        if old not in text:
            row.fail(f"{name}: the drill's anchor is missing")
            continue
        target.write_text(text.replace(old, new, 1))
        row.cases += 1
        try:
            in_force, problems = await asyncio.to_thread(load_config, folder)
        except Exception as exc:  # noqa: BLE001 - the drill reports whatever escapes
            row.fail(f"{name}: load_config raised {type(exc).__name__}")
            continue
        # A mention inside a link's destination is not one (GitHub links only text): it may load.
        if not any(target.name in str(p) for p in problems) and name != "link with a live mention":
            row.fail(f"{name}: accepted without a problem")
        if len(in_force.playbooks.playbooks) < 8:
            row.fail(f"{name}: the other playbooks stopped loading")
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "validate", str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=PACKAGE_ROOT,
        )
        if "Traceback" in done.stderr or done.returncode not in (0, 1):
            row.fail(f"{name}: validate crashed ({done.returncode})")
        # Whatever loaded, the app given this folder must still process deliveries.
        async with drill_bot(workdir / f"app{index}") as bot:
            bot.service.config.replace(playbooks=in_force.playbooks, org=in_force.org)
            for body in (SQL_1, SQL_2):
                payload = review_comment(
                    bot, installation=77, pr=1, author="alice", reviewer="bob", body=body
                )
                await bot.deliver("pull_request_review_comment", payload)
            await bot.worker.drain()
            row.lost += sum(1 for d in await bot.store.deliveries() if d.status != "done")
            for comment in bot.github.review_comments(
                "acme", "shop", 1
            ) + bot.github.issue_comments("acme", "shop", 1):
                if comment["user"]["login"] != bot.github.bot_login:
                    continue
                text = re.sub(r"\]\([^)\s]*\)", "]", MARKER.sub("", comment["body"]))
                if LIVE_MENTION.search(text) or "<!--" in text:
                    row.fail(f"{name}: the nudge carries a live mention or an open comment")
    return row


# the scan ------------------------------------------------------------------------------------


async def scan_drill(workdir: Path) -> Row:
    """Every log line of the drills so far, and every row a drill run keeps: no secret, no token,
    no whole comment body."""
    row = Row("scan of log lines and stored rows for secrets, tokens, comment bodies")
    private, _public = keypair()
    secrets = [SECRET, private.splitlines()[1], marker_secret(SECRET).hex()]
    bodies = [b for b in hostile_bodies(random.Random(3)) if len(b) > 300]
    async with drill_bot(workdir / "scan") as bot:
        for i, body in enumerate(bodies):
            for text in (SQL_1, body):
                payload = review_comment(
                    bot, installation=77, pr=900 + i, author=f"scan{i}", reviewer="bob", body=text
                )
                await bot.deliver("pull_request_review_comment", payload)
        await bot.worker.drain()
        bot.clock.advance(hours=1)
        await bot.worker.tick()
        secrets += bot.github.issued_tokens()
        tables = [
            "deliveries",
            "signals",
            "nudges",
            "notes",
            "reactions",
            "pulls",
            "leases",
            "reviews",
            "evaluations",
        ]
        stored: list[str] = []
        for table in tables:
            for r in await bot.store.driver.fetch(f"SELECT * FROM {table}"):
                stored.append(" ".join(str(v) for v in tuple(r)))
        lines = list(CAPTURE.lines)
        row.cases = len(lines) + len(stored)
        for where, texts in (("log line", lines), ("stored row", stored)):
            for text in texts:
                if any(s and s in text for s in secrets):
                    row.fail(f"a secret or token in a {where}")
                if any(b[:300] in text for b in bodies):
                    row.fail(f"a whole comment body in a {where}")
    return row


# SIGKILL across real processes -----------------------------------------------------------------


async def kill_drill(
    workdir: Path, database: str, runs: int, deliveries: int, seed: int = 6
) -> Row:
    """Real ``serve`` processes killed at random points between delivery and posted nudge."""
    import aiohttp
    from cluster import Cluster, free_port, new_key, review_traffic  # noqa: F401

    label = "PostgreSQL" if database.startswith("postgres") else "SQLite"
    row = Row(f"SIGKILL at random points, real processes ({label})")
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    async with kill_cluster(workdir, database) as c:
        traffic = review_traffic(c.fake, deliveries, orgs=2, engineers=12, seed=seed)
        c.start_server()
        async with aiohttp.ClientSession() as session:
            await c.wait_ready(session)
            pending = list(traffic.deliveries)
            for _run in range(runs):
                batch, pending = (
                    pending[: max(1, len(traffic.deliveries) // runs)],
                    pending[max(1, len(traffic.deliveries) // runs) :],
                )
                sending = asyncio.create_task(_send_quietly(c, session, batch))
                await asyncio.sleep(rng.uniform(0.05, 1.5))
                victim = c.servers[-1]
                c.kill(victim)
                c.servers.remove(victim)  # its log is kept; only live servers are waited on
                await asyncio.gather(sending, return_exceptions=True)
                row.cases += 1
                c.start_server()
                await c.wait_ready(session)
            await _send_quietly(
                c, session, traffic.deliveries
            )  # what GitHub (or the sweep) sends again
            await c.wait_drained(len(traffic.deliveries), timeout=180)
        records = {r.id: r for r in await c.store.deliveries()}
        row.lost = sum(
            1 for d in traffic.deliveries if d.id not in records or records[d.id].status != "done"
        )
        markers = c.markers(traffic)
        row.duplicated = sum(v - 1 for v in markers.values() if v > 1)
        waiting = await c.store.nudges(WAITING)
        row.lost += sum(
            1
            for n in waiting
            if n.state != NudgeState.AWAITING_COSIGN or n.cosign_comment_id is None
        )
    return row


async def sigterm_drill(workdir: Path, runs: int, seed: int = 8) -> Row:
    """SIGTERM to a real ``serve`` while it writes a nudge GitHub answers slowly: exit 0 with no
    traceback, the write finished or handed back, and a new process posts nothing twice."""
    import aiohttp
    import cluster as cl

    row = Row("SIGTERM mid-write, real processes (SQLite): exit 0, work finished or handed back")
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    async with kill_cluster(workdir, f"sqlite:///{workdir / 'term.db'}") as c:
        traffic = cl.review_traffic(c.fake, 40 * runs, orgs=2, engineers=6, seed=seed)
        async with aiohttp.ClientSession() as session:
            step = len(traffic.deliveries) // runs
            for run in range(runs):
                c.fake.inject_delay(
                    "POST",
                    "^/repos/[^/]+/app/(issues|pulls)/[0-9]+/comments",
                    seconds=rng.uniform(0.5, 3),
                    times=3,
                )
                server = c.start_server()
                await c.wait_ready(session)
                await _send_quietly(c, session, traffic.deliveries[run * step : (run + 1) * step])
                await asyncio.sleep(rng.uniform(0.1, 1.0))
                server.process.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(server.process.wait, 60)
                row.cases += 1
                log = server.log.read_text()
                if code != 0 or "Traceback" in log:
                    row.fail(
                        f"exit {code}; {'traceback' if 'Traceback' in log else 'no traceback'}"
                    )
                c.servers.remove(server)
            c.start_server()
            await c.wait_ready(session)
            await c.wait_drained(len(traffic.deliveries), timeout=180)
        records = {r.id: r for r in await c.store.deliveries()}
        row.lost = sum(
            1 for d in traffic.deliveries if d.id not in records or records[d.id].status != "done"
        )
        row.duplicated = sum(v - 1 for v in c.markers(traffic).values() if v > 1)
    return row


async def _send_quietly(c, session, batch) -> None:
    for delivery in batch:
        with contextlib.suppress(Exception):
            await c.send(session, c.servers[-1], delivery)


@contextlib.asynccontextmanager
async def kill_cluster(workdir: Path, database: str):
    """tests/cluster.py's cluster on PostgreSQL; on SQLite, the same with one file."""
    import cluster as cl

    if database.startswith("postgres"):
        async with cl.cluster(database, workdir, lease_seconds=3) as c:
            yield c
        return
    from bot.store import open_store

    private, public = cl.new_key()
    fake = FakeGitHub(app_id=cl.APP_ID, public_key_pem=public)
    await fake.start()
    url = f"sqlite:///{workdir / 'kill.db'}"
    store = await open_store(url)
    made = cl.Cluster(fake, url, "main", store, private, workdir, cl.ROOT / "playbooks", 3)  # type: ignore[arg-type]
    try:
        yield made
    finally:
        made.stop_all()
        await store.close()
        await fake.close()


def format_table(rows: list[Row]) -> str:
    out = io.StringIO()
    out.write(f"| {'drill':<86} | cases | failures | lost | duplicated |\n")
    out.write(f"|{'-' * 88}|------:|---------:|-----:|-----------:|\n")
    for r in rows:
        out.write(
            f"| {r.drill:<86} | {r.cases:>5} | {r.failures:>8} | {r.lost:>4} | {r.duplicated:>10} |\n"
        )
    return out.getvalue()


__all__ = ["Row", "format_table"]
