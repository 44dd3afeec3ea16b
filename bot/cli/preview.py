"""``python -m bot preview playbooks/NAME.yml [--html FILE]``: the comments a playbook will post.

Renders, with the same functions the app posts with, the nudge, the co-sign request (for a
significant playbook, or to show what a lead would see) and the follow-ups, from a made-up
engineer whose review comments are the playbook's own ``examples.match``. Markdown in the
terminal; with ``--html``, a page that shows each as a GitHub comment.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from bot.core.nudges import Nudge, NudgeState, Signal, nudge_key
from bot.core.org import OrgSettings, parse_org_settings
from bot.core.playbook import NOT_PLAYBOOKS, Playbook, matches, parse_playbook
from bot.core.reinforce import FollowUp, FollowUpState, followup_key
from bot.core.render import MARKER_RE, render_cosign_request, render_followup, render_nudge

PREVIEW_SECRET = b"preview"  # the hidden marker is not shown; any fixed key will do
REPO = "your-org/your-repo"
ENGINEER = "an-engineer"
LEAD = "their-lead"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Shown:
    title: str  # what the preview calls it
    where: str  # where it appears on GitHub
    markdown: str


def _example_file(playbook: Playbook) -> tuple[str, ...]:
    """A file a follow-up's pull request might change, from the playbook's own paths."""
    for glob in playbook.applies_to.paths:
        name = glob.replace("**/", "").replace("**", "src").replace("*", "example")
        return (name,)
    return ("src/example.py",)


def preview_comments(playbook: Playbook, org: OrgSettings) -> list[Shown]:
    """The comments the playbook would post, for a made-up engineer (pure)."""
    examples = list(playbook.examples_match) or ["(a review comment this playbook matches)"]
    wanted = max(1, playbook.trigger.comments)
    comments = [examples[i % len(examples)] for i in range(wanted)]
    signals = tuple(
        Signal(
            installation_id=1,
            repo=REPO,
            pr_number=40 + i,
            engineer=ENGINEER,
            playbook_id=playbook.id,
            comment_id=1000 + i,
            source="review_comment",
            reviewer=f"reviewer-{i + 1}",
            at=NOW - dt.timedelta(days=(len(comments) - 1 - i) * 3),
            quote=text,
            url=f"https://github.com/{REPO}/pull/{40 + i}#discussion_r{1000 + i}",
        )
        for i, text in enumerate(comments)
    )
    last = signals[-1]
    nudge = Nudge(
        key=nudge_key(1, REPO, ENGINEER, playbook.id, last.comment_id),
        installation_id=1,
        repo=REPO,
        pr_number=last.pr_number,
        engineer=ENGINEER,
        playbook_id=playbook.id,
        state=NudgeState.PLANNED,
        reason="preview",
        created_at=NOW,
        trigger_at=last.at,
        thread_id=last.comment_id,
        minutes=playbook.nudge.minutes,
        evidence=signals,
    )
    shown = [
        Shown(
            "The nudge",
            f"a reply in the review thread of the comment that tipped the trigger (#{nudge.pr_number})",
            render_nudge(nudge, playbook, org, PREVIEW_SECRET),
        )
    ]
    leads = org.leads_of(ENGINEER) or (LEAD,)
    asking = replace(nudge, state=NudgeState.AWAITING_COSIGN, leads=leads)
    shown.append(
        Shown(
            "The co-sign request"
            + (
                "" if playbook.significant else " (only for significant playbooks; this one is not)"
            ),
            f"a comment on #{nudge.pr_number} mentioning the lead; the nudge follows their 👍",
            render_cosign_request(asking, playbook, org, PREVIEW_SECRET),
        )
    )
    if playbook.reinforcement.enabled:
        for index in range(1, playbook.reinforcement.max_followups + 1):
            followup = FollowUp(
                key=followup_key(nudge.key, index),
                installation_id=1,
                repo=REPO,
                pr_number=nudge.pr_number + 10 * index,
                engineer=ENGINEER,
                playbook_id=playbook.id,
                nudge_key=nudge.key,
                index=index,
                state=FollowUpState.PLANNED,
                reason="preview",
                due_at=NOW,
                created_at=NOW,
                minutes=playbook.reinforcement.minutes,
                files=_example_file(playbook),
            )
            shown.append(
                Shown(
                    f"Follow-up {index} of at most {playbook.reinforcement.max_followups}",
                    f"a comment on a later pull request of the engineer (#{followup.pr_number}), "
                    "spaced out by how the reviews go",
                    render_followup(followup, nudge, playbook, org, PREVIEW_SECRET),
                )
            )
    return shown


def _org_beside(path: Path) -> OrgSettings:
    for name in sorted(NOT_PLAYBOOKS):
        candidate = path.parent / name
        if candidate.exists():
            org, _problems = parse_org_settings(
                candidate.read_text(encoding="utf-8"), str(candidate)
            )
            if org is not None:
                return org
    return OrgSettings()


def _examples(playbook: Playbook) -> list[str]:
    lines = ["Review comments that trigger it (examples.match):"]
    lines += [
        f"  {'✓' if matches(playbook, text) else '✗ does not match!'} {text}"
        for text in playbook.examples_match
    ] or ["  (none: add some under examples.match)"]
    lines.append("Comments it leaves alone (examples.no_match):")
    lines += [
        f"  {'✓' if not matches(playbook, text) else '✗ matches!'} {text}"
        for text in playbook.examples_no_match
    ] or ["  (none)"]
    if playbook.examples_on_code:
        lines.append("Line comments that trigger it beside their code (examples.match_on_code):")
        lines += [
            f"  {'✓' if matches(playbook, pair.comment, pair.code) else '✗ does not match!'} "
            f"{pair.comment}  (on: {' / '.join(pair.code.split(chr(10)))})"
            for pair in playbook.examples_on_code
        ]
    trigger = playbook.trigger
    lines.append(
        f"A nudge comes after {trigger.comments} such comments within {trigger.within_days} days, "
        f"then nothing on this topic for {trigger.cooldown_days} days."
    )
    rollout = playbook.rollout
    if rollout.shadow or rollout.pilot:
        who = []
        if rollout.teams:
            who.append("team " + ", ".join(rollout.teams))
        if rollout.repos:
            who.append("repositories " + ", ".join(rollout.repos))
        lines.append(
            ("Shadow mode: decided and recorded, nothing posted. " if rollout.shadow else "")
            + (f"Pilot: only {' and '.join(who)}." if who else "")
        )
    return lines


def preview(path: Path, *, html: Path | None, out: TextIO) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        out.write(f"{path}:1: (file): cannot be read: {exc}\n")
        return 1
    playbook, problems = parse_playbook(text, str(path))
    if playbook is None:
        for problem in problems:
            out.write(f"{problem}\n")
        out.write("Fix these first (python -m bot validate says the same); nothing to preview.\n")
        return 1
    shown = preview_comments(playbook, _org_beside(path))
    out.write("\n".join(_examples(playbook)) + "\n")
    for item in shown:
        shown_text = MARKER_RE.sub("", item.markdown).rstrip()  # hidden on GitHub too
        out.write(f"\n===== {item.title} =====\n({item.where})\n\n{shown_text}\n")
    if html is not None:
        html.write_text(html_page(playbook, shown), encoding="utf-8")
        out.write(f"\nwrote {html}\n")
    return 0


# ------------------------------------------------------------------------------------- HTML

_STYLE = """
body { font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #1f2328; background: #fff; max-width: 860px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 20px; } .where { color: #59636e; font-size: 12px; margin: 4px 0 8px; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; margin: 0 0 28px; }
.comment header { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
                  border-radius: 6px 6px 0 0; color: #59636e; }
.comment header b { color: #1f2328; } .badge { border: 1px solid #d1d9e0; border-radius: 2em;
                  padding: 0 7px; font-size: 12px; margin-left: 4px; }
.body { padding: 16px; } .body blockquote { margin: 0; padding: 0 1em; color: #59636e;
        border-left: .25em solid #d1d9e0; } .body ul { padding-left: 2em; }
.body a { color: #0969da; text-decoration: none; } .body sub { color: #59636e; }
.body code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; font-size: 85%; }
.body li.task { list-style: none; margin-left: -1.4em; } details { margin: 8px 0; }
.examples { background: #f6f8fa; border-radius: 6px; padding: 8px 16px; margin-bottom: 24px; }
"""


def markdown_html(markdown: str) -> str:
    """GitHub-flavoured enough: CommonMark with tables, strikethrough, raw HTML and task lists."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    rendered = md.render(markdown)
    return rendered.replace("<li>[ ] ", '<li class="task"><input type="checkbox" disabled> ')


def html_page(playbook: Playbook, shown: list[Shown]) -> str:
    esc = html.escape
    examples = "".join(f"<li>{esc(t)}</li>" for t in playbook.examples_match) or "<li>(none)</li>"
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>Preview: {esc(playbook.title)}</title><style>{_STYLE}</style>",
        f"<h1>Preview of <code>{esc(playbook.id)}</code>: {esc(playbook.title)}</h1>",
        f'<div class="examples">Review comments that trigger it:<ul>{examples}</ul></div>',
    ]
    for item in shown:
        parts += [
            f"<h2>{esc(item.title)}</h2>",
            f'<div class="where">{esc(item.where)}</div>',
            '<div class="comment"><header><b>learning-nudges</b><span class="badge">bot</span>'
            " commented</header>",
            f'<div class="body">{markdown_html(item.markdown)}</div></div>',
        ]
    return "\n".join(parts) + "\n"
