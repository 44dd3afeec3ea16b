"""The gates between a triggered playbook and an engineer: holdout, budget, co-sign.

Each is a small pure function of the injected time and recorded history, so a three-sprint
scenario is a table of inputs and expected decisions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import CHARGED_STATES, Nudge
from .org import OrgSettings, Role

# ------------------------------------------------------------------------------------ sprints


@dataclass(frozen=True)
class Sprint:
    index: int
    start: dt.datetime
    end: dt.datetime  # exclusive

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def sprint_at(now: dt.datetime, settings: OrgSettings) -> Sprint:
    """The sprint containing ``now``; sprints start at 00:00 UTC on ``sprint_start`` + k·days."""
    origin = dt.datetime.combine(settings.sprint_start, dt.time(), tzinfo=dt.UTC)
    length = dt.timedelta(days=settings.sprint_days)
    index = (now - origin) // length
    start = origin + index * length
    return Sprint(index, start, start + length)


# ------------------------------------------------------------------------------------ holdout

HOLDOUT = "holdout"
NUDGED = "nudged"


def assign_holdout(
    seed: str, installation_id: int, engineer: str, playbook_id: str, share: float
) -> str:
    """Randomized but reproducible: a keyed hash of who and what, compared with the share.

    The result is stored the first time, so changing the share later never moves anyone.
    """
    message = f"{installation_id}:{engineer.lower()}:{playbook_id}".encode()
    digest = hmac.new(seed.encode(), message, hashlib.sha256).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return HOLDOUT if draw < share else NUDGED


# ------------------------------------------------------------------------------------- budget


@dataclass(frozen=True)
class BudgetCheck:
    allowed: bool
    reason: str
    used_nudges: int
    used_minutes: int


def check_budget(role: Role, sprint: Sprint, minutes: int, history: Iterable[Nudge]) -> BudgetCheck:
    """Whether one more nudge of ``minutes`` fits the engineer's budget in ``sprint``."""
    charged = [n for n in history if n.state in CHARGED_STATES and n.sprint == sprint.index]
    used_nudges = len(charged)
    used_minutes = sum(n.minutes for n in charged)
    where = f"role {role.name}, sprint {sprint.start:%Y-%m-%d}..{sprint.end:%Y-%m-%d}"
    if role.nudges is not None and used_nudges >= role.nudges:
        return BudgetCheck(
            False, f"budget spent: {used_nudges} of {role.nudges} nudges ({where})", used_nudges, used_minutes
        )
    if role.minutes is not None and used_minutes + minutes > role.minutes:
        return BudgetCheck(
            False,
            f"budget spent: {used_minutes} + {minutes} of {role.minutes} minutes ({where})",
            used_nudges,
            used_minutes,
        )
    return BudgetCheck(True, f"within budget ({where})", used_nudges, used_minutes)


# ------------------------------------------------------------------------------------ co-sign

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
