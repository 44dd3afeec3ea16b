"""``python -m bot demo``: the product in a few seconds, with no credentials and no network.

It runs the real server, worker and store against the same local stand-in for the GitHub API
that the tests use, replays a scripted month of code review as signed webhooks over HTTP, and
prints what the bot decided, what it posted, and why it stayed silent where it did. The clock is
the demo's own, so four weeks pass in a moment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from bot.app.settings import SHIPPED_PLAYBOOKS, Settings
from bot.app.wiring import build_service
from bot.core.org import OrgSettings, Role
from bot.core.render import MARKER_RE

try:
    from bot.testing.clock import ManualClock
    from bot.testing.fakegithub import FakeGitHub, app_keypair
except ImportError as missing:  # the stand-in GitHub's dependencies are the 'demo' extra
    FakeGitHub = None  # type: ignore[assignment,misc]
    MISSING = missing.name
else:
    MISSING = None

APP_ID = 1
INSTALLATION = 1
OWNER, REPO = "acme", "shop"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday, the first day of a sprint

# The team in the story. The holdout seed is fixed so the story is the same on every run.
ORG = OrgSettings(
    sprint_days=14,
    sprint_start=START.date(),
    roles={
        "junior": Role("junior", nudges=2, minutes=10, members=("alice", "dave")),
        "senior": Role("senior", nudges=1, minutes=5, members=("bob", "erin")),
    },
    default_role="junior",
    leads={"carol": ("alice", "bob", "dave", "erin")},
    holdout_share=0.2,
    holdout_seed="demo-4",
    cosign_expiry_days=7,
    evidence_repo=f"{OWNER}/learning-evidence",
    about_url="https://wiki.acme.example/learning-nudges",
)
TITLES = {
    101: "Search orders by customer name",
    102: "Filter orders by status",
    103: "Export invoices as CSV",
    104: "Admin: look up users by email",
    105: "Send order confirmations through the mail API",
    106: "Retry failed payment webhooks",
    107: "Nightly cleanup of stale carts",
}
EVIDENCE_DAY = 70  # the first evaluation windows (60 days from each first nudge) have closed


@dataclass
class Step:
    day: float
    title: str
    kind: str  # comment · review · redeliver · forged · malformed · react · wait
    pr: int = 0
    author: str = ""
    reviewer: str = ""
    body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


STORY = [
    Step(
        0,
        "bob reviews alice's PR #101",
        "comment",
        101,
        "alice",
        "bob",
        "This builds the SQL with an f-string. Please use bind params here.",
    ),
    Step(
        1,
        "a CI bot comments on PR #101",
        "comment",
        101,
        "alice",
        "lint-bot[bot]",
        "Possible SQL injection (B608).",
        {"bot": True},
    ),
    Step(
        1,
        "alice answers on her own PR",
        "comment",
        101,
        "alice",
        "alice",
        "Good catch, I'll switch to parameterized queries everywhere.",
    ),
    Step(
        4,
        "erin reviews alice's PR #102",
        "comment",
        102,
        "alice",
        "erin",
        "Same as last week: user input concatenated into the query string. Use a prepared statement?",
    ),
    Step(4, "GitHub redelivers that webhook", "redeliver"),
    Step(
        5,
        "bob reviews dave's PR #103",
        "comment",
        103,
        "dave",
        "bob",
        "String formatting into SQL again - please parameterize.",
    ),
    Step(
        6,
        "erin reviews dave's PR #104",
        "comment",
        104,
        "dave",
        "erin",
        "Raw SQL built by concatenation here, use placeholders.",
    ),
    Step(
        7,
        "bob reviews alice's PR #105",
        "comment",
        105,
        "alice",
        "bob",
        "There's an AWS secret key hardcoded in this config. Move it to the secret manager.",
    ),
    Step(
        8,
        "erin reviews alice's PR #105",
        "comment",
        105,
        "alice",
        "erin",
        "Please don't commit the API token; read it from an env var.",
    ),
    Step(
        8.5,
        "mallory (not alice's lead) reacts 👍 to the co-sign request",
        "react",
        105,
        "alice",
        "mallory",
    ),
    Step(9, "carol (alice's lead) reacts 👍", "react", 105, "alice", "carol"),
    Step(
        10,
        "bob reviews alice's PR #106",
        "comment",
        106,
        "alice",
        "bob",
        "This catch block swallows the exception silently; at least log it.",
    ),
    Step(
        11,
        "erin reviews alice's PR #106",
        "comment",
        106,
        "alice",
        "erin",
        "except: pass hides real failures here, please handle or re-raise.",
    ),
    Step(11.5, "someone without the secret posts a forged webhook", "forged"),
    Step(12, "a signed delivery arrives that is not JSON", "malformed"),
    Step(
        15,
        "a new sprint: erin reviews alice's PR #107",
        "comment",
        107,
        "alice",
        "erin",
        "Empty catch block again - the error is swallowed; log it or rethrow.",
    ),
]


def _payload(step: Step, comment_id: int, at: dt.datetime) -> dict[str, Any]:
    """A pull_request_review_comment.created payload shaped like GitHub's."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    user_type = "Bot" if step.extra.get("bot") else "User"
    return {
        "action": "created",
        "comment": {
            "id": comment_id,
            "body": step.body,
            "user": {
                "login": step.reviewer,
                "id": abs(hash(step.reviewer)) % 10**6,
                "type": user_type,
            },
            "created_at": stamp,
            "updated_at": stamp,
            "path": "app/db.py",
            "line": 12,
            "html_url": f"https://github.com/{OWNER}/{REPO}/pull/{step.pr}#discussion_r{comment_id}",
        },
        "pull_request": {
            "number": step.pr,
            "user": {"login": step.author, "id": abs(hash(step.author)) % 10**6, "type": "User"},
        },
        "repository": {"full_name": f"{OWNER}/{REPO}", "name": REPO, "owner": {"login": OWNER}},
        "installation": {"id": INSTALLATION},
        "sender": {"login": step.reviewer, "type": user_type},
    }


class _Printer:
    def __init__(self, out: TextIO, quiet: bool):
        self.out, self.quiet = out, quiet

    def __call__(self, text: str = "") -> None:
        if not self.quiet:
            self.out.write(text + "\n")


HIDDEN = re.compile(r"<!-- learning-nudge[^>]*-->")


def _whole(body: str) -> list[str]:
    """Every line of a posted body as people read it (the hidden marker left out)."""
    return HIDDEN.sub("", body).strip().splitlines()


def main(*, quiet: bool = False, html: Path | None = None) -> int:
    """``python -m bot demo``."""
    if FakeGitHub is None:
        print(
            f"learning-nudges: the demo needs the stand-in GitHub's dependencies ({MISSING} is "
            "missing): pip install 'learning-nudges[demo]' (in a checkout: pip install -e '.[demo]')",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(run_demo(sys.stdout, quiet=quiet, html=html))


async def run_demo(out: TextIO, *, quiet: bool = False, html: Path | None = None) -> int:
    began = time.perf_counter()
    # The story prints every decision itself; the operational log would only repeat it.
    logging.getLogger("bot").addHandler(logging.NullHandler())
    logging.getLogger("bot").propagate = False
    say = _Printer(out, quiet)
    clock = ManualClock(START)
    private, public = app_keypair()
    webhook_secret = secrets.token_hex(16)
    fake = FakeGitHub(app_id=APP_ID, public_key_pem=public, now=clock)
    fake.add_installation(INSTALLATION, OWNER)
    fake.add_repo(OWNER, REPO, installation_id=INSTALLATION)
    fake.add_repo(OWNER, "learning-evidence", installation_id=INSTALLATION)
    base_url = await fake.start()
    tally: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            webhook_secret=webhook_secret,
            app_id=str(APP_ID),
            private_key=private,
            github_api_url=base_url,
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            playbooks_dir=SHIPPED_PLAYBOOKS,
            run_worker=False,
        )
        async with build_service(settings, clock=clock, sleep=clock.sleep) as service:
            service.config.replace(org=ORG)
            runner = web.AppRunner(service.app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            url = f"http://127.0.0.1:{port}/webhooks"
            say(
                f"Learning Nudges demo: {len(service.config.current.playbooks.playbooks)} playbooks loaded, "
                f"server on {url}, GitHub stand-in on {base_url}"
            )
            say(
                "Team: alice and dave are juniors (2 nudges a sprint), bob and erin seniors; carol leads them."
            )
            say(
                "Most shipped playbooks: 2 matching review comments within 30 days trigger one nudge."
            )
            shown: dict[str, Any] = {
                "notes": 0,
                "comments": {},
                "edits": {},
                "reactions": set(),
                "pulls": set(),
            }
            try:
                async with aiohttp.ClientSession() as http:
                    await _play(
                        STORY, say, clock, fake, service, http, url, webhook_secret, tally, shown
                    )
                await _evidence(say, clock, fake, service, tally)
            finally:
                await runner.cleanup()
            nudges = await service.store.nudges()
            if html is not None:
                from bot.cli.demo_page import write_page

                authors = {s.pr: s.author for s in STORY if s.pr}
                pulls = {
                    n: (authors[n], TITLES.get(n, f"Change {n}")) for n in sorted(shown["pulls"])
                }
                write_page(
                    html, fake, OWNER, REPO, pulls, f"{OWNER}/learning-evidence", shown["edits"]
                )
                say(f"The pull requests as GitHub would show them: {html}")
    await fake.close()
    states = Counter(n.state.value for n in nudges)
    elapsed = time.perf_counter() - began
    summary = (
        f"Summary: {tally['webhooks']} webhooks; {states['posted']} nudges posted "
        f"({tally['cosigned']} after a lead's co-sign), {states['held_out']} held out, "
        f"{states['suppressed_budget']} over budget, {tally['silent']} silences explained, "
        f"{tally['refused']} forged refused, {tally['failed']} malformed recorded, "
        f"{tally['evidence']} evidence issues, {tally['duplicates']} duplicate posts; {elapsed:.1f}s"
    )
    say()
    out.write(summary + "\n")
    if fake.violations:
        out.write("GitHub API description violations:\n" + "\n".join(fake.violations) + "\n")
        return 1
    return 0


async def _play(story, say, clock, fake, service, http, url, secret, tally, shown) -> None:
    last: dict[str, Any] = {}
    comment_ids = iter(range(5001, 9999))
    pulls: set[int] = shown["pulls"]
    for step in story:
        clock.now = START + dt.timedelta(days=step.day)
        say()
        say(f"▸ Day {step.day:g} ({clock.now:%a %d %b}): {step.title}")
        delivery = str(uuid.uuid4())
        status: int | None = None
        if step.kind == "comment":
            if step.pr not in pulls:
                fake.add_pull(OWNER, REPO, step.pr, author=step.author, title=TITLES.get(step.pr))
                pulls.add(step.pr)
            cid = next(comment_ids)
            fake.add_review_comment(
                OWNER,
                REPO,
                step.pr,
                comment_id=cid,
                user=step.reviewer,
                body=step.body,
                user_type="Bot" if step.extra.get("bot") else "User",
            )
            say(f"    “{step.body}”")
            last = {"payload": _payload(step, cid, clock.now), "delivery": delivery}
            status = await _send(
                http, url, secret, "pull_request_review_comment", last["payload"], delivery
            )
        elif step.kind == "redeliver":
            status = await _send(
                http, url, secret, "pull_request_review_comment", last["payload"], last["delivery"]
            )
        elif step.kind == "forged":
            status = await _send(
                http, url, "wrong-secret", "pull_request_review_comment", last["payload"], delivery
            )
        elif step.kind == "malformed":
            status = await _send(
                http, url, secret, "pull_request_review_comment", b"{oops", delivery
            )
        elif step.kind == "react":
            waiting = [
                c
                for c in fake.issue_comments(OWNER, REPO, step.pr)
                if "learning-nudge-cosign:" in c["body"]
            ]
            fake.add_reaction(
                "issue_comment", OWNER, REPO, waiting[-1]["id"], user=step.reviewer, content="+1"
            )
        if status is not None:
            tally["webhooks"] += 1
            word = {
                202: "202 accepted",
                401: "401 refused, nothing stored",
                400: "400, recorded as failed",
            }
            say(f"    webhook → {word.get(status, str(status))}")
            tally["refused"] += status == 401
            tally["failed"] += status == 400
        await service.worker.drain()
        await service.worker.tick()
        if step.kind == "redeliver":
            say("    bot: already stored under this delivery id; nothing decided or posted again")
        await _explain(say, service, shown, tally)
        for comment in _bot_comments(fake, pulls):
            before = shown["comments"].get(comment["id"])
            if before == comment["body"]:
                continue
            shown["comments"][comment["id"]] = comment["body"]
            shown["edits"].setdefault(comment["id"], []).append(comment["body"])
            if before is None:
                where = (
                    "a reply in the review thread of"
                    if comment.get("in_reply_to_id")
                    else "a comment on"
                )
                say(f"    ✉ bot posted {where} PR #{comment['_pr']}:")
            else:
                say(
                    f"    ✎ bot edited its comment on PR #{comment['_pr']} into a record of the outcome:"
                )
            for line in _whole(comment["body"]):
                say(f"      │ {line}")
    markers = [MARKER_RE.search(c["body"]) for c in _bot_comments(fake, pulls)]
    per_key = Counter((m.group("kind"), m.group("key")) for m in markers if m)
    tally["duplicates"] = sum(n - 1 for n in per_key.values())


async def _evidence(say, clock, fake, service, tally: Counter) -> None:
    """Weeks later: the kill switch's daily job closes the first window and writes its evidence."""
    clock.now = START + dt.timedelta(days=EVIDENCE_DAY)
    say()
    say(
        f"▸ Day {EVIDENCE_DAY} ({clock.now:%a %d %b}): the kill switch's daily job; the first "
        "evaluation windows (60 days) have closed"
    )
    await service.worker.tick()
    issues = [
        i
        for i in fake.issues(OWNER, "learning-evidence")
        if "learning-nudge-evidence:" in (i.get("body") or "")
    ]
    tally["evidence"] = len(issues)
    for issue in issues[:1]:
        say(
            f"    ✉ bot opened issue #{issue['number']} in {OWNER}/learning-evidence: {issue['title']}"
        )
        for line in _whole(issue["body"]):
            say(f"      │ {line}")
    if len(issues) > 1:
        say(
            f"    (and {len(issues) - 1} more, one per playbook: "
            + ", ".join(f"#{i['number']} {i['title']}" for i in issues[1:])
            + ")"
        )


LABELS = {
    "ignored": "ignored",
    "no_match": "silent",
    "signal": "silent",
    "cooldown": "silent",
    "paused": "silent",
    "planned": "nudge planned",
    "held_out": "held out (randomized holdout)",
    "suppressed_budget": "not sent",
    "awaiting_cosign": "co-sign requested",
    "no_lead": "not sent",
}


async def _explain(say, service, shown, tally: Counter) -> None:
    notes = await service.store.notes()
    for record in notes[shown["notes"] :]:
        note = record.note
        label = LABELS.get(note.outcome, note.outcome)
        tally["silent"] += label in ("silent", "ignored")
        topic = f" [{note.playbook_id}]" if note.playbook_id else ""
        say(f"    bot: {label}{topic}: {note.reason}")
    shown["notes"] = len(notes)
    for nudge in await service.store.nudges():
        for r in await service.store.reactions(nudge.key):
            key = (nudge.key, r.target, r.user, r.content)
            if key in shown["reactions"]:
                continue
            shown["reactions"].add(key)
            if r.counted:
                verdict = "counts: co-signed by a lead, so the nudge goes out"
                tally["cosigned"] += 1
            else:
                verdict = f"does not count: {r.user} is not {nudge.engineer}'s lead (recorded)"
            say(f"    bot: 👍 by {r.user} on the co-sign request {verdict}")


async def _send(http, url, secret, event, payload, delivery) -> int:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery,
        "x-hub-signature-256": signature,
        "user-agent": "GitHub-Hookshot/demo",
    }
    async with http.post(url, data=body, headers=headers) as response:
        return response.status


def _bot_comments(fake: FakeGitHub, pulls: set[int]) -> list[dict]:
    found = []
    for pr in sorted(pulls):
        for c in fake.review_comments(OWNER, REPO, pr) + fake.issue_comments(OWNER, REPO, pr):
            if c["user"]["login"] == fake.bot_login:
                found.append({**c, "_pr": pr})
    return sorted(found, key=lambda c: c["id"])
