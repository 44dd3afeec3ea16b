"""Acknowledgements first: the worker gives way while webhooks are being answered.

The worker and the web edge share one event loop by default. GitHub gives a delivery ten
seconds, so the web edge counts the requests it is answering and the worker, between two
deliveries, waits (a little, never for long) until none is in flight. Under a burst the inbox
grows and drains right after; nothing accepted waits for the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class AckPressure:
    def __init__(self) -> None:
        self._inflight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def inflight(self) -> int:
        return self._inflight

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to one webhook."""
        self._inflight += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._quiet.set()

    async def give_way(self, longest: float = 0.05) -> None:
        """Wait until no webhook is being answered, or ``longest`` seconds, whichever is first."""
        if self._inflight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), timeout=longest)
        else:
            await asyncio.sleep(0)
