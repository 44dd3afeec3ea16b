"""The backfill's records in the store, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt

from test_store import (  # noqa: F401  (fixtures)
    INSTALLATION,
    REPO,
    T0,
    fresh_store,
    raw,
    store,
)

from bot.core.backfill import Baseline, evidence_snippet, snippet_text
from bot.core.events import Actor, PullRequestRef
from bot.core.nudges import Signal
from bot.core.outcome import Review
from bot.store.base import Store

SINCE = T0 - dt.timedelta(days=90)
PULL = PullRequestRef(INSTALLATION, REPO, 7, Actor("Dana", False))


def page(*ids: int, body: str = "Please use bind params here, @dana") -> Baseline:
    reviews = tuple(
        Review(
            INSTALLATION, REPO, 7, "Dana", "bob", SINCE + dt.timedelta(days=i), "review_comment", i
        )
        for i in ids
    )
    signals = tuple(
        Signal(
            INSTALLATION,
            REPO,
            7,
            "Dana",
            "sql-injection",
            i,
            "review_comment",
            "bob",
            SINCE + dt.timedelta(days=i),
            "bind params",
            "",
        )
        for i in ids
    )
    return Baseline(
        reviews,
        signals,
        {},
        min(r.at for r in reviews),
        {("review_comment", i): evidence_snippet(body) for i in ids},
    )


async def test_a_page_and_its_cursor_are_kept_together_and_a_page_read_again_adds_nothing(
    store: Store,
):
    assert await store.request_backfill(INSTALLATION, since=SINCE, until=T0, now=T0)
    assert not await store.request_backfill(INSTALLATION, since=SINCE, until=T0, now=T0), (
        "asked once"
    )
    await store.start_backfill_repo(INSTALLATION, REPO, SINCE, T0, T0)
    state = await store.backfill_state(INSTALLATION)
    assert state.progress().next_page([REPO], ("pulls", "comments")) == (REPO, "pulls", 1)

    assert await store.record_backfill_page(
        INSTALLATION, REPO, "pulls", 1, last=False, baseline=page(1, 2), pulls=[PULL], now=T0
    ) == (2, 2)
    state = await store.backfill_state(INSTALLATION)
    assert state.progress().next_page([REPO], ("pulls", "comments")) == (REPO, "pulls", 2)
    assert state.earliest == SINCE + dt.timedelta(days=1)
    # The same page again (a crash after reading it) and an overlapping one: each record once.
    assert await store.record_backfill_page(
        INSTALLATION, REPO, "pulls", 1, last=False, baseline=page(1, 2), pulls=[PULL], now=T0
    ) == (0, 0)
    assert await store.record_backfill_page(
        INSTALLATION, REPO, "pulls", 2, last=True, baseline=page(2, 3), now=T0
    ) == (1, 1)
    state = await store.backfill_state(INSTALLATION)
    assert state.progress().next_page([REPO], ("pulls", "comments")) == (REPO, "comments", 1)
    assert len(await store.signals(INSTALLATION)) == 3
    assert [r.review.review_id for r in await store.reviewed_comments(INSTALLATION)] == [1, 2, 3]
    assert (await store.pull_authors(INSTALLATION, REPO))[7].author.login == "Dana"
    assert await raw(store, "SELECT COUNT(*) FROM nudges") == [(0,)], "history is never nudged"

    assert await store.unfinished_backfills() == [INSTALLATION]
    await store.finish_backfill(INSTALLATION, T0)
    assert await store.unfinished_backfills() == []


async def test_the_snippet_kept_is_short_and_mentions_nobody(store: Store):
    await store.request_backfill(INSTALLATION, since=SINCE, until=T0, now=T0)
    await store.start_backfill_repo(INSTALLATION, REPO, SINCE, T0, T0)
    long = "Please use bind params, @dana. " + "x" * 1000
    await store.record_backfill_page(
        INSTALLATION, REPO, "comments", 1, last=True, baseline=page(4, body=long), now=T0
    )
    [kept] = await store.reviewed_comments(INSTALLATION)
    assert kept.snippet.startswith("Please use bind params, @\u200bdana.")  # no mention rendered
    assert snippet_text(kept.snippet) == (long[:300], True), "300 characters, and said to be cut"
    # A review the webhook kept first (no words kept) gains the snippet; nothing else changes.
    await store.record_review(
        Review(
            INSTALLATION, REPO, 7, "Dana", "bob", SINCE + dt.timedelta(days=5), "review_comment", 5
        )
    )
    await store.record_backfill_page(
        INSTALLATION, REPO, "comments", 2, last=True, baseline=page(5), now=T0
    )
    snippets = {r.review.review_id: r.snippet for r in await store.reviewed_comments(INSTALLATION)}
    assert snippets[5] == "Please use bind params here, @\u200bdana"


async def test_repositories_added_later_reopen_a_finished_backfill_for_them_only(store: Store):
    await store.request_backfill(INSTALLATION, since=SINCE, until=T0, now=T0)
    await store.start_backfill_repo(INSTALLATION, REPO, SINCE, T0, T0)
    for listing in ("pulls", "comments"):
        await store.record_backfill_page(
            INSTALLATION, REPO, listing, 1, last=True, baseline=Baseline(), now=T0
        )
    await store.finish_backfill(INSTALLATION, T0)
    later = T0 + dt.timedelta(days=10)
    await store.request_backfill(
        INSTALLATION,
        since=later - dt.timedelta(days=90),
        until=later,
        now=later,
        repos=["acme/new"],
    )
    state = await store.backfill_state(INSTALLATION)
    assert state.finished_at is None and await store.unfinished_backfills() == [INSTALLATION]
    assert state.progress().next_page([REPO, "acme/new"], ("pulls", "comments")) == (
        "acme/new",
        "pulls",
        1,
    )
    assert (
        state.window("acme/new", "pulls").until == later and state.window(REPO, "pulls").until == T0
    )
    # A fresh request starts over.
    assert await store.request_backfill(
        INSTALLATION, since=SINCE, until=later, now=later, fresh=True
    )
    assert (await store.backfill_state(INSTALLATION)).pages == ()
