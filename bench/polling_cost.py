"""What polling for co-signs costs GitHub's rate limit, per waiting request per day.

    python bench/polling_cost.py [--minutes 15] [--days 1]

Runs the real service against the local GitHub stand-in with a manual clock: one significant
nudge waits for its lead while the scheduler ticks every `--minutes`; at the last tick the lead
reacts 👍. Prints the polls made for that co-sign request, how many were answered 304 (a
conditional request that costs no rate limit), and, as the baseline measured in the same run, the
same polling without ETags (every poll a full, counted request).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import build_service  # noqa: E402
from bot.core.nudges import NudgeState  # noqa: E402
from bot.core.org import OrgSettings, Role  # noqa: E402
from bot.testing.clock import ManualClock  # noqa: E402
from bot.testing.fakegithub import FakeGitHub, app_keypair  # noqa: E402

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
ORG = OrgSettings(
    roles={"dev": Role("dev", nudges=5, members=("ana",))},
    default_role="dev",
    leads={"lee": ("ana",)},
    holdout_share=0.0,
)


async def run(minutes: int, days: float, etags: bool) -> tuple[int, int]:
    clock = ManualClock(START)
    private, public = app_keypair()
    fake = FakeGitHub(app_id=1, public_key_pem=public, now=clock)
    fake.add_installation(1, "acme")
    fake.add_repo("acme", "shop", installation_id=1)
    fake.add_pull("acme", "shop", 1, author="ana")
    url = await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            webhook_secret="x",
            app_id="1",
            private_key=private,
            github_api_url=url,
            database_url=f"sqlite:///{tmp}/b.db",
            playbooks_dir=ROOT / "playbooks",
            run_worker=False,
        )
        async with build_service(settings, clock=clock, sleep=clock.sleep) as service:
            service.config.replace(org=ORG)
            if not etags:
                service.github.etag_cache = None  # type: ignore[assignment]
            from bot.core.decide import CommentDecision
            from bot.core.nudges import Nudge, nudge_key

            key = nudge_key(1, "acme/shop", "ana", "secrets-in-code", 1)
            nudge = Nudge(
                key,
                1,
                "acme/shop",
                1,
                "ana",
                "secrets-in-code",
                NudgeState.AWAITING_COSIGN,
                "waiting",
                START,
                START,
                None,
                leads=("lee",),
            )
            await service.store.save_decision(CommentDecision(nudges=[nudge]), None, START)
            await service.outbox.flush(clock())
            [request] = fake.issue_comments("acme", "shop", 1)
            path = f"/repos/acme/shop/issues/comments/{request['id']}/reactions"
            ticks = int(days * 24 * 60 / minutes)
            for i in range(ticks):
                if i == ticks - 1:  # the lead answers at the end of the period
                    fake.add_reaction(
                        "issue_comment", "acme", "shop", request["id"], user="lee", content="+1"
                    )
                await service.reactions.poll_cosigns(clock())
                clock.advance(minutes=minutes)
    await fake.close()
    polls = [r for r in fake.requests if r.path == path]
    return len(polls), sum(r.status == 304 for r in polls)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--days", type=float, default=1.0)
    args = parser.parse_args()
    for etags in (True, False):
        made, free = await run(args.minutes, args.days, etags)
        label = "with ETags (If-None-Match)" if etags else "without ETags [baseline]"
        print(
            f"{label:<28}: {made} polls while waiting {args.days:g} day(s); {free} answered 304 "
            f"(free), {made - free} counted against the rate limit"
        )


if __name__ == "__main__":
    asyncio.run(main())
