"""GitHub's limits and failures, over the real HTTP paths: what is retried, how long it waits.

The waits go through the injected clock's ``sleep``, so each test shows exactly how long the
bot would have waited. Secondary rate limits with ``retry-after``, a failed POST and an expired
token are covered in test_nudge_flow.py.
"""

from __future__ import annotations

from test_nudge_flow import bot_comments, two_sql_comments

from bot.core.nudges import NudgeState
from bot.core.retry import RetryPolicy

COMMENTS = "/repos/acme/shop/pulls/7/comments"


def requests_to(github, method, path):
    return [r for r in github.requests if r.method == method and r.path == path]


async def test_server_errors_on_a_read_are_retried_with_growing_backoff(bot):
    bot.github.inject_fault("GET", COMMENTS, status=502, times=2)
    await two_sql_comments(bot)
    assert len(bot_comments(bot.github, 7)) == 1
    assert [r.status for r in requests_to(bot.github, "GET", COMMENTS)] == [502, 502, 200]
    first, second = bot.clock.slept[-2:]
    policy = RetryPolicy()
    assert policy.base_seconds / 2 <= first <= policy.base_seconds
    assert policy.base_seconds <= second <= 2 * policy.base_seconds


async def test_a_dropped_connection_on_a_read_is_retried(bot):
    bot.github.inject_disconnect("GET", COMMENTS, times=3)
    await two_sql_comments(bot)
    assert [r.status for r in requests_to(bot.github, "GET", COMMENTS)] == [0, 0, 0, 200]
    assert len(bot_comments(bot.github, 7)) == 1
    errors = bot.service.metrics.registry.get_sample_value(
        "learning_nudges_github_requests_total", {"method": "GET", "status": "network-error"}
    )
    assert errors and errors >= 1, "counted in /metrics"


async def test_a_dropped_connection_on_a_post_is_left_to_the_outbox_which_posts_once(bot):
    """GitHub may have created the comment before the connection dropped: no blind retry."""
    bot.github.inject_disconnect("POST", "/repos/acme/shop/pulls/7/comments/*/replies")
    await two_sql_comments(bot)
    [nudge] = await bot.store.nudges()
    assert nudge.state == NudgeState.PLANNED and nudge.attempts == 1
    bot.clock.advance(hours=1)
    await bot.worker.tick()
    assert len(bot_comments(bot.github, 7)) == 1


async def test_too_many_requests_without_retry_after_backs_off_and_retries(bot):
    bot.github.inject_fault("GET", COMMENTS, status=429)
    await two_sql_comments(bot)
    assert [r.status for r in requests_to(bot.github, "GET", COMMENTS)] == [429, 200]
    assert 0.5 <= bot.clock.slept[-1] <= 1.0
    assert len(bot_comments(bot.github, 7)) == 1


async def test_an_exhausted_rate_limit_waits_until_the_reset(bot):
    reset = int(bot.clock().timestamp()) + 3 * 24 * 3600 + 120  # two_sql_comments moves 3 days on
    bot.github.inject_fault(
        "GET",
        COMMENTS,
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body={"message": "API rate limit exceeded for installation ID 77."},
    )
    await two_sql_comments(bot)
    assert bot.clock.slept[-1] == 121.0, "until the reset, plus a second"
    assert len(bot_comments(bot.github, 7)) == 1


async def test_a_rate_limit_reset_hours_away_gives_the_nudge_back_to_the_outbox(bot):
    """The worker does not sit for hours on one request: the nudge waits in the outbox instead."""
    reset = int(bot.clock().timestamp()) + 3 * 24 * 3600 + 2 * 3600
    bot.github.inject_fault(
        "GET",
        COMMENTS,
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body={"message": "API rate limit exceeded for installation ID 77."},
    )
    await two_sql_comments(bot)
    assert all(wait <= 900 for wait in bot.clock.slept)
    [nudge] = await bot.store.nudges()
    assert nudge.state == NudgeState.PLANNED and nudge.attempts == 1
    bot.clock.advance(hours=3)
    await bot.worker.tick()
    assert len(bot_comments(bot.github, 7)) == 1


async def test_a_server_error_when_minting_the_token_is_retried(bot):
    bot.github.inject_fault("POST", "/app/installations/77/access_tokens", status=502)
    await two_sql_comments(bot)
    minted = requests_to(bot.github, "POST", "/app/installations/77/access_tokens")
    # Retried at once; a later token is minted only when the first one has expired (days later,
    # when the first comment already read the repository's settings).
    assert [r.status for r in minted][:2] == [502, 201]
    assert len(bot_comments(bot.github, 7)) == 1
