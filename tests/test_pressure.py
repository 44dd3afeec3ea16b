"""Acknowledgements first: the worker waits between deliveries while a webhook is being answered."""

from __future__ import annotations

import asyncio

from bot.app.pressure import AckPressure


async def test_the_worker_waits_until_no_webhook_is_being_answered():
    pressure = AckPressure()
    with pressure.answering():
        waiting = asyncio.create_task(pressure.give_way(longest=60))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiting.done(), "a webhook is being answered: the worker waits"
        assert pressure.inflight == 1
    await asyncio.wait_for(waiting, timeout=5)
    assert pressure.inflight == 0


async def test_the_worker_never_waits_for_long_and_not_at_all_when_quiet():
    pressure = AckPressure()
    await asyncio.wait_for(pressure.give_way(longest=60), timeout=5)  # quiet: at once
    with pressure.answering():
        await asyncio.wait_for(pressure.give_way(longest=0.01), timeout=5)  # busy: a bounded wait
        assert pressure.inflight == 1


async def test_a_failed_answer_still_counts_as_finished():
    pressure = AckPressure()
    try:
        with pressure.answering():
            raise RuntimeError("the handler broke")
    except RuntimeError:
        pass
    assert pressure.inflight == 0
    await asyncio.wait_for(pressure.give_way(longest=60), timeout=5)
