"""A clock that only moves when told: the demo and the tests drive time with it."""

from __future__ import annotations

import datetime as dt


class ManualClock:
    """Call it for "now"; ``advance`` moves it. Sleeping through it records and advances."""

    def __init__(self, start: dt.datetime):
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware datetime (UTC)")
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Stands in for ``asyncio.sleep``: time passes at once, and the wait is on record."""
        self.slept.append(seconds)
        self.now += dt.timedelta(seconds=seconds)
