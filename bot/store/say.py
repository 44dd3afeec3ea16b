"""The store's part for the engineer's say, written once for SQLite and PostgreSQL.

:class:`SayStore` is mixed into :class:`bot.store.sql.SqlStore`: mutes as asked (refused ones
too), the answers owed to ``/nudge`` commands with their outbox state, and co-sign requests sent
as issues to the org's private repository.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.commands import MuteRecord
from bot.store.dialect import Dialect
from bot.store.drivers import Driver

ts = Dialect.timestamp


@dataclass(frozen=True)
class AnswerRecord:
    """An answer owed to a command: a reaction on it, and a reply when there is one."""

    key: str
    installation_id: int
    repo: str
    pr_number: int
    command_comment_id: int
    thread_id: (
        int | None
    )  # the review thread the command was written in (reply there); None: a PR comment
    reaction: str | None
    body: str | None
    state: str = "planned"  # planned · done · failed
    answer_id: int | None = None
    attempts: int = 0
    last_error: str | None = None


class SayStore:
    driver: Driver

    # mutes -----------------------------------------------------------------------------------
    async def record_mute(self, record: MuteRecord) -> bool:
        """Keep a mute or unmute as asked; False when this comment's was already kept."""
        rows = await self.driver.fetch(
            "INSERT INTO mutes (installation_id, engineer, playbook_id, action, by_login, counted,"
            " comment_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (
                record.installation_id,
                record.engineer.lower(),
                record.playbook_id or "",
                record.action,
                record.by,
                int(record.counted),
                record.comment_id,
                record.at,
            ),
        )
        return bool(rows)

    async def mutes(
        self, installation_id: int | None = None, engineer: str | None = None
    ) -> list[MuteRecord]:
        query, args = "SELECT * FROM mutes WHERE true", []
        if installation_id is not None:
            query += " AND installation_id = ?"
            args.append(installation_id)
        if engineer is not None:
            query += " AND engineer = ?"
            args.append(engineer.lower())
        rows = await self.driver.fetch(query + " ORDER BY at, seq", tuple(args))
        return [
            MuteRecord(
                r["installation_id"],
                r["engineer"],
                r["playbook_id"] or None,
                r["action"],
                r["by_login"],
                bool(r["counted"]),
                ts(r["at"]),
                r["comment_id"],
            )
            for r in rows
        ]

    # answers ---------------------------------------------------------------------------------
    async def add_answer(self, answer: AnswerRecord, now: dt.datetime) -> bool:
        rows = await self.driver.fetch(
            "INSERT INTO command_answers (key, installation_id, repo, pr_number, command_comment_id,"
            " thread_id, reaction, body, state, attempts, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'planned', 0, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (
                answer.key,
                answer.installation_id,
                answer.repo,
                answer.pr_number,
                answer.command_comment_id,
                answer.thread_id,
                answer.reaction,
                answer.body,
                now,
                now,
            ),
        )
        return bool(rows)

    async def answers(
        self, state: str | None = None, *, due_by: dt.datetime | None = None
    ) -> list[AnswerRecord]:
        query, args = "SELECT * FROM command_answers WHERE true", []
        if state is not None:
            query += " AND state = ?"
            args.append(state)
        if due_by is not None:
            query += " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            args.append(due_by)
        rows = await self.driver.fetch(query + " ORDER BY created_at, key", tuple(args))
        return [
            AnswerRecord(
                r["key"],
                r["installation_id"],
                r["repo"],
                r["pr_number"],
                r["command_comment_id"],
                r["thread_id"],
                r["reaction"],
                r["body"],
                r["state"],
                r["answer_id"],
                r["attempts"],
                r["last_error"],
            )
            for r in rows
        ]

    async def finish_answer(self, key: str, answer_id: int | None, now: dt.datetime) -> None:
        await self.driver.execute(
            "UPDATE command_answers SET state = 'done', answer_id = ?, updated_at = ? WHERE key = ?",
            (answer_id, now, key),
        )

    async def postpone_answer(
        self, key: str, error: str, retry_at: dt.datetime | None, now: dt.datetime
    ) -> None:
        """A GitHub call failed: retried at ``retry_at``, or failed for good when it is None."""
        await self.driver.execute(
            "UPDATE command_answers SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
            " state = ?, updated_at = ? WHERE key = ?",
            (error, retry_at, "planned" if retry_at is not None else "failed", now, key),
        )

    # private co-sign requests ----------------------------------------------------------------
    async def record_cosign_issue(
        self, nudge_key: str, repo: str, number: int, now: dt.datetime
    ) -> None:
        await self.driver.execute(
            "INSERT INTO cosign_issues (nudge_key, repo, number, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (nudge_key, repo, number, now),
        )

    async def cosign_issue(self, nudge_key: str) -> tuple[str, int] | None:
        rows = await self.driver.fetch(
            "SELECT repo, number FROM cosign_issues WHERE nudge_key = ?", (nudge_key,)
        )
        return (rows[0]["repo"], rows[0]["number"]) if rows else None
