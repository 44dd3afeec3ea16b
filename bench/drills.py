"""The reliability drills, as one table: drill, cases tried, failures, lost, duplicated.

    python bench/drills.py --short              # CI: a minute or two
    python bench/drills.py --soak               # longer: more cases, more seeds, more kills
    python bench/drills.py --short --database-url postgresql://...   # SIGKILL on PostgreSQL too

Each drill runs the real app against the stand-in GitHub (see tests/drills.py for what each
one does and counts). The PostgreSQL SIGKILL row needs a database URL (``--database-url``, else
TEST_DATABASE_URL); SQLite always runs. Exits 1 when any row has a failure, a loss or a
duplicate, so CI can run it as is. The seconds column is this machine's, for reading only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import drills

SIZES = {
    # drill: (short, soak)
    "forged": (1000, 10000),
    "malformed_rounds": (3, 30),
    "marker": (5, 40),
    "hostile_engineers": (2, 10),
    "fault_seeds": (3, 20),
    "fault_engineers": (5, 8),
    "faults": (40, 80),
    "outage_events": (60, 600),
    "kill_runs": (4, 25),
    "kill_deliveries": (80, 600),
    "sigterm_runs": (3, 15),
}


async def run(soak: bool, database_url: str | None) -> list[drills.Row]:
    pick = 1 if soak else 0
    size = {k: v[pick] for k, v in SIZES.items()}
    rows: list[drills.Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)

        async def timed(coro) -> drills.Row:
            started = time.perf_counter()
            row = await coro
            row.seconds = time.perf_counter() - started
            print(
                f"  {row.drill}: {row.cases} cases, {row.seconds:.1f}s", file=sys.stderr, flush=True
            )
            return row

        rows.append(await timed(drills.forged_drill(work / "forged", size["forged"])))
        rows.append(
            await timed(drills.malformed_drill(work / "malformed", size["malformed_rounds"]))
        )
        rows.append(await timed(drills.foreign_marker_drill(work / "marker", size["marker"])))
        rows.append(await timed(drills.config_drill(work / "config")))
        rows.append(await timed(drills.hostile_drill(work / "hostile", size["hostile_engineers"])))
        faults = drills.Row("GitHub faults")
        for seed in range(size["fault_seeds"]):
            one = await timed(
                drills.faults_drill(
                    work / f"faults{seed}",
                    size["fault_engineers"],
                    size["faults"],
                    240,
                    seed=100 + seed,
                )
            )
            faults.drill = one.drill
            faults.cases += one.cases
            faults.failures += one.failures
            faults.lost += one.lost
            faults.duplicated += one.duplicated
            faults.seconds += one.seconds
        rows.append(faults)
        rows.append(await timed(drills.outage_drill(work / "outage", size["outage_events"])))
        rows.append(await timed(drills.scan_drill(work / "scan")))
        rows.append(
            await timed(
                drills.kill_drill(
                    work / "kill-sqlite",
                    f"sqlite:///{work / 'kill.db'}",
                    size["kill_runs"],
                    size["kill_deliveries"],
                )
            )
        )
        rows.append(await timed(drills.sigterm_drill(work / "sigterm", size["sigterm_runs"])))
        if database_url:
            rows.append(
                await timed(
                    drills.kill_drill(
                        work / "kill-pg", database_url, size["kill_runs"], size["kill_deliveries"]
                    )
                )
            )
        else:
            print(
                "  (no --database-url or TEST_DATABASE_URL: the PostgreSQL SIGKILL row is skipped)",
                file=sys.stderr,
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_true", help="the CI form (default)")
    mode.add_argument("--soak", action="store_true", help="the longer run")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    logging.getLogger("bot").propagate = False  # the drills keep the app's log lines for the scan
    logging.getLogger("bot").addHandler(logging.NullHandler())
    started = time.perf_counter()
    rows = asyncio.run(run(args.soak, args.database_url))
    print(drills.format_table(rows), end="")
    for r in rows:
        if r.notes and not (r.failures or r.lost or r.duplicated):
            print(f"  {r.drill.split(' (')[0]}: {'; '.join(r.notes)}")
    bad = [r for r in rows if r.failures or r.lost or r.duplicated]
    print(
        f"{'soak' if args.soak else 'short'} run: {len(rows)} drills in {time.perf_counter() - started:.0f}s;"
        f" {'all rows zero' if not bad else str(len(bad)) + ' rows with failures, losses or duplicates'}"
    )
    for r in bad:
        print(f"  {r.drill}: {'; '.join(r.notes)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
