"""The shipped playbooks recognise real review comments, measured on labelled data.

``tests/data/comments-tuning.jsonl`` is what the patterns are tuned on, so the bar there is high.
``tests/data/comments-holdout.jsonl`` was written separately, before the patterns were last
tuned, and is never used for tuning: its thresholds are regression guards set just under what
the current patterns honestly reach. When a pattern misses a phrasing you care about, add that
phrasing to the tuning set and tune there; do not edit patterns to pass the holdout.

Run ``python bench/playbook_accuracy.py --show-errors`` to see every miss and false alarm.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from bot.core.classify import Classifier
from bot.core.playbook import NOT_PLAYBOOKS, load_playbooks

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK_DIR = ROOT / "playbooks"
TUNING = ROOT / "tests" / "data" / "comments-tuning.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "comments-holdout.jsonl"

REQUIRED_IDS = {
    "sql-injection",
    "secrets-in-code",
    "missing-tests",
    "n-plus-one-queries",
    "swallowed-errors",
    "unvalidated-input",
    "resource-leaks",
    "concurrency-bugs",
    "sensitive-data-in-logs",
}

# Tuning set: every playbook on its own.
TUNING_MIN_PRECISION = 0.95
TUNING_MIN_RECALL = 0.90
# Holdout set, micro-averaged over all playbooks. Measured when last tuned: precision 0.97,
# recall 0.63. Recall on phrasings never seen while tuning is the weak spot of pattern matching.
HOLDOUT_MIN_PRECISION = 0.90
HOLDOUT_MIN_RECALL = 0.60
# Comments that raise no playbook issue may match something in at most 2 % of cases (rounded up),
# per data set: a false nudge costs an engineer's trust, so this stays small.
NEGATIVE_FALSE_MATCH_BUDGET = 0.02


def _load_bench():
    path = ROOT / "bench" / "playbook_accuracy.py"
    spec = importlib.util.spec_from_file_location("playbook_accuracy", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("playbook_accuracy", module)
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(scope="module")
def playbooks():
    loaded = load_playbooks(PLAYBOOK_DIR)
    assert not loaded.problems, "\n".join(str(p) for p in loaded.problems)
    return sorted(loaded.playbooks, key=lambda p: p.id)


@pytest.fixture(scope="module")
def classifier(playbooks):
    return Classifier(playbooks)


def _score(classifier, playbooks, path):
    return bench.score(classifier.classify, bench.load_comments(path), [p.id for p in playbooks])


def test_every_shipped_playbook_loads_without_problems():
    loaded = load_playbooks(PLAYBOOK_DIR)
    assert [str(p) for p in loaded.problems] == []
    ids = {p.id for p in loaded.playbooks}
    assert REQUIRED_IDS <= ids
    files = {path.stem for path in PLAYBOOK_DIR.glob("*.yml") if path.name not in NOT_PLAYBOOKS}
    assert files == ids, "every file in playbooks/ must load as a playbook"


def test_only_secrets_in_code_needs_a_co_sign(playbooks):
    assert {p.id for p in playbooks if p.significant} == {"secrets-in-code"}


def test_every_playbook_has_a_nudge_a_checklist_and_a_link(playbooks):
    for playbook in playbooks:
        assert 2 <= playbook.nudge.play.count(". ") + 1 <= 6, playbook.id
        assert "@" not in playbook.nudge.play, playbook.id
        assert 3 <= len(playbook.nudge.checklist) <= 5, playbook.id
        assert playbook.nudge.link and playbook.nudge.link.url.startswith("https://"), playbook.id
        assert playbook.examples_match and playbook.examples_no_match, playbook.id


@pytest.mark.parametrize("path", [TUNING, HOLDOUT], ids=["tuning", "holdout"])
def test_labels_name_shipped_playbooks(path, playbooks):
    known = {p.id for p in playbooks}
    for comment in bench.load_comments(path):
        assert comment.labels <= known, f"{path.name}:{comment.line}: unknown label"


def test_holdout_shares_no_comment_with_the_tuning_set():
    tuning = {c.text for c in bench.load_comments(TUNING)}
    holdout = {c.text for c in bench.load_comments(HOLDOUT)}
    assert tuning.isdisjoint(holdout)


def test_data_sets_are_big_enough_to_mean_something(playbooks):
    for path, per_playbook, negatives in ((TUNING, 20, 100), (HOLDOUT, 8, 50)):
        result = _score(Classifier(playbooks), playbooks, path)
        small = {pid: t.positives for pid, t in result.per_playbook.items() if t.positives < per_playbook}
        assert not small, f"{path.name}: too few labelled comments: {small}"
        assert result.negatives >= negatives, path.name


def test_each_playbook_is_precise_and_complete_on_the_tuning_set(classifier, playbooks):
    result = _score(classifier, playbooks, TUNING)
    failing = [
        pid
        for pid, t in result.per_playbook.items()
        if (t.precision or 0.0) < TUNING_MIN_PRECISION or (t.recall or 0.0) < TUNING_MIN_RECALL
    ]
    assert not failing, (
        f"below precision {TUNING_MIN_PRECISION} / recall {TUNING_MIN_RECALL} on the tuning set: "
        f"{failing}\n\n{bench.markdown_table(result)}"
    )


def test_the_playbooks_generalise_to_the_holdout_set(classifier, playbooks):
    result = _score(classifier, playbooks, HOLDOUT)
    micro = result.micro
    assert micro.precision >= HOLDOUT_MIN_PRECISION and micro.recall >= HOLDOUT_MIN_RECALL, (
        f"holdout micro precision {micro.precision:.2f} (min {HOLDOUT_MIN_PRECISION}), "
        f"recall {micro.recall:.2f} (min {HOLDOUT_MIN_RECALL}); per playbook:\n\n"
        f"{bench.markdown_table(result)}"
    )


@pytest.mark.parametrize("path", [TUNING, HOLDOUT], ids=["tuning", "holdout"])
def test_comments_about_nothing_rarely_match_anything(path, classifier, playbooks):
    result = _score(classifier, playbooks, path)
    budget = math.ceil(NEGATIVE_FALSE_MATCH_BUDGET * result.negatives)
    matched = [
        f"{c.text!r} -> {classifier.classify(c.text)}" for c in result.negatives_matched
    ]
    assert len(matched) <= budget, (
        f"{len(matched)} of {result.negatives} comments that raise no issue matched a playbook "
        f"(budget {budget}):\n" + "\n".join(matched)
    )


def test_the_benchmark_prints_markdown_tables_with_the_baseline(capsys):
    assert bench.main(["--data", str(HOLDOUT)]) == 0
    out = capsys.readouterr().out
    assert "| Playbook | Labelled | True pos. | False pos. | Precision | Recall |" in out
    assert "**Keyword baseline**" in out and "**micro total**" in out


def test_the_keyword_baseline_uses_whole_title_words():
    assert bench.title_words("Secrets in code") == ["secrets", "code"]
    assert bench.title_words("N+1 queries") == ["n+1", "queries"]
