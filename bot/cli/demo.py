"""``python -m bot demo``: the product in a few seconds, with no credentials and no network.

It runs the real server, worker and store against the same local stand-in for the GitHub API
that the tests use, replays a scripted seven weeks of code review as signed webhooks over HTTP, and
prints what the bot decided, what it posted, and why it stayed silent where it did. Alongside, one
engineer's later pull requests (their files served by the stand-in) get the spaced follow-ups of
her SQL injection nudge, spacing out while reviews are clean and closing in when the comments
return; the series is drawn at the end. The clock is the demo's own, so weeks pass in a moment.
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
from bot.cli.series import running_series, series_section
from bot.core.org import OrgSettings, Role
from bot.core.reinforce import FollowUp, FollowUpState
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
    108: "Report: orders by status",
    109: "Docs: how to run the reports",
    110: "Report: revenue per month",
    111: "Report: customers by name",
    112: "Report: top products, sortable",
    113: "Report: refunds per week",
    114: "Report: stock below reorder level",
    115: "Report: carts abandoned per day",
}
# alice's later pull requests add queries as .sql files: code the SQL injection playbook is about
# (and no other playbook with a series of hers), so her follow-ups of that series are the story.
REPORT = "@@ -0,0 +1,3 @@\n+-- name: {name}\n+SELECT {columns}\n+{where}"


@dataclass
class Step:
    day: float
    title: str
    kind: str  # comment · open · approve · redeliver · forged · malformed · react
    pr: int = 0
    author: str = ""
    reviewer: str = ""
    body: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def query_pr(day: float, pr: int, name: str, columns: str, where: str) -> Step:
    """alice opens a pull request that adds one report query (relevant code for SQL injection)."""
    patch = REPORT.format(name=name, columns=columns, where=where)
    return Step(
        day,
        f"alice opens PR #{pr}, adding a query",
        "open",
        pr,
        "alice",
        extra={"files": {f"reports/{name}.sql": patch}},
    )


EVIDENCE_DAY = 70  # the first evaluation windows (60 days from each first nudge) have closed


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
    query_pr(7.25, 108, "orders_by_status", "id, total FROM orders", "WHERE status = :status"),
    Step(
        7.5,
        "bob approves PR #108 without a comment: a clean review",
        "approve",
        108,
        "alice",
        "bob",
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
    Step(
        22,
        "alice opens PR #109, which changes only docs",
        "open",
        109,
        "alice",
        extra={
            "files": {
                "docs/reports.md": "@@ -1 +1,2 @@\n Reports\n+Each report is one query in reports/; run it from the admin page."
            }
        },
    ),
    query_pr(
        23,
        110,
        "revenue_per_month",
        "date_trunc('month', paid_at), sum(total) FROM orders",
        "WHERE paid_at >= :since GROUP BY 1",
    ),
    Step(23.25, "erin approves PR #110 without a comment", "approve", 110, "alice", "erin"),
    query_pr(
        28, 111, "customers_by_name", "* FROM customers", "WHERE name LIKE '%' || $name || '%'"
    ),
    Step(
        28.25,
        "the error is back: erin reviews PR #111",
        "comment",
        111,
        "alice",
        "erin",
        "The customer name is concatenated into the SQL string here; pass it with EXECUTE ... USING instead.",
        {"path": "reports/customers_by_name.sql"},
    ),
    query_pr(
        32,
        112,
        "top_products",
        "product_id, count(*) FROM order_lines",
        "GROUP BY 1 ORDER BY {sort}",
    ),
    Step(
        32.25,
        "the error again: bob reviews PR #112",
        "comment",
        112,
        "alice",
        "bob",
        "The sort column is interpolated into the query here; pick it from a fixed list of allowed names.",
        {"path": "reports/top_products.sql"},
    ),
    query_pr(
        35,
        113,
        "refunds_per_week",
        "date_trunc('week', refunded_at), count(*) FROM refunds",
        "WHERE refunded_at >= :since GROUP BY 1",
    ),
    Step(35.25, "bob approves PR #113 without a comment", "approve", 113, "alice", "bob"),
    query_pr(42, 114, "low_stock", "sku, on_hand FROM stock", "WHERE on_hand < reorder_level"),
    Step(42.25, "erin approves PR #114 without a comment", "approve", 114, "alice", "erin"),
    query_pr(
        49,
        115,
        "abandoned_carts",
        "date_trunc('day', updated_at), count(*) FROM carts",
        "WHERE checked_out_at IS NULL GROUP BY 1",
    ),
]
SERIES = ("alice", "sql-injection")  # the series the story follows
SERIES_PULLS = frozenset(range(108, 116))


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
            "path": step.extra.get("path", "app/db.py"),
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


def _repository() -> dict[str, Any]:
    return {"full_name": f"{OWNER}/{REPO}", "name": REPO, "owner": {"login": OWNER}}


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}


def _pull_payload(step: Step, head_sha: str, at: dt.datetime) -> dict[str, Any]:
    """A pull_request.opened payload shaped like GitHub's."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "action": "opened",
        "number": step.pr,
        "pull_request": {
            "number": step.pr,
            "title": TITLES.get(step.pr, f"Change {step.pr}"),
            "state": "open",
            "user": _user(step.author),
            "created_at": stamp,
            "updated_at": stamp,
            "head": {"sha": head_sha, "ref": f"change-{step.pr}"},
            "base": {"ref": "main"},
            "html_url": f"https://github.com/{OWNER}/{REPO}/pull/{step.pr}",
        },
        "repository": _repository(),
        "installation": {"id": INSTALLATION},
        "sender": _user(step.author),
    }


def _review_payload(step: Step, review_id: int, at: dt.datetime) -> dict[str, Any]:
    """A pull_request_review.submitted payload (an approval without words) shaped like GitHub's."""
    return {
        "action": "submitted",
        "review": {
            "id": review_id,
            "body": None,
            "state": "approved",
            "user": _user(step.reviewer),
            "submitted_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "html_url": f"https://github.com/{OWNER}/{REPO}/pull/{step.pr}#pullrequestreview-{review_id}",
        },
        "pull_request": {"number": step.pr, "user": _user(step.author)},
        "repository": _repository(),
        "installation": {"id": INSTALLATION},
        "sender": _user(step.reviewer),
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


@dataclass
class DemoRun:
    """What a run of the demo left behind: its exit code, the stand-in GitHub as the story left it
    (its state stays readable after it stopped), and the follow-ups the store holds."""

    code: int
    github: Any
    followups: list[FollowUp]


async def run_demo(out: TextIO, *, quiet: bool = False, html: Path | None = None) -> int:
    return (await play(out, quiet=quiet, html=html)).code


async def play(out: TextIO, *, quiet: bool = False, html: Path | None = None) -> DemoRun:
    """Run the story; the logging it silences is put back as it was afterwards."""
    logger = logging.getLogger("bot")
    quiet_log = logging.NullHandler()
    # The story prints every decision itself; the operational log would only repeat it.
    logger.addHandler(quiet_log)
    propagate, logger.propagate = logger.propagate, False
    try:
        return await _run(out, quiet=quiet, html=html)
    finally:
        logger.removeHandler(quiet_log)
        logger.propagate = propagate


async def _run(out: TextIO, *, quiet: bool, html: Path | None) -> DemoRun:
    began = time.perf_counter()
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
            say(
                "After a nudge, short follow-ups go on the engineer's later pull requests that touch "
                "the playbook's kind of code, when FSRS says one is due."
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
                await _charts(say, clock, service)
            finally:
                await runner.cleanup()
            nudges = await service.store.nudges()
            recorded = await service.store.followups()
            followups = Counter(f.state.value for f in recorded)
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
        f"{states['suppressed_budget']} over budget; {followups['posted']} follow-ups posted, "
        f"{followups['dropped']} dropped; {tally['silent']} silences explained, "
        f"{tally['refused']} forged refused, {tally['failed']} malformed recorded, "
        f"{tally['evidence']} evidence issues, {tally['duplicates']} duplicate posts; {elapsed:.1f}s"
    )
    say()
    out.write(summary + "\n")
    if fake.violations:
        out.write("GitHub API description violations:\n" + "\n".join(fake.violations) + "\n")
        return DemoRun(1, fake, recorded)
    return DemoRun(0, fake, recorded)


async def _play(story, say, clock, fake, service, http, url, secret, tally, shown) -> None:
    last: dict[str, Any] = {}
    last_tick: int | None = None
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
        elif step.kind == "open":
            files: dict[str, str] = step.extra["files"]
            sha = hashlib.sha1(f"{REPO}#{step.pr}".encode()).hexdigest()
            fake.add_pull(
                OWNER,
                REPO,
                step.pr,
                author=step.author,
                title=TITLES.get(step.pr),
                head_sha=sha,
                head_ref=f"change-{step.pr}",
                files=list(files),
                patches=files,
            )
            pulls.add(step.pr)
            say(f"    “{TITLES.get(step.pr)}”, changing {', '.join(files)}")
            payload = _pull_payload(step, sha, clock.now)
            status = await _send(http, url, secret, "pull_request", payload, delivery)
        elif step.kind == "approve":
            review = fake.add_review(
                OWNER, REPO, step.pr, user=step.reviewer, state="APPROVED", submitted_at=clock.now
            )
            payload = _review_payload(step, review["id"], clock.now)
            status = await _send(http, url, secret, "pull_request_review", payload, delivery)
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
        # The worker's periodic jobs run once a story day (and when a reaction, which GitHub
        # sends no webhook for, has to be seen); what a webhook touched is handled by the drain.
        if int(step.day) != last_tick or step.kind == "react":
            last_tick = int(step.day)
            await service.worker.tick()
        if step.kind == "redeliver":
            say("    bot: already stored under this delivery id; nothing decided or posted again")
        await _explain(say, service, shown, tally)
        followups = {
            f.comment_id: f for f in await service.store.followups() if f.comment_id is not None
        }
        for comment in _bot_comments(fake, pulls):
            before = shown["comments"].get(comment["id"])
            if before == comment["body"]:
                continue
            shown["comments"][comment["id"]] = comment["body"]
            shown["edits"].setdefault(comment["id"], []).append(comment["body"])
            followup = followups.get(comment["id"]) if before is None else None
            if followup is not None:
                say(f"    ✉ bot posted {await _followup_heading(service, followup)}:")
            elif before is None:
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
        if step.pr in SERIES_PULLS:
            await _series_news(say, service, step, clock.now, shown)
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


async def _charts(say, clock, service) -> None:
    """Every series on record, drawn from the store as ``python -m bot simulate --series`` draws one."""
    say()
    say(
        "▸ The spaced follow-ups on record, one series per posted nudge (FSRS; the day counts "
        "from the nudge)"
    )
    playbooks = {p.id: p for p in service.config.current.playbooks.playbooks}
    chart = await series_section(service.store, playbooks, INSTALLATION, clock.now)
    for line in chart.rstrip("\n").splitlines()[1:]:  # under this heading, not its own
        say(f"    {line}")


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
    "followup_planned": "follow-up planned",
    "followup_dropped": "follow-up dropped",
    "followup_waiting": "follow-up waits",
    "followup_held_out": "no follow-up (randomized holdout)",
    "followup_paused": "no follow-up",
    "followup_muted": "no follow-up",
    "followup_off": "no follow-up",
}


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


async def _followup_heading(service, followup: FollowUp) -> str:
    """Which follow-up of which series, on which pull request, how long after the one before."""
    store = service.store
    nudge = await store.nudge(followup.nudge_key)
    earlier = [
        f
        for f in await store.followups(
            (FollowUpState.POSTED,), installation_id=followup.installation_id
        )
        if f.nudge_key == followup.nudge_key and f.index < followup.index
    ]
    if earlier:
        last = max(earlier, key=lambda f: f.index)
        since, what = last.posted_at, f"follow-up {last.index} (PR #{last.pr_number})"
    else:
        since, what = nudge.posted_at, f"the nudge (PR #{nudge.pr_number})"
    playbook = service.config.current.playbooks.get(followup.playbook_id)
    days = (followup.posted_at - since).days
    return (
        f"follow-up {followup.index} of {followup.engineer}'s "
        f"{playbook.title if playbook else followup.playbook_id} series on PR "
        f"#{followup.pr_number}, {_days(days)} after {what}"
    )


async def _series_news(say, service, step: Step, now: dt.datetime, shown) -> None:
    """What a pull request of the story's series, or its review, did to the series."""
    engineer, playbook_id = SERIES
    playbook = service.config.current.playbooks.get(playbook_id)
    store = service.store
    series = await running_series(store, playbook, INSTALLATION, engineer, now)
    if series is None:
        return
    if step.kind == "open":
        if any(f.pr_number == step.pr for f in await store.followups(installation_id=INSTALLATION)):
            return  # posted and printed above
        heads = [h for h in await store.pull_heads(INSTALLATION) if h.number == step.pr]
        if heads and not heads[-1].relevant:
            due = f"one is due since {series.due_at:%a %d %b}, but " if series.due_at else ""
            say(
                f"    bot: no follow-up: {due}PR #{step.pr} changes no code a playbook is about "
                "(only documentation)"
            )
        elif series.ended:
            say(f"    bot: no follow-up: the series has ended ({series.ended})")
        elif series.due_at is not None and series.due_at > now:
            say(f"    bot: no follow-up: the next one is not due until {series.due_at:%a %d %b}")
        return
    before = await running_series(
        store, playbook, INSTALLATION, engineer, now - dt.timedelta(seconds=1)
    )
    what = "a clean review" if step.kind == "approve" else "a matching comment"
    if series.ended:
        say(f"    series: {what}; the series has ended: {series.ended}")
        return
    if series.due_at is None:
        return
    was = before.due_at if before is not None else None
    moved = (
        ""
        if was is None or was.date() == series.due_at.date()
        else f" ({'later' if series.due_at > was else 'sooner'} than {was:%a %d %b})"
    )
    say(
        f"    series: {what} on PR #{step.pr}: the next follow-up is due {series.due_at:%a %d %b}, "
        f"{_days((series.due_at - now).days)} from now{moved}"
    )


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
