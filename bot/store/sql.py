"""The store's SQL, written once for SQLite and PostgreSQL over a small driver interface.

Queries use ``?`` placeholders; the driver's dialect numbers them for PostgreSQL, turns
timestamps into SQLite's fixed-width UTC text, and adds ``FOR UPDATE SKIP LOCKED`` where a
delivery is claimed. Inserts that may meet a row already kept say ``ON CONFLICT DO NOTHING``,
which both databases read the same way: only a duplicate key is skipped; a missing required
value is an error, and the transaction it is in keeps nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from typing import Any

from bot.core.decide import CommentDecision, History
from bot.core.evaluate import Evaluation, evaluation_from_json, evaluation_to_json
from bot.core.events import PullRequestEvent
from bot.core.nudges import Note, Nudge, NudgeState, Signal
from bot.core.outcome import Review
from bot.core.reinforce import CHARGED_FOLLOWUPS
from bot.store.backfill import BackfillStore
from bot.store.base import (
    Delivery,
    DeliveryRecord,
    EvaluationRecord,
    FailedNudge,
    NewDelivery,
    NoteRecord,
    ReactionRecord,
    Store,
    evidence_from,
    evidence_json,
)
from bot.store.dialect import Dialect
from bot.store.drivers import Connection, Driver, Row
from bot.store.reinforcement import ReinforcementStore
from bot.store.rows import INSERT_REVIEW, INSERT_SIGNAL, review_row, signal_row
from bot.store.say import SayStore
from bot.store.schema import MIGRATIONS

ts = Dialect.timestamp

# Rows per multi-row INSERT: far below either database's limit on placeholders (4 per row).
_ROWS_PER_INSERT = 1024


@functools.lru_cache(maxsize=32)
def _insert_deliveries(rows: int) -> str:
    return (
        "INSERT INTO deliveries (id, event, body, status, attempts, received_at) VALUES "
        + ", ".join(["(?, ?, ?, 'pending', 0, ?)"] * rows)
        + " ON CONFLICT (id) DO NOTHING RETURNING id"
    )


def _padded(count: int) -> int:
    """The next power of two: a handful of statement shapes stay prepared, whatever the batch."""
    return 1 << (count - 1).bit_length()


_INSERT_FAILED_DELIVERY = (
    "INSERT INTO deliveries (id, event, body, status, attempts, received_at, error, finished_at)"
    " VALUES (?, ?, NULL, 'failed', 0, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id"
)
_CLAIM_DELIVERY = (
    "UPDATE deliveries SET status = 'processing', lease_until = ?, worker = ?,"
    " attempts = attempts + 1"
    " WHERE id = (SELECT id FROM deliveries WHERE"
    "   (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))"
    "   OR (status = 'processing' AND lease_until < ?)"
    '   ORDER BY received_at, id COLLATE "C" LIMIT 1{skip_locked})'
    " RETURNING id, event, body, received_at, attempts"
)
_INSERT_SIGNAL = INSERT_SIGNAL
_INSERT_ASSIGNMENT = (
    "INSERT INTO assignments (installation_id, engineer, playbook_id, grp, assigned_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_INSERT_NUDGE = (
    "INSERT INTO nudges (key, installation_id, repo, pr_number, engineer, playbook_id, state,"
    " reason, created_at, trigger_at, thread_id, minutes, evidence, leads, sprint, attempts,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)"
    " ON CONFLICT DO NOTHING RETURNING key"
)
_INSERT_NOTE = (
    "INSERT INTO notes (delivery_id, at, engineer, playbook_id, outcome, reason)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_REACTION = (
    "INSERT INTO reactions (nudge_key, target, login, content, role, counted, seen_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1"
)


class SqlStore(BackfillStore, ReinforcementStore, SayStore, Store):
    """Every :class:`Store` method, once, on a :class:`~bot.store.drivers.Driver`."""

    def __init__(self, driver: Driver):
        self.driver = driver
        self.dialect = driver.dialect

    # lifecycle --------------------------------------------------------------------------------
    async def migrate(self) -> None:
        async with self.driver.transaction() as tx:
            if self.dialect.migrate_lock:
                await tx.execute(self.dialect.migrate_lock)
            await tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            [row] = await tx.fetch("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            current = row[0]
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements(self.dialect.name):
                    await tx.execute(statement)
                await tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    async def close(self) -> None:
        await self.driver.close()

    # inbox ------------------------------------------------------------------------------------
    async def add_delivery(self, delivery_id, event, body, received_at) -> bool:
        # The webhook's path: add_deliveries' statement for one row, with nothing around it.
        rows = await self.driver.fetch(
            _insert_deliveries(1), (delivery_id, event, body, received_at)
        )
        return bool(rows)

    async def add_deliveries(self, items: Sequence[NewDelivery]) -> list[bool]:
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            first.setdefault(item.id, i)
        unique = [items[i] for i in first.values()]
        if not unique:
            return []
        chunks = [unique[i : i + _ROWS_PER_INSERT] for i in range(0, len(unique), _ROWS_PER_INSERT)]
        if len(chunks) == 1:
            rows = await self.driver.fetch(*_delivery_insert(chunks[0]))
        else:
            rows = []
            async with self.driver.transaction() as tx:
                for chunk in chunks:
                    rows += await tx.fetch(*_delivery_insert(chunk))
        stored = {r[0] for r in rows}
        return [first[item.id] == i and item.id in stored for i, item in enumerate(items)]

    async def add_failed_delivery(self, delivery_id, event, reason, received_at) -> bool:
        rows = await self.driver.fetch(
            _INSERT_FAILED_DELIVERY, (delivery_id, event, received_at, reason, received_at)
        )
        return bool(rows)

    async def claim_delivery(self, now, lease, worker) -> Delivery | None:
        rows = await self.driver.fetch(
            _CLAIM_DELIVERY.format(skip_locked=self.dialect.skip_locked),
            (now + lease, worker, now, now),
        )
        if not rows:
            return None
        [r] = rows
        return Delivery(
            r["id"], r["event"], bytes(r["body"] or b""), ts(r["received_at"]), r["attempts"]
        )

    async def finish_delivery(self, delivery_id, now) -> None:
        await self.driver.execute(
            "UPDATE deliveries SET status = 'done', body = NULL, error = NULL, finished_at = ?,"
            " lease_until = NULL WHERE id = ?",
            (now, delivery_id),
        )

    async def fail_delivery(self, delivery_id, reason, now, retry_at) -> None:
        if retry_at is None:
            await self.driver.execute(
                "UPDATE deliveries SET status = 'failed', body = NULL, error = ?, finished_at = ?,"
                " lease_until = NULL WHERE id = ?",
                (reason, now, delivery_id),
            )
        else:
            await self.driver.execute(
                "UPDATE deliveries SET status = 'pending', error = ?, next_attempt_at = ?,"
                " lease_until = NULL WHERE id = ?",
                (reason, retry_at, delivery_id),
            )

    async def deliveries(self, status=None) -> list[DeliveryRecord]:
        query = "SELECT id, event, status, attempts, error, received_at FROM deliveries"
        args: tuple[Any, ...] = ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        rows = await self.driver.fetch(query + ' ORDER BY received_at, id COLLATE "C"', args)
        return [
            DeliveryRecord(
                r["id"], r["event"], r["status"], r["attempts"], r["error"], ts(r["received_at"])
            )
            for r in rows
        ]

    async def known_deliveries(self, ids) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _ROWS_PER_INSERT):
            chunk = list(ids[i : i + _ROWS_PER_INSERT])
            rows = await self.driver.fetch(
                f"SELECT id FROM deliveries WHERE id IN ({', '.join('?' for _ in chunk)})", chunk
            )
            found |= {r[0] for r in rows}
        return found

    async def delivery_body(self, delivery_id) -> bytes | None:
        rows = await self.driver.fetch("SELECT body FROM deliveries WHERE id = ?", (delivery_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    async def inbox_stats(self, now) -> dict[str, float]:
        [row] = await self.driver.fetch(
            "SELECT COUNT(*) AS depth, MIN(received_at) AS oldest FROM deliveries"
            " WHERE status IN ('pending', 'processing')"
        )
        oldest = ts(row["oldest"])
        return {
            "depth": row["depth"],
            "oldest_age_seconds": (now - oldest).total_seconds() if oldest else 0.0,
        }

    # decisions --------------------------------------------------------------------------------
    async def history(self, installation_id, engineer, since) -> History:
        signals = await self.driver.fetch(
            "SELECT * FROM signals WHERE installation_id = ? AND lower(engineer) = lower(?)"
            " AND at >= ? ORDER BY at",
            (installation_id, engineer, since),
        )
        nudges = await self.driver.fetch(
            "SELECT * FROM nudges WHERE installation_id = ? AND lower(engineer) = lower(?)"
            ' ORDER BY created_at, key COLLATE "C"',
            (installation_id, engineer),
        )
        assignments = await self.driver.fetch(
            "SELECT playbook_id, grp FROM assignments WHERE installation_id = ?"
            " AND lower(engineer) = lower(?)",
            (installation_id, engineer),
        )
        followup_minutes: dict[int, int] = {}
        for followup in await self.followups(
            tuple(CHARGED_FOLLOWUPS), installation_id=installation_id, engineer=engineer
        ):
            followup_minutes[followup.sprint] = (
                followup_minutes.get(followup.sprint, 0) + followup.minutes
            )
        return History(
            [_signal(r) for r in signals],
            [_nudge(r) for r in nudges],
            {r["playbook_id"]: r["grp"] for r in assignments},
            followup_minutes,
        )

    async def save_decision(self, decision: CommentDecision, delivery_id, now) -> list[Nudge]:
        assignments = [
            (*_assignee(decision, playbook_id), playbook_id, group)
            for playbook_id, group in decision.assignments.items()
        ]
        new: list[Nudge] = []
        async with self.driver.transaction() as tx:
            if decision.signals:
                await tx.executemany(
                    _INSERT_SIGNAL,
                    [signal_row(s) for s in decision.signals],
                )
            for installation, engineer, playbook_id, group in assignments:
                await tx.execute(
                    _INSERT_ASSIGNMENT, (installation, engineer.lower(), playbook_id, group, now)
                )
            for n in decision.nudges:
                inserted = await tx.fetch(
                    _INSERT_NUDGE,
                    (
                        n.key,
                        n.installation_id,
                        n.repo,
                        n.pr_number,
                        n.engineer,
                        n.playbook_id,
                        n.state.value,
                        n.reason,
                        n.created_at,
                        n.trigger_at,
                        n.thread_id,
                        n.minutes,
                        evidence_json(n),
                        json.dumps(list(n.leads)),
                        n.sprint,
                        now,
                    ),
                )
                if inserted:
                    new.append(n)
            await _insert_notes(tx, decision.notes, delivery_id, now)
        return new

    async def add_notes(self, notes, delivery_id, now) -> None:
        if notes:
            async with self.driver.transaction() as tx:
                await _insert_notes(tx, notes, delivery_id, now)

    async def notes(self, limit=1000) -> list[NoteRecord]:
        rows = await self.driver.fetch("SELECT * FROM notes ORDER BY seq LIMIT ?", (limit,))
        return [
            NoteRecord(
                r["delivery_id"],
                ts(r["at"]),
                Note(r["engineer"], r["playbook_id"], r["outcome"], r["reason"]),
            )
            for r in rows
        ]

    async def update_nudge(self, nudge: Nudge, now) -> None:
        await self.driver.execute(
            "UPDATE nudges SET state = ?, reason = ?, cosign_comment_id = ?, comment_id = ?,"
            " posted_at = ?, resolved_by = ?, leads = ?, evidence = ?, updated_at = ?,"
            " next_attempt_at = NULL, last_error = NULL WHERE key = ?",
            (
                nudge.state.value,
                nudge.reason,
                nudge.cosign_comment_id,
                nudge.comment_id,
                nudge.posted_at,
                nudge.resolved_by,
                json.dumps(list(nudge.leads)),
                evidence_json(nudge),
                now,
                nudge.key,
            ),
        )

    async def nudge(self, key) -> Nudge | None:
        rows = await self.driver.fetch("SELECT * FROM nudges WHERE key = ?", (key,))
        return _nudge(rows[0]) if rows else None

    async def nudges(self, states=None, *, repo=None, pr_number=None, due_by=None) -> list[Nudge]:
        clauses: list[str] = []
        args: list[Any] = []
        if states:
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            args += [s.value for s in states]
        if repo is not None:
            clauses.append("repo = ?")
            args.append(repo)
        if pr_number is not None:
            clauses.append("pr_number = ?")
            args.append(pr_number)
        if due_by is not None:
            clauses.append("(next_attempt_at IS NULL OR next_attempt_at <= ?)")
            args.append(due_by)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.driver.fetch(
            f'SELECT * FROM nudges{where} ORDER BY created_at, key COLLATE "C"', args
        )
        return [_nudge(r) for r in rows]

    async def fail_nudge(self, nudge, kind, owed, now) -> None:
        async with self.driver.transaction() as tx:
            await tx.execute(
                "UPDATE nudges SET state = ?, reason = ?, failure_kind = ?, owed_state = ?,"
                " failed_at = ?, updated_at = ?, next_attempt_at = NULL, last_error = NULL"
                " WHERE key = ?",
                (nudge.state.value, nudge.reason, str(kind), owed.value, now, now, nudge.key),
            )

    async def failed_nudges(self) -> list[FailedNudge]:
        rows = await self.driver.fetch(
            'SELECT * FROM nudges WHERE state = ? ORDER BY created_at, key COLLATE "C"',
            (NudgeState.FAILED.value,),
        )
        return [
            FailedNudge(
                _nudge(r),
                r["failure_kind"],
                NudgeState(r["owed_state"]) if r["owed_state"] else None,
                ts(r["failed_at"]),
                r["resends"] or 0,
            )
            for r in rows
        ]

    async def resend_nudge(self, nudge, now) -> bool:
        rows = await self.driver.fetch(
            "UPDATE nudges SET state = ?, reason = ?, attempts = 0, resends = resends + 1,"
            " failure_kind = NULL, next_attempt_at = NULL, last_error = NULL, updated_at = ?"
            " WHERE key = ? AND state = ? RETURNING key",
            (nudge.state.value, nudge.reason, now, nudge.key, NudgeState.FAILED.value),
        )
        return bool(rows)

    async def postpone_nudge(self, key, error, retry_at) -> int:
        rows = await self.driver.fetch(
            "UPDATE nudges SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE key = ? RETURNING attempts",
            (error, retry_at, key),
        )
        return rows[0][0] if rows else 0

    async def record_reactions(self, records: list[ReactionRecord]) -> int:
        if not records:
            return 0
        added = 0
        async with self.driver.transaction() as tx:
            for r in records:
                added += len(
                    await tx.fetch(
                        _INSERT_REACTION,
                        (
                            r.nudge_key,
                            r.target,
                            r.user,
                            r.content,
                            r.role,
                            int(r.counted),
                            r.seen_at,
                        ),
                    )
                )
        return added

    async def reactions(self, nudge_key=None) -> list[ReactionRecord]:
        query, args = "SELECT * FROM reactions", ()
        if nudge_key:
            query, args = query + " WHERE nudge_key = ?", (nudge_key,)
        rows = await self.driver.fetch(query + ' ORDER BY seen_at, login COLLATE "C"', args)
        return [
            ReactionRecord(
                r["nudge_key"],
                r["target"],
                r["login"],
                r["content"],
                r["role"],
                bool(r["counted"]),
                ts(r["seen_at"]),
            )
            for r in rows
        ]

    async def record_pull(self, event: PullRequestEvent) -> None:
        p = event.pull
        if event.action == "closed":
            sql = (
                "INSERT INTO pulls (installation_id, repo, number, author, closed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (installation_id, repo, number)"
                " DO UPDATE SET closed_at = excluded.closed_at"
            )
        else:
            sql = (
                "INSERT INTO pulls (installation_id, repo, number, author, opened_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (installation_id, repo, number)"
                " DO UPDATE SET opened_at = excluded.opened_at, closed_at = NULL"
            )
        await self.driver.execute(
            sql, (p.installation_id, p.repo, p.number, p.author.login, event.at)
        )

    async def signals(self, installation_id=None) -> list[Signal]:
        query, args = "SELECT * FROM signals", ()
        if installation_id is not None:
            query, args = query + " WHERE installation_id = ?", (installation_id,)
        return [_signal(r) for r in await self.driver.fetch(query + " ORDER BY at", args)]

    # outcomes and the kill switch -------------------------------------------------------------
    async def record_review(self, review: Review) -> bool:
        r = review
        rows = await self.driver.fetch(
            INSERT_REVIEW,
            review_row(r),
        )
        return bool(rows)

    async def reviews(self, installation_id, since=None) -> list[Review]:
        query, args = "SELECT * FROM reviews WHERE installation_id = ?", (installation_id,)
        if since is not None:
            query, args = query + " AND at >= ?", (installation_id, since)
        rows = await self.driver.fetch(query + " ORDER BY at, review_id", args)
        return [
            Review(
                r["installation_id"],
                r["repo"],
                r["pr_number"],
                r["author"],
                r["reviewer"],
                ts(r["at"]),
                r["source"],
                r["review_id"],
            )
            for r in rows
        ]

    async def assignments(self, installation_id) -> dict[tuple[str, str], str]:
        rows = await self.driver.fetch(
            "SELECT engineer, playbook_id, grp FROM assignments WHERE installation_id = ?",
            (installation_id,),
        )
        return {(r["engineer"].lower(), r["playbook_id"]): r["grp"] for r in rows}

    async def add_evaluation(self, evaluation: Evaluation) -> bool:
        e = evaluation
        rows = await self.driver.fetch(
            "INSERT INTO evaluations (installation_id, playbook_id, verdict, window_start,"
            " window_end, at, figures) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING seq",
            (
                e.installation_id,
                e.playbook_id,
                e.verdict.value,
                e.window_start,
                e.window_end,
                e.at,
                json.dumps(evaluation_to_json(e)),
            ),
        )
        return bool(rows)

    async def evaluations(self, installation_id=None) -> list[EvaluationRecord]:
        query, args = "SELECT * FROM evaluations", ()
        if installation_id is not None:
            query, args = query + " WHERE installation_id = ?", (installation_id,)
        return [
            EvaluationRecord(
                r["seq"],
                evaluation_from_json(json.loads(r["figures"])),
                ts(r["published_at"]),
                r["issue_number"],
            )
            for r in await self.driver.fetch(query + " ORDER BY at, seq", args)
        ]

    async def mark_published(self, seqs, issue_number, now) -> None:
        seqs = list(seqs)
        if not seqs:
            return
        await self.driver.execute(
            "UPDATE evaluations SET published_at = ?, issue_number = ?"
            f" WHERE seq IN ({', '.join('?' for _ in seqs)})",
            (now, issue_number, *seqs),
        )

    # scheduling -------------------------------------------------------------------------------
    async def try_lease(self, name, holder, now, ttl) -> bool:
        rows = await self.driver.fetch(
            "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
            " WHERE leases.holder = excluded.holder OR leases.until <= ?"
            " RETURNING holder",
            (name, holder, now + ttl, now),
        )
        return bool(rows)


def _delivery_insert(items: list[NewDelivery]) -> tuple[str, list[Any]]:
    """One INSERT for these deliveries (distinct ids), padded by repeating the last one.

    A repeated row is a duplicate key within the statement, which ON CONFLICT DO NOTHING skips.
    """
    rows = _padded(len(items))
    args: list[Any] = []
    for d in items + [items[-1]] * (rows - len(items)):
        args += (d.id, d.event, d.body, d.received_at)
    return _insert_deliveries(rows), args


def _assignee(decision: CommentDecision, playbook_id: str) -> tuple[int, str]:
    """Whose assignment this is: the nudge (or, failing that, the signal) for the playbook."""
    for item in (*decision.nudges, *decision.signals):
        if item.playbook_id == playbook_id:
            return item.installation_id, item.engineer
    raise ValueError(
        f"assignment for playbook {playbook_id!r} with no nudge or signal to say whose it is"
    )


async def _insert_notes(
    tx: Connection, notes: list[Note], delivery_id: str | None, now: dt.datetime
) -> None:
    rows = [(delivery_id, now, n.engineer, n.playbook_id, str(n.outcome), n.reason) for n in notes]
    if rows:
        await tx.executemany(_INSERT_NOTE, rows)


def _signal(r: Row) -> Signal:
    return Signal(
        installation_id=r["installation_id"],
        repo=r["repo"],
        pr_number=r["pr_number"],
        engineer=r["engineer"],
        playbook_id=r["playbook_id"],
        comment_id=r["comment_id"],
        source=r["source"],
        reviewer=r["reviewer"],
        at=ts(r["at"]),
        quote=r["quote"] or "",
        url=r["url"] or "",
    )


def _nudge(r: Row) -> Nudge:
    return Nudge(
        key=r["key"],
        installation_id=r["installation_id"],
        repo=r["repo"],
        pr_number=r["pr_number"],
        engineer=r["engineer"],
        playbook_id=r["playbook_id"],
        state=NudgeState(r["state"]),
        reason=r["reason"],
        created_at=ts(r["created_at"]),
        trigger_at=ts(r["trigger_at"]),
        thread_id=r["thread_id"],
        minutes=r["minutes"],
        evidence=evidence_from(r["evidence"]),
        leads=tuple(json.loads(r["leads"] or "[]")),
        cosign_comment_id=r["cosign_comment_id"],
        comment_id=r["comment_id"],
        posted_at=ts(r["posted_at"]),
        resolved_by=r["resolved_by"],
        sprint=r["sprint"],
        attempts=r["attempts"],
    )
