"""What a failure leads to, told apart by kind; the web edge's limits; the outbox's independence.

Core rules as tables; the edges over real HTTP against the stand-in GitHub.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import random

import pytest
from conftest import OWNER, REPO, SECRET, running_bot
from drills import SQL_1, SQL_2, drill_bot, review_comment
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.nudges import Nudge, NudgeState
from bot.core.outbox import (
    MAX_ATTEMPTS,
    MAX_RESENDS,
    RESEND_AFTER,
    RESEND_WITHIN,
    UNKNOWN_OUTCOME_WAIT_SECONDS,
    FailureKind,
    GiveUp,
    RetryLater,
    after_failure,
    failure_kind,
    outcome_unknown,
    resend_after_outage,
)
from bot.core.redelivery import HookDelivery, still_recent, to_redeliver

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def nudge(state=NudgeState.PLANNED, **changes) -> Nudge:
    base = Nudge(
        key="k",
        installation_id=1,
        repo="a/b",
        pr_number=1,
        engineer="alice",
        playbook_id="sql-injection",
        state=state,
        reason="r",
        created_at=T0,
        trigger_at=T0,
        thread_id=None,
    )
    return base.moved(state, changes.pop("reason", "r"), **changes)


# the core: what a failure is, and what it leads to ---------------------------------------------


@pytest.mark.parametrize(
    "status, from_github, kind, unknown",
    [
        (None, True, FailureKind.OUTAGE, True),  # a timeout or a reset: no answer at all
        (500, True, FailureKind.OUTAGE, False),
        (502, True, FailureKind.OUTAGE, False),
        (503, True, FailureKind.OUTAGE, False),
        (401, True, FailureKind.OUTAGE, False),  # a token refused twice: fixed by GitHub or ops
        (403, True, FailureKind.OUTAGE, False),  # a secondary limit outlasting the client's wait
        (429, True, FailureKind.OUTAGE, False),
        (404, True, FailureKind.REFUSED, False),  # the pull request is gone
        (410, True, FailureKind.REFUSED, False),
        (422, True, FailureKind.REFUSED, False),  # a locked conversation
        (None, False, FailureKind.FAULT, False),  # an exception of ours
    ],
)
def test_what_a_failed_write_is(status, from_github, kind, unknown):
    assert failure_kind(status, from_github=from_github) == kind
    assert outcome_unknown(status, from_github=from_github) is unknown


def test_a_write_github_will_never_accept_fails_at_once_with_its_reason():
    outcome = after_failure(
        nudge(), "422 issue is locked", T0, random.Random(1), kind=FailureKind.REFUSED
    )
    assert isinstance(outcome, GiveUp) and outcome.kind == FailureKind.REFUSED
    assert outcome.nudge.state == NudgeState.FAILED
    assert outcome.nudge.reason == "GitHub will not accept it: 422 issue is locked"


@pytest.mark.parametrize("attempts", range(MAX_ATTEMPTS - 1))
def test_a_write_with_no_answer_is_looked_for_again_only_after_it_could_have_completed(attempts):
    seen = T0 + dt.timedelta(seconds=30)  # when the client gave up, not when the flush began
    outcome = after_failure(
        nudge(attempts=attempts), "timeout", seen, random.Random(2), unknown=True
    )
    assert isinstance(outcome, RetryLater)
    assert outcome.at >= seen + dt.timedelta(seconds=UNKNOWN_OUTCOME_WAIT_SECONDS)


def test_our_own_error_is_retried_then_failed_as_ours_never_as_githubs():
    first = after_failure(nudge(), "ValueError: bad", T0, random.Random(3), kind=FailureKind.FAULT)
    assert isinstance(first, RetryLater)
    last = after_failure(
        nudge(attempts=MAX_ATTEMPTS - 1),
        "ValueError: bad",
        T0,
        random.Random(3),
        kind=FailureKind.FAULT,
    )
    assert isinstance(last, GiveUp) and last.kind == FailureKind.FAULT
    assert last.nudge.reason.startswith(f"it failed {MAX_ATTEMPTS} times")


FAILED = nudge(NudgeState.FAILED, reason="GitHub refused it 8 times; last: 502", attempts=7)
LATER = T0 + RESEND_AFTER


@pytest.mark.parametrize(
    "kind, owed, failed_at, resends, now, back",
    [
        ("outage", NudgeState.PLANNED, T0, 0, LATER, NudgeState.PLANNED),
        ("outage", NudgeState.COSIGNED, T0, 0, LATER, NudgeState.COSIGNED),
        (
            "outage",
            NudgeState.AWAITING_COSIGN,
            T0,
            MAX_RESENDS - 1,
            LATER,
            NudgeState.AWAITING_COSIGN,
        ),
        ("outage", NudgeState.PLANNED, T0, 0, LATER - dt.timedelta(seconds=1), None),  # not yet
        ("outage", NudgeState.PLANNED, T0, MAX_RESENDS, LATER, None),  # re-sent enough
        (
            "outage",
            NudgeState.PLANNED,
            T0,
            0,
            T0 + RESEND_WITHIN + dt.timedelta(hours=1),
            None,
        ),  # stale
        ("refused", NudgeState.PLANNED, T0, 0, LATER, None),  # a locked conversation stays locked
        ("fault", NudgeState.PLANNED, T0, 0, LATER, None),  # a bug of ours is not fixed by waiting
        (None, None, None, 0, LATER, None),  # failed before the kind was kept
        ("outage", NudgeState.POSTED, T0, 0, LATER, None),  # never a state the outbox does not own
    ],
)
def test_which_failed_nudges_are_sent_again_once_github_recovers(
    kind, owed, failed_at, resends, now, back
):
    again = resend_after_outage(FAILED, kind, owed, failed_at, resends, now)
    if back is None:
        assert again is None
    else:
        assert (again.state, again.attempts) == (back, 0)
        assert "re-sent after GitHub recovered" in again.reason


def attempt(
    id_, guid, minutes_ago, status_code=0, status="failed to connect to host", redelivery=False
):
    return HookDelivery(
        id_, guid, T0 - dt.timedelta(minutes=minutes_ago), status_code, status, redelivery
    )


def test_the_sweep_asks_again_only_for_events_that_never_reached_the_inbox():
    attempts = [
        attempt(1, "lost", 90),
        attempt(2, "lost", 30, 502, "Invalid HTTP Response: 502", redelivery=True),
        attempt(3, "arrived", 80, 202, "OK"),
        attempt(4, "failed-then-ok", 70),
        attempt(5, "failed-then-ok", 20, 202, "OK", redelivery=True),
        attempt(
            6, "in-inbox", 60, 400, "Invalid HTTP Response: 400"
        ),  # recorded as failed, with why
        attempt(7, "under-way", 10, 0, "pending", redelivery=True),
        attempt(8, "under-way", 50),
        attempt(9, "earlier-lost", 120),
        *[attempt(20 + i, "given-up", 100 - i) for i in range(6)],
        attempt(40, "too-old", 60 * 24 * 4),
    ]
    chosen = to_redeliver(attempts, {"in-inbox"}, T0)
    assert [(a.guid, a.id) for a in chosen] == [("earlier-lost", 9), ("lost", 2)], (
        "the latest attempt, oldest first"
    )


def test_the_delivery_log_is_read_back_to_the_lookback_and_no_further():
    assert still_recent([attempt(1, "a", 60)], T0)
    assert not still_recent([attempt(1, "a", 60 * 24 * 4)], T0)
    assert not still_recent([], T0)


# the web edge: judged from the headers before the body is read --------------------------------


async def raw_post(bot, head: str, body: bytes = b"") -> int:
    """A request written by hand on a socket (the client library would fix what is wrong)."""
    reader, writer = await asyncio.open_connection(bot.client.host, bot.client.port)
    writer.write(head.encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_a_large_body_is_refused_from_its_headers_before_a_byte_of_it_is_read(bot):
    signature = "sha256=" + "0" * 64
    head = (
        "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: ping\r\n"
        f"X-GitHub-Delivery: big\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {30 * 1024 * 1024}\r\n\r\n"
    )
    assert await raw_post(bot, head) == 413  # answered although not one byte of the body was sent
    unsigned = head.replace(f"X-Hub-Signature-256: {signature}\r\n", "").replace(
        str(30 * 1024 * 1024), str(20 * 1024 * 1024)
    )
    assert await raw_post(bot, unsigned) == 401
    assert await bot.store.deliveries() == []


async def test_a_sha1_hmac_in_the_sha256_header_is_refused_even_when_it_is_correct(bot):
    body = json.dumps({"zen": "hi"}).encode()
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = await bot.deliver("ping", body, signature=sha1)
    assert response.status == 401
    assert await bot.store.deliveries() == []


@pytest.mark.parametrize(
    "body, content_type, why",
    [
        (b"[" * 200_000 + b"]" * 200_000, "application/json", "nested too deeply"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json", "nested too deeply"),
        (
            b'{"zen": "hi"}',
            "application/json; charset=no-such-charset",
            "unknown charset no-such-charset",
        ),
        (b'{"zen": "\xff"}', "application/json", "not utf-8 text"),
        (b"payload=%7B%7D", "application/x-www-form-urlencoded", "is not application/json"),
    ],
)
async def test_a_signed_body_that_cannot_be_read_is_400_and_recorded_with_its_reason(
    bot, body, content_type, why
):
    response = await bot.deliver(
        "ping", body, delivery_id="odd", headers={"content-type": content_type}
    )
    assert response.status == 400
    [record] = await bot.store.deliveries()
    assert record.status == "failed" and why in record.error
    assert await bot.store.delivery_body("odd") is None


async def test_a_body_in_another_charset_is_kept_as_utf8_and_processed(bot):
    body = json.dumps({"zen": "Ça marche", "hook_id": 1}, ensure_ascii=False).encode("latin-1")
    response = await bot.deliver(
        "ping",
        body,
        delivery_id="latin",
        headers={"content-type": "application/json; charset=latin-1"},
    )
    assert response.status == 202
    assert json.loads(await bot.store.delivery_body("latin"))["zen"] == "Ça marche"
    await bot.worker.drain()
    assert [d.status for d in await bot.store.deliveries()] == ["done"]


async def test_a_delivery_header_cannot_write_fields_into_the_log(bot, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    forged = "abc level=ERROR user=admin"
    await bot.deliver("ping", {"zen": "hi"}, delivery_id=forged, secret="wrong")
    response = await bot.deliver("ping", {"zen": "hi"}, delivery_id=forged)
    assert response.status == 400  # signed, but not a delivery id GitHub would send
    assert not [r for r in caplog.records if "user=admin" in r.getMessage()]
    assert await bot.store.deliveries() == []


async def test_a_delivery_failed_for_good_keeps_its_id_event_times_and_reason_but_not_its_body(bot):
    payload = bot.review_comment(pr=1, author="alice", reviewer="bob", body="use bind params")
    del payload["pull_request"]["user"]
    await bot.deliver("pull_request_review_comment", payload, delivery_id="no-user")
    await bot.worker.drain()
    [record] = await bot.store.deliveries()
    assert (record.id, record.event, record.status) == (
        "no-user",
        "pull_request_review_comment",
        "failed",
    )
    assert "pull_request.user" in record.error
    assert await bot.store.delivery_body("no-user") is None


# the outbox ---------------------------------------------------------------------------------


async def planned_nudges(bot, count, installation=77):
    """``count`` nudges planned on this installation, one engineer each (the holdout decides who
    is nudged, so engineers are added until enough are)."""

    def mine(nudges):
        return [
            n for n in nudges if n.state == NudgeState.PLANNED and n.installation_id == installation
        ]

    for i in range(40 * count):
        if len(mine(await bot.store.nudges())) >= count:
            break
        for body in (SQL_1, SQL_2):
            payload = review_comment(
                bot,
                installation=installation,
                pr=i + 1,
                author=f"dev{installation}-{i}",
                reviewer="bob",
                body=body,
            )
            await bot.deliver("pull_request_review_comment", payload)
        await bot.worker.process_one()
        await bot.worker.process_one()
    planned = mine(await bot.store.nudges())
    assert len(planned) >= count, "the holdout kept back every engineer tried"
    return planned


def ours(bot, owner="acme"):
    found = []
    for pr in range(1, 200):
        try:
            comments = bot.github.review_comments(owner, REPO, pr) + bot.github.issue_comments(
                owner, REPO, pr
            )
        except LookupError:
            continue
        found += [c for c in comments if c["user"]["login"] == bot.github.bot_login]
    return found


async def test_a_nudge_failing_with_an_error_of_ours_does_not_stop_the_ones_behind_it(tmp_path):
    async with drill_bot(tmp_path) as bot:
        planned = await planned_nudges(bot, 4)
        assert len(planned) >= 2
        broken = planned[0]
        # A record the edge cannot use (as a bug or a bad migration would leave it).
        await bot.store.driver.execute(
            "UPDATE nudges SET repo = 'no-slash' WHERE key = ?", (broken.key,)
        )
        posted = await bot.worker.scheduler.outbox.flush(bot.clock())
        assert posted == len(planned) - 1, "every other nudge was posted"
        assert len(ours(bot)) == len(planned) - 1
        again = await bot.store.nudge(broken.key)
        assert again.state == NudgeState.PLANNED and again.attempts == 1
        for _ in range(MAX_ATTEMPTS + 2):
            bot.clock.advance(hours=2)
            await bot.worker.scheduler.outbox.flush(bot.clock())
        [failed] = [f for f in await bot.store.failed_nudges() if f.nudge.key == broken.key]
        assert failed.kind == "fault" and "ValueError" in failed.nudge.reason
        bot.clock.advance(days=1)
        assert await bot.worker.scheduler.outbox.resend_failed(bot.clock()) == 0, (
            "a bug is not re-sent"
        )


async def test_a_nudge_an_outage_failed_for_good_is_posted_once_github_recovers(tmp_path):
    async with drill_bot(tmp_path) as bot:
        bot.github.inject_fault(
            "POST", "^/repos/acme/shop/(issues|pulls)/.*", status=502, times=10 * MAX_ATTEMPTS
        )
        [planned] = await planned_nudges(bot, 1)
        outbox = bot.worker.scheduler.outbox
        for _ in range(MAX_ATTEMPTS):
            await outbox.flush(bot.clock())
            bot.clock.advance(hours=2)
        assert (await bot.store.nudge(planned.key)).state == NudgeState.FAILED
        assert ours(bot) == []
        bot.github._faults._pending.clear()  # GitHub is back
        bot.clock.advance(hours=1)
        assert await bot.worker.tick()
        assert (await bot.store.nudge(planned.key)).state == NudgeState.POSTED
        assert len(ours(bot)) == 1


async def test_an_installation_told_to_wait_delays_no_other_installation(tmp_path):
    """A 429 with retry-after for one installation: the other's nudges are posted meanwhile."""
    released = asyncio.Event()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # GitHub's wait for installation 77, held open
        waits.append(seconds)
        await released.wait()

    async with drill_bot(tmp_path, installations=2, sleep=sleep) as bot:
        bot.github.inject_fault(
            "POST", "^/repos/acme/shop/.*", status=429, headers={"retry-after": "60"}
        )
        await planned_nudges(bot, 2, installation=77)
        await planned_nudges(bot, 2, installation=78)
        flushing = asyncio.create_task(bot.worker.scheduler.outbox.flush(bot.clock()))
        for _ in range(500):  # bounded, not timed: until the other installation's comments exist
            if len(ours(bot, "org1")) >= 1 and waits:
                break
            await asyncio.sleep(0.01)
        assert waits == [60.0], "installation 77 is waiting for its retry-after"
        assert ours(bot, "org1"), "installation 78 was written for while 77 waited"
        assert ours(bot, "acme") == []
        released.set()
        await flushing
        assert len(ours(bot, "acme")) >= 1


async def test_a_process_that_stops_mid_write_hands_the_nudge_back_for_later(
    tmp_path, github, clock, rsa_key
):
    async with running_bot(tmp_path, github, clock, rsa_key) as bot:
        github.inject_delay("POST", f"^/repos/{OWNER}/{REPO}/.*comments.*", seconds=3)
        for body, pr in ((SQL_1, 6), (SQL_2, 7)):
            await bot.deliver(
                "pull_request_review_comment",
                bot.review_comment(pr=pr, author="alice", reviewer="bob", body=body),
            )
        while await bot.worker.process_one():
            pass
        flushing = asyncio.create_task(bot.worker.scheduler.outbox.flush(clock()))
        for _ in range(500):
            if any(r.method == "GET" for r in github.requests[-3:]) and github.requests:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        flushing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await flushing
        [n] = [n for n in await bot.store.nudges() if n.state == NudgeState.PLANNED]
        assert n.attempts == 1, "the interrupted write counts, and waits as one with no answer"
        assert await bot.store.try_lease(
            f"nudge:{n.key}", "another-process", clock(), dt.timedelta(seconds=1)
        )
        assert await bot.store.nudges((NudgeState.PLANNED,), due_by=clock()) == []


@settings(max_examples=2000, deadline=None)
@given(body=st.binary(max_size=512), signature=st.text(max_size=80), other=st.binary(max_size=64))
def test_no_forged_signature_of_any_shape_passes_the_check(body, signature, other):
    """Thousands of forged signatures: only the sha256 HMAC of this very body under the secret."""
    from bot.app.web import _BAD_SIGNATURE, _check

    genuine = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    for forged in (
        signature,
        sha1,
        genuine.upper(),
        genuine[:-1],
        "sha256=" + hmac.new(SECRET.encode(), body + other + b"x", hashlib.sha256).hexdigest(),
    ):
        if forged != genuine:
            assert _check(body, forged, SECRET, "application/json")[0] is _BAD_SIGNATURE
    assert _check(body, genuine, SECRET, "application/json")[0] is not _BAD_SIGNATURE
