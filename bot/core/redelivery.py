"""Which of GitHub's failed webhook deliveries to ask again for (pure; the sweep is the edge).

GitHub never retries a failed delivery by itself: while the app is down or answering 5xx, the
events are only recorded at GitHub as failed. The sweep lists the App's recent deliveries
(``GET /app/hook/deliveries``, newest first) and asks for a redelivery of each event that never
reached the inbox. An event is identified by its guid (the ``X-GitHub-Delivery`` header, which a
redelivery keeps); each attempt is one item of the list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

# GitHub keeps deliveries for three days; the sweep looks back that far.
LOOKBACK = dt.timedelta(days=3)
# An event whose attempts all failed this many times is left alone (it says why at GitHub).
MAX_ATTEMPTS_PER_EVENT = 6


@dataclass(frozen=True)
class HookDelivery:
    """One attempt as ``GET /app/hook/deliveries`` lists it."""

    id: int
    guid: str
    delivered_at: dt.datetime
    status_code: int
    status: str
    redelivery: bool

    @property
    def reached_us(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def pending(self) -> bool:
        return self.status.lower() == "pending"

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> HookDelivery:
        at = dt.datetime.fromisoformat(str(item["delivered_at"]))
        return cls(
            int(item["id"]),
            str(item["guid"]),
            at,
            int(item.get("status_code") or 0),
            str(item.get("status") or ""),
            bool(item.get("redelivery")),
        )


def still_recent(
    page: Sequence[HookDelivery], now: dt.datetime, lookback: dt.timedelta = LOOKBACK
) -> bool:
    """Whether the list (newest first) may hold attempts within ``lookback``: read the next page."""
    return bool(page) and now - min(d.delivered_at for d in page) <= lookback


def to_redeliver(
    attempts: Iterable[HookDelivery],
    in_inbox: AbstractSet[str],
    now: dt.datetime,
    *,
    lookback: dt.timedelta = LOOKBACK,
    max_attempts: int = MAX_ATTEMPTS_PER_EVENT,
) -> list[HookDelivery]:
    """The attempt to redeliver for each event that never reached the inbox, oldest event first.

    An event is skipped when any attempt reached us, when its guid is in the inbox (stored,
    done or failed with its reason), when an attempt is still under way, when it was tried
    ``max_attempts`` times already, or when its latest attempt is older than ``lookback``.
    """
    by_guid: dict[str, list[HookDelivery]] = {}
    for attempt in attempts:
        by_guid.setdefault(attempt.guid, []).append(attempt)
    chosen: list[HookDelivery] = []
    for guid, tries in by_guid.items():
        if guid in in_inbox or len(tries) >= max_attempts:
            continue
        if any(t.reached_us or t.pending for t in tries):
            continue
        latest = max(tries, key=lambda t: (t.delivered_at, t.id))
        if now - latest.delivered_at > lookback:
            continue
        chosen.append(latest)
    return sorted(chosen, key=lambda t: (min(x.delivered_at for x in by_guid[t.guid]), t.id))
