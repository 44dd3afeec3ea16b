"""Two real ``python -m bot serve`` processes on one PostgreSQL database, fed the same webhooks.

What an operator scaling out relies on: every delivery is processed once whichever process
receives it (or both do), no nudge is posted twice, and a process killed mid-delivery loses
nothing: the other finishes its work once the delivery lease runs out.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import aiohttp
import pytest
from cluster import ROOT, SECRET, cluster, review_traffic

from bot.core.nudges import NudgeState

PG_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason="TEST_DATABASE_URL not set: several processes share work only through PostgreSQL",
)


def assert_each_nudge_posted_once(c, traffic, nudges):
    markers = c.markers(traffic)
    posted = [n for n in nudges if n.state == NudgeState.POSTED]
    assert posted
    assert {k: v for k, v in markers.items() if v > 1} == {}, "a nudge posted twice"
    assert set(markers) == {n.key for n in posted}
    # Two processes deciding for one engineer at once must not both send the same nudge.
    per_engineer = Counter((n.installation_id, n.engineer.lower(), n.playbook_id) for n in nudges)
    assert {k: v for k, v in per_engineer.items() if v > 1} == {}


async def test_two_processes_process_every_delivery_once_and_post_every_nudge_once(tmp_path):
    async with cluster(PG_URL, tmp_path) as c:
        traffic = review_traffic(c.fake, 500)
        c.start_server()
        c.start_server()
        async with aiohttp.ClientSession() as session:
            await c.wait_ready(session)
            sent = await c.send_all(session, traffic.deliveries, twice=0.1)
            assert sent > len(traffic.deliveries), "some deliveries were sent twice"
            await c.wait_drained(len(traffic.deliveries), timeout=120)
        records = await c.store.deliveries()
        assert sorted(r.id for r in records) == sorted(d.id for d in traffic.deliveries)
        assert {(r.status, r.attempts) for r in records} == {("done", 1)}
        assert_each_nudge_posted_once(c, traffic, await c.store.nudges())
        assert c.fake.violations == []
        secrets = [SECRET, c.private_key.splitlines()[1], *c.fake.issued_tokens()]
        for server in c.servers:
            assert server.process.poll() is None, server.log.read_text()[-2000:]
            lines = server.log.read_text().splitlines()
            assert lines and all(" level=" in line for line in lines), "one key=value event a line"
            assert not [s for s in secrets if any(s in line for line in lines)], (
                "no secret or token logged"
            )


async def test_a_killed_process_loses_nothing_and_the_other_finishes_its_work(tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    for source in (ROOT / "playbooks").glob("*.yml"):
        if source.name != "org.yml":
            (folder / source.name).write_bytes(source.read_bytes())
    # A team in the org settings makes each process read it from GitHub while deciding.
    (folder / "org.yml").write_text(
        "roles:\n  engineer:\n    nudges: 2\n    members: [team:reviewers]\n"
    )
    async with cluster(PG_URL, tmp_path, playbooks_dir=folder, lease_seconds=3) as c:
        traffic = review_traffic(c.fake, 120, orgs=3, engineers=20, seed=3)
        for org in traffic.orgs:
            c.fake.add_team(org, "reviewers", ["dev000"])
        # GitHub is slow for the first team reads: both processes sit in a delivery.
        c.fake.inject_delay("GET", "/orgs/*/teams/reviewers/members", seconds=4, times=2)
        doomed, survivor = c.start_server(), c.start_server()
        async with aiohttp.ClientSession() as session:
            await c.wait_ready(session)
            await c.send_all(session, traffic.deliveries, twice=0.1)
            held = await held_by(c, c.worker_name(doomed), timeout=30)
            c.kill(doomed)
            await c.wait_drained(len(traffic.deliveries), timeout=120)
        records = {r.id: r for r in await c.store.deliveries()}
        assert sorted(records) == sorted(d.id for d in traffic.deliveries), "nothing lost"
        assert {r.status for r in records.values()} == {"done"}
        assert records[held].attempts == 2, "the killed process's delivery was taken over"
        assert_each_nudge_posted_once(c, traffic, await c.store.nudges())
        assert c.fake.violations == []
        assert survivor.process.poll() is None


async def held_by(c, worker: str, timeout: float) -> str:
    """The id of a delivery the given process is processing right now (polls, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = await c.store.pool.fetchval(
            "SELECT id FROM deliveries WHERE status = 'processing' AND worker = $1 LIMIT 1", worker
        )
        if held is not None:
            return held
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{worker} never held a delivery")
