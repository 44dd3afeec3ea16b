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
import re
import sys
from pathlib import Path

import pytest

from bot.core.classify import Classifier
from bot.core.playbook import NOT_PLAYBOOKS, load_playbooks

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK_DIR = ROOT / "playbooks"
TUNING = ROOT / "tests" / "data" / "comments-tuning.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "comments-holdout.jsonl"
REAL_TUNING = ROOT / "tests" / "data" / "real-tuning.jsonl"
REAL_HOLDOUT = ROOT / "tests" / "data" / "real-holdout.jsonl"
ALL_SETS = [TUNING, HOLDOUT, REAL_TUNING, REAL_HOLDOUT]
ALL_IDS = ["tuning", "holdout", "real-tuning", "real-holdout"]

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
# Holdout set, micro-averaged over all playbooks. Measured after the last tuning round: precision
# 73/75 = 0.97, recall 73/114 = 0.64. Recall on phrasings never seen while tuning is the weak spot
# of pattern matching.
HOLDOUT_MIN_PRECISION = 0.95
HOLDOUT_MIN_RECALL = 0.63
# Comments that raise no playbook issue may match something in at most 2 % of cases (rounded up),
# per data set: a false nudge costs an engineer's trust, so this stays small.
NEGATIVE_FALSE_MATCH_BUDGET = 0.02

# Real review comments from public pull requests (tests/data/README.md), 3,145 in all; 502 of the
# inline ones carry the diff hunk they were made on, which the playbooks' on_code rules read.
# Tuning split (1,976 comments, 326 labels, 1,653 comments about nothing): tuned on, measured after
# the last round precision 288/305 = 0.94, recall 288/326 = 0.88, 16 of 1,653 comments about nothing
# matched (1.0 %); reading the code added 6 of those labels and no false match. The misses and false alarms left mostly need the code in view to be understood ("Same for
# other `_` statements", "This is a security issue", a bare "use try-with-resources") or could only
# be silenced by excludes that would also silence real findings. Holdout split (1,169 comments, 219
# labels, 950 about nothing), never tuned on, scored once after the last round: precision 85/155 =
# 0.55, recall 85/219 = 0.39, 62 of 950 comments about nothing matched (6.5 %); with the on_code
# rules and 202 of its inline comments' hunks, 87/160 = 0.54, 87/219 = 0.40, 64 of 950 (6.7 %).
# Guards at or just under those figures, so a regression fails. Still far from the targets
# (0.95 / 0.80 / 3 %).
REAL_TUNING_MIN_PRECISION = 0.94
REAL_TUNING_MIN_RECALL = 0.88
REAL_TUNING_NEGATIVE_BUDGET = 0.0096  # 16 of 1,653
REAL_HOLDOUT_MIN_PRECISION = 0.54
REAL_HOLDOUT_MIN_RECALL = 0.39
REAL_HOLDOUT_NEGATIVE_BUDGET = 0.0673  # 64 of 950
# Labels of the real tuning split that only the on_code rules find (the comment's words alone do
# not say it; the code it is on does).
REAL_TUNING_FOUND_BY_CODE = 6


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


@pytest.mark.parametrize("path", ALL_SETS, ids=ALL_IDS)
def test_labels_name_shipped_playbooks(path, playbooks):
    known = {p.id for p in playbooks}
    for comment in bench.load_comments(path):
        assert comment.labels <= known, f"{path.name}:{comment.line}: unknown label"


@pytest.mark.parametrize(
    "tuning, holdout", [(TUNING, HOLDOUT), (REAL_TUNING, REAL_HOLDOUT)], ids=["written", "real"]
)
def test_holdout_shares_no_comment_with_the_tuning_set(tuning, holdout):
    tuned = {c.text for c in bench.load_comments(tuning)}
    held = {c.text for c in bench.load_comments(holdout)}
    assert tuned.isdisjoint(held)


def _repo(comment) -> str:
    return comment.source.split("#")[0]


def test_real_splits_share_no_repository():
    tuned = {_repo(c) for c in bench.load_comments(REAL_TUNING)}
    held = {_repo(c) for c in bench.load_comments(REAL_HOLDOUT)}
    assert tuned and held and tuned.isdisjoint(held)


@pytest.mark.parametrize("path", [REAL_TUNING, REAL_HOLDOUT], ids=["real-tuning", "real-holdout"])
def test_real_comments_say_where_they_come_from(path):
    for comment in bench.load_comments(path):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+#\d+", comment.source), f"{path.name}:{comment.line}"
        assert comment.kind in {"inline", "review", "other"}, f"{path.name}:{comment.line}"
        assert comment.text.strip(), f"{path.name}:{comment.line}"
        # only a line comment sits on a diff hunk
        assert not comment.diff_hunk or comment.kind == "inline", f"{path.name}:{comment.line}"


def test_the_real_set_has_hard_negatives_and_every_kind():
    comments = bench.load_comments(REAL_TUNING) + bench.load_comments(REAL_HOLDOUT)
    none = [c for c in comments if not c.labels]
    assert len(comments) >= 3000
    assert len(none) >= len(comments) / 3
    assert {c.kind for c in comments} == {"inline", "review", "other"}
    assert len({_repo(c) for c in comments}) >= 1200


def test_data_sets_are_big_enough_to_mean_something(playbooks):
    for path, per_playbook, negatives in ((TUNING, 20, 100), (HOLDOUT, 8, 50)):
        result = _score(Classifier(playbooks), playbooks, path)
        small = {
            pid: t.positives for pid, t in result.per_playbook.items() if t.positives < per_playbook
        }
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


def test_the_playbooks_recognise_the_real_tuning_comments(classifier, playbooks):
    result = _score(classifier, playbooks, REAL_TUNING)
    micro = result.micro
    assert (
        micro.precision >= REAL_TUNING_MIN_PRECISION and micro.recall >= REAL_TUNING_MIN_RECALL
    ), (
        f"real tuning micro precision {micro.precision:.2f}, recall {micro.recall:.2f}:\n\n"
        f"{bench.markdown_table(result)}"
    )


def test_the_real_holdout_does_not_regress(classifier, playbooks):
    result = _score(classifier, playbooks, REAL_HOLDOUT)
    micro = result.micro
    assert (micro.precision or 0.0) >= REAL_HOLDOUT_MIN_PRECISION, bench.markdown_table(result)
    assert micro.recall >= REAL_HOLDOUT_MIN_RECALL, bench.markdown_table(result)


def test_reading_the_code_beside_line_comments_finds_more_and_flags_nothing_more(
    classifier, playbooks
):
    comments = bench.load_comments(REAL_TUNING)
    ids = [p.id for p in playbooks]
    with_code = bench.score(classifier.classify, comments, ids)
    words_only = bench.score(lambda text, _hunk: classifier.classify(text), comments, ids)
    assert sum(bool(c.diff_hunk) for c in comments) >= 300
    gained = with_code.micro.true_pos - words_only.micro.true_pos
    assert gained >= REAL_TUNING_FOUND_BY_CODE, f"the code found {gained} more labels"
    assert with_code.micro.false_pos == words_only.micro.false_pos


@pytest.mark.parametrize(
    "path, share",
    [
        (TUNING, NEGATIVE_FALSE_MATCH_BUDGET),
        (HOLDOUT, NEGATIVE_FALSE_MATCH_BUDGET),
        (REAL_TUNING, REAL_TUNING_NEGATIVE_BUDGET),
        (REAL_HOLDOUT, REAL_HOLDOUT_NEGATIVE_BUDGET),
    ],
    ids=ALL_IDS,
)
def test_comments_about_nothing_rarely_match_anything(path, share, classifier, playbooks):
    result = _score(classifier, playbooks, path)
    budget = math.ceil(share * result.negatives)
    matched = [
        f"{c.text!r} -> {classifier.classify(c.text, c.diff_hunk)}"
        for c in result.negatives_matched
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


def test_the_benchmark_reports_inline_comments_and_explains_false_matches(tmp_path, capsys):
    data = tmp_path / "mine.jsonl"
    data.write_text(
        '{"text": "Thanks for adding tests! Some tests are fine.", "playbooks": [], "kind": "inline", "source": "o/r#1"}\n'
        '{"text": "This file handle is never closed.", "playbooks": [], "kind": "inline", "source": "o/r#2"}\n'
        '{"text": "please add a unit test", "playbooks": ["missing-tests"], "kind": "review", "source": "o/r#3"}\n',
        encoding="utf-8",
    )
    assert bench.main(["--data", str(data), "--show-errors"]) == 0
    out = capsys.readouterr().out
    assert "**Inline review comments only** (2 comments)" in out
    assert (
        "- FALSE `resource-leaks` (line 2, o/r#2, labelled none): This file handle is never closed."
        in out
    )
    assert "matched `never closed` with pattern `" in out


def test_the_keyword_baseline_uses_whole_title_words():
    assert bench.title_words("Secrets in code") == ["secrets", "code"]
    assert bench.title_words("N+1 queries") == ["n+1", "queries"]
