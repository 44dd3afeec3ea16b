"""Holdout assignment and sprints: reproducible groups of the right size, sprints without gaps."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.budget import sprint_at
from bot.core.holdout import HOLDOUT, NUDGED, assign_holdout
from bot.core.org import OrgSettings

UTC = dt.UTC
US = dt.timedelta(microseconds=1)


@pytest.mark.parametrize("share", [0.1, 0.2, 0.5])
def test_holdout_share_converges_to_the_setting(share):
    groups = [
        assign_holdout("acme-2026", 77, f"engineer-{n}", "sql-injection", share)
        for n in range(20_000)
    ]
    assert set(groups) == {HOLDOUT, NUDGED}
    measured = groups.count(HOLDOUT) / len(groups)
    assert abs(measured - share) <= 0.015, measured


@pytest.mark.parametrize("share, expected", [(0.0, {NUDGED}), (1.0, {HOLDOUT})])
def test_the_extreme_shares_put_everyone_in_one_group(share, expected):
    groups = {assign_holdout("seed", 1, f"e{n}", "missing-tests", share) for n in range(2_000)}
    assert groups == expected


def test_each_playbook_draws_its_own_holdout():
    # Otherwise the same fifth of engineers would never receive any nudge at all.
    engineers = [f"engineer-{n}" for n in range(5_000)]
    held_a = {e for e in engineers if assign_holdout("s", 1, e, "sql-injection", 0.2) == HOLDOUT}
    held_b = {e for e in engineers if assign_holdout("s", 1, e, "missing-tests", 0.2) == HOLDOUT}
    overlap = len(held_a & held_b) / len(engineers)
    assert 0.025 <= overlap <= 0.055  # about 0.2 * 0.2


@given(
    seed=st.text(max_size=30),
    installation=st.integers(min_value=1, max_value=2**40),
    engineer=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}", fullmatch=True),
    playbook=st.from_regex(r"[a-z0-9][a-z0-9-]{1,30}", fullmatch=True),
    share=st.floats(min_value=0.0, max_value=0.9),
)
def test_the_same_inputs_always_give_the_same_group(seed, installation, engineer, playbook, share):
    first = assign_holdout(seed, installation, engineer, playbook, share)
    assert first in (HOLDOUT, NUDGED)
    assert assign_holdout(seed, installation, engineer, playbook, share) == first
    # GitHub logins are case-insensitive: the same person is in the same group.
    assert assign_holdout(seed, installation, engineer.upper(), playbook, share) == first
    assert assign_holdout(seed, installation, engineer.lower(), playbook, share) == first


def test_a_larger_share_only_adds_people_to_the_holdout():
    engineers = [f"e{n}" for n in range(3_000)]
    small = {e for e in engineers if assign_holdout("s", 9, e, "p1", 0.1) == HOLDOUT}
    large = {e for e in engineers if assign_holdout("s", 9, e, "p1", 0.3) == HOLDOUT}
    assert small < large


def test_the_seed_and_installation_change_the_draw():
    engineers = [f"e{n}" for n in range(2_000)]
    base = [assign_holdout("s", 1, e, "p1", 0.5) for e in engineers]
    assert base != [assign_holdout("other", 1, e, "p1", 0.5) for e in engineers]
    assert base != [assign_holdout("s", 2, e, "p1", 0.5) for e in engineers]


# ------------------------------------------------------------------------------------ sprints

ORG = OrgSettings(sprint_days=14, sprint_start=dt.date(2026, 1, 5))
START = dt.datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "now, index, start",
    [
        (START, 0, START),
        (START + dt.timedelta(days=14) - US, 0, START),
        (START + dt.timedelta(days=14), 1, START + dt.timedelta(days=14)),
        (dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 4, dt.datetime(2026, 3, 2, tzinfo=UTC)),
        (START - US, -1, START - dt.timedelta(days=14)),
        (dt.datetime(2025, 12, 22, tzinfo=UTC), -1, dt.datetime(2025, 12, 22, tzinfo=UTC)),
        (dt.datetime(2025, 12, 21, 23, 59, tzinfo=UTC), -2, dt.datetime(2025, 12, 8, tzinfo=UTC)),
        (dt.datetime(2020, 1, 1, tzinfo=UTC), -157, dt.datetime(2019, 12, 30, tzinfo=UTC)),
        (dt.datetime(2030, 6, 15, 12, tzinfo=UTC), 115, dt.datetime(2030, 6, 3, tzinfo=UTC)),
    ],
)
def test_sprint_at_known_dates(now, index, start):
    sprint = sprint_at(now, ORG)
    assert (sprint.index, sprint.start, sprint.end) == (index, start, start + dt.timedelta(days=14))
    assert now in sprint


def test_time_zones_do_not_move_the_sprint_boundary():
    # Sprints start at midnight UTC; 01:00 in Berlin on the start day is still the sprint before.
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert sprint_at(dt.datetime(2026, 1, 5, 0, 59, tzinfo=berlin), ORG).index == -1
    assert sprint_at(dt.datetime(2026, 1, 5, 1, 0, tzinfo=berlin), ORG).index == 0


def test_consecutive_sprints_tile_time_across_many_sprints():
    settings = OrgSettings(sprint_days=7, sprint_start=dt.date(2026, 1, 5))
    sprint = sprint_at(dt.datetime(2024, 1, 1, tzinfo=UTC), settings)
    for _ in range(300):
        following = sprint_at(sprint.end, settings)
        assert following.index == sprint.index + 1
        assert following.start == sprint.end
        assert sprint_at(sprint.end - US, settings) == sprint
        assert sprint.end - sprint.start == dt.timedelta(days=7)
        sprint = following
    assert sprint.index > 0


@given(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=60),
)
def test_every_moment_lies_in_exactly_the_sprint_returned(now, days):
    settings = OrgSettings(sprint_days=days, sprint_start=dt.date(2026, 1, 5))
    sprint = sprint_at(now, settings)
    assert sprint.start <= now < sprint.end
    assert sprint.start == START + sprint.index * dt.timedelta(days=days)
    assert now not in sprint_at(sprint.end, settings)
    assert now not in sprint_at(sprint.start - US, settings)
