"""Budgets, not topics: sprints from the injected clock, and whether one more nudge fits.

A nudge charges the engineer's budget for the sprint it was decided in, by count and by minutes,
as the engineer's role in the org settings allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.core.nudges import CHARGED_STATES, Nudge
from bot.core.org import OrgSettings, Role


@dataclass(frozen=True)
class Sprint:
    index: int
    start: dt.datetime
    end: dt.datetime  # exclusive

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def sprint_at(now: dt.datetime, settings: OrgSettings) -> Sprint:
    """The sprint containing ``now``; sprints start at 00:00 UTC on ``sprint_start`` + k·days."""
    origin, length = _sprints(settings.sprint_start, settings.sprint_days)
    index = (now - origin) // length
    start = origin + index * length
    return Sprint(index, start, start + length)


@lru_cache(maxsize=64)
def _sprints(first: dt.date, days: int) -> tuple[dt.datetime, dt.timedelta]:
    """The first sprint's start and every sprint's length."""
    return dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC), dt.timedelta(days=days)


@dataclass(frozen=True)
class BudgetCheck:
    allowed: bool
    reason: str
    used_nudges: int
    used_minutes: int


def check_budget(
    role: Role, sprint: Sprint, minutes: int, history: Iterable[Nudge], followup_minutes: int = 0
) -> BudgetCheck:
    """Whether one more nudge of ``minutes`` fits the engineer's budget in ``sprint``.

    ``followup_minutes`` are what the engineer's spaced follow-ups already took of the sprint's
    minutes (a follow-up is not a nudge, so it does not count against the number of nudges).
    """
    charged = [n for n in history if n.state in CHARGED_STATES and n.sprint == sprint.index]
    used_nudges = len(charged)
    used_minutes = sum(n.minutes for n in charged) + followup_minutes
    where = f"role {role.name}, sprint {sprint.start.date().isoformat()}..{sprint.end.date().isoformat()}"
    if role.nudges is not None and used_nudges >= role.nudges:
        return BudgetCheck(
            False,
            f"budget spent: {used_nudges} of {role.nudges} nudges ({where})",
            used_nudges,
            used_minutes,
        )
    if role.minutes is not None and used_minutes + minutes > role.minutes:
        return BudgetCheck(
            False,
            f"budget spent: {used_minutes} + {minutes} of {role.minutes} minutes ({where})",
            used_nudges,
            used_minutes,
        )
    return BudgetCheck(True, f"within budget ({where})", used_nudges, used_minutes)
