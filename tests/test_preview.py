"""``python -m bot preview``: a playbook's comments as they will be posted, before anything is."""

from __future__ import annotations

import html.parser
import re
import subprocess
import sys

from conftest import ROOT

from bot.cli.preview import html_page, preview_comments
from bot.core.org import OrgSettings
from bot.core.playbook import load_playbooks

PLAYBOOKS = {p.id: p for p in load_playbooks(ROOT / "playbooks").playbooks}


def run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "bot", "preview", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_preview_shows_the_nudge_cosign_request_and_followups_with_the_triggering_examples(
    tmp_path,
):
    page = tmp_path / "preview.html"
    done = run("playbooks/sql-injection.yml", "--html", page)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "✓ use bind params here" in out
    assert "✓ What if the name comes from user input?  (on: cursor.execute(" in out
    assert (
        "===== The nudge =====" in out and "**Learning nudge · SQL injection** · about 2 min" in out
    )
    assert "===== The co-sign request" in out and "@their-lead" in out
    followups = PLAYBOOKS["sql-injection"].reinforcement.max_followups
    assert out.count("===== Follow-up ") == followups
    assert "learning-nudge:" not in out, "the hidden marker is not shown"
    text = page.read_text()
    parser = html.parser.HTMLParser()
    parser.feed(text)
    assert text.count('class="comment"') == 2 + followups
    assert '<input type="checkbox" disabled> Pass every value as a query parameter' in text
    assert "<details>" in text and "<sub>Why you are seeing this" in text
    assert re.search(r'<a href="https://cheatsheetseries\.owasp\.org/[^"]+">OWASP', text)


def test_the_nudge_quotes_the_playbooks_own_examples_and_never_mentions_the_engineer():
    playbook = PLAYBOOKS["missing-tests"]
    nudge, cosign, *followups = preview_comments(playbook, OrgSettings())
    assert (
        playbook.examples_match[(playbook.trigger.comments - 1) % len(playbook.examples_match)]
        in nudge.markdown
    )
    assert "@" not in re.sub(r"https://\S+", "", nudge.markdown)
    assert cosign.markdown.count("@") == 1
    assert all("follow-up" in f.markdown for f in followups)
    assert "<h1>Preview of <code>missing-tests</code>" in html_page(playbook, [nudge])


def test_a_broken_playbook_is_not_previewed_and_says_where(tmp_path):
    broken = tmp_path / "sql-injection.yml"
    broken.write_text(
        (ROOT / "playbooks" / "sql-injection.yml").read_text().replace("title:", "titel:", 1)
    )
    done = run(broken)
    assert done.returncode == 1
    assert f"{broken}:2: titel: unknown field; did you mean 'title'?" in done.stdout
