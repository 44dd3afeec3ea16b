"""When to try a GitHub request again, and after how long (pure, so it is tested as a table).

GitHub asks clients to honour ``retry-after``, to wait for ``x-ratelimit-reset`` when the
remaining quota is zero, and to back off exponentially on server errors. A request that may
have created something (a POST) is not retried on a server error here: the outbox retries it
later, after looking for the comment's marker, so a comment is never posted twice.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    longest_wait_seconds: float = 900.0  # beyond this, give the work back to the outbox


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(policy.cap_seconds, policy.base_seconds * 2 ** max(0, attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def retry_delay(
    method: str,
    status: int | None,
    headers: Mapping[str, str],
    attempt: int,
    now_epoch: float,
    policy: RetryPolicy,
    rng: random.Random,
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None to give up now.

    ``status`` is None for a network error (no response at all).
    """
    if attempt >= policy.max_attempts:
        return None
    if status in (403, 429):
        retry_after = _header(headers, "retry-after")
        if retry_after is not None and retry_after.strip().isdigit():
            wait = float(retry_after)
        elif _header(headers, "x-ratelimit-remaining") == "0":
            reset = _header(headers, "x-ratelimit-reset")
            wait = max(1.0, float(reset) - now_epoch + 1) if reset and reset.isdigit() else 60.0
        elif status == 429:
            wait = backoff(attempt, policy, rng)
        else:
            return None  # a plain 403 is a permission problem: retrying will not help
        return wait if wait <= policy.longest_wait_seconds else None
    if status is None or status >= 500:
        if method.upper() not in IDEMPOTENT:
            return None
        return backoff(attempt, policy, rng)
    return None
