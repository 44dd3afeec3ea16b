"""The embedded store: one SQLite file, for a single process (the default and the demo).

Calls are synchronous under the hood; each is a handful of indexed rows, far below the time a
webhook may take, and a single connection keeps SQLite's locking simple.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

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

UTC = dt.UTC


def ts(moment: dt.datetime | None) -> str | None:
    """Timestamps as fixed-width UTC text, so text order is time order."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_ts(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class SQLiteStore(Store):
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")

    async def migrate(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements("sqlite"):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        self.db.close()

    # inbox ------------------------------------------------------------------------------------
    async def add_delivery(self, delivery_id, event, body, received_at) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO deliveries (id, event, body, status, attempts, received_at)"
            " VALUES (?, ?, ?, 'pending', 0, ?)",
            (delivery_id, event, body, ts(received_at)),
        )
        return cursor.rowcount == 1

    async def add_failed_delivery(self, delivery_id, event, reason, received_at) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO deliveries (id, event, body, status, attempts, received_at,"
            " error, finished_at) VALUES (?, ?, NULL, 'failed', 0, ?, ?, ?)",
            (delivery_id, event, ts(received_at), reason, ts(received_at)),
        )
        return cursor.rowcount == 1

    async def claim_delivery(self, now, lease, worker) -> Delivery | None:
        row = self.db.execute(
            "UPDATE deliveries SET status = 'processing', lease_until = ?, worker = ?,"
            " attempts = attempts + 1"
            " WHERE id = (SELECT id FROM deliveries WHERE"
            "   (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))"
            "   OR (status = 'processing' AND lease_until < ?)"
            "   ORDER BY received_at, id LIMIT 1)"
            " RETURNING id, event, body, received_at, attempts",
            (ts(now + lease), worker, ts(now), ts(now)),
        ).fetchone()
        if row is None:
            return None
        return Delivery(row["id"], row["event"], bytes(row["body"] or b""), from_ts(row["received_at"]), row["attempts"])

    async def finish_delivery(self, delivery_id, now) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = 'done', body = NULL, error = NULL, finished_at = ?,"
            " lease_until = NULL WHERE id = ?",
            (ts(now), delivery_id),
        )

    async def fail_delivery(self, delivery_id, reason, now, retry_at) -> None:
        if retry_at is None:
            self.db.execute(
                "UPDATE deliveries SET status = 'failed', error = ?, finished_at = ?,"
                " lease_until = NULL WHERE id = ?",
                (reason, ts(now), delivery_id),
            )
        else:
            self.db.execute(
                "UPDATE deliveries SET status = 'pending', error = ?, next_attempt_at = ?,"
                " lease_until = NULL WHERE id = ?",
                (reason, ts(retry_at), delivery_id),
            )

    async def deliveries(self, status=None) -> list[DeliveryRecord]:
        query = "SELECT id, event, status, attempts, error, received_at FROM deliveries"
        args: tuple = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        rows = self.db.execute(query + " ORDER BY received_at, id", args).fetchall()
        return [
            DeliveryRecord(r["id"], r["event"], r["status"], r["attempts"], r["error"], from_ts(r["received_at"]))
            for r in rows
        ]

    async def inbox_stats(self, now) -> dict[str, float]:
        row = self.db.execute(
            "SELECT COUNT(*), MIN(received_at) FROM deliveries WHERE status IN ('pending', 'processing')"
        ).fetchone()
        oldest = from_ts(row[1])
        return {"depth": row[0], "oldest_age_seconds": (now - oldest).total_seconds() if oldest else 0.0}

    # decisions --------------------------------------------------------------------------------
    async def history(self, installation_id, engineer, since) -> History:
        signals = [
            _signal(r)
            for r in self.db.execute(
                "SELECT * FROM signals WHERE installation_id = ? AND lower(engineer) = lower(?)"
                " AND at >= ? ORDER BY at",
                (installation_id, engineer, ts(since)),
            )
        ]
        nudges = [
            _nudge(r)
            for r in self.db.execute(
                "SELECT * FROM nudges WHERE installation_id = ? AND lower(engineer) = lower(?)"
                " ORDER BY created_at, key",
                (installation_id, engineer),
            )
        ]
        assignments = {
            r["playbook_id"]: r["grp"]
            for r in self.db.execute(
                "SELECT playbook_id, grp FROM assignments WHERE installation_id = ?"
                " AND lower(engineer) = lower(?)",
                (installation_id, engineer),
            )
        }
        return History(signals, nudges, assignments)

    async def save_decision(self, decision: CommentDecision, delivery_id, now) -> list[Nudge]:
        new: list[Nudge] = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for s in decision.signals:
                self.db.execute(
                    "INSERT OR IGNORE INTO signals (installation_id, repo, pr_number, engineer,"
                    " playbook_id, comment_id, source, reviewer, at, quote, url)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (s.installation_id, s.repo, s.pr_number, s.engineer, s.playbook_id, s.comment_id,
                     s.source, s.reviewer, ts(s.at), s.quote, s.url),
                )
            for playbook_id, group in decision.assignments.items():
                engineer = next(n.engineer for n in decision.nudges if n.playbook_id == playbook_id)
                installation = next(
                    n.installation_id for n in decision.nudges if n.playbook_id == playbook_id
                )
                self.db.execute(
                    "INSERT OR IGNORE INTO assignments (installation_id, engineer, playbook_id, grp,"
                    " assigned_at) VALUES (?, ?, ?, ?, ?)",
                    (installation, engineer.lower(), playbook_id, group, ts(now)),
                )
            for n in decision.nudges:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO nudges (key, installation_id, repo, pr_number, engineer,"
                    " playbook_id, state, reason, created_at, trigger_at, thread_id, minutes,"
                    " evidence, leads, sprint, attempts, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                    (n.key, n.installation_id, n.repo, n.pr_number, n.engineer, n.playbook_id,
                     n.state.value, n.reason, ts(n.created_at), ts(n.trigger_at), n.thread_id,
                     n.minutes, evidence_json(n), json.dumps(list(n.leads)), n.sprint, ts(now)),
                )
                if cursor.rowcount == 1:
                    new.append(n)
            self._add_notes(decision.notes, delivery_id, now)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return new

    def _add_notes(self, notes: list[Note], delivery_id, now) -> None:
        for note in notes:
            self.db.execute(
                "INSERT OR IGNORE INTO notes (delivery_id, at, engineer, playbook_id, outcome, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (delivery_id, ts(now), note.engineer, note.playbook_id, str(note.outcome), note.reason),
            )

    async def add_notes(self, notes, delivery_id, now) -> None:
        self._add_notes(notes, delivery_id, now)

    async def notes(self, limit=1000) -> list[NoteRecord]:
        rows = self.db.execute("SELECT * FROM notes ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [
            NoteRecord(r["delivery_id"], from_ts(r["at"]),
                       Note(r["engineer"], r["playbook_id"], r["outcome"], r["reason"]))
            for r in rows
        ]

    async def update_nudge(self, nudge: Nudge, now) -> None:
        self.db.execute(
            "UPDATE nudges SET state = ?, reason = ?, cosign_comment_id = ?, comment_id = ?,"
            " posted_at = ?, resolved_by = ?, leads = ?, evidence = ?, updated_at = ?,"
            " next_attempt_at = NULL, last_error = NULL WHERE key = ?",
            (nudge.state.value, nudge.reason, nudge.cosign_comment_id, nudge.comment_id,
             ts(nudge.posted_at), nudge.resolved_by, json.dumps(list(nudge.leads)), evidence_json(nudge),
             ts(now), nudge.key),
        )

    async def nudge(self, key) -> Nudge | None:
        row = self.db.execute("SELECT * FROM nudges WHERE key = ?", (key,)).fetchone()
        return _nudge(row) if row else None

    async def nudges(self, states=None, *, repo=None, pr_number=None, due_by=None) -> list[Nudge]:
        clauses, args = [], []
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
            args.append(ts(due_by))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"SELECT * FROM nudges{where} ORDER BY created_at, key", args)
        return [_nudge(r) for r in rows]

    async def postpone_nudge(self, key, error, retry_at) -> int:
        row = self.db.execute(
            "UPDATE nudges SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE key = ? RETURNING attempts",
            (error, ts(retry_at), key),
        ).fetchone()
        return row[0] if row else 0

    async def record_reactions(self, records: list[ReactionRecord]) -> int:
        added = 0
        for r in records:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO reactions (nudge_key, target, login, content, role, counted,"
                " seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.nudge_key, r.target, r.user, r.content, r.role, int(r.counted), ts(r.seen_at)),
            )
            added += cursor.rowcount
        return added

    async def reactions(self, nudge_key=None) -> list[ReactionRecord]:
        query, args = "SELECT * FROM reactions", ()
        if nudge_key:
            query, args = query + " WHERE nudge_key = ?", (nudge_key,)
        return [
            ReactionRecord(r["nudge_key"], r["target"], r["login"], r["content"], r["role"],
                           bool(r["counted"]), from_ts(r["seen_at"]))
            for r in self.db.execute(query + " ORDER BY seen_at, login", args)
        ]

    async def record_pull(self, event: PullRequestEvent) -> None:
        p = event.pull
        if event.action == "closed":
            self.db.execute(
                "INSERT INTO pulls (installation_id, repo, number, author, closed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (installation_id, repo, number)"
                " DO UPDATE SET closed_at = excluded.closed_at",
                (p.installation_id, p.repo, p.number, p.author.login, ts(event.at)),
            )
        else:
            self.db.execute(
                "INSERT INTO pulls (installation_id, repo, number, author, opened_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (installation_id, repo, number)"
                " DO UPDATE SET opened_at = excluded.opened_at, closed_at = NULL",
                (p.installation_id, p.repo, p.number, p.author.login, ts(event.at)),
            )

    async def signals(self, installation_id=None) -> list[Signal]:
        query, args = "SELECT * FROM signals", ()
        if installation_id is not None:
            query, args = query + " WHERE installation_id = ?", (installation_id,)
        return [_signal(r) for r in self.db.execute(query + " ORDER BY at", args)]

    # outcomes and the kill switch -------------------------------------------------------------
    async def record_review(self, review: Review) -> bool:
        r = review
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO reviews (installation_id, repo, pr_number, author, reviewer, at,"
            " source, review_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (r.installation_id, r.repo, r.pr_number, r.author, r.reviewer, ts(r.at), r.source, r.review_id),
        )
        return cursor.rowcount == 1

    async def reviews(self, installation_id, since=None) -> list[Review]:
        rows = self.db.execute(
            "SELECT * FROM reviews WHERE installation_id = ? AND at >= ? ORDER BY at, review_id",
            (installation_id, ts(since) if since else ""),
        )
        return [
            Review(r["installation_id"], r["repo"], r["pr_number"], r["author"], r["reviewer"],
                   from_ts(r["at"]), r["source"], r["review_id"])
            for r in rows
        ]

    async def assignments(self, installation_id) -> dict[tuple[str, str], str]:
        rows = self.db.execute(
            "SELECT engineer, playbook_id, grp FROM assignments WHERE installation_id = ?", (installation_id,)
        )
        return {(r["engineer"].lower(), r["playbook_id"]): r["grp"] for r in rows}

    async def add_evaluation(self, evaluation: Evaluation) -> bool:
        e = evaluation
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO evaluations (installation_id, playbook_id, verdict, window_start,"
            " window_end, at, figures) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (e.installation_id, e.playbook_id, e.verdict.value, ts(e.window_start), ts(e.window_end),
             ts(e.at), json.dumps(evaluation_to_json(e))),
        )
        return cursor.rowcount == 1

    async def evaluations(self, installation_id=None) -> list[EvaluationRecord]:
        query, args = "SELECT * FROM evaluations", ()
        if installation_id is not None:
            query, args = query + " WHERE installation_id = ?", (installation_id,)
        return [
            EvaluationRecord(r["seq"], evaluation_from_json(json.loads(r["figures"])),
                             from_ts(r["published_at"]), r["issue_number"])
            for r in self.db.execute(query + " ORDER BY at, seq", args)
        ]

    async def mark_published(self, seqs, issue_number, now) -> None:
        self.db.executemany(
            "UPDATE evaluations SET published_at = ?, issue_number = ? WHERE seq = ?",
            [(ts(now), issue_number, seq) for seq in seqs],
        )

    # scheduling -------------------------------------------------------------------------------
    async def try_lease(self, name, holder, now, ttl) -> bool:
        rows = self.db.execute(
            "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
            " WHERE leases.holder = excluded.holder OR leases.until <= ?"
            " RETURNING holder",
            (name, holder, ts(now + ttl), ts(now)),
        ).fetchall()
        return bool(rows)


def _signal(r: sqlite3.Row) -> Signal:
    return Signal(
        installation_id=r["installation_id"], repo=r["repo"], pr_number=r["pr_number"],
        engineer=r["engineer"], playbook_id=r["playbook_id"], comment_id=r["comment_id"],
        source=r["source"], reviewer=r["reviewer"], at=from_ts(r["at"]), quote=r["quote"] or "",
        url=r["url"] or "",
    )


def _nudge(r: sqlite3.Row) -> Nudge:
    return Nudge(
        key=r["key"], installation_id=r["installation_id"], repo=r["repo"], pr_number=r["pr_number"],
        engineer=r["engineer"], playbook_id=r["playbook_id"], state=NudgeState(r["state"]),
        reason=r["reason"], created_at=from_ts(r["created_at"]), trigger_at=from_ts(r["trigger_at"]),
        thread_id=r["thread_id"], minutes=r["minutes"], evidence=evidence_from(r["evidence"]),
        leads=tuple(json.loads(r["leads"] or "[]")), cosign_comment_id=r["cosign_comment_id"],
        comment_id=r["comment_id"], posted_at=from_ts(r["posted_at"]), resolved_by=r["resolved_by"],
        sprint=r["sprint"], attempts=r["attempts"],
    )
