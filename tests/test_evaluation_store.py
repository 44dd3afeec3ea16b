"""Reviews and kill-switch decisions in the store, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt

from test_store import (  # noqa: F401  (fixtures)
    INSTALLATION,
    REPO,
    T0,
    comment_decision,
    dialect,
    fresh_store,
    nudge_for,
    run_statements,
    signal,
    store,
)

from bot.core.evaluate import Evaluation, GroupFigures, Rules, Verdict
from bot.core.nudges import NudgeState
from bot.core.outcome import Review
from bot.store.base import Store
from bot.store.schema import MIGRATIONS


def review(review_id: int, when: dt.datetime, *, author: str = "Alice", pr: int = 7) -> Review:
    return Review(INSTALLATION, REPO, pr, author, "bob", when, "review_comment", review_id)


def evaluation(verdict: Verdict = Verdict.NO_EFFECT, *, days: int = 60) -> Evaluation:
    figures = GroupFigures("nudged", 12, 10, 40, 80, 14, 9, 0.35, 0.11)
    return Evaluation(
        installation_id=INSTALLATION,
        playbook_id="sql-injection",
        verdict=verdict,
        window_start=T0,
        window_end=T0 + dt.timedelta(days=days),
        at=T0 + dt.timedelta(days=days, hours=3),
        reason="the nudged group's rate changed by -0.100",
        nudged=figures,
        holdout=GroupFigures("holdout", 6, 5, 20, 41, 7, 8, 0.36, 0.2),
        estimate=-0.1,
        low=-0.2,
        high=0.02,
        p_value=0.13,
        rules=Rules(min_engineers=4),
    )


async def test_a_review_is_kept_once_and_read_back_from_a_moment_on(store: Store):
    assert await store.record_review(review(1, T0))
    assert not await store.record_review(review(1, T0)), "a redelivered review is not counted twice"
    assert await store.record_review(review(2, T0 + dt.timedelta(days=3), pr=8))
    assert [r.review_id for r in await store.reviews(INSTALLATION)] == [1, 2]
    [late] = await store.reviews(INSTALLATION, since=T0 + dt.timedelta(days=1))
    assert late == review(2, T0 + dt.timedelta(days=3), pr=8)
    assert await store.reviews(INSTALLATION + 1) == []


async def test_assignments_are_read_per_installation_with_lower_case_logins(store: Store):
    trigger = signal(1, T0, engineer="Alice")
    held_out = nudge_for(trigger, (trigger,), state=NudgeState.HELD_OUT)
    decision = comment_decision([trigger], [held_out], {"error-handling": "holdout"})
    await store.save_decision(decision, None, T0)
    assert await store.assignments(INSTALLATION) == {("alice", "error-handling"): "holdout"}
    assert await store.assignments(INSTALLATION + 1) == {}


async def test_an_evaluation_keeps_its_figures_and_its_place_in_the_history(store: Store):
    paused = evaluation()
    assert await store.add_evaluation(paused)
    assert not await store.add_evaluation(paused), (
        "the same decision on the same window is kept once"
    )
    kept = evaluation(Verdict.EFFECTIVE, days=120)
    assert await store.add_evaluation(kept)
    records = await store.evaluations(INSTALLATION)
    assert [r.evaluation for r in records] == [paused, kept]
    assert records[0].evaluation.rules.min_engineers == 4
    assert {r.published_at for r in records} == {None}

    await store.mark_published([records[0].seq], 12, T0 + dt.timedelta(days=61))
    first, second = await store.evaluations()
    assert (first.issue_number, first.published_at) == (12, T0 + dt.timedelta(days=61))
    assert (second.issue_number, second.published_at) == (None, None)


async def test_reviews_already_seen_as_signals_are_carried_into_version_4(fresh_store: Store):
    """A database from before version 4 gets the reviews its signals imply, once per comment."""
    older = [(v, m) for v, m in MIGRATIONS if v < 4]
    statements = ["CREATE TABLE schema_version (version INTEGER NOT NULL)"]
    for version, migration in older:
        statements += migration(dialect(fresh_store))
        statements.append(f"INSERT INTO schema_version (version) VALUES ({version})")
    await run_statements(fresh_store, statements)
    both = [
        signal(5, T0),
        signal(5, T0, playbook="sql-injection"),
        signal(6, T0 + dt.timedelta(hours=1)),
    ]
    await _save_without_reviews(fresh_store, both)
    await fresh_store.migrate()
    kept = await fresh_store.reviews(INSTALLATION)
    assert [(r.review_id, r.author, r.reviewer, r.pr_number) for r in kept] == [
        (5, "Alice", "bob", 7),
        (6, "Alice", "bob", 7),
    ]


async def _save_without_reviews(store: Store, signals) -> None:
    """Signals written the way a version-2 database held them."""
    for s in signals:
        if dialect(store) == "sqlite":
            store.db.execute(  # type: ignore[attr-defined]
                "INSERT INTO signals (installation_id, repo, pr_number, engineer, playbook_id, comment_id,"
                " source, reviewer, at, quote, url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '')",
                (
                    s.installation_id,
                    s.repo,
                    s.pr_number,
                    s.engineer,
                    s.playbook_id,
                    s.comment_id,
                    s.source,
                    s.reviewer,
                    s.at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
                ),
            )
        else:
            await store.pool.execute(  # type: ignore[attr-defined]
                "INSERT INTO signals (installation_id, repo, pr_number, engineer, playbook_id, comment_id,"
                " source, reviewer, at, quote, url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', '')",
                s.installation_id,
                s.repo,
                s.pr_number,
                s.engineer,
                s.playbook_id,
                s.comment_id,
                s.source,
                s.reviewer,
                s.at,
            )
