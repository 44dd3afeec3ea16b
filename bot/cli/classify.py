"""``python -m bot classify``: which playbooks a review comment matches, and why, for authors.

Three ways in:

* JSON lines with a ``text`` field on standard input (the default): each object comes back with
  ``playbooks`` (the ids), and with ``--explain`` also ``matches`` (for each: ``playbook``,
  ``pattern``, ``words`` -- exactly what the pattern matched -- and ``quote``).
* ``--input text``: one comment per line of standard input, explained in plain words.
* ``--text "..."`` (repeatable): the same for comments given on the command line.
"""

from __future__ import annotations

import json
import select
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
    explain: bool = False,
) -> int:
    """Classify comments from ``texts``, or from ``inp`` as JSON lines or lines of text."""
    from bot.app.config import keep_out_of_collections
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
    # The compiled playbooks live as long as the process (hundreds of playbooks are millions of
    # objects): later garbage collections need not walk them again.
    keep_out_of_collections()
    if texts:
        for text in texts:
            _explain(classifier, text, out)
        return 0
    if input_format == "text":
        for line in inp:
            if line.strip():
                _explain(classifier, line.rstrip("\n"), out)
        return 0
    return _json_lines(classifier, inp, out, err, explain)


def _explain(classifier, text: str, out: TextIO) -> None:
    found = classifier.matches(text)
    out.write(f"{text}\n")
    if not found:
        out.write("  no playbook matched\n")
    out.writelines(
        f"  {match.playbook_id}\n    pattern: {match.pattern}\n"
        f"    matched: {match.words}\n    in:      {match.quote}\n"
        for match in found
    )


# Output lines are written in blocks (one write per line costs more than classifying it when
# the stream is unbuffered), but never held back while the input has nothing more to read.
BLOCK_LINES = 256


def _input_waits(inp: TextIO) -> bool:
    """Whether reading on would wait for more input (then pending output is written first)."""
    try:
        fd = inp.fileno()
        ready, _, _ = select.select([fd], [], [], 0)
    except (AttributeError, OSError, ValueError):
        return False
    return not ready


def _json_lines(classifier, inp: TextIO, out: TextIO, err: TextIO, explain: bool = False) -> int:
    status = 0
    dumps, loads = json.dumps, json.loads
    pending: list[str] = []

    def flush() -> None:
        if pending:
            out.write("".join(pending))
            out.flush()
            pending.clear()

    for number, line in enumerate(inp, start=1):
        if not line.strip():
            continue
        try:
            item = loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError("text must be a string")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            flush()
            print(
                f"line {number}: skipped, expected a JSON object with a text field ({exc})",
                file=err,
            )
            status = 1
            continue
        if explain:
            found = classifier.matches(text)
            item["playbooks"] = [m.playbook_id for m in found]
            item["matches"] = [
                {
                    "playbook": m.playbook_id,
                    "pattern": m.pattern,
                    "words": m.words,
                    "quote": m.quote,
                }
                for m in found
            ]
        else:
            item["playbooks"] = classifier.classify(text)
        pending.append(dumps(item, ensure_ascii=False) + "\n")
        if len(pending) >= BLOCK_LINES or _input_waits(inp):
            flush()
    flush()
    return status
