"""Which code a playbook is about, matched against the files a pull request changes.

A playbook's ``applies_to`` names path globs (``src/**/*.py``, ``*.sql``), languages (by file
extension) and, optionally, RE2 patterns that an added line of the diff must match. A follow-up
is only delivered on a pull request that changes such a file. Without ``applies_to``, every file
but documentation counts, so a pull request that touches only docs never gets a follow-up.

GitHub lists at most :data:`GITHUB_FILES_CAP` files of a pull request (and omits the ``patch``
of very large or binary files); :class:`PullFiles` says when the list was cut short, and the
relevance found in the files listed is what counts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import re2

from bot.core.patterns import RE2_OPTIONS  # the playbooks' options: case-insensitive, bounded

# GitHub's "List pull requests files" returns at most this many files, 100 per page.
GITHUB_FILES_CAP = 3000
FILES_PER_PAGE = 100

# Languages an L&D author may name, and the file extensions that are written in them.
LANGUAGES: dict[str, tuple[str, ...]] = {
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx"),
    "csharp": (".cs",),
    "go": (".go",),
    "java": (".java",),
    "javascript": (".js", ".jsx", ".mjs", ".cjs"),
    "kotlin": (".kt", ".kts"),
    "php": (".php",),
    "python": (".py",),
    "ruby": (".rb", ".erb"),
    "rust": (".rs",),
    "scala": (".scala",),
    "shell": (".sh", ".bash"),
    "sql": (".sql",),
    "swift": (".swift",),
    "typescript": (".ts", ".tsx"),
    "yaml": (".yml", ".yaml"),
    "terraform": (".tf",),
}
# What counts as documentation when a playbook says nothing about the code it is about.
DOC_SUFFIXES = frozenset({".md", ".markdown", ".rst", ".txt", ".adoc", ".png", ".jpg", ".svg"})
DOC_FOLDERS = frozenset({"docs", "doc"})
DOC_NAMES = frozenset({"license", "changelog", "authors", "codeowners", "notice"})


@dataclass(frozen=True)
class AppliesTo:
    """What a playbook's ``applies_to`` block says (empty: any file but documentation)."""

    paths: tuple[str, ...] = ()  # globs; '**' crosses folders, a glob without '/' names a file
    exclude_paths: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # keys of LANGUAGES
    added_lines: tuple[str, ...] = ()  # RE2 patterns, one of which an added line must match
    code_scanning_rules: tuple[str, ...] = ()  # code scanning rule ids, globs allowed
    cwe: tuple[int, ...] = ()  # CWE numbers, matched against a rule's external/cwe/cwe-N tags

    @property
    def given(self) -> bool:
        return bool(self.paths or self.languages or self.added_lines)


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str = "modified"  # added · modified · removed · renamed · ...
    patch: str | None = None  # None when GitHub left the diff out (large or binary files)


@dataclass(frozen=True)
class PullFiles:
    files: tuple[ChangedFile, ...]
    complete: bool = True  # False when GitHub's cap cut the list short


def files_from_api(entries: Iterable[dict[str, Any]]) -> PullFiles:
    """The listed files of ``GET /repos/{owner}/{repo}/pulls/{n}/files`` (all pages together)."""
    files = tuple(
        ChangedFile(str(e["filename"]), str(e.get("status") or "modified"), e.get("patch"))
        for e in entries
        if isinstance(e, dict) and e.get("filename")
    )
    return PullFiles(files, complete=len(files) < GITHUB_FILES_CAP)


@functools.lru_cache(maxsize=512)
def glob_regex(glob: str) -> re.Pattern[str]:
    """A path glob as a regular expression: ``**`` any folders, ``*`` and ``?`` within one name.

    A glob without a ``/`` names a file anywhere (``*.sql``); one with a ``/`` is anchored at the
    repository's root (``src/db/**``).
    """
    glob = glob.strip().lstrip("/")
    out = [] if "/" in glob else ["(?:.*/)?"]
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_problem(glob: str) -> str | None:
    """Why a path glob cannot be used, for the playbook's validation."""
    if not glob.strip():
        return "is empty; write a path pattern like 'src/**/*.py' or '*.sql'"
    if any(c in glob for c in "[]{}\\"):
        return "may use only *, ** and ? as wildcards; write one pattern per line, like '*.sql'"
    return None


def _is_docs(path: str) -> bool:
    p = PurePosixPath(path.lower())
    return (
        p.suffix in DOC_SUFFIXES
        or any(part in DOC_FOLDERS for part in p.parts[:-1])
        or p.stem in DOC_NAMES
    )


def _added_lines(patch: str | None) -> list[str]:
    return [
        line[1:]
        for line in (patch or "").splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]


def _compiled(patterns: Sequence[str]) -> list[Any]:
    return [re2.compile(p, RE2_OPTIONS) for p in patterns]


def file_matches(applies: AppliesTo, changed: ChangedFile) -> bool:
    """Whether this changed file is the kind of code the playbook is about."""
    path = changed.path
    if changed.status == "removed":
        return False  # deleting code teaches nothing about writing it
    if any(glob_regex(g).match(path) for g in applies.exclude_paths):
        return False
    if not applies.given:
        return not _is_docs(path)
    if applies.paths and not any(glob_regex(g).match(path) for g in applies.paths):
        return False
    if applies.languages:
        suffix = PurePosixPath(path.lower()).suffix
        if not any(suffix in LANGUAGES.get(lang, ()) for lang in applies.languages):
            return False
    if applies.added_lines:
        if changed.patch is None:
            return True  # GitHub left the diff out; the path is all there is to go on
        patterns = _compiled(applies.added_lines)
        return any(p.search(line) for line in _added_lines(changed.patch) for p in patterns)
    return True


@dataclass(frozen=True)
class Relevance:
    relevant: bool
    files: tuple[str, ...]  # the matched files, in the pull request's order
    reason: str


def relevance(applies: AppliesTo, pull: PullFiles) -> Relevance:
    """Which of a pull request's changed files the playbook is about, and why it counts or not."""
    matched = tuple(f.path for f in pull.files if file_matches(applies, f))
    capped = "" if pull.complete else f" (GitHub lists only the first {GITHUB_FILES_CAP} files)"
    if matched:
        return Relevance(True, matched, f"{len(matched)} of {len(pull.files)} files match{capped}")
    return Relevance(False, (), f"none of {len(pull.files)} changed files match{capped}")


_CWE_TAG = re.compile(r"(?:^|/)cwe-0*(\d+)$", re.IGNORECASE)


def alert_matches(applies: AppliesTo, rule_id: str, tags: Iterable[str] = ()) -> bool:
    """Whether a code scanning alert's rule is one the playbook names (by rule id or CWE)."""
    rule = (rule_id or "").lower()
    if any(
        glob_regex(r.lower()).match(rule) or r.lower() == rule for r in applies.code_scanning_rules
    ):
        return True
    cwes = set()
    for tag in tags or ():
        found = _CWE_TAG.search(str(tag))
        if found:
            cwes.add(int(found[1]))
    return bool(cwes & set(applies.cwe))
