"""``python -m bot simulate --series``: one engineer's spaced follow-ups, as a small text chart.

The simulation runs the decision core (:mod:`bot.core.reinforce`) over a scripted history, with
the clock advanced by hand: a nudge is posted, then the engineer pushes relevant pull requests
and each is reviewed clean or with a matching comment. Follow-ups go out when FSRS says the card
is due and a relevant pull request comes; the chart shows them spacing out while reviews are
clean and closing in when the comments return. :func:`series_section` draws the same chart from
a store, for the demo.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.core.budget import sprint_at
from bot.core.nudges import Nudge, NudgeState, Signal
from bot.core.org import OrgSettings
from bot.core.outcome import Review
from bot.core.playbook import Playbook
from bot.core.reinforce import (
    AGAIN,
    FollowUp,
    FollowUpContext,
    FollowUpState,
    PullHead,
    Series,
    all_series,
    current_series,
    decide_followup,
    observations,
)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
# The default story: comments keep coming for a week, stop for two months, return, then stop.
DEFAULT_SCRIPT: tuple[tuple[int, str], ...] = (
    (3, "again"),
    (6, "again"),
    (9, "good"),
    (13, "good"),
    (17, "good"),
    (22, "good"),
    (28, "good"),
    (35, "good"),
    (42, "good"),
    (50, "again"),
    (53, "again"),
    (57, "good"),
    (61, "good"),
    (66, "good"),
    (72, "good"),
    (80, "good"),
    (90, "good"),
    (101, "good"),
    (113, "good"),
    (126, "good"),
)


@dataclass
class SimulatedSeries:
    series: Series
    followups: list[FollowUp]
    reviews: list[tuple[dt.datetime, int, str]]  # when, PR number, again/good


def simulate_series(
    playbook: Playbook,
    script: Sequence[tuple[int, str]] = DEFAULT_SCRIPT,
    *,
    start: dt.datetime = START,
    org: OrgSettings | None = None,
    engineer: str = "dana",
    group: str | None = "nudged",
) -> SimulatedSeries:
    """Replay ``script`` (day after the nudge, how the PR's review went) through the core.

    Each scripted day the engineer pushes a pull request that touches the playbook's code at
    09:00 (a follow-up may be posted on it), and it is reviewed at 15:00.
    """
    org = org or OrgSettings(sprint_start=start.date())
    nudge = Nudge(
        key="5eed5eed5eed5eed",
        installation_id=1,
        repo="acme/shop",
        pr_number=1,
        engineer=engineer,
        playbook_id=playbook.id,
        state=NudgeState.POSTED,
        reason="posted",
        created_at=start,
        trigger_at=start,
        thread_id=None,
        minutes=playbook.nudge.minutes,
        posted_at=start,
        sprint=sprint_at(start, org).index,
    )
    heads: list[PullHead] = []
    signals: list[Signal] = []
    reviews: list[Review] = []
    followups: list[FollowUp] = []
    done: list[tuple[dt.datetime, int, str]] = []

    def step(now: dt.datetime) -> None:
        found = observations(
            playbook,
            engineer,
            start,
            signals=signals,
            reviews=reviews,
            heads=heads,
            skip=frozenset({("acme/shop", 1)}),
        )
        series = current_series(playbook, [nudge], found, followups, now)
        ctx = FollowUpContext(
            playbook=playbook,
            group=group,
            role=org.role_of(engineer),
            sprint=sprint_at(now, org),
            nudges=[nudge],
            followups=followups,
        )
        for f in decide_followup(series, heads, ctx, now).followups:
            followups.append(
                f.moved(FollowUpState.POSTED, f.reason, posted_at=now)
                if f.state == FollowUpState.PLANNED
                else f
            )

    for n, (day, outcome) in enumerate(script, start=2):
        opened = start + dt.timedelta(days=day)
        heads.append(
            PullHead(
                1,
                "acme/shop",
                n,
                engineer,
                f"{n:040x}",
                f"change-{n}",
                opened,
                opened,
                3,
                True,
                {playbook.id: ("src/db/orders.py",)},
            )
        )
        step(opened)
        reviewed = opened + dt.timedelta(hours=6)
        if outcome == AGAIN:
            signals.append(
                Signal(
                    1,
                    "acme/shop",
                    n,
                    engineer,
                    playbook.id,
                    10_000 + n,
                    "review_comment",
                    "rui",
                    reviewed,
                    "use bind params",
                )
            )
        reviews.append(
            Review(1, "acme/shop", n, engineer, "rui", reviewed, "review_comment", 10_000 + n)
        )
        done.append((reviewed, n, outcome))
        step(reviewed)
    end = start + dt.timedelta(days=(script[-1][0] if script else 0) + 1)
    found = observations(
        playbook,
        engineer,
        start,
        signals=signals,
        reviews=reviews,
        heads=heads,
        skip=frozenset({("acme/shop", 1)}),
    )
    series = current_series(playbook, [nudge], found, followups, end)
    assert series is not None
    return SimulatedSeries(series, followups, done)


def chart(
    series: Series, reviews: Sequence[tuple[dt.datetime, int, str]] = (), *, width: int = 60
) -> str:
    """One engineer's series as text: two timelines and one line per follow-up with its gap."""
    start = series.nudge.posted_at or series.nudge.created_at
    last = max([s.at for s in series.steps] + [r[0] for r in reviews] + [start])
    days = max(1, (last - start).days + 1)
    per = max(1, -(-days // width))  # days per character
    sent = ["·"] * (days // per + 1)
    seen = list(sent)

    def put(row: list[str], at: dt.datetime, mark: str) -> None:
        i = (at - start).days // per
        if 0 <= i < len(row) and row[i] != "x":  # a lapse stays visible in its cell
            row[i] = mark

    marks = [(at, outcome) for at, _n, outcome in reviews]
    marks += [(s.at, s.rating) for s in series.steps if s.kind == "review"]
    for at, outcome in marks:
        put(seen, at, "x" if outcome == AGAIN else "o")
    for s in series.steps:
        if s.kind in ("followup", "dropped"):
            put(sent, s.at, "F" if s.kind == "followup" else "-")
    sent[0] = "N"
    unit = f"{per} day{'s' if per > 1 else ''} per mark"
    lines = [
        (
            f"{series.nudge.engineer} · {series.nudge.playbook_id} ({unit}; N nudge, F follow-up, "
            "- dropped; x review with a matching comment, o clean review)"
        ),
        "  follow-ups |" + "".join(sent) + "|",
        "  reviews    |" + "".join(seen) + "|",
    ]
    previous = start
    for s in series.steps:
        if s.kind not in ("followup", "dropped"):
            continue
        gap = (s.at - previous).days
        label = "follow-up" if s.kind == "followup" else "dropped  "
        lines.append(
            f"  day {(s.at - start).days:>3}  {label} {s.detail:<8} {gap:>3} days after the last one  "
            + "#" * min(gap, 60)
        )
        previous = s.at
    if series.ended:
        lines.append(f"  ended: {series.ended}")
    elif series.due_at:
        lines.append(
            f"  next follow-up due {series.due_at:%Y-%m-%d}, on the next relevant pull request"
        )
    return "\n".join(lines)


def series_report(playbook: Playbook, script: Sequence[tuple[int, str]] = DEFAULT_SCRIPT) -> str:
    playbook = demo_playbook(playbook)
    sim = simulate_series(playbook, script)
    return (
        f"Spaced follow-ups for one engineer (playbook {playbook.id}; FSRS, desired retention "
        f"{playbook.reinforcement.desired_retention}; for the whole story, at most "
        f"{playbook.reinforcement.max_followups} follow-ups and "
        f"{playbook.reinforcement.clean_reviews_to_end} clean reviews in a row to end)\n"
        + chart(sim.series, sim.reviews)
        + "\n"
    )


def demo_playbook(playbook: Playbook) -> Playbook:
    """The playbook with room for the whole story (more follow-ups than it usually sends)."""
    return replace(
        playbook,
        reinforcement=replace(playbook.reinforcement, max_followups=10, clean_reviews_to_end=8),
    )


async def running_series(
    store, playbook: Playbook, installation_id: int, engineer: str, now: dt.datetime
) -> Series | None:
    """One engineer's running series of a playbook as the store shows it (None: no posted nudge)."""
    who = engineer.lower()
    mine = [
        n
        for n in await store.nudges((NudgeState.POSTED,))
        if n.installation_id == installation_id
        and n.engineer.lower() == who
        and n.playbook_id == playbook.id
    ]
    if not mine:
        return None
    found = observations(
        playbook,
        who,
        min(n.posted_at or n.created_at for n in mine),
        signals=await store.signals(installation_id),
        reviews=await store.reviews(installation_id),
        heads=await store.pull_heads(installation_id),
        alerts=await store.alerts(installation_id),
        skip=frozenset((n.repo, n.pr_number) for n in mine),
    )
    followups = await store.followups(installation_id=installation_id, engineer=who)
    return current_series(playbook, mine, found, followups, now)


async def series_section(
    store, playbooks: dict[str, Playbook], installation_id: int, now: dt.datetime
) -> str:
    """The demo's "spaced follow-ups" section: every series on record, charted, from the store."""
    nudges = [
        n for n in await store.nudges((NudgeState.POSTED,)) if n.installation_id == installation_id
    ]
    if not nudges:
        return "Spaced follow-ups: no nudge has been posted yet.\n"
    signals = await store.signals(installation_id)
    reviews = await store.reviews(installation_id)
    heads = await store.pull_heads(installation_id)
    alerts = await store.alerts(installation_id)
    followups = await store.followups(installation_id=installation_id)
    out = ["Spaced follow-ups"]
    for engineer, pid in sorted({(n.engineer.lower(), n.playbook_id) for n in nudges}):
        playbook = playbooks.get(pid)
        if playbook is None:
            continue
        mine = [n for n in nudges if n.engineer.lower() == engineer and n.playbook_id == pid]
        first = min(n.posted_at or n.created_at for n in mine)
        found = observations(
            playbook,
            engineer,
            first,
            signals=signals,
            reviews=reviews,
            heads=heads,
            alerts=alerts,
            skip=frozenset((n.repo, n.pr_number) for n in mine),
        )
        for series in all_series(
            playbook, mine, found, [f for f in followups if f.engineer.lower() == engineer], now
        ):
            out.append(chart(series))
    return "\n".join(out) + "\n"


async def followup_report(store) -> list[str]:
    """The follow-ups' part of ``python -m bot report``: counts per playbook, by state."""
    followups = await store.followups()
    states = [
        FollowUpState.PLANNED,
        FollowUpState.POSTED,
        FollowUpState.DROPPED,
        FollowUpState.FAILED,
    ]
    lines = ["Spaced follow-ups per playbook"]
    if not followups:
        return lines + ["(no follow-up yet)", ""]
    header = ["playbook", *[s.value for s in states], "engineers reinforced"]
    rows = []
    for pid in sorted({f.playbook_id for f in followups}):
        mine = [f for f in followups if f.playbook_id == pid]
        rows.append(
            [
                pid,
                *[str(sum(1 for f in mine if f.state == s)) for s in states],
                str(len({f.engineer.lower() for f in mine if f.state == FollowUpState.POSTED})),
            ]
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    return [*lines, line(header), line(["-" * w for w in widths]), *(line(r) for r in rows), ""]


def simulate_series_command(args, out) -> int:
    """``python -m bot simulate --series [--playbook ID]``."""
    from bot.cli.validate import DEFAULT_PLAYBOOKS
    from bot.core.playbook import load_playbooks

    playbooks = {p.id: p for p in load_playbooks(DEFAULT_PLAYBOOKS).playbooks}
    playbook = playbooks.get(args.playbook)
    if playbook is None:
        out.write(f"no playbook {args.playbook!r}; known: {', '.join(sorted(playbooks))}\n")
        return 2
    out.write(series_report(playbook))
    return 0
