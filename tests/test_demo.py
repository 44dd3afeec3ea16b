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
    # alice got follow-ups, and nobody else was nudged on SQL injection: nothing to compare yet.
    follow = text[text.index("### Follow-ups or the nudge alone") : text.index("### History")]
    assert "1 engineer also got follow-ups and 0 engineers got only the nudge" in follow
    assert "too few to compare" in follow and "not be a causal claim" in follow
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith(
            "Summary: 28 webhooks; 3 nudges posted (1 after a lead's co-sign), 1 held out, 1 over "
            "budget; 5 follow-ups posted, 2 dropped;"
        )
    )
    opened = int(re.search(r"(\d+) evidence issues", out.strip().splitlines()[-1]).group(1))
    more = re.search(r"\(and (\d+) more, one per playbook", out)
    assert opened >= 1 and opened == 1 + (int(more.group(1)) if more else 0)


def test_the_html_page_shows_the_conversations(demo):
    _, page = demo
    assert page.count('<section class="pr" id="pr-') == 15
    assert "<details>" in page and "<summary>" in page  # the co-sign request's folded nudge
    assert "Co-signed by carol" in page
    assert "<strong>Learning nudge · SQL injection</strong>" in page
    assert "Learning nudge evidence: " in page
    assert "<!-- learning-nudge" not in page  # the hidden markers stay hidden
    assert "<script" not in page


def test_one_engineers_follow_ups_are_printed_as_they_are_posted_and_then_charted(demo):
    out, page = demo
    posted = re.findall(
        r"✉ bot posted follow-up (\d) of alice's SQL injection series on PR #(\d+), (\d+) days? "
        r"after (?:the nudge|follow-up \d) \(PR #(\d+)\):",
        out,
    )
    assert [(int(i), int(pr)) for i, pr, _, _ in posted] == [
        (1, 108),
        (2, 110),
        (3, 112),
        (4, 113),
        (5, 114),
    ]
    gaps = [int(days) for _, _, days, _ in posted]
    assert gaps[1] > 3 * gaps[0], f"clean reviews space them out: {gaps}"
    assert gaps[3] < gaps[2] < gaps[1], f"the comments coming back bring them closer: {gaps}"
    assert gaps[4] > gaps[3], f"clean again, they space out again: {gaps}"
    # Each is explained when it is decided: why it is due now, and on which pull request.
    assert "due since 2026-03-08 (the first reminder after the nudge); #108 changes 1" in out
    assert "a matching comment on #111 on 2026-03-30 brought it closer); #112 changes" in out
    followups = [b for b in bodies(out) if b and b[0].startswith("**Learning nudge follow-up · ")]
    assert len(followups) == 5 and all(
        sum(x.startswith("- [ ] ") for x in b) == 1 for b in followups
    )
    assert (
        "bot: no follow-up: one is due since Mon 23 Mar, but PR #109 changes no code a playbook "
        "is about (only documentation)" in out
    )
    assert "bot: no follow-up: the series has ended (5 follow-ups sent" in out
    assert "(sooner than Sat 23 May)" in out  # the error coming back pulls the next one in
    chart = out[out.index("▸ The spaced follow-ups on record") :]
    assert "    alice · sql-injection (1 day per mark;" in chart
    assert "    ended: 5 follow-ups sent, the most this playbook sends" in chart
    assert "Learning nudge follow-up · SQL injection" in page.split('id="pr-110"')[1]


async def test_the_follow_ups_are_on_github_and_the_docs_only_pull_request_has_none():
    """The demo in this process: the stand-in GitHub holds what was posted, and no request
    strayed from GitHub's API description."""
    import io

    from bot.cli.demo import OWNER, REPO, play
    from bot.core.reinforce import FollowUpState

    run = await play(io.StringIO())
    fake = run.github
    assert run.code == 0 and fake.violations == []

    def by_the_app(pr: int) -> list[dict]:
        found = fake.issue_comments(OWNER, REPO, pr) + fake.review_comments(OWNER, REPO, pr)
        return [c for c in found if c["user"]["login"] == fake.bot_login]

    with_followup = {
        pr
        for pr in range(108, 116)
        for c in by_the_app(pr)
        if c["body"].startswith("**Learning nudge follow-up · SQL injection**")
    }
    assert with_followup == {108, 110, 112, 113, 114}
    assert by_the_app(109) == [], "the pull request that touches only docs gets nothing"
    assert by_the_app(111) == [] and by_the_app(115) == []  # not due yet; the series has ended
    posted = [f for f in run.followups if f.state == FollowUpState.POSTED]
    assert sorted(f.comment_id for f in posted) == sorted(
        c["id"] for pr in with_followup for c in by_the_app(pr)
    ), "each follow-up on record is the one comment on its pull request"
    assert {(f.engineer, f.playbook_id) for f in posted} == {("alice", "sql-injection")}
    dropped = {f.playbook_id for f in run.followups if f.state == FollowUpState.DROPPED}
    assert dropped == {"secrets-in-code", "swallowed-errors"}  # no relevant pull request came


def test_the_readme_shows_the_page_as_a_screenshot():
    readme = (PACKAGE_ROOT / "README.md").read_text()
    shot = PACKAGE_ROOT / "docs" / "demo-conversation.png"
    assert "](docs/demo-conversation.png)" in readme
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size < 400_000
