"""The shared store: PostgreSQL through an asyncpg pool, for several processes on one database.

It behaves like the SQLite store and adds what concurrent processes need: migrations under an
advisory lock, deliveries claimed with ``FOR UPDATE SKIP LOCKED`` so no two workers take the same
one, and inserts that ignore what another process has already written. Timestamps are TIMESTAMPTZ
(aware datetimes in and out); the JSON columns stay TEXT, as the schema writes them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import asyncpg

from bot.core.decide import CommentDecision, History
from bot.core.evaluate import Evaluation, evaluation_from_json, evaluation_to_json
from bot.core.events import PullRequestEvent
from bot.core.nudges import Note, Nudge, NudgeState, Signal
from bot.core.outcome import Review
from bot.store.base import (
    Delivery,
    DeliveryRecord,
    EvaluationRecord,
    NoteRecord,
    ReactionRecord,
    Store,
    evidence_from,
    evidence_json,
)
from bot.store.schema import MIGRATIONS

# One advisory lock per schema: processes migrating the same tables wait for each other.
_MIGRATE_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('learning-nudges:migrate:' || COALESCE(current_schema(), '')))"
)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresStore(Store):
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> PostgresStore:
        """A pool on ``url``; ``schema`` puts the tables in that (existing) schema instead of public."""
        server_settings = {"application_name": "learning-nudges"}
        if schema:
            server_settings["search_path"] = quote_ident(schema)
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, server_settings=server_settings
        )
        return cls(pool)

    # lifecycle --------------------------------------------------------------------------------
    async def migrate(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_MIGRATE_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements("postgres"):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)

    async def close(self) -> None:
        await self.pool.close()

    # inbox ------------------------------------------------------------------------------------
    async def add_delivery(self, delivery_id, event, body, received_at) -> bool:
        inserted = await self.pool.fetchval(
            "INSERT INTO deliveries (id, event, body, status, attempts, received_at)"
            " VALUES ($1, $2, $3, 'pending', 0, $4) ON CONFLICT (id) DO NOTHING RETURNING id",
            delivery_id, event, body, received_at,
        )
        return inserted is not None

    async def add_failed_delivery(self, delivery_id, event, reason, received_at) -> bool:
        inserted = await self.pool.fetchval(
            "INSERT INTO deliveries (id, event, body, status, attempts, received_at, error, finished_at)"
            " VALUES ($1, $2, NULL, 'failed', 0, $3, $4, $3) ON CONFLICT (id) DO NOTHING RETURNING id",
            delivery_id, event, received_at, reason,
        )
        return inserted is not None

    async def claim_delivery(self, now, lease, worker) -> Delivery | None:
        row = await self.pool.fetchrow(
            "UPDATE deliveries SET status = 'processing', lease_until = $1, worker = $2,"
            " attempts = attempts + 1"
            " WHERE id = (SELECT id FROM deliveries WHERE"
            "   (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $3))"
            "   OR (status = 'processing' AND lease_until < $3)"
            '   ORDER BY received_at, id COLLATE "C" LIMIT 1 FOR UPDATE SKIP LOCKED)'
            " RETURNING id, event, body, received_at, attempts",
            now + lease, worker, now,
        )
        if row is None:
            return None
        return Delivery(row["id"], row["event"], bytes(row["body"] or b""), row["received_at"], row["attempts"])

    async def finish_delivery(self, delivery_id, now) -> None:
        await self.pool.execute(
            "UPDATE deliveries SET status = 'done', body = NULL, error = NULL, finished_at = $1,"
            " lease_until = NULL WHERE id = $2",
            now, delivery_id,
        )

    async def fail_delivery(self, delivery_id, reason, now, retry_at) -> None:
        if retry_at is None:
            await self.pool.execute(
                "UPDATE deliveries SET status = 'failed', error = $1, finished_at = $2,"
                " lease_until = NULL WHERE id = $3",
                reason, now, delivery_id,
            )
        else:
            await self.pool.execute(
                "UPDATE deliveries SET status = 'pending', error = $1, next_attempt_at = $2,"
                " lease_until = NULL WHERE id = $3",
                reason, retry_at, delivery_id,
            )

    async def deliveries(self, status=None) -> list[DeliveryRecord]:
        query = "SELECT id, event, status, attempts, error, received_at FROM deliveries"
        args: tuple = ()
        if status:
            query += " WHERE status = $1"
            args = (status,)
        rows = await self.pool.fetch(query + ' ORDER BY received_at, id COLLATE "C"', *args)
        return [
            DeliveryRecord(r["id"], r["event"], r["status"], r["attempts"], r["error"], r["received_at"])
            for r in rows
        ]

    async def inbox_stats(self, now) -> dict[str, float]:
        row = await self.pool.fetchrow(
            "SELECT COUNT(*) AS depth, MIN(received_at) AS oldest FROM deliveries"
            " WHERE status IN ('pending', 'processing')"
        )
        oldest = row["oldest"]
        return {"depth": row["depth"], "oldest_age_seconds": (now - oldest).total_seconds() if oldest else 0.0}

    # decisions --------------------------------------------------------------------------------
    async def history(self, installation_id, engineer, since) -> History:
        async with self.pool.acquire() as conn:
            signals = [
                _signal(r)
                for r in await conn.fetch(
                    "SELECT * FROM signals WHERE installation_id = $1 AND lower(engineer) = lower($2)"
                    " AND at >= $3 ORDER BY at",
                    installation_id, engineer, since,
                )
            ]
            nudges = [
                _nudge(r)
                for r in await conn.fetch(
                    "SELECT * FROM nudges WHERE installation_id = $1 AND lower(engineer) = lower($2)"
                    ' ORDER BY created_at, key COLLATE "C"',
                    installation_id, engineer,
                )
            ]
            assignments = {
                r["playbook_id"]: r["grp"]
                for r in await conn.fetch(
                    "SELECT playbook_id, grp FROM assignments WHERE installation_id = $1"
                    " AND lower(engineer) = lower($2)",
                    installation_id, engineer,
                )
            }
        return History(signals, nudges, assignments)

    async def save_decision(self, decision: CommentDecision, delivery_id, now) -> list[Nudge]:
        new: list[Nudge] = []
        async with self.pool.acquire() as conn, conn.transaction():
            if decision.signals:
                await conn.executemany(
                    "INSERT INTO signals (installation_id, repo, pr_number, engineer, playbook_id,"
                    " comment_id, source, reviewer, at, quote, url)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
                    [
                        (s.installation_id, s.repo, s.pr_number, s.engineer, s.playbook_id, s.comment_id,
                         s.source, s.reviewer, s.at, s.quote, s.url)
                        for s in decision.signals
                    ],
                )
            for playbook_id, group in decision.assignments.items():
                installation, engineer = _assignee(decision, playbook_id)
                await conn.execute(
                    "INSERT INTO assignments (installation_id, engineer, playbook_id, grp, assigned_at)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    installation, engineer.lower(), playbook_id, group, now,
                )
            for n in decision.nudges:
                inserted = await conn.fetchval(
                    "INSERT INTO nudges (key, installation_id, repo, pr_number, engineer, playbook_id,"
                    " state, reason, created_at, trigger_at, thread_id, minutes, evidence, leads, sprint,"
                    " attempts, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16)"
                    " ON CONFLICT DO NOTHING RETURNING key",
                    n.key, n.installation_id, n.repo, n.pr_number, n.engineer, n.playbook_id,
                    n.state.value, n.reason, n.created_at, n.trigger_at, n.thread_id, n.minutes,
                    evidence_json(n), json.dumps(list(n.leads)), n.sprint, now,
                )
                if inserted is not None:
                    new.append(n)
            await _insert_notes(conn, decision.notes, delivery_id, now)
        return new

    async def add_notes(self, notes, delivery_id, now) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await _insert_notes(conn, notes, delivery_id, now)

    async def notes(self, limit=1000) -> list[NoteRecord]:
        rows = await self.pool.fetch("SELECT * FROM notes ORDER BY seq LIMIT $1", limit)
        return [
            NoteRecord(r["delivery_id"], r["at"], Note(r["engineer"], r["playbook_id"], r["outcome"], r["reason"]))
            for r in rows
        ]

    async def update_nudge(self, nudge: Nudge, now) -> None:
        await self.pool.execute(
            "UPDATE nudges SET state = $1, reason = $2, cosign_comment_id = $3, comment_id = $4,"
            " posted_at = $5, resolved_by = $6, leads = $7, evidence = $8, updated_at = $9,"
            " next_attempt_at = NULL, last_error = NULL WHERE key = $10",
            nudge.state.value, nudge.reason, nudge.cosign_comment_id, nudge.comment_id, nudge.posted_at,
            nudge.resolved_by, json.dumps(list(nudge.leads)), evidence_json(nudge), now, nudge.key,
        )

    async def nudge(self, key) -> Nudge | None:
        row = await self.pool.fetchrow("SELECT * FROM nudges WHERE key = $1", key)
        return _nudge(row) if row else None

    async def nudges(self, states=None, *, repo=None, pr_number=None, due_by=None) -> list[Nudge]:
        clauses: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if states:
            clauses.append(f"state = ANY({arg([s.value for s in states])}::text[])")
        if repo is not None:
            clauses.append(f"repo = {arg(repo)}")
        if pr_number is not None:
            clauses.append(f"pr_number = {arg(pr_number)}")
        if due_by is not None:
            clauses.append(f"(next_attempt_at IS NULL OR next_attempt_at <= {arg(due_by)})")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.pool.fetch(f'SELECT * FROM nudges{where} ORDER BY created_at, key COLLATE "C"', *args)
        return [_nudge(r) for r in rows]

    async def postpone_nudge(self, key, error, retry_at) -> int:
        attempts = await self.pool.fetchval(
            "UPDATE nudges SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2"
            " WHERE key = $3 RETURNING attempts",
            error, retry_at, key,
        )
        return attempts or 0

    async def record_reactions(self, records: list[ReactionRecord]) -> int:
        added = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for r in records:
                inserted = await conn.fetchval(
                    "INSERT INTO reactions (nudge_key, target, login, content, role, counted, seen_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1",
                    r.nudge_key, r.target, r.user, r.content, r.role, int(r.counted), r.seen_at,
                )
                added += inserted is not None
        return added

    async def reactions(self, nudge_key=None) -> list[ReactionRecord]:
        query, args = "SELECT * FROM reactions", ()
        if nudge_key:
            query, args = query + " WHERE nudge_key = $1", (nudge_key,)
        rows = await self.pool.fetch(query + ' ORDER BY seen_at, login COLLATE "C"', *args)
        return [
            ReactionRecord(r["nudge_key"], r["target"], r["login"], r["content"], r["role"],
                           bool(r["counted"]), r["seen_at"])
            for r in rows
        ]

    async def record_pull(self, event: PullRequestEvent) -> None:
        p = event.pull
        if event.action == "closed":
            await self.pool.execute(
                "INSERT INTO pulls (installation_id, repo, number, author, closed_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (installation_id, repo, number)"
                " DO UPDATE SET closed_at = excluded.closed_at",
                p.installation_id, p.repo, p.number, p.author.login, event.at,
            )
        else:
            await self.pool.execute(
                "INSERT INTO pulls (installation_id, repo, number, author, opened_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (installation_id, repo, number)"
                " DO UPDATE SET opened_at = excluded.opened_at, closed_at = NULL",
                p.installation_id, p.repo, p.number, p.author.login, event.at,
            )

    async def signals(self, installation_id=None) -> list[Signal]:
        query, args = "SELECT * FROM signals", ()
        if installation_id is not None:
            query, args = query + " WHERE installation_id = $1", (installation_id,)
        return [_signal(r) for r in await self.pool.fetch(query + " ORDER BY at", *args)]

    # outcomes and the kill switch -------------------------------------------------------------
    async def record_review(self, review: Review) -> bool:
        r = review
        inserted = await self.pool.fetchval(
            "INSERT INTO reviews (installation_id, repo, pr_number, author, reviewer, at, source, review_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING 1",
            r.installation_id, r.repo, r.pr_number, r.author, r.reviewer, r.at, r.source, r.review_id,
        )
        return inserted is not None

    async def reviews(self, installation_id, since=None) -> list[Review]:
        rows = await self.pool.fetch(
            "SELECT * FROM reviews WHERE installation_id = $1 AND ($2::timestamptz IS NULL OR at >= $2)"
            " ORDER BY at, review_id",
            installation_id, since,
        )
        return [
            Review(r["installation_id"], r["repo"], r["pr_number"], r["author"], r["reviewer"],
                   r["at"], r["source"], r["review_id"])
            for r in rows
        ]

    async def assignments(self, installation_id) -> dict[tuple[str, str], str]:
        rows = await self.pool.fetch(
            "SELECT engineer, playbook_id, grp FROM assignments WHERE installation_id = $1", installation_id
        )
        return {(r["engineer"].lower(), r["playbook_id"]): r["grp"] for r in rows}

    async def add_evaluation(self, evaluation: Evaluation) -> bool:
        e = evaluation
        inserted = await self.pool.fetchval(
            "INSERT INTO evaluations (installation_id, playbook_id, verdict, window_start, window_end,"
            " at, figures) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING seq",
            e.installation_id, e.playbook_id, e.verdict.value, e.window_start, e.window_end, e.at,
            json.dumps(evaluation_to_json(e)),
        )
        return inserted is not None

    async def evaluations(self, installation_id=None) -> list[EvaluationRecord]:
        query, args = "SELECT * FROM evaluations", ()
        if installation_id is not None:
            query, args = query + " WHERE installation_id = $1", (installation_id,)
        return [
            EvaluationRecord(r["seq"], evaluation_from_json(json.loads(r["figures"])), r["published_at"],
                             r["issue_number"])
            for r in await self.pool.fetch(query + " ORDER BY at, seq", *args)
        ]

    async def mark_published(self, seqs, issue_number, now) -> None:
        await self.pool.execute(
            "UPDATE evaluations SET published_at = $1, issue_number = $2 WHERE seq = ANY($3::bigint[])",
            now, issue_number, list(seqs),
        )

    # scheduling -------------------------------------------------------------------------------
    async def try_lease(self, name, holder, now, ttl) -> bool:
        got = await self.pool.fetchval(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
            " WHERE leases.holder = excluded.holder OR leases.until <= $4"
            " RETURNING holder",
            name, holder, now + ttl, now,
        )
        return got is not None


def _assignee(decision: CommentDecision, playbook_id: str) -> tuple[int, str]:
    """Whose assignment this is: the nudge (or, failing that, the signal) for the playbook."""
    for item in (*decision.nudges, *decision.signals):
        if item.playbook_id == playbook_id:
            return item.installation_id, item.engineer
    raise ValueError(f"assignment for playbook {playbook_id!r} with no nudge or signal to say whose")


async def _insert_notes(
    conn: asyncpg.Connection, notes: Iterable[Note], delivery_id: str | None, now: dt.datetime
) -> None:
    rows = [(delivery_id, now, n.engineer, n.playbook_id, str(n.outcome), n.reason) for n in notes]
    if rows:
        await conn.executemany(
            "INSERT INTO notes (delivery_id, at, engineer, playbook_id, outcome, reason)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            rows,
        )


def _signal(r: asyncpg.Record) -> Signal:
    return Signal(
        installation_id=r["installation_id"], repo=r["repo"], pr_number=r["pr_number"],
        engineer=r["engineer"], playbook_id=r["playbook_id"], comment_id=r["comment_id"],
        source=r["source"], reviewer=r["reviewer"], at=r["at"], quote=r["quote"] or "",
        url=r["url"] or "",
    )


def _nudge(r: asyncpg.Record) -> Nudge:
    return Nudge(
        key=r["key"], installation_id=r["installation_id"], repo=r["repo"], pr_number=r["pr_number"],
        engineer=r["engineer"], playbook_id=r["playbook_id"], state=NudgeState(r["state"]),
        reason=r["reason"], created_at=r["created_at"], trigger_at=r["trigger_at"],
        thread_id=r["thread_id"], minutes=r["minutes"], evidence=evidence_from(r["evidence"]),
        leads=tuple(json.loads(r["leads"] or "[]")), cosign_comment_id=r["cosign_comment_id"],
        comment_id=r["comment_id"], posted_at=r["posted_at"], resolved_by=r["resolved_by"],
        sprint=r["sprint"], attempts=r["attempts"],
    )
