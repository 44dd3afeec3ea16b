"""``python -m bot validate``: every problem of playbooks and org settings, as file:line: field: fix.

Problems stop a file from loading (exit status 1). Warnings (``file:line: warning: ...``) name
settings that load but cannot work as meant, such as a significant playbook nobody can co-sign;
warnings alone leave the exit status 0.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.app.settings import SHIPPED_PLAYBOOKS

DEFAULT_PLAYBOOKS = SHIPPED_PLAYBOOKS


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def validate(paths: Sequence[Path], out: TextIO = sys.stdout) -> int:
    """Check playbooks (and org settings) for their authors; 1 when anything is broken."""
    from bot.core.org import ORG_FILE, cosign_warnings, parse_org_settings
    from bot.core.playbook import NOT_PLAYBOOKS, load_playbooks, playbook_files
    from bot.core.repo_settings import REPO_FILE, parse_repo_settings

    paths = list(paths) or [DEFAULT_PLAYBOOKS]
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(
            f"{path}:1: (file): does not exist; give a playbook file or a folder of them", file=out
        )
    present = [p for p in paths if p.exists()]
    # A repository's own settings file (.github/learning-nudges.yml) is checked as such.
    repo_files = [p for p in present if p.is_file() and p.name == REPO_FILE.rsplit("/", 1)[-1]]
    present = [p for p in present if p not in repo_files]
    for folder in (p for p in present if p.is_dir()):
        if not list(playbook_files([folder])):
            print(
                f"{folder}:1: (folder): has no playbook files (*.yml); give the folder that "
                "holds them, or a playbook file",
                file=out,
            )
            missing.append(folder)
    result = load_playbooks(*present)
    problems = list(result.problems)
    for repo_file in repo_files:
        known = [p.id for p in load_playbooks(DEFAULT_PLAYBOOKS).playbooks]
        problems += parse_repo_settings(
            repo_file.read_text(encoding="utf-8"), str(repo_file), known
        )[1]
    significant = [p.id for p in result.playbooks if p.significant and not p.paused]
    org_files = [p / ORG_FILE for p in present if p.is_dir() and (p / ORG_FILE).exists()]
    org_files += [p for p in present if p.is_file() and p.name in NOT_PLAYBOOKS]
    for org_file in org_files:
        try:
            text = org_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{org_file}:1: (file): cannot be read: {exc}", file=out)
            missing.append(org_file)
            continue
        problems += parse_org_settings(text, str(org_file))[1]
        problems += cosign_warnings(text, str(org_file), significant)
    for problem in sorted(problems):
        print(problem, file=out)
    errors = [p for p in problems if not p.warning]
    warnings = len(problems) - len(errors)
    broken = len({p.file for p in errors}) + len(missing)
    ok = len(result.playbooks)
    print(
        f"{_plural(ok, 'playbook')} OK"
        + (f", {len(org_files)} org settings file checked" if org_files else "")
        + (f"; {_plural(broken, 'file')} with problems" if broken else "")
        + (f"; {_plural(warnings, 'warning')}" if warnings else ""),
        file=out,
    )
    return 1 if errors or missing else 0
