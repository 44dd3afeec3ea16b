"""A line comment read beside the code it is on: ``match.on_code`` rules, as an author writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.backfill import backfill_since, baseline_from_history, comment_from_api
from bot.core.classify import CODE_LINES, Classifier, code_lines
from bot.core.events import Actor, PullRequestRef
from bot.core.playbook import parse_playbook

FILE = "playbooks/secrets-in-code.yml"

SECRETS = """\
id: secrets-in-code
title: Secrets in code
match:
  patterns:
    - '\\bhard-?coded\\s+(password|secret|token)'
  exclude:
    - '\\bnot\\s+a\\s+real\\b'
  on_code:
    - comment: '\\b(should\\s*n.t|must\\s*n.t)\\s+be\\s+(here|committed)\\b'
      code: '(?i)(password|secret|token)\\w*\\s*[:=]\\s*["\\x27][^"\\x27\\s]{6,}'
examples:
  match_on_code:
    - comment: "This shouldn't be here."
      code: 'DB_PASSWORD = "hunter2hunter2"'
nudge:
  play: Read it from the environment.
"""

HUNK = (
    "@@ -10,4 +10,6 @@ def connect():\n"
    " import os\n"
    "+\n"
    '+DB_PASSWORD = "hunter2hunter2"\n'
    "+client = connect(DB_PASSWORD)"
)


def secrets(text: str = SECRETS):
    playbook, problems = parse_playbook(text, FILE)
    assert problems == [], problems
    return playbook


def test_a_finding_that_needs_both_the_words_and_the_code():
    classifier = Classifier([secrets()])
    assert classifier.classify("This shouldn't be here.", HUNK) == ["secrets-in-code"]
    # The same words elsewhere say nothing; the same code under other words neither.
    assert classifier.classify("This shouldn't be here.") == []
    assert classifier.classify("This shouldn't be here.", "@@ -1 +1 @@\n+x = 1") == []
    assert classifier.classify("Nice, thanks!", HUNK) == []


def test_the_match_names_both_patterns_and_quotes_the_code():
    (match,) = Classifier([secrets()]).matches("This shouldn't be here.", HUNK)
    assert match.playbook_id == "secrets-in-code"
    assert match.words == "shouldn't be here"
    assert match.code_words == 'DB_PASSWORD = "hunter2hunter2"'
    assert match.code_pattern.startswith("(?i)(password|secret|token)")
    assert match.quote == "This shouldn't be here."


def test_the_playbooks_exclusions_still_win():
    classifier = Classifier([secrets()])
    assert classifier.classify("It's not a real key, but it shouldn't be committed", HUNK) == []


def test_a_pattern_match_is_kept_before_a_code_rule():
    (match,) = Classifier([secrets()]).matches("A hard-coded password shouldn't be here", HUNK)
    assert match.pattern == "\\bhard-?coded\\s+(password|secret|token)"
    assert match.code_pattern == ""


def test_only_the_lines_the_comment_is_on_are_read():
    far = (
        "@@ -1,9 +1,9 @@\n"
        + '+TOKEN = "abcdefghij"\n'
        + "".join(f" line {i}\n" for i in range(CODE_LINES))
    )
    assert "TOKEN" not in code_lines(far.rstrip("\n"))
    assert Classifier([secrets()]).classify("This shouldn't be here.", far.rstrip("\n")) == []
    assert (
        code_lines(HUNK)
        == 'import os\n\nDB_PASSWORD = "hunter2hunter2"\nclient = connect(DB_PASSWORD)'
    )


def test_a_playbook_without_code_rules_ignores_the_hunk():
    plain = secrets(SECRETS.split("  on_code:")[0] + "nudge:\n  play: Read it.\n")
    assert Classifier([plain]).classify("This shouldn't be here.", HUNK) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "      code: '(?i)(password|secret|token)\\w*\\s*[:=]\\s*[\"\\x27][^\"\\x27\\s]{6,}'\n",
            "",
            f"{FILE}:9: match.on_code[0].code: is required; add it, for example: "
            "code: '(password|secret)\\s*=\\s*\"'",
        ),
        (
            "comment: '\\b(should",
            "comment: '(?<=x)\\b(should",
            "match.on_code[0].comment: is not a valid pattern",
        ),
        (
            "      code: 'DB_PASSWORD = \"hunter2hunter2\"'",
            "      code: 'DB_PASSWORD = os.environ[\"DB_PASSWORD\"]'",
            f"{FILE}:13: examples.match_on_code[0]: this comment and code do not match; widen a "
            "rule in match.on_code",
        ),
    ],
    ids=["rule-without-code", "invalid-comment-pattern", "failing-example"],
)
def test_a_broken_code_rule_is_reported_with_file_line_and_field(old, new, expected):
    assert SECRETS.count(old) == 1, old
    _, problems = parse_playbook(SECRETS.replace(old, new), FILE)
    assert len(problems) == 1, problems
    assert expected in str(problems[0])


def test_history_read_at_installation_is_read_beside_its_code_too():
    pull = PullRequestRef(42, "acme/shop", 7, Actor("ada", False))
    listed = {
        "id": 5,
        "user": {"login": "bob", "type": "User"},
        "body": "This shouldn't be here.",
        "created_at": "2026-03-05T09:00:00Z",
        "path": "settings.py",
        "diff_hunk": HUNK,
        "pull_request_url": "https://api.github.com/repos/acme/shop/pulls/7",
    }
    comment = comment_from_api(listed, pull)
    assert (comment.path, comment.diff_hunk) == ("settings.py", HUNK)
    installed = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    baseline = baseline_from_history(
        [comment], Classifier([secrets()]), since=backfill_since(installed), until=installed
    )
    assert [s.playbook_id for s in baseline.signals] == ["secrets-in-code"]
