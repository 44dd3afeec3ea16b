"""The lead's co-sign: reactions on a co-sign request move a significant nudge on.

A lead's 👍 approves, a lead's 👎 vetoes (a veto wins), no answer within the expiry expires it;
anyone else's reaction counts for nothing and is kept as a record of who reacted, and as what.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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
        return nudge.moved(
            NudgeState.COSIGNED, f"co-signed by {result.by}", resolved_by=result.by
        ), result.ignored
    if result.state == "vetoed":
        return nudge.moved(
            NudgeState.VETOED, f"vetoed by {result.by}", resolved_by=result.by
        ), result.ignored
    if result.state == "expired":
        return (
            nudge.moved(
                NudgeState.EXPIRED, f"no lead answered within {org.cosign_expiry_days} days"
            ),
            result.ignored,
        )
    return nudge, result.ignored


# -------------------------------------------------------------------- who reacted, and does it count

ENGINEER = "engineer"
LEAD = "lead"
OTHER = "other"
COSIGN_TARGET = "cosign"  # the reactions on a co-sign request
NUDGE_TARGET = "nudge"  # the reactions on a posted nudge (the engineer's feedback)


@dataclass(frozen=True)
class ReactionVerdict:
    """One reaction as the record keeps it: who, as what, and whether it counted."""

    reaction: Reaction
    role: str  # engineer · lead · other
    counted: bool


def leads_for(
    nudge: Nudge, org: OrgSettings, teams: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    """Lower-case logins of those who may co-sign for the nudge's engineer.

    The leads asked at decision time, or, for a nudge that asked nobody, the org's leads for the
    engineer now, with ``team:`` entries resolved through ``teams`` (slug -> lower-case logins).
    """
    named = nudge.leads or org.leads_of(nudge.engineer, teams)
    return frozenset(lead.lower() for lead in named)


def judge_reactions(
    nudge: Nudge,
    target: str,
    reactions: Sequence[Reaction],
    leads: frozenset[str],
    ignored: Sequence[Reaction] = (),
) -> list[ReactionVerdict]:
    """Each reaction's role and whether it counted.

    On a co-sign request a reaction counts unless :func:`resolve_cosign` ignored it; on a posted
    nudge only the engineer's own reaction counts (it is their feedback).
    """
    verdicts = []
    for reaction in reactions:
        login = reaction.user.lower()
        role = ENGINEER if login == nudge.engineer.lower() else LEAD if login in leads else OTHER
        counted = reaction not in ignored if target == COSIGN_TARGET else role == ENGINEER
        verdicts.append(ReactionVerdict(reaction, role, counted))
    return verdicts
