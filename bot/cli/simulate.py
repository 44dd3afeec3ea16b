"""``python -m bot simulate``: the decision core and the kill switch over a synthetic organisation."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.core.evaluate import PoissonFit, PoissonFitter
    from bot.core.outcome import Outcome


def _effect(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        effect = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"write PLAYBOOK=EFFECT, like sql-injection=0.3; got {text!r}"
        ) from None
    if not name or not 0 <= effect <= 1:
        raise argparse.ArgumentTypeError(
            f"the effect is a share between 0 and 1, like sql-injection=0.3; got {text!r}"
        )
    return name, effect


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"write a number like 0.15; got {text!r}") from None
    if not 0 < value <= 5:
        raise argparse.ArgumentTypeError(f"must be above 0 (and at most 5); got {text!r}")
    return value


def add_arguments(sim: argparse.ArgumentParser) -> None:
    """The ``simulate`` command's options (``bot.cli`` builds the parser)."""
    sim.add_argument("--days", type=int, default=90)
    sim.add_argument("--engineers", type=int, default=60)
    sim.add_argument(
        "--effect",
        type=_effect,
        action="append",
        metavar="PLAYBOOK=EFFECT",
        help="true share of matching comments a nudge removes (default: sql-injection=0.3 "
        "swallowed-errors=0); repeat for more playbooks",
    )
    sim.add_argument(
        "--playbooks",
        type=int,
        default=None,
        metavar="N",
        help="N playbooks instead: true effects 0.3, 0, 0.15, 0.3, 0 … (with --effect: "
        "those first)",
    )
    sim.add_argument(
        "--base-rate",
        type=_share,
        default=0.15,
        help="matching comments per reviewed PR and playbook, mean over engineers (0.15)",
    )
    sim.add_argument("--prs-per-week", type=_share, default=3.0, help="per engineer, mean (3)")
    sim.add_argument(
        "--backfill-days",
        type=int,
        default=90,
        help="history recorded at installation (90); 0: none, observe-only first",
    )
    sim.add_argument(
        "--fade-days",
        type=float,
        default=90.0,
        help="half-life of a nudge's effect (90); 0: it never fades",
    )
    sim.add_argument("--seed", type=int, default=3, help="another seed, another organisation")


def simulate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the kill switch over a synthetic organisation and print what it decided."""
    if getattr(args, "series", False):
        from bot.cli.series import simulate_series_command

        return simulate_series_command(args, out or sys.stdout)
    from bot.simulation import DEFAULT_EFFECTS, Scenario, many_effects, report, simulate

    effects = dict(args.effect) if args.effect else dict(DEFAULT_EFFECTS)
    if args.playbooks:
        extra = many_effects(max(args.playbooks, 2))
        effects = dict(
            list(effects.items()) + [(k, v) for k, v in extra.items() if k not in effects]
        )
        effects = dict(list(effects.items())[: args.playbooks])
    if args.engineers < 4:
        (out or sys.stderr).write("the simulation needs at least 4 engineers\n")
        return 2
    scenario = Scenario(
        days=args.days,
        engineers=args.engineers,
        effects=effects,
        seed=args.seed,
        base_rate=args.base_rate,
        prs_per_week=args.prs_per_week,
        backfill_days=max(args.backfill_days, 0),
        fade_days=max(args.fade_days, 0.0),
    )
    with statistics_process() as fit:
        sim = simulate(scenario, fit=fit)
    (out or sys.stdout).write(report(sim))
    return 0


@contextlib.contextmanager
def statistics_process() -> Iterator[PoissonFitter]:
    """The evaluations' regressions, computed in a second process that starts at once.

    Importing SciPy and statsmodels takes about as long as the first month of a large
    simulation; in a process of their own, started before the simulation, they are ready when
    the first window closes, on the machine's second core. The answers are the same as in one
    process (each randomization test draws from its own seeded generator).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from bot.core.evaluate import design, libraries, poisson_effect_of

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited
    with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=libraries) as pool:
        try:
            pool.submit(int)  # the pool starts its process on the first task: start it now
        except (OSError, BrokenProcessPool):  # no second process here: compute them in this one
            pass

        def fit(outcomes: list[Outcome], /, *, confidence: float, resamples: int) -> PoissonFit:
            # The regression's data, not the outcomes: a few arrays pickle faster than
            # hundreds of records.
            data = design(outcomes)
            try:
                future = pool.submit(
                    poisson_effect_of, *data, confidence=confidence, resamples=resamples
                )
                return future.result()
            except (OSError, BrokenProcessPool):  # it could not start or died: compute it here
                return poisson_effect_of(*data, confidence=confidence, resamples=resamples)

        yield fit
