"""``python -m bot classify``: which playbooks a review comment matches, and why, for authors.

Three ways in:

* JSON lines with a ``text`` field on standard input (the default), and for a line comment its
  ``diff_hunk`` as GitHub sends it: each object comes back with ``playbooks`` (the ids), and with
  ``--explain`` also ``matches`` (for each: ``playbook``, ``pattern``, ``words`` -- exactly what
  the pattern matched -- and ``quote``; for a match by a ``match.on_code`` rule also
  ``code_pattern`` and ``code_words``).
* ``--input text``: one comment per line of standard input, explained in plain words.
* ``--text "..."`` (repeatable): the same for comments given on the command line; ``--code``
  gives the code they are on.
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
    code: str = "",
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
            _explain(classifier, text, out, _as_hunk(code))
        return 0
    if input_format == "text":
        for line in inp:
            if line.strip():
                _explain(classifier, line.rstrip("\n"), out)
        return 0
    return _json_lines(classifier, inp, out, err, explain)


def _as_hunk(code: str) -> str:
    """Code given on the command line as a diff hunk: plain lines become unchanged lines."""
    if not code or code.startswith("@@"):
        return code
    return "@@ @@\n" + "\n".join(" " + line for line in code.split("\n"))


def _explain(classifier, text: str, out: TextIO, diff_hunk: str = "") -> None:
    found = classifier.matches(text, diff_hunk)
    out.write(f"{text}\n")
    if not found:
        out.write("  no playbook matched\n")
    out.writelines(
        f"  {match.playbook_id}\n    pattern: {match.pattern}\n"
        f"    matched: {match.words}\n    in:      {match.quote}\n"
        + (
            f"    on code: {match.code_pattern}\n    code:    {match.code_words}\n"
            if match.code_pattern
            else ""
        )
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
            hunk = item.get("diff_hunk") or ""
            if not isinstance(text, str) or not isinstance(hunk, str):
                raise TypeError("text and diff_hunk must be strings")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            flush()
            print(
                f"line {number}: skipped, expected a JSON object with a text field ({exc})",
                file=err,
            )
            status = 1
            continue
        if explain:
            found = classifier.matches(text, hunk)
            item["playbooks"] = [m.playbook_id for m in found]
            item["matches"] = [
                {
                    "playbook": m.playbook_id,
                    "pattern": m.pattern,
                    "words": m.words,
                    "quote": m.quote,
                    **(
                        {"code_pattern": m.code_pattern, "code_words": m.code_words}
                        if m.code_pattern
                        else {}
                    ),
                }
                for m in found
            ]
        else:
            item["playbooks"] = classifier.classify(text, hunk)
        pending.append(dumps(item, ensure_ascii=False) + "\n")
        if len(pending) >= BLOCK_LINES or _input_waits(inp):
            flush()
    flush()
    return status
