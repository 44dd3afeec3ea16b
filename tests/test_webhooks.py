"""The webhook edge over real HTTP: fail closed, store durably, answer before any GitHub call."""

from __future__ import annotations

import hashlib
import hmac
import json

from conftest import SECRET, fixture_payload


async def test_signed_delivery_is_stored_and_acknowledged_without_calling_github(bot):
    payload = bot.review_comment(pr=1, author="alice", reviewer="bob", body="use bind params here")
    response = await bot.deliver("pull_request_review_comment", payload, delivery_id="d-1")
    assert response.status == 202
    assert (await response.json()) == {"delivery": "d-1", "stored": True}
    assert [d.id for d in await bot.store.deliveries("pending")] == ["d-1"]
    assert bot.github.requests == [], "the acknowledgement must not wait for the GitHub API"


async def test_forged_signature_is_refused_and_nothing_is_stored(bot):
    payload = bot.review_comment(pr=1, author="alice", reviewer="bob", body="use bind params here")
    response = await bot.deliver("pull_request_review_comment", payload, secret="not-the-secret")
    assert response.status == 401
    assert await bot.store.deliveries() == []


async def test_missing_signature_is_refused(bot):
    payload = fixture_payload("ping")
    response = await bot.deliver("ping", payload, secret=None)
    assert response.status == 401
    assert await bot.store.deliveries() == []


async def test_legacy_sha1_signature_alone_is_refused_even_when_correct(bot):
    body = json.dumps(fixture_payload("ping")).encode()
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = await bot.deliver("ping", body, secret=None, headers={"x-hub-signature": sha1})
    assert response.status == 401
    assert await bot.store.deliveries() == []


async def test_malformed_signature_is_refused(bot):
    for bad in ("sha256=", "sha256=zz", "md5=abc", "garbage"):
        response = await bot.deliver("ping", fixture_payload("ping"), signature=bad)
        assert response.status == 401, bad
    assert await bot.store.deliveries() == []


async def test_redelivery_is_recorded_once(bot):
    payload = bot.review_comment(pr=1, author="alice", reviewer="bob", body="looks fine")
    first = await bot.deliver("pull_request_review_comment", payload, delivery_id="same")
    again = await bot.deliver("pull_request_review_comment", payload, delivery_id="same")
    assert (first.status, again.status) == (202, 202)
    assert (await again.json())["stored"] is False
    assert len(await bot.store.deliveries()) == 1


async def test_signed_body_that_is_not_json_is_recorded_as_failed_and_the_worker_goes_on(bot):
    response = await bot.deliver("pull_request_review_comment", b"{not json", delivery_id="broken")
    assert response.status == 400
    ok = bot.review_comment(pr=1, author="alice", reviewer="bob", body="nice")
    await bot.deliver("pull_request_review_comment", ok, delivery_id="fine")
    await bot.worker.drain()
    records = {d.id: d for d in await bot.store.deliveries()}
    assert records["broken"].status == "failed"
    assert "not valid JSON" in records["broken"].error
    assert records["fine"].status == "done"


async def test_payload_missing_fields_is_recorded_as_failed_with_the_field_named(bot):
    payload = bot.review_comment(pr=1, author="alice", reviewer="bob", body="use bind params")
    del payload["pull_request"]["user"]
    await bot.deliver("pull_request_review_comment", payload, delivery_id="no-user")
    good = bot.review_comment(pr=2, author="alice", reviewer="bob", body="nice")
    await bot.deliver("pull_request_review_comment", good, delivery_id="after")
    await bot.worker.drain()
    records = {d.id: d for d in await bot.store.deliveries()}
    assert records["no-user"].status == "failed"
    assert "pull_request.user" in records["no-user"].error
    assert records["after"].status == "done"
    # failed for good: a second drain does not loop on it
    assert await bot.worker.drain() == 0


async def test_events_we_do_not_handle_are_accepted_and_marked_done(bot):
    await bot.deliver("ping", fixture_payload("ping.with-app_id"), delivery_id="p")
    await bot.deliver("push", fixture_payload("push.with-installation"), delivery_id="push")
    assert await bot.worker.drain() == 2
    assert {d.status for d in await bot.store.deliveries()} == {"done"}
    assert bot.github.requests == []


async def test_health_and_metrics(bot):
    payload = bot.review_comment(pr=1, author="alice", reviewer="bob", body="nice")
    await bot.deliver("pull_request_review_comment", payload)
    await bot.deliver("ping", fixture_payload("ping"), secret="wrong")
    health = await bot.client.get("/healthz")
    assert health.status == 200
    assert (await health.json())["inbox"]["depth"] == 1
    metrics = await (await bot.client.get("/metrics")).text()
    assert (
        'learning_nudges_deliveries_received_total{event="pull_request_review_comment"} 1.0'
        in metrics
    )
    assert 'learning_nudges_deliveries_refused_total{reason="bad_signature"} 1.0' in metrics
    assert "learning_nudges_queue_depth 1.0" in metrics


async def test_the_worker_in_the_same_process_handles_deliveries_by_itself(
    tmp_path, github, clock, rsa_key
):
    import asyncio

    from conftest import running_bot

    async with running_bot(tmp_path, github, clock, rsa_key, run_worker=True) as live:
        for body in (
            "Please use bind params here.",
            "Concatenating input into SQL again; use a parameterized query.",
        ):
            payload = live.review_comment(pr=8, author="alice", reviewer="bob", body=body)
            response = await live.deliver("pull_request_review_comment", payload)
            assert response.status == 202
        await asyncio.wait_for(live.worker.idle.wait(), timeout=10)
        assert {d.status for d in await live.store.deliveries()} == {"done"}
        posted = [
            c
            for c in github.review_comments("acme", "shop", 8)
            if c["user"]["login"] == github.bot_login
        ]
        assert len(posted) == 1
