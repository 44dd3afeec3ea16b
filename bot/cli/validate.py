"""``python -m bot validate``: every problem of playbooks and org settings, as file:line: field: fix."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.app.settings import PACKAGE_ROOT

DEFAULT_PLAYBOOKS = PACKAGE_ROOT / "playbooks"


def validate(paths: Sequence[Path], out: TextIO = sys.stdout) -> int:
    """Check playbooks (and org settings) for their authors; 1 when anything is broken."""
    from bot.core.org import ORG_FILE, parse_org_settings
    from bot.core.playbook import NOT_PLAYBOOKS, load_playbooks

    paths = list(paths) or [DEFAULT_PLAYBOOKS]
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"{path}:1: (file): does not exist; give a playbook file or a folder of them", file=out)
    present = [p for p in paths if p.exists()]
    result = load_playbooks(*present)
    problems = list(result.problems)
    org_files = [p / ORG_FILE for p in present if p.is_dir() and (p / ORG_FILE).exists()]
    org_files += [p for p in present if p.is_file() and p.name in NOT_PLAYBOOKS]
    for org_file in org_files:
        problems += parse_org_settings(org_file.read_text(encoding="utf-8"), str(org_file))[1]
    for problem in sorted(problems):
        print(problem, file=out)
    broken = len({p.file for p in problems}) + len(missing)
    ok = len(result.playbooks)
    print(
        f"{ok} playbook{'s' if ok != 1 else ''} OK"
        + (f", {len(org_files)} org settings file checked" if org_files else "")
        + (f"; {broken} file{'s' if broken != 1 else ''} with problems" if broken else ""),
        file=out,
    )
    return 1 if problems or missing else 0
