"""How well do the shipped playbooks recognise real review comments?

Runs the project's own loader and classifier over labelled review comments (JSON lines of
``{"text": ..., "playbooks": [...]}``) and prints, per data file, Markdown tables of labelled
positives, true positives, false positives, precision and recall for each playbook, with
micro-averaged totals. The same run scores a naive keyword baseline -- a comment belongs to a
playbook when it contains any word of the playbook's title -- so readers can see what the
patterns add.

    python bench/playbook_accuracy.py                       # the four shipped data sets
    python bench/playbook_accuracy.py --data my.jsonl       # your own comments
    python bench/playbook_accuracy.py --show-errors         # every miss and false match, and why

``tests/data/comments-*.jsonl`` were written for the project; ``tests/data/real-*.jsonl`` are
review comments from public pull requests (see tests/data/README.md). The patterns are tuned on
the ``-tuning`` files only; the ``-holdout`` files are never used for tuning, so their figures
are the honest ones. For a file whose comments say their ``kind``, the figures for inline
review comments alone follow.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.core.classify import Classifier  # noqa: E402
from bot.core.playbook import Playbook, load_playbooks  # noqa: E402

PLAYBOOK_DIR = ROOT / "playbooks"
DATA_DIR = ROOT / "tests" / "data"
DEFAULT_DATA = (
    DATA_DIR / "comments-tuning.jsonl",
    DATA_DIR / "comments-holdout.jsonl",
    DATA_DIR / "real-tuning.jsonl",
    DATA_DIR / "real-holdout.jsonl",
)

# Title words too common to mean anything on their own ("Secrets *in* code").
STOPWORDS = frozenset({"a", "an", "and", "in", "of", "on", "or", "the", "to", "for", "with"})


@dataclass(frozen=True)
class Comment:
    text: str
    labels: frozenset[str]
    line: int
    kind: str = ""
    source: str = ""
    diff_hunk: str = ""  # for an inline comment whose hunk was recorded: the code it is on


def load_comments(path: Path | str) -> list[Comment]:
    """Read a labelled JSON-lines file; blank lines are skipped, anything else malformed raises."""
    comments = []
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                text, labels = item["text"], item["playbooks"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled comment ({exc})") from exc
            hunk = item.get("diff_hunk") or ""
            if not isinstance(text, str) or not isinstance(labels, list):
                raise ValueError(f"{path}:{number}: text must be a string, playbooks a list")
            if not isinstance(hunk, str):
                raise ValueError(f"{path}:{number}: diff_hunk must be a string")
            kind, source = item.get("kind", ""), item.get("source", "")
            comments.append(Comment(text, frozenset(labels), number, kind, source, hunk))
    return comments


@dataclass
class Tally:
    """Counts for one playbook (or for all of them, micro-averaged)."""

    positives: int = 0
    true_pos: int = 0
    false_pos: int = 0
    misses: list[Comment] = field(default_factory=list)
    false_alarms: list[Comment] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        predicted = self.true_pos + self.false_pos
        return self.true_pos / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_pos / self.positives if self.positives else None


@dataclass
class Score:
    per_playbook: dict[str, Tally]
    micro: Tally
    negatives: int  # comments labelled with no playbook at all
    negatives_matched: list[Comment]  # ...of which the predictor matched at least one playbook


def score(
    predict: Callable[[str, str], Iterable[str]], comments: Sequence[Comment], ids: Sequence[str]
) -> Score:
    """Score ``predict`` ((text, diff hunk) -> playbook ids) against labelled comments, for the
    given ids; the hunk is empty where none was recorded."""
    per = {pid: Tally() for pid in ids}
    negatives, negatives_matched = 0, []
    for comment in comments:
        predicted = set(predict(comment.text, comment.diff_hunk)) & set(ids)
        if not comment.labels:
            negatives += 1
            if predicted:
                negatives_matched.append(comment)
        for pid in ids:
            tally = per[pid]
            labelled, hit = pid in comment.labels, pid in predicted
            tally.positives += labelled
            if hit and labelled:
                tally.true_pos += 1
            elif hit:
                tally.false_pos += 1
                tally.false_alarms.append(comment)
            elif labelled:
                tally.misses.append(comment)
    micro = Tally(
        positives=sum(t.positives for t in per.values()),
        true_pos=sum(t.true_pos for t in per.values()),
        false_pos=sum(t.false_pos for t in per.values()),
    )
    return Score(per, micro, negatives, negatives_matched)


def title_words(title: str) -> list[str]:
    """The words of a title, as the keyword baseline uses them: split on spaces, edge
    punctuation stripped, very common words dropped ("N+1 queries" -> ["N+1", "queries"])."""
    words = (w.strip(".,;:!?()'\"").lower() for w in title.split())
    return [w for w in words if w and w not in STOPWORDS]


def keyword_baseline(playbooks: Sequence[Playbook]) -> Callable[[str, str], list[str]]:
    """A comment matches a playbook when it contains any word of the title as a whole word,
    case-insensitively. This is what a team would get from a plain keyword filter."""
    compiled = []
    for playbook in playbooks:
        words = title_words(playbook.title)
        alternatives = "|".join(re.escape(w) for w in words)
        compiled.append((playbook.id, re.compile(rf"(?<![\w+])(?:{alternatives})(?![\w+])", re.I)))

    def predict(text: str, diff_hunk: str = "") -> list[str]:  # the code is not read
        return sorted(pid for pid, rx in compiled if rx.search(text))

    return predict


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown_table(result: Score) -> str:
    lines = [
        "| Playbook | Labelled | True pos. | False pos. | Precision | Recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = list(result.per_playbook.items()) + [("**micro total**", result.micro)]
    for name, t in rows:
        name = name if name.startswith("**") else f"`{name}`"
        lines.append(
            f"| {name} | {t.positives} | {t.true_pos} | {t.false_pos} "
            f"| {_fmt(t.precision)} | {_fmt(t.recall)} |"
        )
    return "\n".join(lines)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _errors(result: Score, classifier: Classifier | None = None) -> str:
    """Every miss and false match; for a false match, the pattern and the words that matched."""
    out = []
    for pid, tally in result.per_playbook.items():
        for comment in tally.misses:
            where = f"line {comment.line}" + (f", {comment.source}" if comment.source else "")
            out.append(f"- MISS `{pid}` ({where}): {_one_line(comment.text)}")
        for comment in tally.false_alarms:
            labels = ", ".join(sorted(comment.labels)) or "none"
            where = f"line {comment.line}" + (f", {comment.source}" if comment.source else "")
            out.append(f"- FALSE `{pid}` ({where}, labelled {labels}): {_one_line(comment.text)}")
            if classifier is not None:
                for match in classifier.matches(comment.text, comment.diff_hunk):
                    if match.playbook_id == pid:
                        out.append(f"  - matched `{match.words}` with pattern `{match.pattern}`")
                        if match.code_pattern:
                            out.append(
                                f"  - on code `{match.code_words}` "
                                f"with pattern `{match.code_pattern}`"
                            )
    return "\n".join(out) if out else "(none)"


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.1f} %)" if whole else "0 of 0"


def report(path: Path, playbooks: Sequence[Playbook], show_errors: bool = False) -> str:
    comments = load_comments(path)
    ids = [p.id for p in playbooks]
    classifier = Classifier(playbooks)
    patterns = score(classifier.classify, comments, ids)
    baseline = score(keyword_baseline(playbooks), comments, ids)
    labelled = sum(1 for c in comments if c.labels)
    parts = [
        f"### `{path.name}`",
        "",
        f"{len(comments)} comments: {labelled} labelled with at least one playbook, "
        f"{patterns.negatives} that should match none.",
        "",
        "**Playbook patterns**",
        "",
        markdown_table(patterns),
        "",
        f"Comments that should match nothing but matched a playbook: "
        f"{_share(len(patterns.negatives_matched), patterns.negatives)}.",
        "",
    ]
    inline = [c for c in comments if c.kind == "inline"]
    if inline:
        only = score(classifier.classify, inline, ids)
        parts += [
            f"**Inline review comments only** ({len(inline)} comments)",
            "",
            markdown_table(only),
            "",
            f"Inline comments that should match nothing but matched a playbook: "
            f"{_share(len(only.negatives_matched), only.negatives)}.",
            "",
        ]
    parts += [
        "**Keyword baseline** (any word of the playbook title, case-insensitive)",
        "",
        markdown_table(baseline),
        "",
        f"Comments that should match nothing but matched a playbook: "
        f"{_share(len(baseline.negatives_matched), baseline.negatives)}.",
    ]
    if show_errors:
        parts += ["", "**Pattern misses and false alarms**", "", _errors(patterns, classifier)]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        action="append",
        type=Path,
        metavar="FILE",
        help="labelled JSON-lines file (repeatable; default: the four sets in tests/data)",
    )
    parser.add_argument(
        "--playbooks", type=Path, default=PLAYBOOK_DIR, metavar="DIR", help="playbook directory"
    )
    parser.add_argument(
        "--show-errors", action="store_true", help="list every missed comment and false alarm"
    )
    args = parser.parse_args(argv)

    loaded = load_playbooks(args.playbooks)
    if loaded.problems:
        for problem in loaded.problems:
            print(problem, file=sys.stderr)
        print("fix the playbook problems above before measuring accuracy", file=sys.stderr)
        return 1
    if not loaded.playbooks:
        print(f"no playbooks found in {args.playbooks}", file=sys.stderr)
        return 1
    playbooks = sorted(loaded.playbooks, key=lambda p: p.id)

    sections = [report(path, playbooks, args.show_errors) for path in args.data or DEFAULT_DATA]
    print("\n\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
