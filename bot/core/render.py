"""Markdown the bot posts: short, kind, mention-safe, and carrying a hidden marker.

Every comment ends with ``<!-- learning-nudge:KEY -->`` (or ``learning-nudge-cosign``) so that,
after a crash or a redelivery, the worker finds what it already posted instead of posting twice.
No text from a playbook or a reviewer can @-mention anyone: the only mention the bot ever makes
is of a lead asked to co-sign.
"""

from __future__ import annotations

import re

from bot.core.nudges import Nudge, Signal
from bot.core.playbook import Playbook

MARKER_RE = re.compile(r"<!-- learning-nudge(?P<kind>-cosign)?:(?P<key>[0-9a-f]{16}) -->")
WORD_JOINER = "\u2060"
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")


def marker(key: str, *, cosign: bool = False) -> str:
    return f"<!-- learning-nudge{'-cosign' if cosign else ''}:{key} -->"


def find_marker(body: str, key: str, *, cosign: bool = False) -> bool:
    return marker(key, cosign=cosign) in (body or "")


def defuse(text: str) -> str:
    """Text that cannot mention anyone or close our hidden marker."""
    text = _MENTION.sub("@" + WORD_JOINER, text)
    return text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")


def _quote_line(signal: Signal) -> str:
    quote = defuse(signal.quote or "").replace("\n", " ").strip()
    return f"> {quote}" if quote else ""


def _why(nudge: Nudge, playbook: Playbook) -> str:
    count = len(nudge.evidence)
    return (
        f"{count} review comments in the last {playbook.trigger.within_days} days pointed at "
        f"{defuse(playbook.title)}"
    )


def render_nudge(nudge: Nudge, playbook: Playbook) -> str:
    """The nudge itself: a two-minute play, a checklist and one deeper link."""
    content = playbook.nudge
    lines = [
        f"**Learning nudge · {defuse(playbook.title)}** · about {content.minutes} min",
        "",
        f"{_why(nudge, playbook).capitalize()}, for example:",
        "",
    ]
    latest = nudge.evidence[-1] if nudge.evidence else None
    if latest is not None and _quote_line(latest):
        lines += [_quote_line(latest), ""]
    lines += [defuse(content.play), ""]
    if content.checklist:
        lines += [f"- [ ] {defuse(item)}" for item in content.checklist]
        lines.append("")
    if content.link is not None:
        lines += [f"Go deeper: [{defuse(content.link.title)}]({content.link.url})", ""]
    lines += [
        "<sub>Sent by Learning Nudges, once, because the same kind of comment keeps coming up "
        "in review. A 👍 or 👎 on this comment tells us whether it helped.</sub>",
        marker(nudge.key),
    ]
    return "\n".join(lines)


def render_cosign_request(nudge: Nudge, playbook: Playbook) -> str:
    """Ask the engineer's lead(s) to approve a significant nudge; the only mentions we make."""
    leads = " ".join(f"@{lead}" for lead in nudge.leads)
    evidence = [
        f"- {defuse(s.reviewer)} on #{s.pr_number}: “{defuse(s.quote)}”" for s in nudge.evidence
    ]
    lines = [
        f"{leads}: Learning Nudges proposes a short nudge on **{defuse(playbook.title)}** for "
        f"the author of this pull request, because {_why(nudge, playbook)}:",
        "",
        *evidence,
        "",
        "It is marked significant, so it waits for a lead: react 👍 to send it, 👎 to drop it. "
        "Without an answer it is dropped after the co-sign period.",
        marker(nudge.key, cosign=True),
    ]
    return "\n".join(lines)


def render_cosign_outcome(nudge: Nudge, playbook: Playbook) -> str:
    """The co-sign request after it was answered: no mention left, the decision on record."""
    who = defuse(nudge.resolved_by or "")
    outcome = {
        "cosigned": f"Co-signed by {who}; the nudge was posted in the review thread.",
        "posted": f"Co-signed by {who}; the nudge was posted in the review thread.",
        "vetoed": f"Declined by {who}; no nudge was sent.",
        "expired": "No lead answered within the co-sign period; no nudge was sent.",
    }.get(nudge.state.value, nudge.reason)
    return "\n".join(
        [
            f"Learning Nudges proposed a nudge on **{defuse(playbook.title)}** for the author of "
            f"this pull request. {outcome}",
            marker(nudge.key, cosign=True),
        ]
    )
