"""The store's part for spaced follow-ups, written once for SQLite and PostgreSQL.

:class:`ReinforcementStore` is mixed into :class:`bot.store.sql.SqlStore`: pull request heads
and the relevance of their files (read once per head commit), code scanning alerts on pull
requests, and follow-ups with their outbox state.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.reinforce import AlertEvent, FollowUp, FollowUpState, PullHead
from bot.store.dialect import Dialect
from bot.store.drivers import Driver, Row

ts = Dialect.timestamp


class ReinforcementStore:
    driver: Driver

    # pull request heads ----------------------------------------------------------------------
    async def record_pull_head(self, head: PullHead) -> bool:
        """Keep a head commit seen on a pull request; False when this head was already kept."""
        rows = await self.driver.fetch(
            "INSERT INTO pull_heads (installation_id, repo, number, head_sha, author, head_ref,"
            " seen_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (
                head.installation_id,
                head.repo,
                head.number,
                head.head_sha,
                head.author,
                head.head_ref,
                head.seen_at,
            ),
        )
        return bool(rows)

    async def record_pull_files(
        self,
        installation_id: int,
        repo: str,
        number: int,
        head_sha: str,
        *,
        file_count: int,
        complete: bool,
        relevant: Mapping[str, Sequence[str]],
        now: dt.datetime,
    ) -> None:
        """What the head's files are about, per playbook (matched paths only, never a diff)."""
        await self.driver.execute(
            "UPDATE pull_heads SET files_read_at = ?, file_count = ?, complete = ?, relevant = ?"
            " WHERE installation_id = ? AND repo = ? AND number = ? AND head_sha = ?",
            (
                now,
                file_count,
                1 if complete else 0,
                json.dumps({k: list(v) for k, v in sorted(relevant.items())}),
                installation_id,
                repo,
                number,
                head_sha,
            ),
        )

    async def pull_heads(
        self,
        installation_id: int | None = None,
        *,
        author: str | None = None,
        unread: bool = False,
        repo: str | None = None,
        head_ref: str | None = None,
    ) -> list[PullHead]:
        """Heads on record, oldest first; ``unread`` keeps those whose files were not read yet.

        ``closed`` is true when the pull request's latest record (``pulls``) says it is closed.
        """
        clauses, args = [], []
        for column, value in (
            ("h.installation_id", installation_id),
            ("h.repo", repo),
            ("h.head_ref", head_ref),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if author is not None:
            clauses.append("LOWER(h.author) = ?")
            args.append(author.lower())
        if unread:
            clauses.append("h.files_read_at IS NULL")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.driver.fetch(
            "SELECT h.*, p.closed_at AS closed_at FROM pull_heads h LEFT JOIN pulls p"
            " ON p.installation_id = h.installation_id AND p.repo = h.repo AND p.number = h.number"
            f"{where} ORDER BY h.seen_at, h.number, h.head_sha",
            args,
        )
        return [_head(r) for r in rows]

    # code scanning alerts --------------------------------------------------------------------
    async def record_alert(self, alert: AlertEvent) -> bool:
        rows = await self.driver.fetch(
            "INSERT INTO code_scanning_alerts (installation_id, repo, alert_number, action, at,"
            " pr_number, engineer, rule_id, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            (
                alert.installation_id,
                alert.repo,
                alert.alert_number,
                alert.action,
                alert.at,
                alert.pr_number,
                alert.engineer,
                alert.rule_id,
                json.dumps(list(alert.tags)),
            ),
        )
        return bool(rows)

    async def alerts(self, installation_id: int | None = None) -> list[AlertEvent]:
        query, args = "SELECT * FROM code_scanning_alerts", ()
        if installation_id is not None:
            query, args = query + " WHERE installation_id = ?", (installation_id,)
        rows = await self.driver.fetch(query + " ORDER BY at, alert_number", args)
        return [
            AlertEvent(
                r["installation_id"],
                r["repo"],
                r["pr_number"],
                r["engineer"],
                r["alert_number"],
                r["rule_id"],
                tuple(json.loads(r["tags"] or "[]")),
                r["action"],
                ts(r["at"]),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    # follow-ups ------------------------------------------------------------------------------
    async def add_followup(self, followup: FollowUp, now: dt.datetime) -> bool:
        """Keep a follow-up decision; False when this follow-up of the series is already kept."""
        f = followup
        rows = await self.driver.fetch(
            "INSERT INTO followups (key, installation_id, repo, pr_number, engineer, playbook_id,"
            " nudge_key, idx, state, reason, due_at, created_at, minutes, sprint, files, comment_id,"
            " posted_at, attempts, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING key",
            (
                f.key,
                f.installation_id,
                f.repo,
                f.pr_number,
                f.engineer,
                f.playbook_id,
                f.nudge_key,
                f.index,
                f.state.value,
                f.reason,
                f.due_at,
                f.created_at,
                f.minutes,
                f.sprint,
                json.dumps(list(f.files)),
                f.comment_id,
                f.posted_at,
                f.attempts,
                now,
            ),
        )
        return bool(rows)

    async def update_followup(self, followup: FollowUp, now: dt.datetime) -> None:
        f = followup
        await self.driver.execute(
            "UPDATE followups SET state = ?, reason = ?, comment_id = ?, posted_at = ?, attempts = ?,"
            " updated_at = ?, next_attempt_at = NULL, last_error = NULL WHERE key = ?",
            (f.state.value, f.reason, f.comment_id, f.posted_at, f.attempts, now, f.key),
        )

    async def postpone_followup(self, key: str, error: str, retry_at: dt.datetime) -> int:
        """A GitHub call for this follow-up failed; try again at ``retry_at``. Returns attempts."""
        rows = await self.driver.fetch(
            "UPDATE followups SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE key = ? RETURNING attempts",
            (error, retry_at, key),
        )
        return rows[0][0] if rows else 0

    async def followup(self, key: str) -> FollowUp | None:
        rows = await self.driver.fetch("SELECT * FROM followups WHERE key = ?", (key,))
        return _followup(rows[0]) if rows else None

    async def followups(
        self,
        states: Sequence[FollowUpState] | None = None,
        *,
        installation_id: int | None = None,
        engineer: str | None = None,
        due_by: dt.datetime | None = None,
    ) -> list[FollowUp]:
        """Follow-ups, oldest first; ``due_by`` keeps those not waiting for a retry after it."""
        clauses: list[str] = []
        args: list[Any] = []
        if states:
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            args += [s.value for s in states]
        if installation_id is not None:
            clauses.append("installation_id = ?")
            args.append(installation_id)
        if engineer is not None:
            clauses.append("LOWER(engineer) = ?")
            args.append(engineer.lower())
        if due_by is not None:
            clauses.append("(next_attempt_at IS NULL OR next_attempt_at <= ?)")
            args.append(due_by)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.driver.fetch(
            f'SELECT * FROM followups{where} ORDER BY created_at, idx, key COLLATE "C"', args
        )
        return [_followup(r) for r in rows]


def _head(r: Row) -> PullHead:
    return PullHead(
        installation_id=r["installation_id"],
        repo=r["repo"],
        number=r["number"],
        author=r["author"],
        head_sha=r["head_sha"],
        head_ref=r["head_ref"],
        seen_at=ts(r["seen_at"]),  # type: ignore[arg-type]
        files_read_at=ts(r["files_read_at"]),
        file_count=r["file_count"],
        complete=bool(r["complete"]),
        relevant={k: tuple(v) for k, v in json.loads(r["relevant"] or "{}").items()},
        closed=r["closed_at"] is not None,
    )


def _followup(r: Row) -> FollowUp:
    return FollowUp(
        key=r["key"],
        installation_id=r["installation_id"],
        repo=r["repo"],
        pr_number=r["pr_number"],
        engineer=r["engineer"],
        playbook_id=r["playbook_id"],
        nudge_key=r["nudge_key"],
        index=r["idx"],
        state=FollowUpState(r["state"]),
        reason=r["reason"],
        due_at=ts(r["due_at"]),  # type: ignore[arg-type]
        created_at=ts(r["created_at"]),  # type: ignore[arg-type]
        minutes=r["minutes"],
        sprint=r["sprint"],
        files=tuple(json.loads(r["files"] or "[]")),
        comment_id=r["comment_id"],
        posted_at=ts(r["posted_at"]),
        attempts=r["attempts"],
    )
