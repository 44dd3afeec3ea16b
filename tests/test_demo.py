"""The demo shows what people read: every posted body whole, the co-sign outcome, an evidence issue,
and the same on an HTML page laid out like the pull request conversation."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bot.app.settings import PACKAGE_ROOT


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--html", "page.html"],
        capture_output=True,
        text=True,
        cwd=folder,
        env={"PATH": os.environ["PATH"], "HOME": str(folder)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, (folder / "page.html").read_text()


def bodies(out: str) -> list[list[str]]:
    """Each posted (or edited) body as printed: the │ lines after a ✉ or ✎ line."""
    found, current = [], None
    for line in out.splitlines():
        if re.match(r"    [✉✎] bot ", line):
            current = []
            found.append(current)
        elif current is not None and line.startswith("      │"):
            current.append(line.removeprefix("      │").removeprefix(" "))
        else:
            current = None
    return found


def test_every_nudge_is_printed_whole(demo):
    out, _ = demo
    nudges = [b for b in bodies(out) if b and b[0].startswith("**Learning nudge · ")]
    assert len(nudges) == 3
    for body in nudges:
        assert body[-1].startswith("<sub>Why you are seeing this: ")  # the last line is there
        assert sum(line.startswith("- [ ] ") for line in body) >= 3  # the whole checklist
        assert any(line.startswith("Go deeper: [") for line in body)
    titles = {b[0] for b in nudges}
    assert "**Learning nudge · SQL injection** · about 2 min" in titles  # as its author wrote it


def test_the_co_sign_request_shows_the_nudge_and_its_outcome(demo):
    out, _ = demo
    request = next(b for b in bodies(out) if any("<details>" in line for line in b))
    assert any(
        "Without an answer it is dropped on 2026-03-17 at 09:00 UTC" in line for line in request
    )
    assert "@carol" in "\n".join(request)  # the only mention the bot ever makes
    folded = request[request.index("<details>") :]
    assert any(line.startswith("**Learning nudge · Secrets in code**") for line in folded)
    assert "</details>" in folded
    outcome = next(b for b in bodies(out) if b and "Co-signed by carol" in b[0])
    assert "@carol" not in "\n".join(outcome)  # the mention is gone once answered
    assert "✎ bot edited its comment on PR #105 into a record of the outcome:" in out


def test_an_evidence_issue_is_printed_whole(demo):
    out, _ = demo
    assert "▸ Day 70 (Mon 11 May): the kill switch's daily job" in out
    issue = next(b for b in bodies(out) if b and b[0].startswith("## "))
    text = "\n".join(issue)
    assert (
        "**Decision** on 2026-05-11" in text and "### History" in text and "**To resume**" in text
    )
    assert issue[-1].startswith("<sub>Written by Learning Nudges.")
    assert out.strip().splitlines()[-1].startswith("Summary: 14 webhooks; 3 nudges posted")
    opened = int(re.search(r"(\d+) evidence issues", out.strip().splitlines()[-1]).group(1))
    more = re.search(r"\(and (\d+) more, one per playbook", out)
    assert opened >= 1 and opened == 1 + (int(more.group(1)) if more else 0)


def test_the_html_page_shows_the_conversations(demo):
    _, page = demo
    assert page.count('<section class="pr" id="pr-') == 7
    assert "<details>" in page and "<summary>" in page  # the co-sign request's folded nudge
    assert "Co-signed by carol" in page
    assert "<strong>Learning nudge · SQL injection</strong>" in page
    assert "Learning nudge evidence: " in page
    assert "<!-- learning-nudge" not in page  # the hidden markers stay hidden
    assert "<script" not in page


def test_the_readme_shows_the_page_as_a_screenshot():
    readme = (PACKAGE_ROOT / "README.md").read_text()
    shot = PACKAGE_ROOT / "docs" / "demo-conversation.png"
    assert "](docs/demo-conversation.png)" in readme
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size < 400_000
