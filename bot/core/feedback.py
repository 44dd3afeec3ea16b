"""👍/👎 on posted nudges: "helped" / "did not help", and when a playbook is on probation.

A playbook whose 👎 share among the engineers' counted reactions passes ``threshold`` (10 % by
default) over at least ``minimum`` reactions (10) is flagged in the report and its evidence issue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.core.commands import MuteRecord, mutes_in_force
from bot.core.nudges import Nudge
from bot.core.org import OrgSettings


class ReactionLike(Protocol):
    """A reaction as the store keeps it (``bot.store.ReactionRecord``)."""

    @property
    def nudge_key(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def counted(self) -> bool: ...


HELPED = "+1"
NOT_HELPED = "-1"


@dataclass(frozen=True)
class FeedbackShare:
    playbook_id: str
    helped: int
    not_helped: int
    flagged: bool
    threshold: float
    minimum: int

    @property
    def total(self) -> int:
        return self.helped + self.not_helped

    @property
    def share(self) -> float | None:
        return self.not_helped / self.total if self.total else None

    def sentence(self) -> str:
        if not self.total:
            return f"{self.playbook_id}: no 👍/👎 from engineers yet"
        text = (
            f"{self.playbook_id}: {self.helped} 👍 helped, {self.not_helped} 👎 did not help "
            f"({self.share:.0%} 👎)"
        )
        if self.flagged:
            text += (
                f" — flagged: more than {self.threshold:.0%} 👎 over {self.total} reactions "
                f"(at least {self.minimum}); review the playbook's wording and patterns"
            )
        return text


def feedback_shares(
    reactions: Iterable[ReactionLike],
    playbook_of: Mapping[str, str],
    *,
    threshold: float = 0.10,
    minimum: int = 10,
) -> dict[str, FeedbackShare]:
    """Per playbook: the engineers' counted 👍/👎 on posted nudges, and whether it is flagged.

    ``reactions`` are the store's records (``nudge_key``, ``target``, ``content``, ``counted``);
    ``playbook_of`` maps a nudge key to its playbook.
    """
    counts: dict[str, list[int]] = {}
    for r in reactions:
        if r.target != "nudge" or not r.counted:
            continue
        pid = playbook_of.get(r.nudge_key)
        content = r.content
        if pid is None or content not in (HELPED, NOT_HELPED):
            continue
        pair = counts.setdefault(pid, [0, 0])
        pair[0 if content == HELPED else 1] += 1
    out: dict[str, FeedbackShare] = {}
    for pid, (helped, not_helped) in counts.items():
        total = helped + not_helped
        flagged = total >= minimum and not_helped / total > threshold
        out[pid] = FeedbackShare(pid, helped, not_helped, flagged, threshold, minimum)
    return out


def say_report(
    nudges: Iterable[Nudge],
    reactions: Iterable[ReactionLike],
    mutes: Iterable[MuteRecord],
    org: OrgSettings,
) -> list[str]:
    """The report's lines on 👍/👎 per playbook (flagged ones marked) and the engineers' mutes."""

    shares = feedback_shares(
        reactions,
        {n.key: n.playbook_id for n in nudges},
        threshold=org.feedback_threshold,
        minimum=org.feedback_min_reactions,
    )
    lines = ["Engineers' 👍 helped / 👎 did not help, per playbook"]
    lines += [f"  {shares[pid].sentence()}" for pid in sorted(shares)] or ["  (no reactions yet)"]
    records = list(mutes)
    lines += ["", "Mutes asked with /nudge (in force; refused ones: asked by someone else)"]
    engineers = sorted({r.engineer for r in records})
    shown = []
    for engineer in engineers:
        everything, single = mutes_in_force(records, engineer)
        if everything or single:
            what = "every playbook" if everything else ", ".join(sorted(single))
            shown.append(f"  {engineer}: {what}")
    refused = sum(1 for r in records if not r.counted)
    lines += shown or ["  (nobody has muted anything)"]
    lines += [f"  refused: {refused}", ""]
    return lines
