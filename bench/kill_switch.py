"""How often does the kill switch get it wrong? Seeded, repeated simulations with a known effect.

    python bench/kill_switch.py [--runs 400] [--engineers 60 ...] [--days 90] [--effect 0.5] [--alpha 0.1] [--window-days 60]

Each run simulates one organisation (``bot.simulate``: the real decision core and kill switch,
no I/O) with two playbooks: one whose nudge truly removes ``--effect`` of the matching comments
after it reaches an engineer, and one whose nudge does nothing. The run's seed is its number, so
every figure can be reproduced. Printed per organisation size, with 95 % Wilson intervals:

- false-pause rate: the effective playbook was paused anyway (split into "no effect" and "too
  little data"); one minus it is the power to keep an effective playbook;
- pause rate of the ineffective playbook: what the switch is for; one minus it is the rate of
  keeping a playbook that does nothing;
- how long the runs took.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scipy.stats import binomtest  # noqa: E402

from bot.core.evaluate import Rules, Verdict  # noqa: E402
from bot.simulation import Scenario, simulate  # noqa: E402

EFFECTIVE, INEFFECTIVE = "sql-injection", "swallowed-errors"


def rate(count: int, runs: int) -> str:
    interval = binomtest(count, runs).proportion_ci(confidence_level=0.95, method="wilson")
    return f"{count / runs:6.1%} [{interval.low:.1%}, {interval.high:.1%}]"


def measure(
    engineers: int, runs: int, days: int, effect: float, rules: Rules, window_days: int
) -> dict[str, object]:
    counts = {"eff_no_effect": 0, "eff_no_data": 0, "ineff_paused": 0, "ineff_no_data": 0, "undecided": 0}
    began = time.perf_counter()
    for seed in range(runs):
        scenario = Scenario(days=days, engineers=engineers, seed=seed, rules=rules, window_days=window_days,
                            effects={EFFECTIVE: effect, INEFFECTIVE: 0.0})
        verdicts = simulate(scenario).verdicts()
        if EFFECTIVE not in verdicts or INEFFECTIVE not in verdicts:
            counts["undecided"] += 1
            continue
        good, bad = verdicts[EFFECTIVE].verdict, verdicts[INEFFECTIVE].verdict
        counts["eff_no_effect"] += good == Verdict.NO_EFFECT
        counts["eff_no_data"] += good == Verdict.NO_DATA
        counts["ineff_paused"] += bad in (Verdict.NO_EFFECT, Verdict.NO_DATA)
        counts["ineff_no_data"] += bad == Verdict.NO_DATA
    return {**counts, "seconds": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--engineers", type=int, nargs="+", default=[60])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--effect", type=float, default=0.5, help="the effective playbook's true effect")
    parser.add_argument("--alpha", type=float, default=Rules().alpha, help="the test's one-sided level")
    parser.add_argument("--window-days", type=int, default=60, help="every playbook's evaluation window")
    args = parser.parse_args(argv)
    rules = Rules(alpha=args.alpha)
    print(
        f"Kill switch, {args.runs} seeded runs per size, {args.days} days: "
        f"window {args.window_days} days, holdout 20 %, {rules.min_engineers}+ engineers per group with "
        f"{rules.min_prs}+ reviewed PRs before and after, one-sided Welch test at {rules.alpha:g}."
    )
    print()
    print(f"| engineers | false pause (effect {args.effect:g}) | of which: too little data | "
          "ineffective paused (effect 0) | of which: too little data | time |")
    print("| ---: | --- | --- | --- | --- | ---: |")
    for engineers in args.engineers:
        m = measure(engineers, args.runs, args.days, args.effect, rules, args.window_days)
        runs = args.runs - m["undecided"]  # type: ignore[operator]
        false_pause = m["eff_no_effect"] + m["eff_no_data"]  # type: ignore[operator]
        print(
            f"| {engineers} | {rate(false_pause, runs)} | {rate(m['eff_no_data'], runs)} "  # type: ignore[arg-type]
            f"| {rate(m['ineff_paused'], runs)} | {rate(m['ineff_no_data'], runs)} "  # type: ignore[arg-type]
            f"| {m['seconds']:.1f} s ({1000 * m['seconds'] / args.runs:.0f} ms a run) |"  # type: ignore[operator]
        )
        if m["undecided"]:
            print(f"({m['undecided']} runs decided nothing within {args.days} days and are left out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
