"""``python -m bot simulate``: the decision core and the kill switch over a synthetic organisation."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO


def _effect(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        effect = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"write PLAYBOOK=EFFECT, like sql-injection=0.5; got {text!r}") from None
    if not name or not 0 <= effect <= 1:
        raise argparse.ArgumentTypeError(f"the effect is a share between 0 and 1, like sql-injection=0.5; got {text!r}")
    return name, effect


def simulate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the kill switch over a synthetic organisation and print what it decided."""
    if getattr(args, "series", False):
        from bot.cli.series import simulate_series_command

        return simulate_series_command(args, out or sys.stdout)
    from bot.simulation import DEFAULT_EFFECTS, Scenario, report, simulate

    effects = dict(args.effect) if args.effect else dict(DEFAULT_EFFECTS)
    scenario = Scenario(days=args.days, engineers=args.engineers, effects=effects, seed=args.seed)
    (out or sys.stdout).write(report(simulate(scenario)))
    return 0
