"""Primary rate limits, one bucket per credential, in GitHub's ``x-ratelimit-*`` headers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

LIMIT = 5000
WINDOW = dt.timedelta(hours=1)


@dataclass
class Bucket:
    limit: int
    used: int
    reset: dt.datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(int(self.reset.timestamp())),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": "core",
        }

    def as_json(self) -> dict[str, int]:
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "reset": int(self.reset.timestamp()),
        }


class RateLimits:
    def __init__(self, now: Callable[[], dt.datetime], limit: int = LIMIT):
        self._now = now
        self._limit = limit
        self._buckets: dict[str, Bucket] = {}

    def bucket(self, key: str) -> Bucket:
        """The caller's bucket, refilled if its window has passed."""
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None or bucket.reset <= now:
            bucket = self._buckets[key] = Bucket(self._limit, 0, now + WINDOW)
        return bucket

    def spend(self, key: str) -> Bucket:
        bucket = self.bucket(key)
        bucket.used = min(bucket.used + 1, bucket.limit)
        return bucket
