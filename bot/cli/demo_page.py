"""The demo's pull requests as one HTML page, laid out like GitHub's conversation view.

Each pull request shows its review threads (the reviewer's line comments and the bot's replies)
and its conversation comments (co-sign requests, and what became of them) in time order, every
body rendered from the Markdown the bot posted, followed by the kill switch's evidence issues.
Only ``python -m bot demo --html FILE`` writes it; it needs the ``demo`` extra (markdown-it-py).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

HIDDEN = re.compile(r"<!--.*?-->", re.DOTALL)
REACTIONS = {
    "+1": "👍",
    "-1": "👎",
    "laugh": "😄",
    "hooray": "🎉",
    "confused": "😕",
    "heart": "❤️",
    "rocket": "🚀",
    "eyes": "👀",
}

CSS = """
body { font: 14px/1.5 -apple-system, 'Segoe UI', 'Noto Sans', Helvetica, Arial, sans-serif; color: #1f2328;
       background: #fff; margin: 0; }
main { max-width: 860px; margin: 0 auto; padding: 24px 16px 48px; }
h1.page { font-size: 20px; font-weight: 400; margin: 0 0 4px; }
p.lede { color: #59636e; margin: 0 0 24px; }
section.pr { margin-bottom: 40px; }
h2.title { font-size: 24px; font-weight: 400; margin: 0 0 8px; }
h2.title .num { color: #59636e; }
.state { display: inline-block; background: #1f883d; color: #fff; border-radius: 2em; padding: 2px 12px;
         font-size: 13px; font-weight: 500; margin-right: 6px; }
.meta { color: #59636e; border-bottom: 1px solid #d1d9e0; padding-bottom: 12px; margin-bottom: 16px; }
.item { display: flex; gap: 12px; margin: 16px 0; }
.avatar { flex: none; width: 40px; height: 40px; border-radius: 50%; color: #fff; font-weight: 600;
          display: flex; align-items: center; justify-content: center; font-size: 16px; }
.avatar.bot { border-radius: 8px; }
.box { flex: 1; border: 1px solid #d1d9e0; border-radius: 6px; min-width: 0; }
.box > .head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e;
               border-radius: 6px 6px 0 0; }
.head b { color: #1f2328; }
.badge { border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 7px; font-size: 12px; margin-left: 4px; }
.box .body { padding: 12px 16px; overflow-wrap: anywhere; }
.body p { margin: 0 0 10px; } .body p:last-child { margin-bottom: 0; }
.body blockquote { margin: 0 0 10px; padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
.body ul { padding-left: 2em; margin: 0 0 10px; } .body li { list-style: none; margin-left: -1.4em; }
.body code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; font-size: 85%; }
.body sub { color: #59636e; font-size: 12px; }
.body table { border-collapse: collapse; margin: 0 0 10px; }
.body td, .body th { border: 1px solid #d1d9e0; padding: 4px 10px; }
.body details { border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 12px; background: #f6f8fa; }
.body summary { cursor: pointer; font-weight: 600; }
details.edit { margin: 0 16px 12px; color: #59636e; font-size: 13px; }
details.edit > summary { cursor: pointer; }
details.edit .body { border: 1px dashed #d1d9e0; border-radius: 6px; margin-top: 6px; color: #1f2328; }
a { color: #0969da; text-decoration: none; }
.file { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; padding: 8px 16px;
        background: #f6f8fa; border-bottom: 1px solid #d1d9e0; border-radius: 6px 6px 0 0; }
.thread .reply { border-top: 1px solid #d1d9e0; }
.thread .head { background: none; border: 0; padding: 8px 16px 0; color: #59636e; }
.reactions { padding: 0 16px 12px; }
.reactions span { border: 1px solid #d1d9e0; border-radius: 2em; padding: 1px 8px; font-size: 12px;
                  color: #59636e; margin-right: 4px; background: #f6f8fa; }
"""

COLOURS = ("#8250df", "#0969da", "#bf3989", "#1a7f37", "#9a6700", "#cf222e", "#116329")


def _render(markdown: str) -> str:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    text = HIDDEN.sub("", markdown)
    text = text.replace("- [ ] ", "- ☐ ").replace("- [x] ", "- ☑ ")
    return md.render(text)


def _avatar(login: str, is_bot: bool) -> str:
    colour = "#1f2328" if is_bot else COLOURS[sum(map(ord, login)) % len(COLOURS)]
    kind = " bot" if is_bot else ""
    return f'<div class="avatar{kind}" style="background:{colour}">{html.escape(login[:1].upper())}</div>'


def _reactions(comment: dict[str, Any]) -> str:
    rollup = comment.get("reactions") or {}
    shown = [
        f"<span>{emoji} {rollup[key]}</span>" for key, emoji in REACTIONS.items() if rollup.get(key)
    ]
    return f'<div class="reactions">{"".join(shown)}</div>' if shown else ""


def _head(comment: dict[str, Any], verb: str) -> str:
    user = comment["user"]
    bot = user.get("type") == "Bot"
    badge = '<span class="badge">bot</span>' if bot else ""
    when = comment["created_at"][:10]
    edited = (
        " · edited"
        if comment.get("updated_at", comment["created_at"]) != comment["created_at"]
        else ""
    )
    return f'<div class="head"><b>{html.escape(user["login"])}</b>{badge} {verb} on {when}{edited}</div>'


def _is_bot(comment: dict[str, Any]) -> bool:
    return comment["user"].get("type") == "Bot"


def _thread(comments: list[dict[str, Any]]) -> str:
    root = comments[0]
    parts = [
        f'<div class="file">{html.escape(root.get("path") or "")} · line {root.get("line") or ""}</div>'
    ]
    for i, c in enumerate(comments):
        cls = "reply" if i else "first"
        parts.append(
            f'<div class="{cls}">{_head(c, "commented" if i == 0 else "replied")}'
            f'<div class="body">{_render(c["body"])}</div>{_reactions(c)}</div>'
        )
    return (
        f'<div class="item">{_avatar(root["user"]["login"], _is_bot(root))}'
        f'<div class="box thread">{"".join(parts)}</div></div>'
    )


def _comment(c: dict[str, Any], earlier: list[str] = ()) -> str:
    history = "".join(
        f'<details class="edit"><summary>edited · the comment before its last edit</summary>'
        f'<div class="body">{_render(body)}</div></details>'
        for body in earlier
    )
    return (
        f'<div class="item">{_avatar(c["user"]["login"], _is_bot(c))}<div class="box">'
        f'{_head(c, "commented")}<div class="body">{_render(c["body"])}</div>{_reactions(c)}{history}</div></div>'
    )


def pull_html(
    fake, owner: str, repo: str, number: int, author: str, title: str, edits: dict[int, list[str]]
) -> str:
    review = fake.review_comments(owner, repo, number)
    threads: dict[int, list[dict[str, Any]]] = {}
    for c in sorted(review, key=lambda c: (c["created_at"], c["id"])):
        root = c.get("in_reply_to_id") or c["id"]
        threads.setdefault(root, []).append(c)
    items: list[tuple[str, int, str]] = [
        (t[0]["created_at"], t[0]["id"], _thread(t)) for t in threads.values()
    ]
    items += [
        (c["created_at"], c["id"], _comment(c, edits.get(c["id"], [])[:-1]))
        for c in fake.issue_comments(owner, repo, number)
    ]
    return (
        f'<section class="pr" id="pr-{number}"><h2 class="title">{html.escape(title)} <span class="num">#{number}</span></h2>'
        f'<div class="meta"><span class="state">Open</span>{html.escape(author)} wants to merge into '
        f"<code>main</code> · {owner}/{repo}</div>"
        + "".join(body for _, _, body in sorted(items))
        + "</section>"
    )


def issue_html(issue: dict[str, Any], repo: str) -> str:
    c = {**issue, "user": issue.get("user") or {"login": "learning-nudges[bot]", "type": "Bot"}}
    return (
        f'<section class="pr"><h2 class="title">{html.escape(issue["title"])} <span class="num">'
        f'#{issue["number"]}</span></h2><div class="meta"><span class="state">Open</span>{repo}</div>'
        f"{_comment(c)}</section>"
    )


def write_page(
    path: Path,
    fake,
    owner: str,
    repo: str,
    pulls: dict[int, tuple[str, str]],
    evidence_repo: str,
    edits: dict[int, list[str]] | None = None,
) -> None:
    """``pulls``: number → (author, title); ``edits``: comment id → its bodies, oldest first."""
    evidence_owner, evidence_name = evidence_repo.split("/", 1)
    issues = [
        i
        for i in fake.issues(evidence_owner, evidence_name)
        if "learning-nudge-evidence:" in (i.get("body") or "")
    ]
    sections = [pull_html(fake, owner, repo, n, *pulls[n], edits or {}) for n in sorted(pulls)]
    sections += [issue_html(i, evidence_repo) for i in issues]
    path.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Learning Nudges demo: the pull requests</title>"
        f"<style>{CSS}</style></head><body><main>"
        "<h1 class='page'>Learning Nudges demo</h1><p class='lede'>The pull requests of "
        f"{owner}/{repo} as the demo left them: review threads, the bot's nudges and co-sign "
        f"requests, and the kill switch's evidence issues in {evidence_repo}.</p>"
        + "".join(sections)
        + "</main></body></html>\n",
        encoding="utf-8",
    )
