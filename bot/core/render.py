"""Markdown the bot posts: short, kind, mention-safe, and carrying a hidden, keyed marker.

Every comment ends with ``<!-- learning-nudge:KEY:MAC -->`` (or ``learning-nudge-cosign``) so
that, after a crash or a redelivery, the worker finds what it already posted instead of posting
twice. MAC is an HMAC-SHA256 of the kind and the key under a secret only the app knows, so a
comment that copies or computes a marker without the secret is never taken for ours.

No text from a playbook or a reviewer can @-mention anyone, open an HTML comment, tag or entity,
or break out of its line: the only mention the bot ever makes is of a lead asked to co-sign.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from bot.core.nudges import Nudge, Signal
from bot.core.org import LOGIN_RE, OrgSettings
from bot.core.playbook import Playbook
from bot.core.reinforce import FollowUp, most_related_item
from bot.core.yamlcheck import url_problem

MARKER_RE = re.compile(
    r"<!-- learning-nudge(?P<kind>-cosign)?:(?P<key>[0-9a-f]{16}):(?P<mac>[0-9a-f]{32}) -->"
)
WORD_JOINER = "\u2060"
QUOTE_LIMIT = 280  # characters of a reviewer's comment shown, at most
_MENTION = re.compile(r"@(?=[A-Za-z0-9_])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # an HTML tag, comment, declaration or autolink
_ENTITY = re.compile(r"&(?=#|[A-Za-z][A-Za-z0-9]*;)")  # &#64; would render as '@'
# What makes a line a heading, a quote, a list item, a code fence or a rule instead of text.
_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?=\s|$)|>|[-+*](?=\s|$)|\d{1,9}[.)](?=\s|$)|`{3,}|~{3,}|[-*_](?:\s*[-*_]){2,}\s*$)"
)
_PLAIN_SPECIALS = re.compile(r"([\\`*_\[\]<>#|~!])")
_MARKER_CONTEXT = b"learning-nudges/comment-marker/v1"


# ------------------------------------------------------------------------------------- marker


def marker_secret(webhook_secret: str | bytes) -> bytes:
    """The marker key, derived from the webhook secret so that it never appears anywhere itself."""
    raw = webhook_secret.encode() if isinstance(webhook_secret, str) else bytes(webhook_secret)
    if not raw:
        raise ValueError("the marker key needs a non-empty secret")
    return hmac.new(raw, _MARKER_CONTEXT, hashlib.sha256).digest()


def _mac(key: str, secret: bytes, cosign: bool) -> str:
    if not secret:
        raise ValueError("the marker needs a secret key (see marker_secret)")
    message = f"learning-nudge{'-cosign' if cosign else ''}:{key}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def marker(key: str, secret: bytes, *, cosign: bool = False) -> str:
    return f"<!-- learning-nudge{'-cosign' if cosign else ''}:{key}:{_mac(key, secret, cosign)} -->"


def find_marker(body: str, key: str, secret: bytes, *, cosign: bool = False) -> bool:
    """Whether ``body`` carries our marker for ``key``; a marker made without ``secret`` is not."""
    expected = _mac(key, secret, cosign)
    for found in MARKER_RE.finditer(body or ""):
        if (
            bool(found["kind"]) == cosign
            and found["key"] == key
            and hmac.compare_digest(found["mac"], expected)
        ):
            return True
    return False


# ------------------------------------------------------------------------------- safe text


def defuse(text: str) -> str:
    """Text that cannot mention anyone, open an HTML comment, tag or entity, or close our marker.

    An invisible word joiner goes after the character that would start one, so the text reads
    the same (also inside code spans) but GitHub sees no mention, tag or entity.
    """
    text = _MENTION.sub("@" + WORD_JOINER, text)
    text = text.replace("-->", "--" + WORD_JOINER + ">")
    text = _TAG_START.sub("<" + WORD_JOINER, text)
    return _ENTITY.sub("&" + WORD_JOINER, text)


def _line(text: str) -> str:
    """Markdown of one line: inline formatting kept, nothing that starts a block."""
    flat = " ".join((text or "").split())
    if _BLOCK_START.match(flat):  # a backslash before its first punctuation keeps it text
        flat = re.sub(r"^(\d*)(\S)", r"\1\\\2", flat, count=1)
    return defuse(flat).replace("![", "!\\[")


def plain(text: str) -> str:
    """Text shown as written: every markdown character escaped (titles, names, link text)."""
    return defuse(_PLAIN_SPECIALS.sub(r"\\\1", " ".join((text or "").split())))


def quote_text(quote: str, limit: int = QUOTE_LIMIT) -> str:
    """A reviewer's words on one line, whole when they fit, cut at a word with … otherwise."""
    flat = " ".join((quote or "").split())
    if len(flat) > limit:
        cut = flat[: limit - 1]
        space = cut.rfind(" ")
        flat = (cut[:space] if space > limit // 2 else cut).rstrip() + "…"
    return _line(flat)


def link_target(url: str) -> str | None:
    """``url`` made safe inside ``[text](...)``, or None when it is not a plain web link."""
    url = (url or "").strip()
    if url_problem(url, schemes=("https", "http")) is not None:
        return None
    return url.replace("(", "%28").replace(")", "%29")


def _link(text: str, url: str) -> str:
    target = link_target(url)
    return f"[{text}]({target})" if target else text


# -------------------------------------------------------------------------------- the nudge


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _why(nudge: Nudge, playbook: Playbook) -> str:
    return (
        f"{_count(len(nudge.evidence), 'review comment')} in the last "
        f"{_count(playbook.trigger.within_days, 'day')} pointed at {plain(playbook.title)}"
    )


def _comment_links(evidence: Sequence[Signal]) -> str:
    links = [
        f"[comment {n}]({target})"
        for n, signal in enumerate(evidence, 1)
        if (target := link_target(signal.url))
    ]
    return f" ({', '.join(links)})" if links else ""


def about_link(org: OrgSettings, playbook: Playbook) -> str:
    """Where an engineer reads about the nudges: the org's page, else the playbook's source."""
    if org.about_url and link_target(org.about_url):
        return f"see [how Learning Nudges works here]({link_target(org.about_url)})"
    source = (playbook.source or "").replace("\\", "/")
    if org.playbooks_repo and source and not PurePosixPath(source).is_absolute():
        url = f"https://github.com/{org.playbooks_repo}/blob/HEAD/{source.lstrip('/')}"
        if link_target(url):
            return f"see [this nudge's playbook]({link_target(url)}) and the people who edit it"
    return "ask your team lead, who can reach the people who run Learning Nudges"


def _why_line(playbook: Playbook, org: OrgSettings) -> str:
    quiet = playbook.trigger.cooldown_days
    often = f", at most once every {_count(quiet, 'day')} on one topic" if quiet else ""
    return (
        "<sub>Why you are seeing this: Learning Nudges sends a short note when the same kind of "
        f"review comment keeps coming up{often}. Reply `/nudge why` to see why, `/nudge mute` to "
        "stop them. React 👍 if it helped, 👎 if it did not. To stop "
        f"these notes or to ask about them, {about_link(org, playbook)}.</sub>"
    )


def nudge_text(nudge: Nudge, playbook: Playbook, org: OrgSettings) -> str:
    """What the engineer reads (the posted nudge without its hidden marker)."""
    content = playbook.nudge
    lines = [
        f"**Learning nudge · {plain(playbook.title)}** · about {content.minutes} min",
        "",
    ]
    latest = nudge.evidence[-1] if nudge.evidence else None
    quote = quote_text(latest.quote) if latest is not None else ""
    lines += [
        f"{_why(nudge, playbook)}{_comment_links(nudge.evidence)}"
        + (". The latest:" if quote else "."),
        "",
    ]
    if quote:
        lines += [f"> {quote}", ""]
    lines += [_line(content.play), ""]
    if content.checklist:
        lines += [f"- [ ] {_line(item)}" for item in content.checklist]
        lines.append("")
    if content.link is not None:
        lines += [f"Go deeper: {_link(plain(content.link.title), content.link.url)}", ""]
    lines.append(_why_line(playbook, org))
    return "\n".join(lines)


def render_nudge(nudge: Nudge, playbook: Playbook, org: OrgSettings, secret: bytes) -> str:
    """The nudge itself: a two-minute play, a checklist, one deeper link, why it came."""
    return nudge_text(nudge, playbook, org) + "\n" + marker(nudge.key, secret)


# ---------------------------------------------------------------------------------- co-sign


def cosign_deadline(nudge: Nudge, org: OrgSettings) -> dt.datetime:
    """When an unanswered co-sign request expires (as :func:`bot.core.cosign.decide_cosign` does)."""
    return nudge.created_at + dt.timedelta(days=org.cosign_expiry_days)


def _mentions(nudge: Nudge) -> str:
    engineer = nudge.engineer.lower()
    return " ".join(
        f"@{lead}" if LOGIN_RE.match(lead) else plain(lead)
        for lead in nudge.leads
        if lead.lower() != engineer
    )


def render_cosign_request(nudge: Nudge, playbook: Playbook, org: OrgSettings, secret: bytes) -> str:
    """Ask the engineer's lead(s) to approve a significant nudge; the only mentions we make."""
    evidence = [
        f"- {plain(s.reviewer)} on #{s.pr_number}"
        + (f" ([comment]({link_target(s.url)}))" if link_target(s.url) else "")
        + f": “{quote_text(s.quote)}”"
        for s in nudge.evidence
    ]
    deadline = cosign_deadline(nudge, org)
    deadline = deadline.astimezone(dt.UTC) if deadline.tzinfo else deadline
    mentions = _mentions(nudge)
    lines = [
        f"{mentions + ': ' if mentions else ''}Learning Nudges proposes a short nudge on "
        f"**{plain(playbook.title)}** "
        f"for the author of this pull request, because {_why(nudge, playbook)}:",
        "",
        *evidence,
        "",
        "It is marked significant, so it waits for a lead: react 👍 to send it, 👎 to drop it. "
        f"Without an answer it is dropped on {deadline:%Y-%m-%d at %H:%M} UTC "
        f"({_count(org.cosign_expiry_days, 'day')} after it was proposed).",
        "",
        "<details>",
        "<summary>The nudge, exactly as it would be posted</summary>",
        "",
        nudge_text(nudge, playbook, org),
        "",
        "</details>",
        marker(nudge.key, secret, cosign=True),
    ]
    return "\n".join(lines)


def render_cosign_outcome(nudge: Nudge, playbook: Playbook, secret: bytes) -> str:
    """The co-sign request after it was answered: no mention left, the decision on record."""
    who = plain(nudge.resolved_by or "")
    outcome = {
        "cosigned": f"Co-signed by {who}; the nudge was posted in the review thread.",
        "posted": f"Co-signed by {who}; the nudge was posted in the review thread.",
        "vetoed": f"Declined by {who}; no nudge was sent.",
        "expired": "No lead answered within the co-sign period; no nudge was sent.",
    }.get(nudge.state.value, _line(nudge.reason))
    return "\n".join(
        [
            f"Learning Nudges proposed a nudge on **{plain(playbook.title)}** for the author of "
            f"this pull request. {outcome}",
            marker(nudge.key, secret, cosign=True),
        ]
    )


# -------------------------------------------------------------------------------- follow-up


def followup_text(followup: FollowUp, nudge: Nudge, playbook: Playbook, org: OrgSettings) -> str:
    """A spaced follow-up: one line of reminder, the most related checklist item, the link."""
    content = playbook.nudge
    files = followup.files
    shown = ", ".join(f"`{_line(f).replace('`', '')}`" for f in files[:2])
    more = f" and {_count(len(files) - 2, 'more file')}" if len(files) > 2 else ""
    where = f" This pull request changes {shown}{more}." if files else ""
    lines = [
        f"**Learning nudge follow-up · {plain(playbook.title)}** · about {followup.minutes} min",
        "",
        f"A quick reminder of the nudge on {_pull_ref(nudge, followup.repo)} about "
        f"{plain(playbook.title)}." + where,
        "",
    ]
    item = most_related_item(content.checklist, files)
    if item:
        lines += [f"- [ ] {_line(item)}", ""]
    if content.link is not None:
        lines += [f"Refresher: {_link(plain(content.link.title), content.link.url)}", ""]
    most = playbook.reinforcement.max_followups
    lines.append(
        "<sub>Why you are seeing this: after a nudge, Learning Nudges sends a few short follow-ups "
        "on later pull requests that touch this kind of code, sooner when review comments on it "
        f"come back and later when reviews are clean; at most {_count(most, 'follow-up')}. "
        f"To stop these notes or to ask about them, {about_link(org, playbook)}.</sub>"
    )
    return "\n".join(lines)


def _pull_ref(nudge: Nudge, here: str) -> str:
    """``#7`` in the same repository, ``owner/repo#7`` from another one (GitHub links both)."""
    number = f"#{int(nudge.pr_number)}"
    return number if nudge.repo.lower() == here.lower() else f"{plain(nudge.repo)}{number}"


def render_followup(
    followup: FollowUp, nudge: Nudge, playbook: Playbook, org: OrgSettings, secret: bytes
) -> str:
    """The follow-up as posted, with the same keyed marker as a nudge (under its own key)."""
    return followup_text(followup, nudge, playbook, org) + "\n" + marker(followup.key, secret)
