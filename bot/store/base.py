"""One store interface for the inbox, the outbox and every record; SQLite and PostgreSQL behind it.

The inbox holds verified deliveries until the worker has decided on them; the outbox is the set
of nudges in a state that asks for a GitHub call (planned, co-signed, awaiting a co-sign request).
Both survive a crash, so nothing accepted is lost and nothing decided is posted twice.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from bot.core.decide import CommentDecision, History
from bot.core.evaluate import Evaluation
from bot.core.events import PullRequestEvent
from bot.core.nudges import Note, Nudge, NudgeState, Signal
from bot.core.outcome import Review


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    body: bytes
    received_at: dt.datetime
    attempts: int


@dataclass(frozen=True)
class NewDelivery:
    """A verified delivery on its way into the inbox."""

    id: str
    event: str
    body: bytes
    received_at: dt.datetime


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    event: str
    status: str  # pending · processing · done · failed
    attempts: int
    error: str | None
    received_at: dt.datetime


@dataclass(frozen=True)
class FailedNudge:
    """A nudge failed for good, with what the re-send rule needs to know about it."""

    nudge: Nudge
    kind: str | None  # bot.core.outbox.FailureKind, or None for one failed before it was kept
    owed: NudgeState | None  # the outbox state it failed in
    failed_at: dt.datetime | None
    resends: int


@dataclass(frozen=True)
class NoteRecord:
    delivery_id: str | None
    at: dt.datetime
    note: Note


@dataclass(frozen=True)
class ReactionRecord:
    nudge_key: str
    target: str  # "cosign" (the request) or "nudge" (the posted nudge)
    user: str
    content: str
    role: str  # lead · engineer · other
    counted: bool
    seen_at: dt.datetime


@dataclass(frozen=True)
class EvaluationRecord:
    """An evaluation on record, and whether its evidence issue has been written yet."""

    seq: int
    evaluation: Evaluation
    published_at: dt.datetime | None
    issue_number: int | None


# Nudges in these states need a GitHub call from the outbox (defined once, in the core).
from bot.core.outbox import OUTBOX_STATES  # noqa: E402, F401  (re-exported for the store's callers)


class Store(abc.ABC):
    """Everything the app keeps. Methods are coroutines so the PostgreSQL one can be async."""

    # How many inbox commits may run at once (one SQLite connection: one; a pool: several).
    write_concurrency: int = 1

    # lifecycle --------------------------------------------------------------------------------
    @abc.abstractmethod
    async def migrate(self) -> None:
        """Bring the schema to the current version (safe to run from several processes)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # inbox ------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_delivery(
        self, delivery_id: str, event: str, body: bytes, received_at: dt.datetime
    ) -> bool:
        """Store a verified delivery; False when this delivery id was already stored."""

    @abc.abstractmethod
    async def add_deliveries(self, items: list[NewDelivery]) -> list[bool]:
        """Store verified deliveries in one transaction; for each, True when it is new.

        False for an id already stored, and for a second occurrence of an id in ``items`` (the
        first one is kept). Either every new delivery is stored or, on an error, none is.
        """

    @abc.abstractmethod
    async def add_failed_delivery(
        self, delivery_id: str, event: str, reason: str, received_at: dt.datetime
    ) -> bool:
        """Record a verified delivery that cannot be processed (not JSON, say), with why."""

    @abc.abstractmethod
    async def claim_delivery(
        self, now: dt.datetime, lease: dt.timedelta, worker: str
    ) -> Delivery | None:
        """Take the oldest pending delivery (or one whose lease ran out) for ``lease``."""

    @abc.abstractmethod
    async def finish_delivery(self, delivery_id: str, now: dt.datetime) -> None:
        """Done: the body is dropped, only the id, event and times stay."""

    @abc.abstractmethod
    async def fail_delivery(
        self, delivery_id: str, reason: str, now: dt.datetime, retry_at: dt.datetime | None
    ) -> None:
        """Failed: tried again at ``retry_at``, or for good when it is None."""

    @abc.abstractmethod
    async def deliveries(self, status: str | None = None) -> list[DeliveryRecord]: ...

    @abc.abstractmethod
    async def known_deliveries(self, ids: list[str]) -> set[str]:
        """Which of these delivery ids the inbox holds, whatever their status."""

    @abc.abstractmethod
    async def delivery_body(self, delivery_id: str) -> bytes | None:
        """The stored payload (None once the delivery is done or failed for good)."""

    @abc.abstractmethod
    async def inbox_stats(self, now: dt.datetime) -> dict[str, float]:
        """Pending count and the age in seconds of the oldest pending delivery."""

    # decisions --------------------------------------------------------------------------------
    @abc.abstractmethod
    async def history(self, installation_id: int, engineer: str, since: dt.datetime) -> History:
        """The engineer's signals since ``since``, all their nudges, and their group assignments."""

    @abc.abstractmethod
    async def save_decision(
        self, decision: CommentDecision, delivery_id: str | None, now: dt.datetime
    ) -> list[Nudge]:
        """Keep signals, nudges, assignments and notes; returns the nudges that were new.

        Idempotent: a redelivered comment adds no second signal and no second nudge.
        """

    @abc.abstractmethod
    async def add_notes(
        self, notes: list[Note], delivery_id: str | None, now: dt.datetime
    ) -> None: ...

    @abc.abstractmethod
    async def notes(self, limit: int = 1000) -> list[NoteRecord]: ...

    @abc.abstractmethod
    async def update_nudge(self, nudge: Nudge, now: dt.datetime) -> None: ...

    @abc.abstractmethod
    async def nudge(self, key: str) -> Nudge | None: ...

    @abc.abstractmethod
    async def nudges(
        self,
        states: tuple[NudgeState, ...] | None = None,
        *,
        repo: str | None = None,
        pr_number: int | None = None,
        due_by: dt.datetime | None = None,
    ) -> list[Nudge]:
        """Nudges, oldest first; ``due_by`` keeps those not waiting for a retry after it."""

    @abc.abstractmethod
    async def fail_nudge(self, nudge: Nudge, kind: str, owed: NudgeState, now: dt.datetime) -> None:
        """Failed for good (``nudge`` is in state failed), with the failure's kind and the state
        it was owed a write in, so that a re-send rule can decide on it later."""

    @abc.abstractmethod
    async def failed_nudges(self) -> list[FailedNudge]: ...

    @abc.abstractmethod
    async def resend_nudge(self, nudge: Nudge, now: dt.datetime) -> bool:
        """Put a failed nudge back in the outbox as ``nudge`` (counted as a re-send); False when
        it is no longer failed (another process did it)."""

    @abc.abstractmethod
    async def postpone_nudge(self, key: str, error: str, retry_at: dt.datetime) -> int:
        """A GitHub call for this nudge failed; try again later. Returns the attempts so far."""

    @abc.abstractmethod
    async def record_reactions(self, records: list[ReactionRecord]) -> int:
        """Keep reactions seen when polling; returns how many were new."""

    @abc.abstractmethod
    async def reactions(self, nudge_key: str | None = None) -> list[ReactionRecord]: ...

    @abc.abstractmethod
    async def record_pull(self, event: PullRequestEvent) -> None: ...

    @abc.abstractmethod
    async def signals(self, installation_id: int | None = None) -> list[Signal]: ...

    # outcomes and the kill switch -------------------------------------------------------------
    @abc.abstractmethod
    async def record_review(self, review: Review) -> bool:
        """Keep one colleague's review of a pull request; False when it was already kept."""

    @abc.abstractmethod
    async def reviews(self, installation_id: int, since: dt.datetime | None = None) -> list[Review]:
        """The installation's reviews at or after ``since``, oldest first."""

    @abc.abstractmethod
    async def assignments(self, installation_id: int) -> dict[tuple[str, str], str]:
        """Every group on record: (lower-case engineer, playbook id) -> nudged or holdout."""

    @abc.abstractmethod
    async def add_evaluation(self, evaluation: Evaluation) -> bool:
        """Keep a kill-switch decision; False when the same decision on the same window is kept."""

    @abc.abstractmethod
    async def evaluations(self, installation_id: int | None = None) -> list[EvaluationRecord]:
        """Every decision on record, oldest first: the history is never rewritten."""

    @abc.abstractmethod
    async def mark_published(self, seqs: list[int], issue_number: int, now: dt.datetime) -> None:
        """The evidence issue now shows these evaluations."""

    # scheduling -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def try_lease(self, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take or renew the named lease until ``now + ttl``, so a job runs in one process per tick.

        True when ``holder`` got the lease (it was free, had expired, or was already theirs and is
        renewed); False while another holder's lease has not expired. A lease held until ``until``
        is free again from ``until`` on.
        """


# Row conversion shared by both implementations ------------------------------------------------


def signal_to_json(signal: Signal) -> dict[str, Any]:
    return {
        "installation_id": signal.installation_id,
        "repo": signal.repo,
        "pr_number": signal.pr_number,
        "engineer": signal.engineer,
        "playbook_id": signal.playbook_id,
        "comment_id": signal.comment_id,
        "source": signal.source,
        "reviewer": signal.reviewer,
        "at": signal.at.isoformat(),
        "quote": signal.quote,
        "url": signal.url,
    }


def signal_from_json(data: dict[str, Any]) -> Signal:
    return Signal(**{**data, "at": dt.datetime.fromisoformat(data["at"])})


def evidence_json(nudge: Nudge) -> str:
    return json.dumps([signal_to_json(s) for s in nudge.evidence])


def evidence_from(text: str | None) -> tuple[Signal, ...]:
    return tuple(signal_from_json(s) for s in json.loads(text or "[]"))
