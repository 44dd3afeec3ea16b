"""The facts the core produces and the store keeps: signals, nudges and the decisions about them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Signal:
    """One review comment that matched one playbook, for one engineer."""

    installation_id: int
    repo: str
    pr_number: int
    engineer: str
    playbook_id: str
    comment_id: int
    source: str  # "review_comment" or "review"
    reviewer: str
    at: datetime
    quote: str = ""
    url: str = ""


class NudgeState(StrEnum):
    """Where a nudge is in its life; see the state diagram in the README."""

    PLANNED = "planned"  # decided, to be posted (the outbox)
    POSTED = "posted"
    HELD_OUT = "held_out"  # in the randomized holdout: recorded, never posted
    SUPPRESSED_BUDGET = "suppressed_budget"
    NO_LEAD = "no_lead"  # significant, but nobody is configured to co-sign it
    AWAITING_COSIGN = "awaiting_cosign"
    COSIGNED = "cosigned"  # a lead approved; the nudge is to be posted (outbox)
    VETOED = "vetoed"
    EXPIRED = "expired"
    FAILED = "failed"  # GitHub refused it for good; the reason is kept
    SHADOW = "shadow"  # the playbook runs in shadow mode: decided and recorded, never posted


# States that used an engineer's attention, or reserved it, in a sprint.
CHARGED_STATES = frozenset(
    {NudgeState.PLANNED, NudgeState.POSTED, NudgeState.AWAITING_COSIGN, NudgeState.COSIGNED}
)

# Decisions that do not start a playbook's quiet period: the next matching comment may try again.
RETRYABLE_STATES = frozenset({NudgeState.SUPPRESSED_BUDGET, NudgeState.FAILED})


def nudge_key(
    installation_id: int, repo: str, engineer: str, playbook_id: str, comment_id: int
) -> str:
    """A stable id: the same trigger (redelivered, or replayed after a crash) gives the same key."""
    raw = f"{installation_id}|{repo}|{engineer.lower()}|{playbook_id}|{comment_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Nudge:
    key: str
    installation_id: int
    repo: str
    pr_number: int
    engineer: str
    playbook_id: str
    state: NudgeState
    reason: str
    created_at: datetime  # when the decision was made (the injected clock)
    trigger_at: datetime  # when the comment that tipped the trigger was written
    thread_id: int | None  # reply here; None means a PR conversation comment
    minutes: int = 2
    evidence: tuple[Signal, ...] = ()
    leads: tuple[str, ...] = ()  # who may co-sign, for significant playbooks
    cosign_comment_id: int | None = None
    comment_id: int | None = None  # the posted nudge's comment id
    posted_at: datetime | None = None
    resolved_by: str | None = None  # the lead who approved or vetoed
    sprint: int = 0
    attempts: int = 0  # failed GitHub attempts so far (the outbox's retry count)

    def moved(self, state: NudgeState, reason: str, **changes: object) -> Nudge:
        return replace(self, state=state, reason=reason, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Note:
    """Why the bot did, or did not, act on a comment: shown in logs, the demo and the report."""

    engineer: str
    playbook_id: str | None
    outcome: str  # ignored · no_match · signal · paused · cooldown · nudge state
    reason: str


@dataclass
class Decision:
    """What one event changes: new signals, new or moved nudges, and the reasons."""

    signals: list[Signal] = field(default_factory=list)
    nudges: list[Nudge] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
