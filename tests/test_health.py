"""Health that tells the truth: readiness turns unhealthy for what an operator must fix, and metrics show it."""

from __future__ import annotations

import datetime as dt
import shutil

from conftest import running_bot
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from bot.app.metrics import CONTENT_TYPE
from bot.app.settings import PACKAGE_ROOT
from bot.testing.fakegithub import app_keypair

SQL = (
    "This builds SQL with an f-string; please use bind params here.",
    "Concatenating input into SQL again; use a parameterized query.",
)


async def readiness(bot) -> tuple[int, dict[str, str]]:
    response = await bot.client.get("/readyz")
    return response.status, (await response.json())["checks"]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def test_a_good_setup_is_live_and_ready(bot):
    assert (await bot.client.get("/healthz")).status == 200
    status, checks = await readiness(bot)
    assert status == 200 and set(checks.values()) == {"ok"}
    metrics = await bot.client.get("/metrics")
    # the exposition format prometheus-client writes, named as Prometheus expects it
    assert metrics.headers["Content-Type"] == CONTENT_TYPE == CONTENT_TYPE_LATEST
    assert CONTENT_TYPE.startswith("text/plain; version=") and CONTENT_TYPE.endswith(
        "; charset=utf-8"
    )
    found = samples(await metrics.text())
    assert found[("learning_nudges_ready", ())] == 1.0
    assert ("process_start_time_seconds", ()) in found  # the process's own metrics
    assert ("process_resident_memory_bytes", ()) in found


async def test_readiness_fails_while_github_refuses_the_apps_jwt(tmp_path, github, clock):
    wrong = app_keypair()
    async with running_bot(tmp_path, github, clock, wrong) as bot:
        status, checks = await readiness(bot)
        assert status == 503
        assert (
            checks["github"]
            == "GitHub refused the App's JWT (401); APP_ID and PRIVATE_KEY do not belong together"
        )
        assert (await bot.client.get("/healthz")).status == 200  # alive: restarting would not help
        found = samples(await (await bot.client.get("/metrics")).text())
        assert found[("learning_nudges_ready", ())] == 0.0


async def test_readiness_fails_while_the_worker_keeps_failing_and_recovers(bot):
    for _ in range(3):
        payload = bot.review_comment(pr=1, author="alice", reviewer="bob", body="nice")
        del payload["comment"]["user"]  # the wrong shape: the worker fails it with its reason
        await bot.deliver("pull_request_review_comment", payload)
        await bot.worker.drain()
    status, checks = await readiness(bot)
    assert status == 503 and checks["worker"].startswith(
        "3 failures in a row since the last delivery done"
    )
    found = samples(await (await bot.client.get("/metrics")).text())
    assert found[("learning_nudges_worker_errors_total", (("kind", "delivery"),))] == 3.0
    await bot.deliver(
        "pull_request_review_comment",
        bot.review_comment(pr=1, author="alice", reviewer="bob", body="ok"),
    )
    await bot.worker.drain()
    status, checks = await readiness(bot)
    assert status == 200 and checks["worker"] == "ok"


async def test_readiness_fails_while_a_playbook_is_broken(tmp_path, github, clock, rsa_key):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    shutil.copy(PACKAGE_ROOT / "playbooks" / "sql-injection.yml", folder)
    (folder / "typo.yml").write_text("id: typo\ntitle: [unclosed\n")
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=folder) as bot:
        status, checks = await readiness(bot)
    assert status == 503
    assert checks["playbooks"] == (
        "1 playbooks in force, 1 files with problems; run python -m bot validate on the playbooks folder"
    )


async def test_readiness_fails_while_the_outbox_is_stuck_and_metrics_show_the_unposted_nudge(bot):
    bot.github.inject_fault(
        "POST", "/repos/acme/shop/pulls/*/comments/*/replies", status=502, times=100
    )
    bot.github.inject_fault("POST", "/repos/acme/shop/pulls/*/comments", status=502, times=100)
    for body in SQL:
        await bot.deliver(
            "pull_request_review_comment",
            bot.review_comment(pr=3, author="alice", reviewer="bob", body=body),
        )
    await bot.worker.drain()
    found = samples(await (await bot.client.get("/metrics")).text())
    assert found[("learning_nudges_unposted_nudges", (("age", "lt_5m"),))] == 1.0
    assert (await readiness(bot))[0] == 200  # a write that waits minutes is normal
    bot.clock.now += dt.timedelta(minutes=45)
    status, checks = await readiness(bot)
    assert (
        status == 503
        and checks["outbox"] == "a nudge has waited 45 minutes to be written to GitHub"
    )
    found = samples(await (await bot.client.get("/metrics")).text())
    assert found[("learning_nudges_unposted_nudges", (("age", "lt_1h"),))] == 1.0
    assert found[("learning_nudges_unposted_oldest_age_seconds", ())] == 45 * 60


async def test_webhook_latency_histograms_and_short_refusal_labels(bot):
    for body in SQL:
        await bot.deliver(
            "pull_request_review_comment",
            bot.review_comment(pr=4, author="alice", reviewer="bob", body=body),
        )
        bot.clock.now += dt.timedelta(seconds=30)
    await bot.deliver("ping", b"{}", secret="wrong")
    await bot.deliver("ping", b"{}", secret=None)
    await bot.worker.drain()
    found = samples(await (await bot.client.get("/metrics")).text())
    assert found[("learning_nudges_webhook_ack_seconds_count", (("status", "202"),))] == 2.0
    assert found[("learning_nudges_webhook_ack_seconds_count", (("status", "401"),))] == 2.0
    assert (
        found[("learning_nudges_deliveries_refused_total", (("reason", "bad_signature"),))] == 1.0
    )
    assert found[("learning_nudges_deliveries_refused_total", (("reason", "no_signature"),))] == 1.0
    # one nudge, posted on the manual clock 30 s after the comment that triggered it
    assert found[("learning_nudges_webhook_to_nudge_seconds_count", (("path", "direct"),))] == 1.0
    assert found[("learning_nudges_webhook_to_nudge_seconds_sum", (("path", "direct"),))] == 30.0
    reasons = {
        dict(labels).get("reason")
        for name, labels in found
        if name.startswith("learning_nudges_deliveries_refused")
    }
    assert all(r is None or len(r) <= 16 for r in reasons)
