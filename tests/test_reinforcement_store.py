"""Follow-up facts in the store, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

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

from bot.core.events import Actor, PullRequestEvent, PullRequestRef
from bot.core.reinforce import AlertEvent, FollowUp, FollowUpState, PullHead, followup_key
from bot.store.base import Store
from bot.store.schema import MIGRATIONS


def head(
    number: int = 7,
    sha: str = "a" * 40,
    *,
    at: dt.datetime = T0,
    author: str = "Dana",
    ref: str = "feature",
) -> PullHead:
    return PullHead(INSTALLATION, REPO, number, author, sha, ref, at)


def followup(
    index: int = 1, *, state: FollowUpState = FollowUpState.PLANNED, pr: int = 7
) -> FollowUp:
    return FollowUp(
        key=followup_key("n" * 16, index),
        installation_id=INSTALLATION,
        repo=REPO,
        pr_number=pr,
        engineer="Dana",
        playbook_id="sql-injection",
        nudge_key="n" * 16,
        index=index,
        state=state,
        reason="due",
        due_at=T0,
        created_at=T0 + dt.timedelta(hours=index),
        minutes=1,
        sprint=3,
        files=("src/db/orders.py",),
    )


async def test_migration_six_adds_the_follow_up_tables(store: Store):
    assert 6 in dict(MIGRATIONS)
    assert await raw(store, "SELECT COUNT(*) FROM followups") == [(0,)]
    assert await raw(store, "SELECT COUNT(*) FROM pull_heads") == [(0,)]
    assert await raw(store, "SELECT COUNT(*) FROM code_scanning_alerts") == [(0,)]


async def test_a_head_is_kept_once_and_its_files_read_once(store: Store):
    assert await store.record_pull_head(head()) is True
    assert (
        await store.record_pull_head(head()) is False
    )  # redelivered, or reopened on the same commit
    assert await store.record_pull_head(head(sha="b" * 40, at=T0 + dt.timedelta(hours=1))) is True
    assert [h.head_sha[0] for h in await store.pull_heads(unread=True)] == ["a", "b"]
    await store.record_pull_files(
        INSTALLATION,
        REPO,
        7,
        "a" * 40,
        file_count=3000,
        complete=False,
        relevant={"sql-injection": ["src/db/orders.py"]},
        now=T0,
    )
    [unread] = await store.pull_heads(unread=True)
    assert unread.head_sha == "b" * 40
    read = (await store.pull_heads(INSTALLATION, author="dana"))[0]
    assert read.relevant == {"sql-injection": ("src/db/orders.py",)}
    assert read.file_count == 3000 and read.complete is False and read.files_read_at == T0
    assert [
        h.number for h in await store.pull_heads(INSTALLATION, repo=REPO, head_ref="feature")
    ] == [7, 7]
    assert await store.pull_heads(INSTALLATION, author="someone-else") == []


async def test_a_closed_pull_request_shows_as_closed(store: Store):
    await store.record_pull_head(head())
    ref = PullRequestRef(INSTALLATION, REPO, 7, Actor("Dana", False))
    await store.record_pull(PullRequestEvent(ref, "closed", T0 + dt.timedelta(days=1)))
    assert [h.closed for h in await store.pull_heads(INSTALLATION)] == [True]
    await store.record_pull(PullRequestEvent(ref, "reopened", T0 + dt.timedelta(days=2)))
    assert [h.closed for h in await store.pull_heads(INSTALLATION)] == [False]


async def test_alerts_are_kept_once_per_event(store: Store):
    created = AlertEvent(
        INSTALLATION,
        REPO,
        7,
        "Dana",
        10,
        "py/sql-injection",
        ("external/cwe/cwe-089",),
        "created",
        T0,
    )
    fixed = AlertEvent(
        INSTALLATION,
        REPO,
        7,
        "Dana",
        10,
        "py/sql-injection",
        ("external/cwe/cwe-089",),
        "fixed",
        T0 + dt.timedelta(days=1),
    )
    assert await store.record_alert(created) and await store.record_alert(fixed)
    assert await store.record_alert(created) is False
    assert await store.alerts(INSTALLATION) == [created, fixed]
    assert await store.alerts(INSTALLATION + 1) == []


async def test_a_follow_up_is_decided_once_and_moves_through_its_states(store: Store):
    planned = followup()
    assert await store.add_followup(planned, T0) is True
    assert await store.add_followup(planned, T0) is False  # the same follow-up of the series
    assert await store.followup(planned.key) == planned
    assert await store.followups([FollowUpState.PLANNED], due_by=T0) == [planned]
    retry_at = T0 + dt.timedelta(minutes=5)
    assert await store.postpone_followup(planned.key, "502 Bad Gateway", retry_at) == 1
    assert await store.followups([FollowUpState.PLANNED], due_by=T0) == []
    assert len(await store.followups([FollowUpState.PLANNED], due_by=retry_at)) == 1
    posted = planned.moved(
        FollowUpState.POSTED, "posted", comment_id=99, posted_at=retry_at, attempts=1
    )
    await store.update_followup(posted, retry_at)
    assert await store.followup(planned.key) == posted
    dropped = followup(2, state=FollowUpState.DROPPED)
    await store.add_followup(dropped, T0)
    assert [
        f.index for f in await store.followups(installation_id=INSTALLATION, engineer="dana")
    ] == [1, 2]
    assert await store.followups([FollowUpState.PLANNED]) == []
