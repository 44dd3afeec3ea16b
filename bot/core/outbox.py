"""The outbox's rules: which nudges still owe GitHub a write, and what a failed write leads to.

The outbox at the edge lists nudges in :data:`OUTBOX_STATES`, writes for those that
:func:`needs_write`, and on a GitHub failure asks :func:`after_failure` whether to try again
later (and when) or to give the nudge up with its reason. Nothing here talks to GitHub.

A failure is one of three kinds (:func:`failure_kind`): GitHub unavailable for now (a 5xx, a
timeout, a reset connection, a rate limit, a refused token) is retried with backoff, and a nudge
failed for good that way is re-sent once GitHub recovers (:func:`resend_after_outage`); GitHub
refusing the write for a reason that will not change (a deleted pull request or comment, a locked
conversation) fails the nudge at once with that reason; a fault of our own (any other exception)
is retried like an outage, so one bad nudge never stops the ones behind it, but is never re-sent.
A write whose outcome is unknown (no answer came back) may still complete at GitHub, so the next
attempt, which first looks for the marker, waits at least :data:`UNKNOWN_OUTCOME_WAIT_SECONDS`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from enum import StrEnum

from bot.core.nudges import Nudge, NudgeState
from bot.core.retry import RetryPolicy, backoff

# Nudges in these states may need a GitHub call from the outbox (the store lists them).
OUTBOX_STATES = (NudgeState.PLANNED, NudgeState.COSIGNED, NudgeState.AWAITING_COSIGN)
MAX_ATTEMPTS = 8
OUTBOX_BACKOFF = RetryPolicy(base_seconds=30, cap_seconds=3600)
# A write with no answer may still complete at GitHub (during incidents, minutes later): the next
# look for its marker waits this long, so the late comment is found and not posted again.
UNKNOWN_OUTCOME_WAIT_SECONDS = 300.0
# A nudge failed for good by an outage is re-sent this long after it failed, at most this often,
# and only while the comment that triggered it is recent enough for the nudge to make sense.
RESEND_AFTER = dt.timedelta(hours=1)
MAX_RESENDS = 3
RESEND_WITHIN = dt.timedelta(days=3)
# Statuses that say the write can never succeed as it is: the target is gone or closed to it.
REFUSED_FOR_GOOD = frozenset({400, 404, 410, 422})


class FailureKind(StrEnum):
    OUTAGE = "outage"  # GitHub unavailable or limiting us for now: retried, re-sent on recovery
    REFUSED = "refused"  # GitHub will never accept this write: failed at once, with its reason
    FAULT = "fault"  # our own error: retried with backoff, never re-sent


def failure_kind(status: int | None, *, from_github: bool) -> FailureKind:
    """What a failed write says: ``status`` is GitHub's answer (None: no answer at all).

    ``from_github`` is False for an exception that is not a GitHub or network error.
    """
    if not from_github:
        return FailureKind.FAULT
    if status is not None and status in REFUSED_FOR_GOOD:
        return FailureKind.REFUSED
    return FailureKind.OUTAGE


def outcome_unknown(status: int | None, *, from_github: bool) -> bool:
    """No answer came back (a timeout or a reset): GitHub may yet have done the write."""
    return from_github and status is None


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
    kind: FailureKind = FailureKind.OUTAGE


@dataclass(frozen=True)
class FailedForGood:
    """A write that will not be tried again, with the reason to keep on record."""

    reason: str


def next_attempt(
    attempts: int,
    reason: str,
    now: dt.datetime,
    rng: random.Random,
    *,
    kind: FailureKind = FailureKind.OUTAGE,
    unknown: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
    policy: RetryPolicy = OUTBOX_BACKOFF,
) -> RetryLater | FailedForGood:
    """The rule every GitHub write of the app follows after a failure (a nudge, a follow-up, an
    answer to a command): ``attempts`` failed so far, this one included, seen at ``now``.

    GitHub's refusal ends it at once; an outage or an error of ours is retried with backoff up to
    ``max_attempts``; a write with no answer is tried again only once it could have completed
    (the marker is looked for first, so it is never posted twice).
    """
    if kind == FailureKind.REFUSED:
        return FailedForGood(f"GitHub will not accept it: {reason}")
    if attempts >= max_attempts:
        who = "GitHub refused it" if kind == FailureKind.OUTAGE else "it failed"
        return FailedForGood(f"{who} {attempts} times; last: {reason}")
    wait = backoff(attempts, policy, rng)
    if unknown:
        wait = max(wait, UNKNOWN_OUTCOME_WAIT_SECONDS)
    return RetryLater(now + dt.timedelta(seconds=wait), reason, wait)


def after_failure(
    nudge: Nudge,
    reason: str,
    now: dt.datetime,
    rng: random.Random,
    *,
    kind: FailureKind = FailureKind.OUTAGE,
    unknown: bool = False,
) -> RetryLater | GiveUp:
    """A write for ``nudge`` failed with ``reason`` at ``now``: retry with backoff, or give up.

    ``now`` is the time the failure was seen (read after the write gave up, not before it
    started), so a retry is never scheduled from a stale clock. The rule is
    :func:`next_attempt`'s, with the nudges' number of attempts and backoff.
    """
    step = next_attempt(nudge.attempts + 1, reason, now, rng, kind=kind, unknown=unknown)
    if isinstance(step, FailedForGood):
        return GiveUp(nudge.moved(NudgeState.FAILED, step.reason), kind)
    return step


def resend_after_outage(
    nudge: Nudge,
    kind: str | None,
    owed: NudgeState | None,
    failed_at: dt.datetime | None,
    resends: int,
    now: dt.datetime,
) -> Nudge | None:
    """A nudge failed for good: back in the outbox (as ``owed``, attempts from zero), or None.

    Only an outage's failure is re-sent, ``RESEND_AFTER`` after it failed, at most
    ``MAX_RESENDS`` times, and while the triggering comment is younger than ``RESEND_WITHIN``:
    a nudge about last month's review would no longer help anyone.
    """
    if nudge.state != NudgeState.FAILED or kind != FailureKind.OUTAGE or owed is None:
        return None
    if owed not in OUTBOX_STATES or failed_at is None or resends >= MAX_RESENDS:
        return None
    if now - failed_at < RESEND_AFTER or now - nudge.trigger_at > RESEND_WITHIN:
        return None
    return nudge.moved(owed, f"re-sent after GitHub recovered ({nudge.reason})", attempts=0)


def orphaned(nudge: Nudge) -> Nudge:
    """A nudge whose playbook an author removed: failed, with that reason, never posted."""
    return nudge.moved(NudgeState.FAILED, f"playbook {nudge.playbook_id} is no longer loaded")


def posted(nudge: Nudge, comment_id: int, now: dt.datetime) -> Nudge:
    """The nudge as recorded once GitHub accepted its comment."""
    how = f"co-signed by {nudge.resolved_by}" if nudge.resolved_by else nudge.reason
    return nudge.moved(NudgeState.POSTED, f"posted ({how})", comment_id=comment_id, posted_at=now)
