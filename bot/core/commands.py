"""The engineer's say: ``/nudge mute|unmute [PLAYBOOK]``, ``/nudge why``, ``/nudge help``.

An engineer answers a nudge in its review thread, or comments on their pull request, with a
command. :func:`parse_command` reads it; :func:`decide_command` says what follows: a mute or
unmute on record (only the engineer may mute for themselves; anyone else's attempt is recorded as
refused and answered politely), the reaction that acknowledges it, and the reply, if any. The
answers never mention anyone; they carry a keyed marker so the job that posts them posts each
once. :func:`is_muted` folds the records into "does this playbook still reach this engineer".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.budget import check_budget, sprint_at
from bot.core.nudges import CHARGED_STATES, Nudge
from bot.core.org import OrgSettings
from bot.core.playbook import Playbook
from bot.core.render import link_target, plain, quote_text

VERBS = ("mute", "unmute", "why", "help")
_COMMAND = re.compile(r"^\s*/nudge\b[ \t]*(?P<rest>[^\n]*)$", re.IGNORECASE | re.MULTILINE)
_PLAYBOOK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
ACK = "+1"  # the reaction that says "done"
SEEN = "eyes"  # the reaction that says "seen, not done"


@dataclass(frozen=True)
class Command:
    verb: str  # mute · unmute · why · help
    playbook_id: str | None = None  # None: every playbook (mute/unmute)
    problem: str | None = None  # what was wrong with the command as written (answered with help)


def parse_command(body: str) -> Command | None:
    """The first ``/nudge ...`` line of a comment, or None when the comment holds none."""
    found = _COMMAND.search(body or "")
    if found is None:
        return None
    words = found["rest"].split()
    if not words:
        return Command("help")
    verb = words[0].lower()
    if verb not in VERBS:
        return Command("help", problem=f"'{words[0][:40]}' is not a command")
    if verb in ("why", "help"):
        return Command(verb)
    if len(words) > 2:
        return Command("help", problem=f"{verb} takes at most one playbook name")
    if len(words) == 2:
        playbook = words[1].lower().strip("`")
        if not _PLAYBOOK_ID.match(playbook):
            return Command("help", problem=f"'{words[1][:40]}' is not a playbook name")
        return Command(verb, playbook)
    return Command(verb)


# ------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class MuteRecord:
    """One mute or unmute as asked; ``counted`` is False when someone other than the engineer asked."""

    installation_id: int
    engineer: str
    playbook_id: str | None  # None: every playbook
    action: str  # mute · unmute
    by: str
    counted: bool
    at: dt.datetime
    comment_id: int = 0


def mutes_in_force(records: Iterable[MuteRecord], engineer: str) -> tuple[bool, frozenset[str]]:
    """(every playbook muted?, playbooks muted one by one) for ``engineer``, from counted records in order."""
    everything = False
    single: set[str] = set()
    who = engineer.lower()
    for record in sorted(records, key=lambda r: r.at):
        if not record.counted or record.engineer.lower() != who:
            continue
        on = record.action == "mute"
        if record.playbook_id is None:
            everything = on
            if not on:
                single.clear()
        elif on:
            single.add(record.playbook_id)
        else:
            single.discard(record.playbook_id)
    return everything, frozenset(single)


def is_muted(records: Iterable[MuteRecord], engineer: str, playbook_id: str) -> bool:
    everything, single = mutes_in_force(records, engineer)
    return everything or playbook_id in single


# ------------------------------------------------------------------------------------ deciding


@dataclass(frozen=True)
class CommandContext:
    """What an answer needs: who wrote it, whose pull request, and what the store knows."""

    installation_id: int
    repo: str
    pr_number: int
    author: str  # who wrote the command
    engineer: str  # the pull request's author (whom the nudges are for)
    comment_id: int
    at: dt.datetime
    nudge: Nudge | None  # the nudge replied to, or the latest on this pull request
    nudges: Sequence[Nudge]  # the engineer's nudges (for the budget left)
    playbooks: Mapping[str, Playbook]
    org: OrgSettings
    role_teams: Mapping[str, frozenset[str]] = None  # type: ignore[assignment]
    records: Sequence[MuteRecord] = ()


@dataclass(frozen=True)
class CommandOutcome:
    reaction: str | None  # +1 (done) or eyes (seen, not done)
    reply: str | None  # the answer's text, without its marker
    record: MuteRecord | None
    note: str  # one line for the log and the report


def decide_command(command: Command, ctx: CommandContext) -> CommandOutcome:
    if command.verb == "help":
        return CommandOutcome(
            SEEN if command.problem else ACK, help_text(command.problem), None, "help"
        )
    if command.verb == "why":
        return CommandOutcome(ACK, why_text(ctx), None, "why")
    if command.playbook_id is not None and command.playbook_id not in ctx.playbooks:
        known = ", ".join(f"`{p}`" for p in sorted(ctx.playbooks)) or "none"
        text = (
            f"There is no playbook called `{plain(command.playbook_id)}`; nothing was changed. "
            f"The playbooks are: {known}."
        )
        return CommandOutcome(SEEN, text, None, f"{command.verb} of an unknown playbook refused")
    own = ctx.author.lower() == ctx.engineer.lower()
    record = MuteRecord(
        ctx.installation_id,
        ctx.engineer,
        command.playbook_id,
        command.verb,
        ctx.author,
        own,
        ctx.at,
        ctx.comment_id,
    )
    what = (
        f"the {plain(command.playbook_id)} notes" if command.playbook_id else "all learning nudges"
    )
    if not own:
        text = (
            f"Thanks — only the author of this pull request can {command.verb} {what} for "
            "themselves, so nothing was changed."
        )
        return CommandOutcome(
            SEEN, text, record, f"{command.verb} by {ctx.author} refused: not the engineer"
        )
    return CommandOutcome(
        ACK, None, record, f"{command.verb} {command.playbook_id or 'every playbook'}"
    )


HELP_LINES = (
    "`/nudge mute` — no more learning nudges or follow-ups for you, from any playbook",
    "`/nudge mute PLAYBOOK` — none from that playbook (its name is in the nudge's link)",
    "`/nudge unmute` or `/nudge unmute PLAYBOOK` — undo a mute",
    "`/nudge why` — which review comments led to the nudge, by which rule, and how much of "
    "this sprint's budget is left",
    "`/nudge help` — this list",
)


def help_text(problem: str | None = None) -> str:
    lines = []
    if problem:
        lines += [f"That command was not understood ({plain(problem)}).", ""]
    lines += [
        "Learning Nudges understands these commands, as a reply to a nudge or a comment on your pull request:",
        "",
    ]
    lines += [f"- {line}" for line in HELP_LINES]
    lines += [
        "",
        "Only the author of the pull request can mute or unmute for themselves. "
        "React 👍 on a nudge if it helped, 👎 if it did not.",
    ]
    return "\n".join(lines)


def why_text(ctx: CommandContext) -> str:
    nudge = ctx.nudge
    if nudge is None:
        return "Learning Nudges has not sent a nudge on this pull request, so there is nothing to explain yet."
    playbook = ctx.playbooks.get(nudge.playbook_id)
    title = plain(playbook.title) if playbook else plain(nudge.playbook_id)
    lines = [f"Why this nudge on **{title}** (`{plain(nudge.playbook_id)}`):", ""]
    for n, signal in enumerate(nudge.evidence, 1):
        target = link_target(signal.url)
        where = f"[comment {n}]({target})" if target else f"comment {n}"
        lines.append(
            f"- {where} by {plain(signal.reviewer)} on #{signal.pr_number}, "
            f"{signal.at:%Y-%m-%d}: “{quote_text(signal.quote)}”"
        )
    if playbook is not None:
        trigger = playbook.trigger
        lines += [
            "",
            f"The rule: {trigger.comments} matching review comments within "
            f"{trigger.within_days} days send one nudge, then it is quiet for "
            f"{trigger.cooldown_days} days on this topic.",
        ]
    role = ctx.org.role_of(ctx.engineer, ctx.role_teams or {})
    sprint = sprint_at(ctx.at, ctx.org)
    used = check_budget(role, sprint, 0, ctx.nudges)
    left = []
    if role.nudges is not None:
        left.append(f"{max(role.nudges - used.used_nudges, 0)} of {role.nudges} nudges")
    if role.minutes is not None:
        left.append(f"{max(role.minutes - used.used_minutes, 0)} of {role.minutes} minutes")
    budget = " and ".join(left) if left else "no limit"
    lines += [
        "",
        f"Budget left this sprint ({sprint.start:%Y-%m-%d} to "
        f"{sprint.end - dt.timedelta(days=1):%Y-%m-%d}): {budget}.",
    ]
    lines += [
        "",
        "Reply `/nudge mute "
        + plain(nudge.playbook_id)
        + "` to stop these, `/nudge help` for more.",
    ]
    return "\n".join(lines)


def nudge_for(
    nudges: Sequence[Nudge], pr_number: int, repo: str, reply_to: int | None
) -> Nudge | None:
    """The nudge a command is about: the one replied to, else the latest sent on the pull request."""
    here = [n for n in nudges if n.repo.lower() == repo.lower() and n.pr_number == pr_number]
    if reply_to is not None:
        for n in here:
            if reply_to in (n.comment_id, n.thread_id):
                return n
    sent = [n for n in here if n.state in CHARGED_STATES]
    return max(sent or here, key=lambda n: n.created_at, default=None)


# ------------------------------------------------------------------------------------ answers

_ANSWER_CONTEXT = "learning-nudge-answer"
ANSWER_MARKER_RE = re.compile(
    r"<!-- learning-nudge-answer:(?P<key>[0-9a-f]{16}):(?P<mac>[0-9a-f]{32}) -->"
)


def answer_key(installation_id: int, repo: str, comment_id: int) -> str:
    """One answer per command comment, whatever redelivers it."""
    raw = f"answer|{installation_id}|{repo.lower()}|{comment_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def answer_marker(key: str, secret: bytes) -> str:
    mac = hmac.new(secret, f"{_ANSWER_CONTEXT}:{key}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"<!-- {_ANSWER_CONTEXT}:{key}:{mac} -->"


def has_answer_marker(body: str, key: str, secret: bytes) -> bool:
    expected = answer_marker(key, secret)
    return any(
        hmac.compare_digest(m.group(0), expected) for m in ANSWER_MARKER_RE.finditer(body or "")
    )


def render_answer(text: str, key: str, secret: bytes) -> str:
    return text + "\n" + answer_marker(key, secret)
