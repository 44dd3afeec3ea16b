"""A repository's own say: ``.github/learning-nudges.yml`` on its default branch.

```yaml
enabled: true                 # false: the app stays silent in this repository
playbooks_off: [missing-tests]  # these playbooks never nudge here
paths: ["src/**"]             # only review comments on these files count (globs)
paths_ignore: ["vendor/**"]   # review comments on these files never count
```

Validated with the same file:line messages as the playbooks. A broken file keeps the last good
version in force (:func:`apply_repo_file`); :func:`repo_gate` is the decision core's gate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.core.config_folder import CheckRunReport, check_run_report
from bot.core.yamlcheck import Field, Problem, check_fields, parse_yaml

REPO_FILE = ".github/learning-nudges.yml"
SWITCHED_OFF = f"switched off in this repository by {REPO_FILE}"
MAX_GLOBS = 100


def _glob_check(item: str) -> str | None:
    if len(item) > 300 or item.strip().startswith("/") or "\\" in item:
        return (
            f"{item!r} is not a path pattern of this repository; write it relative to the "
            "repository's root, with '/', like 'src/**'"
        )
    return None


def _at_most(value: list[object]) -> str | None:
    return f"lists {len(value)} patterns; at most {MAX_GLOBS}" if len(value) > MAX_GLOBS else None


def _id_check(value: str) -> str | None:
    if re.match(r"^[a-z0-9][a-z0-9-]*$", value):
        return None
    return f"{value!r} is not a playbook id; write ids as in the playbooks, like missing-tests"


_GLOB = Field("text", example="'src/**'", checks=(_glob_check,))
SCHEMA: dict[str, Field] = {
    "enabled": Field("bool", example="true"),
    "playbooks_off": Field(
        "list",
        example="[missing-tests]",
        item=Field("text", example="missing-tests", checks=(_id_check,)),
    ),
    "paths": Field("list", example="['src/**']", item=_GLOB, checks=(_at_most,)),
    "paths_ignore": Field("list", example="['vendor/**']", item=_GLOB, checks=(_at_most,)),
}


@dataclass(frozen=True)
class RepoSettings:
    enabled: bool = True
    playbooks_off: frozenset[str] = frozenset()
    paths: tuple[str, ...] = ()
    paths_ignore: tuple[str, ...] = ()
    source: str = "(no file)"


DEFAULT = RepoSettings()


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``**`` any depth, ``*`` within one folder, ``?`` one character; a folder/ matches under it."""
    out = ""
    i = 0
    text = pattern.strip()
    if text.endswith("/"):
        text += "**"
    while i < len(text):
        if text.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif text.startswith("**", i):
            out += ".*"
            i += 2
        elif text[i] == "*":
            out += "[^/]*"
            i += 1
        elif text[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(text[i])
            i += 1
    # A pattern without a folder ('*.py') matches at any depth, as in .gitignore.
    if "/" not in text.rstrip("/"):
        out = "(?:.*/)?" + out
    return re.compile(out + r"\Z")


def path_matches(path: str, patterns: Iterable[str]) -> bool:
    return any(glob_regex(p).match(path) for p in patterns)


def repo_gate(
    settings: RepoSettings | None, playbook_id: str | None, path: str | None
) -> str | None:
    """Why the repository's settings keep this comment (for this playbook) out, or None."""
    if settings is None:
        return None
    if not settings.enabled:
        return SWITCHED_OFF
    if playbook_id is not None and playbook_id in settings.playbooks_off:
        return f"{playbook_id} {SWITCHED_OFF}"
    if path:
        if settings.paths and not path_matches(path, settings.paths):
            return f"{path} is outside the paths of {REPO_FILE}"
        if path_matches(path, settings.paths_ignore):
            return f"{path} is ignored by {REPO_FILE}"
    return None


def parse_repo_settings(
    text: str, file: str = REPO_FILE, known_playbooks: Sequence[str] = ()
) -> tuple[RepoSettings | None, list[Problem]]:
    """Parse and validate the file (pure); an unknown playbook id is a warning, not an error."""
    doc, problems = parse_yaml(text, file)
    if doc is None:
        return None, problems
    problems += check_fields(doc, SCHEMA)
    if any(not p.warning for p in problems):
        return None, problems
    data = doc.data or {}
    off = [str(v) for v in data.get("playbooks_off") or ()]
    if known_playbooks:
        for index, pid in enumerate(off):
            if pid not in known_playbooks:
                found = doc.problem(
                    ("playbooks_off", index),
                    f"no playbook is called {pid!r}; the playbooks are: {', '.join(sorted(known_playbooks))}",
                )
                problems.append(replace(found, warning=True))
    return (
        RepoSettings(
            enabled=data.get("enabled", True) is not False,
            playbooks_off=frozenset(off),
            paths=tuple(data.get("paths") or ()),
            paths_ignore=tuple(data.get("paths_ignore") or ()),
            source=file,
        ),
        problems,
    )


def apply_repo_file(
    last_good: RepoSettings | None, parsed: RepoSettings | None, problems: Sequence[Problem]
) -> RepoSettings:
    """What is in force after reading the file: the new version, or the last good one if broken."""
    if parsed is not None:
        return parsed
    return last_good if last_good is not None else DEFAULT


def repo_check_report(problems: Sequence[Problem]) -> CheckRunReport:
    """The check run on the pushed commit: success, or failure at file and line."""
    report = check_run_report(problems, 0)
    errors = [p for p in problems if not p.warning]
    if errors:
        return replace(
            report,
            title=f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in {REPO_FILE}",
            summary=(
                f"`{REPO_FILE}` was not loaded; its last good version stays in force for this "
                "repository until it is fixed."
            ),
        )
    return replace(
        report,
        conclusion="success",
        title=f"{REPO_FILE} loaded",
        summary="The repository's Learning Nudges settings are in force.",
    )
