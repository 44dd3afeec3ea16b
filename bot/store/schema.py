"""Versioned schema migrations, written once for both SQLite and PostgreSQL.

A migration is a function of the dialect returning statements; the version table records which
ran. Only ids, playbooks, times and short evidence quotes are kept, never whole comment bodies
(the inbox drops a delivery's body once it is processed).
"""

from __future__ import annotations

from collections.abc import Callable


def _types(dialect: str) -> dict[str, str]:
    if dialect == "postgres":
        return {
            "ts": "TIMESTAMPTZ",
            "blob": "BYTEA",
            "id": "BIGINT",
            "serial": "BIGSERIAL PRIMARY KEY",
        }
    return {
        "ts": "TEXT",
        "blob": "BLOB",
        "id": "INTEGER",
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
    }


def _v1(dialect: str) -> list[str]:
    t = _types(dialect)
    return [
        f"""CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            event TEXT NOT NULL,
            body {t["blob"]},
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            worker TEXT,
            received_at {t["ts"]} NOT NULL,
            lease_until {t["ts"]},
            next_attempt_at {t["ts"]},
            finished_at {t["ts"]}
        )""",
        "CREATE INDEX deliveries_queue ON deliveries (status, received_at)",
        f"""CREATE TABLE signals (
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            pr_number INTEGER NOT NULL,
            engineer TEXT NOT NULL,
            playbook_id TEXT NOT NULL,
            comment_id {t["id"]} NOT NULL,
            source TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            at {t["ts"]} NOT NULL,
            quote TEXT,
            url TEXT,
            PRIMARY KEY (installation_id, repo, source, comment_id, playbook_id)
        )""",
        "CREATE INDEX signals_engineer ON signals (installation_id, engineer, at)",
        f"""CREATE TABLE nudges (
            key TEXT PRIMARY KEY,
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            pr_number INTEGER NOT NULL,
            engineer TEXT NOT NULL,
            playbook_id TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at {t["ts"]} NOT NULL,
            trigger_at {t["ts"]} NOT NULL,
            thread_id {t["id"]},
            minutes INTEGER NOT NULL,
            evidence TEXT NOT NULL,
            leads TEXT NOT NULL,
            sprint INTEGER NOT NULL,
            cosign_comment_id {t["id"]},
            comment_id {t["id"]},
            posted_at {t["ts"]},
            resolved_by TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at {t["ts"]},
            last_error TEXT,
            updated_at {t["ts"]} NOT NULL
        )""",
        "CREATE INDEX nudges_engineer ON nudges (installation_id, engineer)",
        "CREATE INDEX nudges_state ON nudges (state)",
        f"""CREATE TABLE assignments (
            installation_id {t["id"]} NOT NULL,
            engineer TEXT NOT NULL,
            playbook_id TEXT NOT NULL,
            grp TEXT NOT NULL,
            assigned_at {t["ts"]} NOT NULL,
            PRIMARY KEY (installation_id, engineer, playbook_id)
        )""",
        f"""CREATE TABLE notes (
            seq {t["serial"]},
            delivery_id TEXT,
            at {t["ts"]} NOT NULL,
            engineer TEXT NOT NULL,
            playbook_id TEXT,
            outcome TEXT NOT NULL,
            reason TEXT NOT NULL
        )""",
        f"""CREATE TABLE reactions (
            nudge_key TEXT NOT NULL,
            target TEXT NOT NULL,
            login TEXT NOT NULL,
            content TEXT NOT NULL,
            role TEXT NOT NULL,
            counted INTEGER NOT NULL,
            seen_at {t["ts"]} NOT NULL,
            PRIMARY KEY (nudge_key, target, login, content)
        )""",
        f"""CREATE TABLE pulls (
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            author TEXT NOT NULL,
            opened_at {t["ts"]},
            closed_at {t["ts"]},
            PRIMARY KEY (installation_id, repo, number)
        )""",
    ]


def _v2(dialect: str) -> list[str]:
    """Named leases, so a scheduled job runs once per tick however many processes share the store."""
    t = _types(dialect)
    return [
        f"""CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            until {t["ts"]} NOT NULL
        )""",
    ]


def _v4(dialect: str) -> list[str]:
    """Outcomes and the kill switch: every colleague's review of a pull request, every evaluation.

    Reviews already seen as signals are copied in, so outcomes cover the time before this version.
    """
    t = _types(dialect)
    return [
        f"""CREATE TABLE reviews (
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            pr_number INTEGER NOT NULL,
            author TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            at {t["ts"]} NOT NULL,
            source TEXT NOT NULL,
            review_id {t["id"]} NOT NULL,
            PRIMARY KEY (installation_id, repo, source, review_id)
        )""",
        "CREATE INDEX reviews_installation ON reviews (installation_id, at)",
        # "WHERE true": SQLite would otherwise read ON CONFLICT as the start of a join constraint.
        """INSERT INTO reviews
            (installation_id, repo, pr_number, author, reviewer, at, source, review_id)
            SELECT DISTINCT installation_id, repo, pr_number, engineer, reviewer, at, source, comment_id
            FROM signals WHERE true ON CONFLICT DO NOTHING""",
        f"""CREATE TABLE evaluations (
            seq {t["serial"]},
            installation_id {t["id"]} NOT NULL,
            playbook_id TEXT NOT NULL,
            verdict TEXT NOT NULL,
            window_start {t["ts"]} NOT NULL,
            window_end {t["ts"]} NOT NULL,
            at {t["ts"]} NOT NULL,
            figures TEXT NOT NULL,
            published_at {t["ts"]},
            issue_number INTEGER,
            UNIQUE (installation_id, playbook_id, verdict, window_end)
        )""",
    ]


def _v6(dialect: str) -> list[str]:
    """Spaced follow-ups: the pull requests' heads and what their files are about, code scanning
    alerts on them, and the follow-ups themselves. Only paths of matched files are kept, never a
    diff."""
    t = _types(dialect)
    return [
        f"""CREATE TABLE pull_heads (
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            head_sha TEXT NOT NULL,
            author TEXT NOT NULL,
            head_ref TEXT NOT NULL,
            seen_at {t["ts"]} NOT NULL,
            files_read_at {t["ts"]},
            file_count INTEGER NOT NULL DEFAULT 0,
            complete INTEGER NOT NULL DEFAULT 1,
            relevant TEXT NOT NULL DEFAULT '{{}}',
            PRIMARY KEY (installation_id, repo, number, head_sha)
        )""",
        "CREATE INDEX pull_heads_author ON pull_heads (installation_id, author)",
        f"""CREATE TABLE code_scanning_alerts (
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            alert_number INTEGER NOT NULL,
            action TEXT NOT NULL,
            at {t["ts"]} NOT NULL,
            pr_number INTEGER NOT NULL,
            engineer TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            tags TEXT NOT NULL,
            PRIMARY KEY (installation_id, repo, alert_number, action, at)
        )""",
        f"""CREATE TABLE followups (
            key TEXT PRIMARY KEY,
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            pr_number INTEGER NOT NULL,
            engineer TEXT NOT NULL,
            playbook_id TEXT NOT NULL,
            nudge_key TEXT NOT NULL,
            idx INTEGER NOT NULL,
            state TEXT NOT NULL,
            reason TEXT NOT NULL,
            due_at {t["ts"]} NOT NULL,
            created_at {t["ts"]} NOT NULL,
            minutes INTEGER NOT NULL,
            sprint INTEGER NOT NULL,
            files TEXT NOT NULL,
            comment_id {t["id"]},
            posted_at {t["ts"]},
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at {t["ts"]},
            last_error TEXT,
            updated_at {t["ts"]} NOT NULL,
            UNIQUE (nudge_key, idx)
        )""",
        "CREATE INDEX followups_engineer ON followups (installation_id, engineer)",
        "CREATE INDEX followups_state ON followups (state)",
    ]


def _v7(dialect: str) -> list[str]:
    """Why a nudge failed for good (an outage's failures are re-sent once GitHub recovers).

    ``failure_kind`` is :class:`bot.core.outbox.FailureKind`; ``owed_state`` the outbox state it
    failed in (what a re-send restores); ``resends`` how often it was put back already.
    """
    t = _types(dialect)
    return [
        "ALTER TABLE nudges ADD COLUMN failure_kind TEXT",
        "ALTER TABLE nudges ADD COLUMN owed_state TEXT",
        f"ALTER TABLE nudges ADD COLUMN failed_at {t['ts']}",
        "ALTER TABLE nudges ADD COLUMN resends INTEGER NOT NULL DEFAULT 0",
        # Failed for good keeps no payload either, only the id, event, times and the reason.
        "UPDATE deliveries SET body = NULL WHERE status = 'failed'",
    ]


def _v8(dialect: str) -> list[str]:
    """The baseline from history: each installation's backfill, its progress per repository and
    listing (so a crashed one resumes), and a short mention-safe snippet of each reviewed comment
    the backfill read (so a dry run can classify it with proposed playbooks)."""
    t = _types(dialect)
    return [
        f"""CREATE TABLE backfills (
            installation_id {t["id"]} PRIMARY KEY,
            since {t["ts"]} NOT NULL,
            until {t["ts"]} NOT NULL,
            requested_at {t["ts"]} NOT NULL,
            started_at {t["ts"]},
            finished_at {t["ts"]},
            earliest {t["ts"]},
            last_error TEXT
        )""",
        f"""CREATE TABLE backfill_pages (
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            listing TEXT NOT NULL,
            next_page INTEGER NOT NULL,
            done INTEGER NOT NULL,
            since {t["ts"]} NOT NULL,
            until {t["ts"]} NOT NULL,
            updated_at {t["ts"]} NOT NULL,
            PRIMARY KEY (installation_id, repo, listing)
        )""",
        "ALTER TABLE reviews ADD COLUMN snippet TEXT",
    ]


def _v9(dialect: str) -> list[str]:
    """The engineer's say: mutes asked (and refused), the answers owed to commands, and co-sign
    requests sent as issues to the org's private repository."""
    t = _types(dialect)
    return [
        f"""CREATE TABLE mutes (
            seq {t["serial"]},
            installation_id {t["id"]} NOT NULL,
            engineer TEXT NOT NULL,
            playbook_id TEXT NOT NULL,
            action TEXT NOT NULL,
            by_login TEXT NOT NULL,
            counted INTEGER NOT NULL,
            comment_id {t["id"]} NOT NULL,
            at {t["ts"]} NOT NULL,
            UNIQUE (installation_id, comment_id)
        )""",
        "CREATE INDEX mutes_engineer ON mutes (installation_id, engineer)",
        f"""CREATE TABLE command_answers (
            key TEXT PRIMARY KEY,
            installation_id {t["id"]} NOT NULL,
            repo TEXT NOT NULL,
            pr_number INTEGER NOT NULL,
            command_comment_id {t["id"]} NOT NULL,
            thread_id {t["id"]},
            reaction TEXT,
            body TEXT,
            state TEXT NOT NULL,
            answer_id {t["id"]},
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at {t["ts"]},
            last_error TEXT,
            created_at {t["ts"]} NOT NULL,
            updated_at {t["ts"]} NOT NULL
        )""",
        "CREATE INDEX command_answers_state ON command_answers (state)",
        f"""CREATE TABLE cosign_issues (
            nudge_key TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            created_at {t["ts"]} NOT NULL
        )""",
    ]


# Versions only need to increase.
MIGRATIONS: list[tuple[int, Callable[[str], list[str]]]] = [
    (1, _v1),
    (2, _v2),
    (4, _v4),
    (6, _v6),
    (7, _v7),
    (8, _v8),
    (9, _v9),
]
