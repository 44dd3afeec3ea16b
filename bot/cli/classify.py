"""``python -m bot classify``: which playbooks a review comment matches, and why, for authors.

Three ways in:

* JSON lines with a ``text`` field on standard input (the default): each object comes back with
  ``playbooks`` (the ids) and ``matches`` (for each: ``playbook``, ``pattern``, ``quote``).
* ``--input text``: one comment per line of standard input, explained in plain words.
* ``--text "..."`` (repeatable): the same for comments given on the command line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO


def classify(
    playbooks_dir: Path,
    inp: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    texts: Sequence[str] | None = None,
    input_format: str = "json",
) -> int:
    """Classify comments from ``texts``, or from ``inp`` as JSON lines or lines of text."""
    from bot.core.classify import Classifier, PatternSetTooLarge
    from bot.core.playbook import load_playbooks

    result = load_playbooks(playbooks_dir)
    for problem in result.problems:
        print(f"skipped: {problem}", file=err)
    try:
        classifier = Classifier(result.playbooks)
    except PatternSetTooLarge as exc:
        print(f"cannot classify: {exc}", file=err)
        return 2
    if texts:
        for text in texts:
            _explain(classifier, text, out)
        return 0
    if input_format == "text":
        for line in inp:
            if line.strip():
                _explain(classifier, line.rstrip("\n"), out)
        return 0
    return _json_lines(classifier, inp, out, err)


def _explain(classifier, text: str, out: TextIO) -> None:
    found = classifier.matches(text)
    out.write(f"{text}\n")
    if not found:
        out.write("  no playbook matched\n")
    for match in found:
        out.write(
            f"  {match.playbook_id}\n    pattern: {match.pattern}\n"
            f"    matched: {match.words}\n    in:      {match.quote}\n"
        )


def _json_lines(classifier, inp: TextIO, out: TextIO, err: TextIO) -> int:
    status = 0
    dumps, loads = json.dumps, json.loads
    write = out.write
    for number, line in enumerate(inp, start=1):
        if not line.strip():
            continue
        try:
            item = loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError("text must be a string")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            print(f"line {number}: skipped, expected a JSON object with a text field ({exc})", file=err)
            status = 1
            continue
        found = classifier.matches(text)
        item["playbooks"] = [m.playbook_id for m in found]
        item["matches"] = [
            {"playbook": m.playbook_id, "pattern": m.pattern, "words": m.words, "quote": m.quote} for m in found
        ]
        write(dumps(item, ensure_ascii=False) + "\n")
    return status
