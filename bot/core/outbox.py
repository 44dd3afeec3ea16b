"""The outbox's rules: which nudges still owe GitHub a write, and what a failed write leads to.

The outbox at the edge lists nudges in :data:`OUTBOX_STATES`, writes for those that
:func:`needs_write`, and on a GitHub failure asks :func:`after_failure` whether to try again
later (and when) or to give the nudge up with its reason. Nothing here talks to GitHub.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from bot.core.nudges import Nudge, NudgeState
from bot.core.retry import RetryPolicy, backoff

# Nudges in these states may need a GitHub call from the outbox (the store lists them).
OUTBOX_STATES = (NudgeState.PLANNED, NudgeState.COSIGNED, NudgeState.AWAITING_COSIGN)
MAX_ATTEMPTS = 8
OUTBOX_BACKOFF = RetryPolicy(base_seconds=30, cap_seconds=3600)


def needs_write(nudge: Nudge) -> bool:
    """Whether the outbox still owes GitHub a write for this nudge.

    A nudge awaiting a co-sign needs one write (the request) and is then polled, not posted.
    """
    if nudge.state == NudgeState.AWAITING_COSIGN:
        return nudge.cosign_comment_id is None
    return nudge.state in (NudgeState.PLANNED, NudgeState.COSIGNED)


def needs_cosign_request(nudge: Nudge) -> bool:
    """The write owed is the co-sign request (to the lead), not the nudge itself."""
    return nudge.state == NudgeState.AWAITING_COSIGN


@dataclass(frozen=True)
class RetryLater:
    """Try the write again at ``at``; ``reason`` is kept on the nudge meanwhile."""

    at: dt.datetime
    reason: str
    wait_seconds: float


@dataclass(frozen=True)
class GiveUp:
    """The nudge is failed for good, with its reason (it is kept, never dropped)."""

    nudge: Nudge


def after_failure(
    nudge: Nudge,
    reason: str,
    now: dt.datetime,
    rng: random.Random,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    policy: RetryPolicy = OUTBOX_BACKOFF,
) -> RetryLater | GiveUp:
    """A write for ``nudge`` failed with ``reason`` at ``now``: retry with backoff, or give up.

    ``now`` is the time the failure was seen, so a retry is never scheduled from a stale clock.
    """
    attempts = nudge.attempts + 1
    if attempts >= max_attempts:
        return GiveUp(nudge.moved(NudgeState.FAILED, f"GitHub refused it {attempts} times; last: {reason}"))
    wait = backoff(attempts, policy, rng)
    return RetryLater(now + dt.timedelta(seconds=wait), reason, wait)


def orphaned(nudge: Nudge) -> Nudge:
    """A nudge whose playbook an author removed: failed, with that reason, never posted."""
    return nudge.moved(NudgeState.FAILED, f"playbook {nudge.playbook_id} is no longer loaded")


def posted(nudge: Nudge, comment_id: int, now: dt.datetime) -> Nudge:
    """The nudge as recorded once GitHub accepted its comment."""
    how = f"co-signed by {nudge.resolved_by}" if nudge.resolved_by else nudge.reason
    return nudge.moved(NudgeState.POSTED, f"posted ({how})", comment_id=comment_id, posted_at=now)
