"""The lead's co-sign: reactions on a co-sign request move a significant nudge on.

A lead's 👍 approves, a lead's 👎 vetoes (a veto wins), no answer within the expiry expires it;
anyone else's reaction counts for nothing and is kept as a record of who reacted, and as what.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.nudges import Nudge, NudgeState
from bot.core.org import OrgSettings

APPROVE = "+1"
VETO = "-1"


@dataclass(frozen=True)
class Reaction:
    user: str
    content: str  # GitHub's reaction names: +1, -1, laugh, heart, ...
    at: dt.datetime
    reaction_id: int = 0


@dataclass(frozen=True)
class CosignResult:
    state: str  # waiting · approved · vetoed · expired
    by: str | None
    ignored: tuple[Reaction, ...]  # reactions that count for nothing, kept as a record


def resolve_cosign(
    reactions: Sequence[Reaction],
    leads: Sequence[str],
    engineer: str,
    requested_at: dt.datetime,
    now: dt.datetime,
    expiry_days: int,
) -> CosignResult:
    """A lead's 👍 approves, a lead's 👎 vetoes (a veto wins), no answer in time expires.

    Reactions from anyone else, the engineer included, are returned as ignored.
    """
    allowed = {lead.lower() for lead in leads} - {engineer.lower()}
    deadline = requested_at + dt.timedelta(days=expiry_days)
    # A reaction counts only within the co-sign period, so the outcome never depends on when we poll.
    counted = [
        r
        for r in reactions
        if r.user.lower() in allowed and r.content in (APPROVE, VETO) and r.at < deadline
    ]
    ignored = tuple(r for r in reactions if r not in counted)
    vetoes = sorted((r for r in counted if r.content == VETO), key=lambda r: r.at)
    if vetoes:
        return CosignResult("vetoed", vetoes[0].user, ignored)
    approvals = sorted((r for r in counted if r.content == APPROVE), key=lambda r: r.at)
    if approvals:
        return CosignResult("approved", approvals[0].user, ignored)
    if now >= deadline:
        return CosignResult("expired", None, ignored)
    return CosignResult("waiting", None, ignored)


def decide_cosign(
    nudge: Nudge, reactions: Sequence[Reaction], org: OrgSettings, now: dt.datetime
) -> tuple[Nudge, tuple[Reaction, ...]]:
    """Move a nudge awaiting co-sign on, from the reactions on its request."""
    result = resolve_cosign(
        reactions, nudge.leads, nudge.engineer, nudge.created_at, now, org.cosign_expiry_days
    )
    if result.state == "approved":
        return nudge.moved(NudgeState.COSIGNED, f"co-signed by {result.by}", resolved_by=result.by), result.ignored
    if result.state == "vetoed":
        return nudge.moved(NudgeState.VETOED, f"vetoed by {result.by}", resolved_by=result.by), result.ignored
    if result.state == "expired":
        return (
            nudge.moved(NudgeState.EXPIRED, f"no lead answered within {org.cosign_expiry_days} days"),
            result.ignored,
        )
    return nudge, result.ignored
