"""``python -m bot backfill [--days 90] [--installation ID]``: read the review history now.

The same job the app runs when it is installed (:mod:`bot.app.jobs.backfill`), run to the end in
this process: a backfill that stopped (a crash, a GitHub error) continues where it stopped; one
that finished is read again over the last ``--days`` (nothing is recorded twice). Without
``--installation``, every installation the store knows is read. Nothing is ever nudged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.app.settings import Settings
from bot.core.backfill import BACKFILL_DAYS
from bot.store.backfill import known_installations


async def run_backfill(
    settings: Settings,
    out: TextIO,
    *,
    days: int = BACKFILL_DAYS,
    installation: int | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> int:
    from bot.app.wiring import build_service, utc_now

    clock = clock or utc_now
    extra = {"sleep": sleep} if sleep is not None else {}
    async with build_service(settings, clock=clock, **extra) as service:
        store, job = service.store, service.backfills
        assert job is not None
        installations = (
            [installation] if installation is not None else await known_installations(store)
        )
        if not installations:
            print(
                "learning-nudges: no installation on record yet; name one with --installation ID "
                "(the number at the end of the app's installation page URL)",
                file=out,
            )
            return 2
        failed = 0
        for inst in installations:
            now = clock()
            state = await store.backfill_state(inst)  # type: ignore[attr-defined]
            if state is None or state.finished_at is not None:
                await job.request(inst, now, days=days, fresh=state is not None)
            else:
                print(
                    f"installation {inst}: continuing the backfill asked for on "
                    f"{state.requested_at:%Y-%m-%d %H:%M} (from {state.since:%Y-%m-%d})",
                    file=out,
                )
            report = await job.run(inst, now)
            print(report.summary(), file=out)
            failed += report.error is not None
        return 1 if failed else 0
