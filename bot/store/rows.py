"""Statements and row tuples more than one store module writes: signals and reviews."""

from __future__ import annotations

from typing import Any

from bot.core.nudges import Signal
from bot.core.outcome import Review

INSERT_SIGNAL = (
    "INSERT INTO signals (installation_id, repo, pr_number, engineer, playbook_id, comment_id,"
    " source, reviewer, at, quote, url)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
INSERT_REVIEW = (
    "INSERT INTO reviews (installation_id, repo, pr_number, author, reviewer, at, source,"
    " review_id, snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1"
)


def signal_row(s: Signal) -> tuple[Any, ...]:
    return (
        s.installation_id,
        s.repo,
        s.pr_number,
        s.engineer,
        s.playbook_id,
        s.comment_id,
        s.source,
        s.reviewer,
        s.at,
        s.quote,
        s.url,
    )


def review_row(r: Review, snippet: str | None = None) -> tuple[Any, ...]:
    return (
        r.installation_id,
        r.repo,
        r.pr_number,
        r.author,
        r.reviewer,
        r.at,
        r.source,
        r.review_id,
        snippet,
    )
