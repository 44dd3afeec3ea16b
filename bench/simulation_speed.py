"""How long does ``python -m bot simulate`` take, and how much memory, as organisations grow?

    python bench/simulation_speed.py [--engineers 100 1000 10000] [--playbooks 20] [--days 90]

Each size runs in a fresh process (so its peak memory is its own), the way the command runs it
(the evaluations' regressions in a second process started at once, where SciPy and statsmodels
load while the simulation goes on): the simulation's wall time (and this process's CPU time: on
a busy machine the wall time is longer), the whole command's (with the second process's CPU
time), the process's peak resident memory, and that memory per engineer, which stays flat when
memory grows linearly. Beside them, a floor measured in the same run: the start-up (Python, NumPy and the simulation
imported, nothing simulated), so a busy machine shows as a slow floor, with its CPU time; how
long the second process takes to be ready (SciPy and statsmodels imported) and its memory; and
the CPU time of an empty 10-million-iteration Python loop, which tells a slow machine from slow
code.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
engineers, playbooks, days = (int(a) for a in sys.argv[1:4])
loop = 0.0
if not engineers:  # the calibration: an empty Python loop, before anything is imported
    loop = time.process_time()
    for _ in range(10_000_000):
        pass
    loop = time.process_time() - loop
began = time.perf_counter()
from bot.simulation import Scenario, many_effects, simulate
from bot.cli.simulate import statistics_process
imported = time.perf_counter()
cpu = time.process_time()
sim = None
if engineers:  # as the command runs it: the regressions in a second process, started at once
    with statistics_process() as fit:
        sim = simulate(
            Scenario(engineers=engineers, effects=many_effects(playbooks), days=days, seed=1), fit=fit
        )
done = time.perf_counter()
if not engineers:  # the floor also times the second process's own start-up, on its own
    with statistics_process() as fit:
        pass
stats_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({
    "stats_start": time.perf_counter() - done, "stats_mb": stats_mb,
    "start": imported - began, "start_cpu": cpu - loop, "loop": loop, "simulate": done - imported, "cpu": time.process_time() - cpu,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "reviews": sim.reviews if sim else 0, "comments": sim.comments if sim else 0,
    "decisions": len(sim.nudges) if sim else 0,
}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(engineers: int, playbooks: int, days: int) -> dict:
    cpu = _children_cpu()
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(engineers), str(playbooks), str(days)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.perf_counter() - began
    return {
        **json.loads(out.strip().splitlines()[-1]),
        "wall": wall,
        "wall_cpu": _children_cpu() - cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engineers", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--playbooks", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    floor = run(0, args.playbooks, args.days)
    print(
        f"python -m bot simulate --playbooks {args.playbooks} --days {args.days} (plus the 90-day backfill), seed 1"
    )
    print(
        f"floor (start-up, nothing simulated): {floor['start']:.2f} s ({floor['start_cpu']:.2f} s CPU), "
        f"peak memory {floor['rss_mb']:.0f} MB; the second process ready (SciPy and statsmodels "
        f"imported) {floor['stats_start']:.2f} s after it was asked for, peak memory "
        f"{floor['stats_mb']:.0f} MB; an empty 10-million-iteration Python loop {floor['loop']:.2f} s CPU"
    )
    print()
    print(
        "| engineers | simulation (CPU) | whole process (CPU) | peak memory | memory above the floor, per engineer "
        "| reviews | matching comments | nudge decisions |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for engineers in args.engineers:
        m = run(engineers, args.playbooks, args.days)
        per = 1024 * (m["rss_mb"] - floor["rss_mb"]) / engineers
        print(
            f"| {engineers:,} | {m['simulate']:.2f} s ({m['cpu']:.2f} s) | {m['wall']:.2f} s ({m['wall_cpu']:.2f} s) | {m['rss_mb']:.0f} MB | {per:.0f} KB "
            f"| {m['reviews']:,} | {m['comments']:,} | {m['decisions']:,} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
