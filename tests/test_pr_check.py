"""The pull-request check's pure part: gained and lost matches, and a summary within GitHub's cap."""

from __future__ import annotations

import dataclasses
import json

from conftest import ROOT

from bot.app.jobs.config_sync import labelled_comments
from bot.core.playbook import load_playbooks
from bot.core.pr_check import LabelledComment, bounded, match_diff, pull_request_check
from bot.core.yamlcheck import Problem

SHIPPED = {p.id: p for p in load_playbooks(ROOT / "playbooks").playbooks}
LABELLED = [
    LabelledComment("use bind params here", ("sql-injection",)),
    LabelledComment("please add a test for this", ("missing-tests",)),
    LabelledComment("the SQL migration name should be dated", ()),
    LabelledComment("parameterized query please", ("sql-injection",)),
]


def test_a_changed_playbook_shows_the_comments_it_gains_and_loses():
    sql = SHIPPED["sql-injection"]
    narrower = dataclasses.replace(sql, patterns=(r"\bbind\s+params?\b",))
    wider = dataclasses.replace(sql, patterns=(*sql.patterns, r"\bmigration\b"), exclude=())
    [diff] = match_diff({"sql-injection": sql}, {"sql-injection": narrower}, LABELLED)
    assert diff.change == "changed" and diff.gained == ()
    assert [c.text for c in diff.lost] == ["parameterized query please"]
    [diff] = match_diff({"sql-injection": sql}, {"sql-injection": wider}, LABELLED)
    assert [c.text for c in diff.gained] == ["the SQL migration name should be dated"]
    assert match_diff({"sql-injection": sql}, {"sql-injection": sql}, LABELLED) == [], (
        "unchanged: nothing"
    )
    [added] = match_diff({}, {"sql-injection": sql}, LABELLED)
    assert added.change == "added" and added.matched_before == 0 and added.matched_after == 2
    [removed] = match_diff({"sql-injection": sql}, {}, LABELLED)
    assert removed.change == "removed" and len(removed.lost) == 2


def test_the_summary_stays_within_githubs_limit_however_much_changes():
    lines = [f"- line {i} " + "x" * 200 for i in range(2000)]
    text = bounded(lines)
    assert len(text) < 65_535 and text.endswith("python -m bot classify` locally for the rest.")
    folder = ROOT / "playbooks"
    base = {f"playbooks/{p.name}": p.read_text() for p in folder.glob("*.yml")}
    head = {
        path: text.replace("  patterns:\n", "  patterns:\n    - '\\b[a-z]{4}\\b'\n", 1)
        for path, text in base.items()
    }
    check = pull_request_check(base, head, labelled_comments())
    assert len(check.summary) < 65_535
    assert check.conclusion == "failure", "examples that must not match now do"


def test_the_shipped_labelled_set_is_the_one_in_tests_data():
    expected = []
    for name in ("comments-tuning", "comments-holdout", "real-tuning", "real-holdout"):
        for line in (ROOT / "tests" / "data" / f"{name}.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                expected.append(
                    LabelledComment(
                        row["text"], tuple(row["playbooks"]), name, row.get("diff_hunk", "")
                    )
                )
    assert list(labelled_comments()) == expected, (
        "bot/data/labelled-comments.jsonl is a copy of tests/data/*.jsonl; regenerate it"
    )


def test_a_file_that_could_not_be_read_is_annotated_first_and_fails_the_check():
    folder = ROOT / "playbooks"
    texts = {f"playbooks/{p.name}": p.read_text() for p in folder.glob("*.yml")}
    unreadable = Problem("playbooks/huge.yml", 1, "file", "too large to read; keep it under 1 MB")
    clean = pull_request_check(texts, texts, labelled_comments())
    check = pull_request_check(texts, texts, labelled_comments(), unreadable=[unreadable])
    assert clean.conclusion == "success" and check.conclusion == "failure"
    [first, *_] = check.annotations
    assert [a["path"] for a in first] == ["playbooks/huge.yml"]
    assert first[0]["message"] == "file: too large to read; keep it under 1 MB"
