"""Mutes, answers owed to commands and private co-sign issues in the store, on SQLite and (with
TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt

from test_store import INSTALLATION, REPO, T0, dialect, fresh_store, store  # noqa: F401  (fixtures)

from bot.core.commands import MuteRecord, is_muted
from bot.store.say import AnswerRecord


async def test_mutes_are_kept_once_per_comment_and_fold_in_order(store):
    mute = MuteRecord(INSTALLATION, "Alice", None, "mute", "Alice", True, T0, 501)
    assert await store.record_mute(mute) is True
    assert await store.record_mute(mute) is False, "a redelivered command is kept once"
    refused = MuteRecord(
        INSTALLATION,
        "alice",
        "sql-injection",
        "unmute",
        "bob",
        False,
        T0 + dt.timedelta(hours=1),
        502,
    )
    await store.record_mute(refused)
    records = await store.mutes(INSTALLATION, "ALICE")
    assert [(r.engineer, r.playbook_id, r.counted) for r in records] == [
        ("alice", None, True),
        ("alice", "sql-injection", False),
    ]
    assert is_muted(records, "alice", "sql-injection"), "bob's unmute does not count"
    later = MuteRecord(
        INSTALLATION, "alice", None, "unmute", "alice", True, T0 + dt.timedelta(hours=2), 503
    )
    await store.record_mute(later)
    assert not is_muted(await store.mutes(INSTALLATION), "alice", "sql-injection")


async def test_an_answer_is_owed_once_then_done_or_retried(store):
    answer = AnswerRecord("a" * 16, INSTALLATION, REPO, 7, 901, 900, "+1", "text")
    assert await store.add_answer(answer, T0) is True
    assert await store.add_answer(answer, T0) is False
    [owed] = await store.answers("planned", due_by=T0)
    assert (owed.thread_id, owed.reaction, owed.body) == (900, "+1", "text")
    await store.postpone_answer(owed.key, "502 bad gateway", T0 + dt.timedelta(minutes=1), T0)
    assert await store.answers("planned", due_by=T0) == []
    [again] = await store.answers("planned", due_by=T0 + dt.timedelta(minutes=2))
    assert (again.attempts, again.last_error) == (1, "502 bad gateway")
    await store.finish_answer(owed.key, 1234, T0)
    assert [a.answer_id for a in await store.answers("done")] == [1234]


async def test_a_private_co_sign_issue_is_found_by_its_nudge(store):
    assert await store.cosign_issue("k" * 16) is None
    await store.record_cosign_issue("k" * 16, "acme/learning-cosign", 3, T0)
    await store.record_cosign_issue(
        "k" * 16, "acme/learning-cosign", 4, T0
    )  # a retry: the first stays
    assert await store.cosign_issue("k" * 16) == ("acme/learning-cosign", 3)
