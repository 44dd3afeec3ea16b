"""``python -m bot classify``: which playbooks a review comment matches, for authors trying patterns."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO


def classify(playbooks_dir: Path, inp: TextIO = sys.stdin, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """JSON lines with ``text`` in, the same objects with ``playbooks`` out."""
    from bot.core.classify import Classifier
    from bot.core.playbook import load_playbooks

    result = load_playbooks(playbooks_dir)
    for problem in result.problems:
        print(f"skipped: {problem}", file=err)
    classifier = Classifier(result.playbooks)
    status = 0
    for number, line in enumerate(inp, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError("text must be a string")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            print(f"line {number}: skipped, expected a JSON object with a text field ({exc})", file=err)
            status = 1
            continue
        item["playbooks"] = classifier.classify(text)
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
    return status
