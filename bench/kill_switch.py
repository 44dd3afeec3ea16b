"""How often does the kill switch get it wrong? Seeded, repeated simulations with known effects.

    python bench/kill_switch.py [--runs 200] [--engineers 60 120 200 500] [--base-rate 0.1 0.3]
                                [--days 90] [--jobs 2] [--method poisson-randomization|welch] ...

Each run simulates one organisation (``bot.simulation``: the real decision core and kill switch,
no I/O, at the simulation's default realism: a 90-day backfill, budgets, co-signs that leads
veto or let expire, engineers who differ, effects that fade) with four playbooks: one whose
nudge truly removes 30 % of an engineer's matching comments once it reaches them, one 15 %, and
two whose nudge does nothing. One useless playbook needs a lead's co-sign; with ``--cosign``
the nudging ones do too (leads approve 70 %, veto 10 %, let 20 % expire), so fewer nudges reach
anyone. The run's seed is its number, so every figure
can be reproduced. Printed per organisation size and base rate, with 95 % Wilson intervals:

- power: the effective playbook is kept (its decision in force at the end is "keeps going");
- false keeps: a useless playbook is kept (two per run, so twice the runs are counted);
- how many useless playbooks the halfway look paused early;
- how long the runs took.

With ``--resumes N`` the author resumes every paused playbook a week after its pause, N times
(run long enough, e.g. ``--days 330``): the false keeps then show what the alpha per resume buys.
Over several windows (``--days 330``), a kept playbook's later windows are monitoring
evaluations (``--monitor-p``); ``--retest-kept`` re-tests it at every window instead, to compare.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scipy.stats import binomtest

from bot.core.evaluate import POISSON, Rules, Verdict
from bot.simulation import Scenario, simulate

STRONG, WEAK, USELESS, USELESS_2 = "effect-30", "effect-15", "no-effect", "no-effect-2"
EFFECTS = {STRONG: 0.30, WEAK: 0.15, USELESS: 0.0, USELESS_2: 0.0}
SIGNIFICANT = (USELESS,)  # with --cosign the nudging playbooks need a co-sign too


def rate(count: int, runs: int) -> str:
    if not runs:
        return "–"
    interval = binomtest(count, runs).proportion_ci(confidence_level=0.95, method="wilson")
    return f"{count / runs:.1%} [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"


def one_run(args: tuple[Scenario, int, int]) -> dict[str, int]:
    scenario, seed, _resumes = args
    sim = simulate(dataclasses.replace(scenario, seed=seed))
    verdicts = sim.verdicts()
    kept = {pid: pid in verdicts and verdicts[pid].verdict == Verdict.EFFECTIVE for pid in EFFECTS}
    early = len(
        {
            e.playbook_id
            for e in sim.evaluations
            if e.playbook_id in (USELESS, USELESS_2) and e.verdict == Verdict.FUTILE
        }
    )  # paused early at least once
    undecided = sum(1 for pid in EFFECTS if pid not in verdicts)
    resumed = sum(1 for e in sim.evaluations if e.verdict == Verdict.RESUMED)
    return {
        "strong": kept[STRONG],
        "weak": kept[WEAK],
        "false": kept[USELESS] + kept[USELESS_2],
        "early": early,
        "undecided": undecided,
        "resumed": resumed,
    }


def measure(scenario: Scenario, runs: int, jobs: int, resumes: int) -> dict[str, float]:
    began = time.perf_counter()
    work = [(scenario, seed, resumes) for seed in range(runs)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(one_run, work, chunksize=4))
    else:
        results = [one_run(w) for w in work]
    totals = {key: sum(r[key] for r in results) for key in results[0]}
    return {**totals, "seconds": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--engineers", type=int, nargs="+", default=[60, 120, 200, 500])
    parser.add_argument("--base-rate", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--window-days", type=int, default=60)
    parser.add_argument(
        "--backfill-days", type=int, default=90, help="0: no history, observe-only first"
    )
    parser.add_argument("--alpha", type=float, default=Rules().alpha, help="the one-sided level")
    parser.add_argument("--method", default=POISSON, choices=[POISSON, "welch"])
    parser.add_argument(
        "--min-prs", type=int, default=None, help="default 1 (poisson) or 3 (welch)"
    )
    parser.add_argument("--no-stop-early", action="store_true", help="no halfway look")
    parser.add_argument(
        "--resumes", type=int, default=0, help="resume each pause a week on, N times"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes (the machine's cores)")
    parser.add_argument("--holdout-share", type=float, default=Scenario().holdout_share)
    parser.add_argument(
        "--cosign", action="store_true", help="the nudging playbooks need a co-sign"
    )
    parser.add_argument(
        "--retest-from-scratch",
        action="store_true",
        help="with --resumes: every test at the full level (no alpha spent per resume)",
    )
    parser.add_argument(
        "--retest-kept",
        action="store_true",
        help="a kept playbook is re-tested with the keep-or-pause test at every window "
        "(the rule before monitoring)",
    )
    parser.add_argument(
        "--monitor-p",
        type=float,
        default=Rules().monitor_p,
        help="monitoring pauses a kept playbook with no reduction and a one-sided p of at least this",
    )
    args = parser.parse_args(argv)
    min_prs = args.min_prs or (1 if args.method == POISSON else 3)
    rules = Rules(
        alpha=args.alpha,
        method=args.method,
        min_prs=min_prs,
        halve_per_resume=not args.retest_from_scratch,
        monitor=not args.retest_kept,
        monitor_p=args.monitor_p,
    )
    print(
        f"Kill switch, {args.runs} seeded runs per row, {args.days} days, window {args.window_days} "
        f"days, backfill {args.backfill_days} days, holdout {args.holdout_share:.0%} while evaluated, method {args.method}, one-sided "
        f"level {rules.alpha:g}, {rules.min_engineers}+ engineers per group with {min_prs}+ reviewed "
        f"PRs after{'' if args.method == POISSON else ' and before'}, halfway look "
        f"{'off' if args.no_stop_early else 'on'}"
        + (f", up to {args.resumes} resumes a week after each pause" if args.resumes else "")
        + (" (each test at the full level)" if args.retest_from_scratch else "")
        + (
            "; a kept playbook re-tested at every window"
            if args.retest_kept
            else f"; a kept playbook monitored (paused with no reduction and p ≥ {rules.monitor_p:g})"
        )
        + "; effects fade (half-life 90 days) and differ between engineers; "
        + ("the nudging playbooks need" if args.cosign else "one useless playbook needs")
        + " a co-sign (70 % approved, 10 % vetoed, 20 % expire)."
    )
    print()
    print(
        "| engineers | base rate | power, effect 30 % | power, effect 15 % | false keeps (effect 0) "
        "| useless paused early | time |"
    )
    print("| ---: | ---: | --- | --- | --- | --- | ---: |")
    for base_rate in args.base_rate:
        for engineers in args.engineers:
            scenario = Scenario(
                days=args.days,
                engineers=engineers,
                effects=EFFECTS,
                base_rate=base_rate,
                window_days=args.window_days,
                backfill_days=args.backfill_days,
                rules=rules,
                stop_early=not args.no_stop_early,
                resume_after_days=7 if args.resumes else None,
                max_resumes=args.resumes,
                holdout_share=args.holdout_share,
                significant=(STRONG, WEAK, USELESS) if args.cosign else SIGNIFICANT,
            )
            m = measure(scenario, args.runs, args.jobs, args.resumes)
            runs = args.runs
            print(
                f"| {engineers} | {base_rate:g} | {rate(int(m['strong']), runs)} | {rate(int(m['weak']), runs)} "
                f"| {rate(int(m['false']), 2 * runs)} | {rate(int(m['early']), 2 * runs)} "
                f"| {m['seconds']:.0f} s ({1000 * m['seconds'] / runs:.0f} ms a run) |",
                flush=True,
            )
            if m["undecided"]:
                print(
                    f"({int(m['undecided'])} playbooks decided nothing within {args.days} days: counted as not kept)"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
