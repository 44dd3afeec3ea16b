"""Would a learned second stage beat the patterns on real review comments?

Trains logistic regressions on word and character n-grams (TF-IDF, scikit-learn) of labelled
comments: one that says whether a comment raises any playbook's issue, and one per playbook. It
then scores, on the same labelled files as ``bench/playbook_accuracy.py``, the patterns alone
beside the ways a learned stage could be put with them:

* **patterns, vetoed**: a pattern's match is kept only where the learned stage agrees;
* **learned alone**: the learned stage without the patterns;
* **patterns or learned**: a comment matches where either says so.

Two measurements, both printed:

1. **Cross-validation on the real tuning split**, five folds by repository (no repository in
   two folds); each fold's model is trained on the other folds and on the two written sets. The
   patterns themselves were tuned on this split, so their row here is optimistic; the learned
   rows are not.
2. **The real holdout**, with a model trained on the whole real tuning split and the written
   sets. Nothing here is tuned on it.

    pip install -e '.[bench]'              # scikit-learn, for this script only
    python bench/second_stage.py           # both measurements, about 30 s
    python bench/second_stage.py --words   # and the n-grams that weigh most in each direction

The product ships the patterns alone; README.md ("How well the playbooks recognise review
comments") gives this script's figures and why.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from playbook_accuracy import DATA_DIR, PLAYBOOK_DIR, Comment, load_comments, score
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.core.classify import Classifier, reviewer_words  # noqa: E402
from bot.core.playbook import load_playbooks  # noqa: E402

ANY = ""  # the model that says whether a comment raises any playbook's issue
FOLDS = 5


class Learned:
    """TF-IDF over word 1-2-grams and character 2-4-grams (the latter for Korean, Japanese and
    Chinese, which have no spaces between words), and one logistic regression per target."""

    def __init__(self, comments: Sequence[Comment], ids: Sequence[str], strength: float):
        self.words = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"(?u)\b\w[\w'+]*\b"
        )
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), min_df=3, sublinear_tf=True
        )
        texts = [reviewer_words(c.text) for c in comments]
        x = hstack([self.words.fit_transform(texts), self.chars.fit_transform(texts)]).tocsr()
        self.models = {}
        for target in [ANY, *ids]:
            y = np.array(
                [bool(c.labels) if target == ANY else target in c.labels for c in comments]
            )
            self.models[target] = LogisticRegression(
                C=strength, max_iter=5000, class_weight="balanced"
            ).fit(x, y)

    def probabilities(self, comments: Sequence[Comment]) -> dict[str, np.ndarray]:
        texts = [reviewer_words(c.text) for c in comments]
        x = hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()
        return {target: m.predict_proba(x)[:, 1] for target, m in self.models.items()}

    def heaviest(self, target: str, count: int) -> tuple[list[str], list[str]]:
        """The n-grams that push most towards, and most against, ``target``."""
        names = np.concatenate(
            [self.words.get_feature_names_out(), self.chars.get_feature_names_out()]
        )
        weights = self.models[target].coef_[0]
        order = np.argsort(weights)
        return [repr(n) for n in names[order[::-1][:count]]], [
            repr(n) for n in names[order[:count]]
        ]


# name -> (what the patterns found, the learned probabilities, ids) -> predicted ids per comment
Stage = Callable[[list[list[str]], dict[str, np.ndarray], Sequence[str]], list[list[str]]]


def stages() -> dict[str, Stage]:
    def vetoed(target_any: bool, floor: float) -> Stage:
        def run(found, p, ids):
            return [
                [pid for pid in f if (p[ANY] if target_any else p[pid])[i] >= floor]
                for i, f in enumerate(found)
            ]

        return run

    def learned(floor: float, with_patterns: bool) -> Stage:
        def run(found, p, ids):
            return [
                sorted(
                    {pid for pid in ids if p[pid][i] >= floor}
                    | (set(f) if with_patterns else set())
                )
                for i, f in enumerate(found)
            ]

        return run

    return {
        "patterns alone (shipped)": lambda found, p, ids: found,
        "patterns, kept where P(any issue) >= 0.3": vetoed(True, 0.3),
        "patterns, kept where P(any issue) >= 0.5": vetoed(True, 0.5),
        "patterns, kept where P(that playbook) >= 0.3": vetoed(False, 0.3),
        "patterns, kept where P(that playbook) >= 0.5": vetoed(False, 0.5),
        "learned alone, P(playbook) >= 0.5": learned(0.5, False),
        "learned alone, P(playbook) >= 0.7": learned(0.7, False),
        "learned alone, P(playbook) >= 0.9": learned(0.9, False),
        "patterns or P(playbook) >= 0.9": learned(0.9, True),
    }


def rows_for(
    comments: Sequence[Comment], predicted: dict[str, list[list[str]]], ids: Sequence[str]
) -> list[list[str]]:
    rows = []
    for name, per_comment in predicted.items():
        # the files hold no text twice, so the text finds its comment's prediction
        by_text = {c.text: p for c, p in zip(comments, per_comment)}
        result = score(lambda text, _hunk, known=by_text: known[text], comments, ids)
        m = result.micro
        predicted_count = m.true_pos + m.false_pos
        p, r = m.precision or 0.0, m.recall or 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        flagged = len(result.negatives_matched)
        rows.append(
            [
                name,
                f"{m.true_pos}/{predicted_count} = {p:.2f}",
                f"{m.true_pos}/{m.positives} = {r:.2f}",
                f"{flagged}/{result.negatives} = {100 * flagged / result.negatives:.1f} %",
                f"{f1:.2f}",
            ]
        )
    return rows


def predictions(
    classifier: Classifier, model: Learned, comments: Sequence[Comment], ids: Sequence[str]
) -> dict[str, list[list[str]]]:
    found = [classifier.classify(c.text, c.diff_hunk) for c in comments]
    p = model.probabilities(comments)
    return {name: stage(found, p, ids) for name, stage in stages().items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strength", type=float, default=10.0, help="inverse L2 penalty (C)")
    parser.add_argument("--words", action="store_true", help="print the heaviest n-grams")
    args = parser.parse_args(argv)

    loaded = load_playbooks(PLAYBOOK_DIR)
    playbooks = sorted(loaded.playbooks, key=lambda p: p.id)
    ids = [p.id for p in playbooks]
    classifier = Classifier(playbooks)
    written = load_comments(DATA_DIR / "comments-tuning.jsonl") + load_comments(
        DATA_DIR / "comments-holdout.jsonl"
    )
    tuning = load_comments(DATA_DIR / "real-tuning.jsonl")
    holdout = load_comments(DATA_DIR / "real-holdout.jsonl")
    header = ["", "precision", "recall", "`none` flagged", "F1"]

    # 1. cross-validation on the tuning split, folds by repository
    groups = [c.source.split("#")[0] for c in tuning]
    folded: dict[str, list[list[str]]] = {name: [[] for _ in tuning] for name in stages()}
    for train, test in GroupKFold(FOLDS).split(tuning, groups=groups):
        model = Learned([tuning[i] for i in train] + written, ids, args.strength)
        part = predictions(classifier, model, [tuning[i] for i in test], ids)
        for name, per_comment in part.items():
            for i, p in zip(test, per_comment):
                folded[name][i] = p
    print(f"## Real tuning split, {FOLDS}-fold cross-validation by repository ({len(tuning)})\n")
    print(tabulate(rows_for(tuning, folded, ids), headers=header, tablefmt="github"))

    # 2. the real holdout, model trained on all of the tuning split and the written sets
    model = Learned(tuning + written, ids, args.strength)
    print(f"\n## Real holdout ({len(holdout)} comments), trained on the tuning split\n")
    print(
        tabulate(
            rows_for(holdout, predictions(classifier, model, holdout, ids), ids),
            headers=header,
            tablefmt="github",
        )
    )
    if args.words:
        for target in [ANY, *ids]:
            towards, against = model.heaviest(target, 12)
            print(f"\n{target or 'any issue'}: towards {', '.join(towards)}")
            print(f"{' ' * len(target or 'any issue')}  against {', '.join(against)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
