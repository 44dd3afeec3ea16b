"""Dry run on real history: the recorded review comments through proposed playbooks and settings.

``python -m bot replay`` (and the playbooks pull request's check) hands this module the review
history on record — every reviewed comment the backfill read or a webhook delivered — with the
proposed playbooks and org settings, and gets back what the app would have decided, comment by
comment and in time order, through the very gates the live app applies
(:func:`bot.core.decide.decide_comment`): trigger, cooldown, holdout, budget, co-sign. Nothing is
posted and nothing is written; the replay keeps its own per-engineer history as it goes.

What a comment is classified on. The store keeps no whole comment bodies: the backfill keeps a
short, mention-safe snippet of each reviewed comment (:data:`bot.core.backfill.SNIPPET_CHARS`
characters), and for every comment that matched a playbook in force at the time, the signal with
its quote. So a comment with a snippet is classified again with the proposed playbooks (a match
beyond the snippet's end is not seen: the summary counts the snippets that were cut); a comment
without one (delivered live, whose words were not kept) counts for the proposed playbooks only
through the signals on record, so for a new playbook, or a changed pattern, it says nothing:
the summary says how many such comments there were.

What is not replayed: a lead's answer to a co-sign request (counted as "would ask a lead"), the
kill switch's pauses (the proposed playbooks are taken as in force), and the observe-only period.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, cast

from bot.core.budget import sprint_at
from bot.core.classify import Classifier, Match
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.nudges import CHARGED_STATES, Nudge, NudgeState, Signal
from bot.core.org import OrgSettings
from bot.core.playbook import Playbook


@dataclass(frozen=True)
class HistoryComment:
    """One reviewed comment on record, as replay can read it."""

    comment: ReviewComment
    text: str | None  # the words kept (the snippet, mentions restored), None when none were
    cut: bool = False  # the snippet ends before the comment did
    recorded: tuple[Match, ...] = ()  # the signals on record for it, as matches


def history_comments(
    reviews: Iterable[tuple[ReviewComment, str | None, bool]], signals: Iterable[Signal]
) -> list[HistoryComment]:
    """Join reviewed comments (with their kept text) and the signals on record, in time order.

    A signal whose comment has no review on record still stands for a comment (without words).
    """
    by_comment: dict[tuple[int, str, str, int], list[Signal]] = defaultdict(list)
    for s in signals:
        by_comment[(s.installation_id, s.repo, s.source, s.comment_id)].append(s)
    out: list[HistoryComment] = []
    seen: set[tuple[int, str, str, int]] = set()
    for comment, text, cut in reviews:
        key: tuple[int, str, str, int] = (
            comment.pull.installation_id,
            comment.pull.repo,
            comment.source,
            comment.comment_id,
        )
        seen.add(key)
        recorded = tuple(Match(s.playbook_id, s.quote) for s in by_comment.get(key, ()))
        out.append(HistoryComment(comment, text, cut, recorded))
    for key, found in by_comment.items():
        if key in seen:
            continue
        s = found[0]
        comment = ReviewComment(
            PullRequestRef(s.installation_id, s.repo, s.pr_number, Actor(s.engineer, False)),
            Actor(s.reviewer, False),
            s.quote or "",
            s.at,
            cast('Literal["review_comment", "review"]', s.source),
            s.comment_id,
            s.comment_id if s.source == "review_comment" else None,
            s.url,
        )
        out.append(
            HistoryComment(
                comment, None, False, tuple(Match(x.playbook_id, x.quote) for x in found)
            )
        )
    return sorted(out, key=lambda h: (h.comment.at, h.comment.source, h.comment.comment_id))


@dataclass(frozen=True)
class EngineerLine:
    installation_id: int
    engineer: str
    nudges: int  # would have been posted (or asked of a lead)
    dates: tuple[dt.date, ...]
    minutes: int
    over_budget: int
    held_out: int
    playbooks: tuple[str, ...]


@dataclass(frozen=True)
class PlaybookLine:
    playbook_id: str
    title: str
    matching: int  # matching comments in the period
    states: Mapping[str, int]  # decision state -> how many
    engineers: int  # engineers who would have been nudged
    minutes: int
    first: dt.date | None
    last: dt.date | None


@dataclass(frozen=True)
class Replay:
    since: dt.datetime
    until: dt.datetime
    comments: int  # reviewed comments in the period
    with_text: int
    cut: int
    without_text: int
    judged_on_record: int  # of those without text, how many matched through recorded signals
    unjudged_playbooks: tuple[str, ...]  # proposed playbooks no signal on record knows of
    decisions: tuple[Nudge, ...]
    playbooks: tuple[PlaybookLine, ...]
    engineers: tuple[EngineerLine, ...]
    sprints: Mapping[int, tuple[dt.date, int, int, int]] = field(default_factory=dict)
    # sprint index -> (start, engineers nudged, nudges, minutes)

    @property
    def nudged(self) -> list[Nudge]:
        return [n for n in self.decisions if n.state in CHARGED_STATES]


def replay(
    history: Sequence[HistoryComment],
    playbooks: Sequence[Playbook],
    org: OrgSettings,
    *,
    since: dt.datetime,
    until: dt.datetime,
    teams: Mapping[str, frozenset[str]] | None = None,
    classifier: Classifier | None = None,
) -> Replay:
    """Every decision the proposed playbooks and settings would have made on ``history``."""
    by_id = {p.id: p for p in playbooks}
    classifier = classifier or Classifier(list(playbooks))
    ctx = DecisionConfig(playbooks=by_id, org=org, teams=dict(teams or {}))
    longest = dt.timedelta(days=max((p.trigger.within_days for p in playbooks), default=30))
    signals: dict[tuple[int, str], list[Signal]] = defaultdict(list)
    nudges: dict[tuple[int, str], list[Nudge]] = defaultdict(list)
    groups: dict[tuple[int, str], dict[str, str]] = defaultdict(dict)
    decisions: list[Nudge] = []
    matching: Counter[str] = Counter()
    known_on_record: set[str] = set()
    counts: Counter[str] = Counter()
    for item in history:
        c = item.comment
        if not since <= c.at < until:
            continue
        counts["comments"] += 1
        known_on_record.update(m.playbook_id for m in item.recorded)
        if item.text is not None:
            counts["with_text"] += 1
            counts["cut"] += item.cut
            body = item.text
            matches = [] if c.reviewer.is_bot else classifier.matches(item.text)
        else:
            counts["without_text"] += 1
            body = c.body or "(words not kept)"
            matches = [m for m in item.recorded if m.playbook_id in by_id]
            counts["judged_on_record"] += bool(matches)
        key = (c.pull.installation_id, c.engineer.login.lower())
        recent = [s for s in signals[key] if s.at >= c.at - longest]
        signals[key] = recent
        decision = decide_comment(
            _with_body(c, body), matches, History(recent, nudges[key], groups[key]), ctx, c.at
        )
        signals[key].extend(decision.signals)
        matching.update(s.playbook_id for s in decision.signals)
        groups[key].update(decision.assignments)
        nudges[key].extend(decision.nudges)
        decisions.extend(decision.nudges)
    return Replay(
        since=since,
        until=until,
        comments=counts["comments"],
        with_text=counts["with_text"],
        cut=counts["cut"],
        without_text=counts["without_text"],
        judged_on_record=counts["judged_on_record"],
        unjudged_playbooks=tuple(sorted(set(by_id) - known_on_record))
        if counts["without_text"]
        else (),
        decisions=tuple(decisions),
        playbooks=_playbook_lines(playbooks, decisions, matching),
        engineers=_engineer_lines(decisions),
        sprints=_sprints(decisions, org),
    )


def _with_body(comment: ReviewComment, body: str) -> ReviewComment:
    """The comment with words, so the core does not read a comment without them as empty."""
    if comment.body.strip():
        return comment
    return replace(comment, body=body)


def _playbook_lines(
    playbooks: Sequence[Playbook], decisions: list[Nudge], matching: Counter[str]
) -> tuple[PlaybookLine, ...]:
    lines = []
    for p in sorted(playbooks, key=lambda p: p.id):
        mine = [n for n in decisions if n.playbook_id == p.id]
        charged = [n for n in mine if n.state in CHARGED_STATES]
        lines.append(
            PlaybookLine(
                p.id,
                p.title,
                matching[p.id],
                dict(Counter(n.state.value for n in mine)),
                len({(n.installation_id, n.engineer.lower()) for n in charged}),
                sum(n.minutes for n in charged),
                min((n.trigger_at.date() for n in charged), default=None),
                max((n.trigger_at.date() for n in charged), default=None),
            )
        )
    return tuple(lines)


def _engineer_lines(decisions: list[Nudge]) -> tuple[EngineerLine, ...]:
    by: dict[tuple[int, str], list[Nudge]] = defaultdict(list)
    for n in decisions:
        by[(n.installation_id, n.engineer.lower())].append(n)
    lines = []
    for (installation, _), mine in by.items():
        charged = [n for n in mine if n.state in CHARGED_STATES]
        lines.append(
            EngineerLine(
                installation,
                mine[0].engineer,
                len(charged),
                tuple(n.trigger_at.date() for n in charged),
                sum(n.minutes for n in charged),
                sum(n.state == NudgeState.SUPPRESSED_BUDGET for n in mine),
                sum(n.state == NudgeState.HELD_OUT for n in mine),
                tuple(sorted({n.playbook_id for n in charged})),
            )
        )
    return tuple(sorted(lines, key=lambda e: (-e.nudges, e.engineer.lower(), e.installation_id)))


def _sprints(decisions: list[Nudge], org: OrgSettings) -> dict[int, tuple[dt.date, int, int, int]]:
    by: dict[int, list[Nudge]] = defaultdict(list)
    for n in decisions:
        if n.state in CHARGED_STATES:
            by[n.sprint].append(n)
    out = {}
    for index, mine in sorted(by.items()):
        start = sprint_at(mine[0].created_at, org).start.date()
        out[index] = (
            start,
            len({n.engineer.lower() for n in mine}),
            len(mine),
            sum(n.minutes for n in mine),
        )
    return out


# Rendering -------------------------------------------------------------------------------------

STATE_WORDS = {
    NudgeState.PLANNED.value: "nudged",
    NudgeState.AWAITING_COSIGN.value: "ask a lead",
    NudgeState.NO_LEAD.value: "no lead",
    NudgeState.HELD_OUT.value: "held out",
    NudgeState.SUPPRESSED_BUDGET.value: "over budget",
}


def _limits(r: Replay) -> list[str]:
    notes = [
        f"{r.comments} reviewed comments from {r.since:%Y-%m-%d} to {r.until:%Y-%m-%d}: "
        f"{r.with_text} classified on their kept words"
        + (f" ({r.cut} cut short, a match past the cut is not seen)" if r.cut else "")
        + (
            f", {r.without_text} without kept words ({r.judged_on_record} of them matched through "
            "the signals on record)"
            if r.without_text
            else ""
        )
        + "."
    ]
    if r.without_text:
        notes.append(
            "On comments without kept words only the signals on record count: a playbook that "
            "is new, or whose patterns changed, is judged on the kept words alone."
        )
    notes.append("Co-sign requests are counted as asked; a lead's answer is not replayed.")
    return notes


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent) or [
        indent
    ]


def render_text(r: Replay, width: int = 80) -> str:
    """The dry run for a terminal: fits ``width`` columns."""
    out = [
        f"Dry run: {r.since:%Y-%m-%d} to {r.until:%Y-%m-%d}, nothing posted, nothing written",
        "",
    ]
    for note in _limits(r):
        out += _wrap(note, width)
    out += ["", "Per playbook"]
    head = f"  {'playbook':<24} {'matching':>8} {'nudged':>6} {'lead':>4} {'held':>4} {'over':>4} {'people':>6} {'min':>5}"
    out += [head[:width], "  " + "-" * (min(width, len(head)) - 2)]
    for p in r.playbooks:
        s = p.states
        out.append(
            f"  {p.playbook_id[:24]:<24} {p.matching:>8} {s.get('planned', 0):>6} "
            f"{s.get('awaiting_cosign', 0) + s.get('no_lead', 0):>4} {s.get('held_out', 0):>4} "
            f"{s.get('suppressed_budget', 0):>4} {p.engineers:>6} {p.minutes:>5}"[:width]
        )
    out += [
        "  (nudged: posted to the engineer; lead: a co-sign asked, or no lead set; held:",
        "  randomized holdout; over: over the sprint budget; min: reading minutes)",
    ]
    out += ["", "Who would have been nudged"]
    shown = [e for e in r.engineers if e.nudges or e.over_budget]
    if not shown:
        out.append("  nobody")
    for e in shown:
        dates = ", ".join(f"{d:%m-%d}" for d in e.dates) or "-"
        line = f"  {e.engineer[:20]:<20} {e.nudges:>2} {'nudge, ' if e.nudges == 1 else 'nudges,'} {e.minutes:>3} min"
        if e.over_budget:
            line += f", {e.over_budget} over budget"
        out += textwrap.wrap(f"{line}: {dates}", width=width, subsequent_indent=" " * 26)
    out += ["", "Budget used per sprint"]
    if not r.sprints:
        out.append("  none")
    for start, people, count, minutes in r.sprints.values():
        out.append(
            f"  sprint from {start:%Y-%m-%d}: {_n(count, 'nudge')} to "
            f"{_n(people, 'engineer')}, {minutes} min"
        )
    total = r.nudged
    people = len({(n.installation_id, n.engineer.lower()) for n in total})
    out += [
        "",
        (
            f"In all: {_n(len(total), 'nudge')} to {_n(people, 'engineer')}, "
            f"{sum(n.minutes for n in total)} minutes of reading."
        ),
    ]
    return "\n".join(line[:width] for line in out) + "\n"


def render_markdown(r: Replay, *, top: int = 20) -> str:
    """The dry run as a check run's summary (GitHub Markdown); names logins without mentioning.

    For the playbooks pull request's check: ``render_markdown(replay(history, proposed, org,
    since=..., until=...))`` gives the ``output.summary`` text (well under the 65,535 characters
    a check run takes: at most ``top`` engineers are listed).
    """
    out = [f"### Dry run on review history, {r.since:%Y-%m-%d} to {r.until:%Y-%m-%d}", ""]
    total = r.nudged
    people = len({(n.installation_id, n.engineer.lower()) for n in total})
    out += [
        (
            f"With these playbooks and settings, **{_n(len(total), 'nudge')}** would have reached "
            f"**{_n(people, 'engineer')}**, {sum(n.minutes for n in total)} minutes of reading "
            "in all. Nothing was posted."
        ),
        "",
    ]
    out += [
        "| playbook | matching comments | nudged | co-sign asked | held out | over budget | engineers | minutes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in r.playbooks:
        s = p.states
        out.append(
            f"| {p.title} (`{p.playbook_id}`) | {p.matching} | {s.get('planned', 0)} | "
            f"{s.get('awaiting_cosign', 0) + s.get('no_lead', 0)} | {s.get('held_out', 0)} | "
            f"{s.get('suppressed_budget', 0)} | {p.engineers} | {p.minutes} |"
        )
    shown = [e for e in r.engineers if e.nudges or e.over_budget]
    if shown:
        out += [
            "",
            "| engineer | nudges | minutes | over budget | when |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for e in shown[:top]:
            when = ", ".join(f"{d:%Y-%m-%d}" for d in e.dates) or "-"
            out.append(f"| `{e.engineer}` | {e.nudges} | {e.minutes} | {e.over_budget} | {when} |")
        if len(shown) > top:
            out.append(f"| … and {len(shown) - top} more | | | | |")
    if r.sprints:
        out += [
            "",
            "| sprint from | engineers nudged | nudges | minutes |",
            "| --- | ---: | ---: | ---: |",
        ]
        for start, n_people, count, minutes in r.sprints.values():
            out.append(f"| {start:%Y-%m-%d} | {n_people} | {count} | {minutes} |")
    out += [""] + [f"> {note}" for note in _limits(r)]
    return "\n".join(out).replace("@", "@\u200b") + "\n"
