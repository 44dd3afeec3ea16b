"""The reliability drills, short: every row zero lost and zero duplicated (figures printed).

The longer forms, and the table in the README, come from ``python bench/drills.py``.
"""

from __future__ import annotations

import os

import pytest
from drills import (
    faults_drill,
    foreign_marker_drill,
    forged_drill,
    format_table,
    hostile_drill,
    kill_drill,
    malformed_drill,
    outage_drill,
    scan_drill,
)


def report(row) -> None:
    print("\n" + format_table([row]) + "; ".join(row.notes))
    assert row.cases > 0, "a drill that tried nothing proves nothing"
    assert (row.lost, row.duplicated) == (0, 0), row.notes
    assert row.failures == 0, row.notes


async def test_forged_requests_are_refused_and_none_is_stored(tmp_path):
    report(await forged_drill(tmp_path, cases=300))


async def test_malformed_signed_payloads_end_failed_with_their_reason_and_good_ones_go_on(tmp_path):
    report(await malformed_drill(tmp_path, rounds=2))


async def test_a_marker_someone_else_wrote_does_not_suppress_the_nudge(tmp_path):
    report(await foreign_marker_drill(tmp_path, cases=3))


async def test_hostile_comments_are_never_echoed_beyond_a_short_mention_safe_quote(tmp_path):
    report(await hostile_drill(tmp_path, engineers=1))


@pytest.mark.parametrize("seed", [4, 5])
async def test_github_faults_drain_the_backlog_and_post_nothing_twice(tmp_path, seed):
    report(await faults_drill(tmp_path, engineers=4, faults=30, minutes=120, seed=seed))


async def test_an_outage_loses_no_delivery_the_sweep_has_them_redelivered_once(tmp_path):
    report(await outage_drill(tmp_path, events=24))


async def test_config_that_validates_but_would_break_is_refused_and_deliveries_go_on(tmp_path):
    from drills import config_drill

    report(await config_drill(tmp_path))


async def test_no_secret_token_or_whole_comment_in_any_log_line_or_stored_row(tmp_path):
    report(await scan_drill(tmp_path))


async def test_sigkill_on_sqlite_loses_nothing_and_posts_nothing_twice(tmp_path):
    report(await kill_drill(tmp_path, f"sqlite:///{tmp_path / 'kill.db'}", runs=2, deliveries=40))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set")
async def test_sigkill_on_postgresql_loses_nothing_and_posts_nothing_twice(tmp_path):
    report(await kill_drill(tmp_path, os.environ["TEST_DATABASE_URL"], runs=2, deliveries=40))


async def test_sigterm_mid_write_exits_0_and_the_next_process_posts_nothing_twice(tmp_path):
    from drills import sigterm_drill

    report(await sigterm_drill(tmp_path, runs=2))
