"""Several processes on one store: scheduled jobs run in one of them, and deliveries are leased."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from conftest import INSTALLATION, OWNER, SECRET, running_bot
from test_nudge_flow import SQL_1, SQL_2, bot_comments, two_sql_comments

from bot.app.settings import Settings, SettingsError
from bot.core.nudges import NudgeState
from bot.core.org import parse_org_settings
from bot.store.postgres import quote_ident

PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_SKIP = "TEST_DATABASE_URL not set: the PostgreSQL variant is skipped"
POLL = dt.timedelta(minutes=15)


@contextlib.asynccontextmanager
async def database(kind: str, tmp_path) -> AsyncIterator[str]:
    """A DATABASE_URL for an empty store: a SQLite file, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(PG_URL)
    try:
        await admin.execute(f"CREATE SCHEMA {quote_ident(schema)}")
        yield f"{PG_URL}?search_path={schema}"
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def shared_url(request, tmp_path) -> AsyncIterator[str]:
    async with database(request.param, tmp_path) as url:
        yield url


def reaction_reads(github) -> int:
    return sum(1 for r in github.requests if r.method == "GET" and r.path.endswith("/reactions"))


async def test_only_the_process_holding_the_scheduler_lease_polls(
    tmp_path, github, clock, rsa_key, shared_url
):
    async with running_bot(tmp_path, github, clock, rsa_key, database_url=shared_url) as bot:
        await two_sql_comments(bot)
        [nudge] = await bot.store.nudges()
        assert nudge.state == NudgeState.POSTED
        first = bot.worker
        async with bot.another_process("second-process") as other:
            await _lease_handover(github, clock, first, other.worker)


async def _lease_handover(github, clock, first, second) -> None:
    before = reaction_reads(github)
    assert await first.tick() is True
    polled_by_first = reaction_reads(github) - before
    assert polled_by_first >= 1, "the posted nudge's reactions are polled for feedback"
    assert await second.tick() is False
    assert reaction_reads(github) - before == polled_by_first, "the second process did not poll"

    # The holder renews its lease on every tick it runs; the other keeps out.
    clock.advance(minutes=15)
    assert await first.tick() is True
    assert await second.tick() is False

    # The holder stops (killed, say): once its lease runs out, the other takes over.
    clock.advance(minutes=15)
    assert await second.tick() is False, "the lease lasts a little longer than the poll period"
    clock.advance(minutes=4)
    before = reaction_reads(github)
    assert await second.tick() is True
    assert reaction_reads(github) - before == polled_by_first
    assert await first.tick() is False


async def test_two_processes_flushing_the_outbox_at_once_post_a_nudge_once(
    tmp_path, github, clock, rsa_key, shared_url
):
    """Both look for the marker at the same moment (GitHub is slow); only one may then post."""
    async with running_bot(tmp_path, github, clock, rsa_key, database_url=shared_url) as bot:
        github.inject_fault(
            "POST", "/repos/acme/shop/pulls/7/comments/*/replies", status=502, times=1
        )
        await two_sql_comments(bot)
        [nudge] = await bot.store.nudges()
        assert nudge.state == NudgeState.PLANNED, "the first attempt failed and waits for a retry"
        clock.advance(hours=2)
        github.inject_delay("GET", "/repos/acme/shop/pulls/7/comments", seconds=0.2, times=2)
        async with bot.another_process("second-process") as second:
            posted = await asyncio.gather(
                bot.service.outbox.flush(clock()), second.outbox.flush(clock())
            )
        assert sorted(posted) == [0, 1]
        assert len(bot_comments(github, 7)) == 1
        [after] = await bot.store.nudges()
        assert after.state == NudgeState.POSTED


def test_delivery_lease_is_a_setting(rsa_key):
    env = {"WEBHOOK_SECRET": SECRET, "APP_ID": "1", "PRIVATE_KEY": rsa_key[0]}
    assert Settings.from_env(env).delivery_lease_seconds == 120
    assert Settings.from_env({**env, "DELIVERY_LEASE_SECONDS": "5"}).delivery_lease_seconds == 5
    with pytest.raises(SettingsError, match="DELIVERY_LEASE_SECONDS='soon'"):
        Settings.from_env({**env, "DELIVERY_LEASE_SECONDS": "soon"})


async def test_a_delivery_left_by_a_stopped_process_is_taken_over_after_the_lease(
    tmp_path, github, clock, rsa_key, shared_url
):
    async with running_bot(
        tmp_path, github, clock, rsa_key, database_url=shared_url, delivery_lease_seconds=5
    ) as bot:
        payload = bot.review_comment(
            pr=6, author="alice", reviewer="bob", body="Please use bind params here."
        )
        await bot.deliver("pull_request_review_comment", payload, delivery_id="left-behind")
        # Another process claims it and stops before finishing (its lease is the same setting).
        claimed = await bot.store.claim_delivery(
            clock(),
            dt.timedelta(seconds=bot.service.settings.delivery_lease_seconds),
            "stopped-process",
        )
        assert claimed is not None and claimed.id == "left-behind"
        assert await bot.worker.drain() == 0
        clock.advance(seconds=6)
        assert await bot.worker.drain() == 1
        [record] = await bot.store.deliveries()
        assert (record.status, record.attempts) == ("done", 2)
        assert len(await bot.store.signals()) == 1


async def test_two_processes_deciding_for_one_engineer_at_once_send_one_nudge(
    tmp_path, github, clock, rsa_key, shared_url
):
    """Two comments on the same engineer's code, taken by two processes at the same moment."""
    org, problems = parse_org_settings(
        "roles:\n  engineer:\n    nudges: 2\n    members: [team:reviewers]\n", "org.yml"
    )
    assert problems == []
    github.add_team(OWNER, "reviewers", ["zed"])
    async with running_bot(
        tmp_path, github, clock, rsa_key, database_url=shared_url, org=org
    ) as bot:
        first = bot.review_comment(pr=6, author="alice", reviewer="bob", body=SQL_1)
        await bot.deliver("pull_request_review_comment", first)
        async with bot.another_process("earlier-process", org=org) as earlier:
            assert await earlier.worker.drain() == 1
        clock.advance(days=1)
        for reviewer in ("erin", "frank"):
            payload = bot.review_comment(pr=7, author="alice", reviewer=reviewer, body=SQL_2)
            await bot.deliver("pull_request_review_comment", payload)
        # GitHub is slow to list the team, so both processes read the engineer's history together.
        github.inject_delay("GET", "/orgs/acme/teams/reviewers/members", seconds=0.3, times=2)
        async with (
            bot.another_process("process-a", org=org) as a,
            bot.another_process("process-b", org=org) as b,
        ):
            done = await asyncio.gather(a.worker.process_one(), b.worker.process_one())
        assert done == [True, True]
        assert len(await bot.store.signals()) == 3
        assert len(await bot.store.nudges()) == 1, "the second decision saw the first one's nudge"


async def test_writes_to_one_installation_are_paced_across_processes(
    tmp_path, github, clock, rsa_key, shared_url
):
    """GitHub asks for about one write a second per installation, however many processes write."""
    (tmp_path / "b").mkdir()
    async with (
        running_bot(tmp_path, github, clock, rsa_key, database_url=shared_url) as a,
        running_bot(
            tmp_path / "b", github, clock, rsa_key, database_url=shared_url, name="second-process"
        ) as b,
    ):
        await a.service.github.pace(INSTALLATION)
        started, slept = clock(), len(clock.slept)
        await b.service.github.pace(INSTALLATION)
        assert clock() - started >= dt.timedelta(seconds=1), (
            "the second process waited for the first's write"
        )
        assert len(clock.slept) > slept
        started = clock()
        await b.service.github.pace(INSTALLATION + 1)
        assert clock() == started, "another installation does not wait"
