"""How the classifier's cost grows with the number of playbooks, beside a floor.

    python bench/classify_speed.py [--repeat 7] [--cli-lines 50000]

The nine shipped playbooks are topped up with generated ones to 10, 60 and 300 playbooks. A
generated playbook is a shipped one with every word of its patterns replaced by a made-up word
of the same length (its own words, in patterns shaped like the shipped ones), so the set grows
the way an organisation's would. For each size the script prints:

* microseconds per comment for ``Classifier.classify`` over the labelled comments' text in
  tests/data (the prefiltered set used by the bot), and the number of comments on which it
  agrees with trying every pattern one by one, line comments with their recorded diff hunk (it
  must be all of them);
* microseconds per line comment classified with its diff hunk (the ``match.on_code`` rules run
  too), over the labelled line comments whose hunk is recorded;
* the same for the single ``re2.Set`` the classifier used before (8 MiB), or that it fails;
* the floor: one RE2 search for a single literal over the same text, measured in the same run;
* comments per second through ``python -m bot classify`` (JSON lines in and out; one process on
  one core), with start-up (loading, validating and compiling the playbooks) measured separately
  and left out of the rate: once for the labelled comments over and over, once for 50,000
  distinct comments spliced from their words (:func:`spliced`), which the patterns' caches have
  not seen;
* the resident memory the classifier adds, measured in a fresh process.

The sizes are measured interleaved and each keeps its best run, since the machine is shared.
Last, the text clean-up on hostile comments (tens of thousands of newlines, quote markers,
unclosed HTML comments) beside the regular expressions it replaced.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import re2  # noqa: E402

from bot.core.classify import Classifier, code_lines, reviewer_words  # noqa: E402
from bot.core.playbook import OnCode, Playbook, load_playbooks, matches  # noqa: E402

SIZES = (10, 60, 300)
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"


# Made-up words in other scripts come from the same script's block (Hangul syllables, katakana,
# CJK ideographs), so a generated Korean, Japanese or Chinese word is as long and as rare as one
# a reviewer could write, but is not the shipped playbook's own word.
_BLOCKS = ((0xAC00, 0xD7A3), (0x3040, 0x30FF), (0x4E00, 0x9FFF))


def _fake_word(length: int, rng: random.Random) -> str:
    return "".join(rng.choice(_VOWELS if i % 2 else _CONSONANTS) for i in range(length))


def _fake_letter(c: str, rng: random.Random) -> str:
    for low, high in _BLOCKS:
        if low <= ord(c) <= high:
            return chr(rng.randint(low, high))
    return c


def _is_letter(c: str) -> bool:
    return c.isalpha() and (c.isascii() or any(lo <= ord(c) <= hi for lo, hi in _BLOCKS))


def rewrite_words(pattern: str, words: dict[str, str], rng: random.Random) -> str:
    """``pattern`` with each run of letters (ASCII, or Korean, Japanese or Chinese) outside
    escapes, classes and flag groups replaced by a made-up word of the same length and script
    (the same word for the same run)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if pattern[i + 1 : i + 2] in ("p", "P", "x") and pattern[i + 2 : i + 3] == "{":
                j = pattern.index("}", i)
                out.append(pattern[i : j + 1])
                i = j + 1
            else:
                out.append(pattern[i : i + 2])
                i += 2
        elif c == "[":
            j = i + 1
            if pattern[j : j + 1] == "^":
                j += 1
            if pattern[j : j + 1] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i : j + 1])
            i = j + 1
        elif c == "(" and pattern[i + 1 : i + 2] == "?":
            j = i + 2
            while j < n and pattern[j] not in ":)":
                j += 1
            out.append(pattern[i : j + 1])
            i = j + 1
        elif c == "{":
            j = pattern.index("}", i)
            out.append(pattern[i : j + 1])
            i = j + 1
        elif _is_letter(c):
            j = i
            while j < n and _is_letter(pattern[j]) and pattern[j].isascii() == c.isascii():
                j += 1
            word = pattern[i:j]
            if word.isascii():
                fake = words.setdefault(word.lower(), _fake_word(len(word), rng))
            else:
                fake = words.setdefault(word, "".join(_fake_letter(x, rng) for x in word))
            out.append(fake.upper() if word.isupper() else fake)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def generated_playbooks(shipped: list[Playbook], count: int, seed: int = 7) -> list[Playbook]:
    """``count`` distinct playbooks shaped like ``shipped`` (which come first, as they are)."""
    rng = random.Random(seed)
    shipped = sorted(shipped, key=lambda p: p.id)
    out = list(shipped[:count])
    number = 0
    while len(out) < count:
        base = shipped[number % len(shipped)]
        words: dict[str, str] = {}
        out.append(
            dataclasses.replace(
                base,
                id=f"generated-{number:03d}",
                title=f"Generated {number}",
                patterns=tuple(rewrite_words(p, words, rng) for p in base.patterns),
                exclude=tuple(rewrite_words(p, words, rng) for p in base.exclude),
                on_code=tuple(
                    OnCode(rewrite_words(r.comment, words, rng), rewrite_words(r.code, words, rng))
                    for r in base.on_code
                ),
                examples_match=(),
                examples_no_match=(),
                source=f"generated-{number:03d}.yml",
            )
        )
        number += 1
    return out


def write_playbooks(playbooks: list[Playbook], folder: Path) -> None:
    """Write playbooks as YAML files that ``load_playbooks`` reads back."""
    for p in playbooks:
        data = {
            "id": p.id,
            "title": p.title,
            "match": {
                "patterns": list(p.patterns),
                **({"exclude": list(p.exclude)} if p.exclude else {}),
                **(
                    {"on_code": [{"comment": r.comment, "code": r.code} for r in p.on_code]}
                    if p.on_code
                    else {}
                ),
            },
            "nudge": {"play": p.nudge.play},
        }
        (folder / f"{p.id}.yml").write_text(
            yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
        )


def labelled() -> list[tuple[str, str]]:
    """The labelled comments: (text, diff hunk), the hunk empty where none is recorded."""
    out = []
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                out.append((item["text"], item.get("diff_hunk") or ""))
    return out


def brute_force(playbooks: list[Playbook]):
    """Every pattern of every playbook tried one by one: the reference answer."""

    def predict(text: str, diff_hunk: str = "") -> list[str]:
        words, code = reviewer_words(text), code_lines(diff_hunk)
        return sorted(p.id for p in playbooks if matches(p, words, code))

    return predict


def old_set(playbooks: list[Playbook]):
    """The classifier as it was: every pattern in one re2.Set with 8 MiB."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = 8 << 20
    include = re2.Set.SearchSet(options)
    owners = []
    for p in playbooks:
        for x in p.patterns:
            include.Add(x)
            owners.append(p.id)
    include.Compile()

    def predict(text: str) -> set[str]:
        return {owners[i] for i in include.Match(reviewer_words(text)) or ()}

    return predict


def spliced(texts: list[str], count: int, seed: int = 5) -> list[str]:
    """``count`` distinct comments, each the first words of one labelled comment and the last
    words of another (3 to 25 words, numbered): real reviewers' words in an order the classifier
    has not seen, so the regular expressions' caches meet new text as they do in service."""
    rng = random.Random(seed)
    words = [t.split() for t in texts]
    out = []
    for number in range(count):
        a, b = rng.choice(words), rng.choice(words)
        length = rng.randint(3, 25)
        picked = (a[: rng.randint(0, len(a))] + b[rng.randint(0, len(b)) :])[:length] or ["hi"]
        out.append(" ".join(picked) + f" #{number}")
    return out


def per_comment(fn, items, repeat) -> float:
    """Best microseconds per call of ``fn(*item)`` over ``items``, of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(*item)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def cli_rate(folder: Path, lines: list[str]) -> tuple[float, float]:
    """Comments per second through ``python -m bot classify``, and its start-up in seconds.

    The process is started with one comment; once its answer is back (start-up is over), the
    clock starts, the other comments are written and every answer is read. The command writes
    its answers as soon as its input has nothing more to read, so the first one comes back at
    once."""
    command = [sys.executable, "-m", "bot", "classify", "--playbooks", str(folder)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write((lines[0] + "\n").encode())
    proc.stdin.flush()
    first = os.read(proc.stdout.fileno(), 1 << 16)
    startup = time.perf_counter() - start
    rest = ("\n".join(lines[1:]) + "\n").encode()
    clock = time.perf_counter()

    def feed() -> None:
        assert proc.stdin is not None
        proc.stdin.write(rest)
        proc.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    answered = first.count(b"\n")
    while chunk := os.read(proc.stdout.fileno(), 1 << 20):
        answered += chunk.count(b"\n")
    elapsed = time.perf_counter() - clock
    writer.join()
    proc.wait()
    if proc.returncode != 0 or answered != len(lines):
        raise SystemExit(f"python -m bot classify answered {answered} of {len(lines)} comments")
    return (len(lines) - 1) / max(elapsed, 1e-9), startup


def hostile_cleanup() -> list[str]:
    """The text clean-up on hostile comments, beside the regular expressions it replaced."""
    old_quoted = re.compile(r"^\s*>.*$", re.MULTILINE)
    old_html = re.compile(r"<!--.*?-->", re.DOTALL)

    def old(text: str) -> str:
        return old_quoted.sub(" ", old_html.sub(" ", text[:20_000]))

    cases = [
        ("20,000 newlines", "\n" * 20_000),
        ("50,000 newlines, then words", "\n" * 50_000 + "the socket leaks"),
        ("5,000 quoted lines", "> x\n" * 5_000),
        ("5,000 unclosed '<!--'", "<!--" * 5_000),
        ("1 MB of text, 50,000 newlines", ("word " * 8 + "\n") * 50_000),
    ]
    out = []
    for name, text in cases:
        start = time.perf_counter()
        reviewer_words(text)
        new = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        old(text)
        before = (time.perf_counter() - start) * 1000
        out.append(f"| {name} | {new:.2f} ms | {before:.0f} ms |")
    return out


_RSS = """
import json, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import classify_speed as cs
from bot.core.classify import Classifier
from bot.core.playbook import load_playbooks
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
playbooks = cs.generated_playbooks(load_playbooks({playbooks!r}).playbooks, {size})
pairs = cs.labelled()
before = rss()
classifier = Classifier(playbooks)
for text, hunk in pairs * 3:
    classifier.matches(text, hunk)
print(rss() - before)
"""


def classifier_memory(size: int) -> float:
    """MiB of resident memory the classifier of ``size`` playbooks adds, in a fresh process."""
    code = _RSS.format(
        root=str(ROOT), bench=str(ROOT / "bench"), playbooks=str(ROOT / "playbooks"), size=size
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cli-lines", type=int, default=50_000)
    args = parser.parse_args()
    shipped = load_playbooks(ROOT / "playbooks").playbooks
    pairs = labelled()
    texts = [text for text, _ in pairs]
    singles = [(text,) for text in texts]
    floor_rx = re2.compile("qzxjv")
    print(
        f"{len(texts)} labelled comments, average {sum(map(len, texts)) / len(texts):.0f} "
        f"characters; {sum(bool(h) for _, h in pairs)} of them line comments with their diff hunk\n"
    )
    sets = {size: generated_playbooks(shipped, size) for size in SIZES}
    classifiers = {size: Classifier(playbooks) for size, playbooks in sets.items()}
    agree = {
        size: sum(classifiers[size].classify(*p) == brute_force(sets[size])(*p) for p in pairs)
        for size in SIZES
    }
    # Interleave the sizes and keep each one's best run: the machine is shared.
    cost = {size: float("inf") for size in SIZES}
    with_code = {size: float("inf") for size in SIZES}
    hunked = [p for p in pairs if p[1]]
    floor = float("inf")
    for _ in range(args.repeat):
        for size in SIZES:
            cost[size] = min(cost[size], per_comment(classifiers[size].classify, singles, 1))
            code = per_comment(classifiers[size].classify, hunked, 1)
            with_code[size] = min(with_code[size], code)
            floor = min(floor, per_comment(floor_rx.search, singles, 1))
    # This process now holds every size's classifier: leave them out of its own garbage
    # collections, which would otherwise stall it while it reads the command's answers.
    gc.collect()
    gc.freeze()
    lines = [
        json.dumps({"text": t})
        for t in (texts * (args.cli_lines // len(texts) + 1))[: args.cli_lines]
    ]
    novel = [json.dumps({"text": t}) for t in spliced(texts, args.cli_lines)]
    print(
        "| Playbooks | Patterns | Classifier µs/comment | vs. 10 | Agrees with one-by-one "
        "| Line comment with its hunk µs | re2.Set before (8 MiB) µs/comment | Floor µs/comment "
        "| `python -m bot classify` comments/s | the same, distinct comments | Start-up s "
        "| Memory MiB |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in SIZES:
        playbooks = sets[size]
        try:
            before = f"{per_comment(old_set(playbooks), singles, 2):.1f}"
        except re2.error:
            before = "fails to compile"
        with tempfile.TemporaryDirectory() as tmp:
            write_playbooks(playbooks, Path(tmp))
            rate, startup = cli_rate(Path(tmp), lines)
            rate_novel, _ = cli_rate(Path(tmp), novel)
        patterns = sum(len(p.patterns) + len(p.exclude) for p in playbooks)
        print(
            f"| {size} | {patterns} | {cost[size]:.1f} | {cost[size] / cost[SIZES[0]]:.2f}× "
            f"| {agree[size]}/{len(texts)} | {with_code[size]:.1f} | {before} | {floor:.2f} "
            f"| {rate:,.0f} "
            f"| {rate_novel:,.0f} | {startup:.2f} | {classifier_memory(size):.0f} |"
        )
    print("\n| Hostile comment | Clean-up now | Regular expressions before |")
    print("| --- | ---: | ---: |")
    print("\n".join(hostile_cleanup()))


if __name__ == "__main__":
    main()
