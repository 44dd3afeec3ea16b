"""How fast the classifier is: one RE2 set pass vs. Python's re, pattern by pattern.

    python bench/classify_speed.py [--lines 1000] [--repeat 5]

Prints comments per second for the shipped playbooks on the labelled comments (repeated to the
requested count), for RE2 with one re2.Set and, as the baseline measured in the same run, for
Python's `re` trying every pattern of every playbook in turn; then the wall time of
`python -m bot classify` on the same lines, start-up included. The last line times one hostile
comment (a classic catastrophic-backtracking input) for both engines where `re` is bounded.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.classify import Classifier, reviewer_words  # noqa: E402
from bot.core.playbook import load_playbooks  # noqa: E402


def comments(n: int) -> list[str]:
    texts = []
    for name in ("comments-tuning.jsonl", "comments-holdout.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text().splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return (texts * (n // len(texts) + 1))[:n]


class PythonRe:
    def __init__(self, playbooks):
        self.rules = [
            (p.id, [re.compile(x, re.I) for x in p.patterns], [re.compile(x, re.I) for x in p.exclude])
            for p in playbooks
        ]

    def classify(self, text: str) -> list[str]:
        words = reviewer_words(text)
        return sorted(
            pid for pid, inc, exc in self.rules
            if any(r.search(words) for r in inc) and not any(r.search(words) for r in exc)
        )


def rate(fn, texts, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for t in texts:
            fn(t)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best, best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    playbooks = load_playbooks(ROOT / "playbooks").playbooks
    texts = comments(args.lines)
    re2_cls, py_cls = Classifier(playbooks), PythonRe(playbooks)
    agree = sum(re2_cls.classify(t) == py_cls.classify(t) for t in texts)
    patterns = sum(len(p.patterns) for p in playbooks)
    print(f"{len(playbooks)} playbooks, {patterns} patterns, {len(texts)} comments; engines agree on {agree}/{len(texts)}")
    r2, t2 = rate(re2_cls.classify, texts, args.repeat)
    rp, tp = rate(py_cls.classify, texts, args.repeat)
    print(f"re2.Set, one pass       : {r2:>10,.0f} comments/s  ({t2 * 1000:.1f} ms for {len(texts)})")
    print(f"python re, each pattern : {rp:>10,.0f} comments/s  ({tp * 1000:.1f} ms for {len(texts)})  [baseline]")
    stdin = "\n".join(json.dumps({"text": t}) for t in texts)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "classify"], input=stdin, text=True, capture_output=True, check=True, cwd=ROOT)
    print(f"python -m bot classify  : {time.perf_counter() - start:.2f} s wall for {len(texts)} lines, start-up included")
    hostile = "a" * 24 + "!"
    evil = re.compile(r"(a+)+$")
    start = time.perf_counter()
    evil.search(hostile)
    py_hostile = time.perf_counter() - start
    import re2

    start = time.perf_counter()
    re2.compile(r"(a+)+$").search(hostile)
    print(f"hostile input '(a+)+$' on 'a'*24+'!': re2 {(time.perf_counter() - start) * 1000:.3f} ms, python re {py_hostile * 1000:.0f} ms [baseline]")


if __name__ == "__main__":
    main()
