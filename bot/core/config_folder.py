"""A folder of playbooks and org settings read from a repository: last good versions, and the check.

The edge lists the folder and reads the files that changed; :func:`apply_folder` decides what is
in force: a file that parses replaces its last good version, a broken one keeps it (and its
problems are reported), a removed file is gone. :func:`check_run_report` is what the author sees
on the pushed commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.org import OrgSettings, parse_org_settings
from bot.core.patterns import DEFAULT_BUDGET, SetBudget
from bot.core.playbook import NOT_PLAYBOOKS, Playbook, SetUsage, parse_playbooks
from bot.core.yamlcheck import Problem

ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per check-run request


def is_org_file(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in NOT_PLAYBOOKS


def is_config_file(name: str) -> bool:
    return name.endswith((".yml", ".yaml"))


@dataclass(frozen=True)
class FileVersion:
    sha: str
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class FolderState:
    """What was last read of the folder, and the last good version of each file."""

    seen: Mapping[str, FileVersion] = field(default_factory=dict)  # path -> version last read
    playbooks: Mapping[str, Playbook] = field(default_factory=dict)  # path -> last good version
    org: OrgSettings | None = None  # the folder's last good org.yml, if it has one

    def problems(self) -> list[Problem]:
        return [p for version in self.seen.values() for p in version.problems]

    def playbook_list(self) -> list[Playbook]:
        return sorted(self.playbooks.values(), key=lambda p: p.id)

    def to_read(self, listing: Mapping[str, str]) -> tuple[list[str], set[str]]:
        """Of the folder's files now (path -> sha): those to read, and those removed."""
        changed = [
            path for path, sha in listing.items() if self.seen.get(path, FileVersion("")).sha != sha
        ]
        return changed, set(self.seen) - set(listing)


def apply_folder(
    state: FolderState,
    listing: Mapping[str, str],
    texts: Mapping[str, str],
    unreadable: Mapping[str, Problem] = {},
    budget: SetBudget = DEFAULT_BUDGET,
) -> FolderState:
    """The folder's new state from its listing (path -> sha) and the texts of the files read."""
    removed = set(state.seen) - set(listing)
    seen = {path: v for path, v in state.seen.items() if path not in removed}
    playbooks = {path: p for path, p in state.playbooks.items() if path not in removed}
    org = state.org
    if any(is_org_file(path) for path in removed):
        org = None
    for path, problem in unreadable.items():
        seen[path] = FileVersion(listing.get(path, ""), (problem,))
    texts = dict(texts)
    org_path = next((path for path in texts if is_org_file(path)), None)
    if org_path is not None:
        parsed, problems = parse_org_settings(texts.pop(org_path), org_path)
        seen[org_path] = FileVersion(listing.get(org_path, ""), tuple(problems))
        if parsed is not None:
            org = parsed
    # Playbook ids must be unique across the folder, so the changed files are parsed together
    # with the last good versions of the others (which cannot clash with each other).
    taken = {p.id: path for path, p in playbooks.items() if path not in texts}
    result = parse_playbooks(sorted(texts.items()), budget)
    by_path: dict[str, list[Problem]] = {path: [] for path in texts}
    for problem in result.problems:
        by_path.setdefault(problem.file, []).append(problem)
    # The classifier's budget counts every playbook in force: the ones kept, then the new ones.
    used = SetUsage()
    for path, kept in playbooks.items():
        if path not in texts:
            used.add(kept, budget)
    for playbook in result.playbooks:
        if playbook.id in taken:
            by_path[playbook.source].append(
                Problem(
                    playbook.source,
                    1,
                    "id",
                    f"'{playbook.id}' is already used by {taken[playbook.id]}",
                )
            )
        elif (reason := used.add(playbook, budget)) is not None:
            by_path[playbook.source].append(Problem(playbook.source, 1, "match", reason))
        else:
            playbooks[playbook.source] = playbook
    for path, problems in by_path.items():
        seen[path] = FileVersion(listing.get(path, ""), tuple(problems))
    return FolderState(seen, playbooks, org)


@dataclass(frozen=True)
class CheckRunReport:
    title: str
    summary: str
    conclusion: str  # success · failure
    annotations: tuple[tuple[dict[str, Any], ...], ...]  # one batch per request, at least one


def annotation(problem: Problem) -> dict[str, Any]:
    """One problem as a check-run annotation at its file and line."""
    return {
        "path": problem.file,
        "start_line": problem.line,
        "end_line": problem.line,
        "annotation_level": "failure",
        "title": problem.field,
        "message": f"{problem.field}: {problem.message}",
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def check_run_report(
    problems: Sequence[Problem],
    playbooks_loaded: int,
    *,
    per_request: int = ANNOTATIONS_PER_REQUEST,
) -> CheckRunReport:
    """Success, or failure with one annotation per problem at its file and line."""
    files = sorted({p.file for p in problems})
    if problems:
        title = f"{_plural(len(problems), 'problem')} in {_plural(len(files), 'file')}"
        summary = (
            "These files were not loaded; the last good version of each stays in force until it is fixed: "
            + ", ".join(f"`{f}`" for f in files)
            + ". Check a change before pushing with `python -m bot validate`."
        )
    else:
        title = f"{playbooks_loaded} playbooks loaded"
        summary = "Every playbook and the org settings loaded; the new version is in force."
    annotations = [annotation(p) for p in sorted(problems)]
    batches = tuple(
        tuple(annotations[i : i + per_request]) for i in range(0, len(annotations), per_request)
    ) or ((),)
    return CheckRunReport(title, summary, "failure" if problems else "success", batches)
