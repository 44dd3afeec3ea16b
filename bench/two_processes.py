"""Two `python -m bot serve` processes on one PostgreSQL database, against one.

    python bench/two_processes.py [--deliveries 500] [--database-url postgresql://...]

Starts a fake GitHub (real port, real clock) and N serve processes on a fresh schema, sends the
same signed review-comment deliveries (about 10 % of them twice, to either process), and waits
until the inbox is drained and every nudge is written. Prints, for two processes and, as the
baseline measured in the same run, for one: deliveries stored, deliveries processed more than
once, nudges posted, nudges posted twice, and the time from the first send to drained.
The database URL defaults to TEST_DATABASE_URL, then DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cluster import cluster, review_traffic  # noqa: E402

from bot.core.nudges import NudgeState  # noqa: E402


async def run(processes: int, deliveries: int, database_url: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as workdir:
        async with cluster(database_url, Path(workdir)) as c:
            traffic = review_traffic(c.fake, deliveries)
            for _ in range(processes):
                c.start_server()
            async with aiohttp.ClientSession() as session:
                await c.wait_ready(session)
                started = time.monotonic()
                sent = await c.send_all(session, traffic.deliveries, twice=0.1)
                await c.wait_drained(len(traffic.deliveries), timeout=600)
                took = time.monotonic() - started
            records = await c.store.deliveries()
            nudges = await c.store.nudges((NudgeState.POSTED,))
            markers = c.markers(traffic)
            return {
                "sent": sent,
                "stored": len(records),
                "done": sum(r.status == "done" for r in records),
                "processed twice": sum(r.attempts > 1 for r in records),
                "nudges posted": len(nudges),
                "posted twice": sum(count > 1 for count in markers.values()),
                "violations": len(c.fake.violations),
                "seconds": took,
            }


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"),
    )
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith(("postgres://", "postgresql://")):
        print(
            "two_processes: give a PostgreSQL URL (--database-url or TEST_DATABASE_URL)",
            file=sys.stderr,
        )
        return 2
    print(
        f"{args.deliveries} review-comment deliveries, ~10 % sent twice, 4 organisations, 24 engineers"
    )
    header = (
        f"{'processes':>9}  {'sent':>5}  {'stored':>6}  {'done':>5}  {'processed twice':>15}  "
        f"{'nudges posted':>13}  {'posted twice':>12}  {'API violations':>14}  {'time to drain':>13}"
    )
    print(header)
    for processes in (2, 1):
        r = await run(processes, args.deliveries, args.database_url)
        print(
            f"{processes:>9}  {r['sent']:>5}  {r['stored']:>6}  {r['done']:>5}  {r['processed twice']:>15}  "
            f"{r['nudges posted']:>13}  {r['posted twice']:>12}  {r['violations']:>14}  {r['seconds']:>12.1f}s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
