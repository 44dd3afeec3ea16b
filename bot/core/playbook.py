"""Playbooks: one YAML file per recurring review issue, validated for the people who write them.

A broken playbook must never take the others down: :func:`load_playbooks` returns every good
playbook together with every problem found, each naming file, line and field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re2

from bot.core.patterns import (
    DEFAULT_BUDGET,
    RE2_OPTIONS,  # noqa: F401  (re-exported: callers import it from here)
    SetBudget,
    branch_atoms,
    branches,
    compiled,
    pattern_info,
)
from bot.core.relevance import LANGUAGES, AppliesTo, glob_problem
from bot.core.yamlcheck import (
    Document,
    Field,
    Problem,
    at_least,
    check_fields,
    https_url,
    in_range,
    not_empty,
    one_of,
    parse_yaml,
)

# Files beside the playbooks that are not playbooks (the org settings).
NOT_PLAYBOOKS = frozenset({"org.yml", "org.yaml"})
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class Trigger:
    """How many matching comments, within how many days, fire a nudge; and the quiet period after."""

    comments: int = 2
    within_days: int = 30
    cooldown_days: int = 30


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class NudgeContent:
    play: str
    checklist: tuple[str, ...] = ()
    link: Link | None = None
    minutes: int = 2


@dataclass(frozen=True)
class Reinforcement:
    """Spaced follow-ups after a posted nudge (see bot.core.reinforce and the README)."""

    enabled: bool = True
    desired_retention: float = 0.9  # FSRS: the chance of remembering aimed for at each follow-up
    max_followups: int = 5
    clean_reviews_to_end: int = 5  # this many clean reviews in a row end the series
    wait_days: int = 21  # a due follow-up with no relevant pull request is dropped after this
    minutes: int = 1  # what a follow-up costs of the sprint budget


SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
ROLLOUT_MODES = ("live", "shadow")


@dataclass(frozen=True)
class Rollout:
    """Who a playbook reaches: a pilot (some teams, some repositories) and live or shadow mode.

    ``shadow``: every decision is made and recorded as it would be, and nothing is posted.
    An empty ``teams`` (or ``repos``) means every team (or every repository).
    """

    mode: str = "live"
    teams: tuple[str, ...] = ()  # team slugs, lower case
    repos: tuple[str, ...] = ()  # owner/name, lower case

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    @property
    def pilot(self) -> bool:
        return bool(self.teams or self.repos)

    def excludes(self, engineer: str, repo: str, teams: Mapping[str, frozenset[str]]) -> str | None:
        """Why this pilot leaves out ``engineer`` on ``repo`` (None: they are in it)."""
        if self.repos and repo.lower() not in self.repos:
            return f"pilot limited to {', '.join(self.repos)}; {repo} is not one of them"
        if self.teams:
            login = engineer.lower()
            if not any(login in teams.get(slug, ()) for slug in self.teams):
                return f"pilot limited to team {', '.join(self.teams)}; {engineer} is not a member"
        return None


@dataclass(frozen=True)
class OnCode:
    """A finding read from a line comment and its code together (``match.on_code``)."""

    comment: str  # a pattern for the reviewer's words
    code: str  # a pattern for the code the comment is on (see bot.core.classify.code_lines)


@dataclass(frozen=True)
class Playbook:
    """One recurring issue: how to recognise it, when to act, and what to send."""

    id: str
    title: str
    summary: str
    patterns: tuple[str, ...]
    nudge: NudgeContent
    exclude: tuple[str, ...] = ()
    on_code: tuple[OnCode, ...] = ()
    significant: bool = False
    trigger: Trigger = field(default_factory=Trigger)
    examples_match: tuple[str, ...] = ()
    examples_no_match: tuple[str, ...] = ()
    examples_on_code: tuple[OnCode, ...] = ()  # a comment and its code that must match
    evaluation_window_days: int = 60
    evaluation_resumed_on: dt.date | None = (
        None  # lifts a kill-switch pause made on or before this day
    )
    evaluation_observe_days: int = (
        30  # record without nudging while less history than this is on record
    )
    evaluation_pre_days: int = 90  # the period before each engineer's first (would-be) nudge
    evaluation_stop_early: bool = True  # futility look halfway through the first window
    paused: bool = False
    source: str = ""
    # Kill-switch state, set by ``killswitch.in_force`` (never read from YAML): when the last
    # evaluation kept the playbook, its holdout shrinks to the org's ``holdout_share_kept``.
    kept_since: dt.datetime | None = None
    reinforcement: Reinforcement = field(default_factory=Reinforcement)
    applies_to: AppliesTo = field(default_factory=AppliesTo)
    rollout: Rollout = field(default_factory=Rollout)


@dataclass
class LoadResult:
    playbooks: list[Playbook]
    problems: list[Problem]


_PATTERN_HINT = (
    "RE2 has no look-ahead, look-behind or back-references; quote the pattern in single quotes "
    "and test it with: python -m bot classify"
)


def _pattern_check(value: str) -> str | None:
    try:
        regexp = compiled(value)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if "too large" in str(reason) or "too big" in str(reason):
            return (
                f"is too large for one pattern ({reason}); split it into several shorter patterns "
                "or shorten bounded spans like [^\\n]{0,60}"
            )
        return f"is not a valid pattern ({reason}); {_PATTERN_HINT}"
    for probe in _EMPTY_PROBES:
        hit = regexp.search(probe)
        if hit is not None and hit.end() == hit.start():
            return "matches every comment, even an empty one; make it more specific"
    return None


# Texts on which a pattern that can match nothing would show a zero-length match.
_EMPTY_PROBES = ("", "x", "a word", "123 4", ".,;!? ", "\n\t")


# Day counts go into date arithmetic; a year is more than any trigger, quiet period or
# evaluation window needs, and far from where that arithmetic overflows.
MAX_DAYS = 365

_TEXT = Field("text", example="'some text'")
_PATTERN = Field("text", example=r"'\bbind param'", checks=(_pattern_check,))


def _pairs(comment: str, code: str, *checks: Callable[[str], str | None]) -> Field:
    """A list of ``comment``/``code`` pairs (on_code rules, or their examples)."""
    return Field(
        "list",
        item=Field(
            "mapping",
            children={
                "comment": Field("text", required=True, example=comment, checks=checks),
                "code": Field("text", required=True, example=code, checks=checks),
            },
        ),
    )


SCHEMA: dict[str, Field] = {
    "id": Field("text", required=True, example="sql-injection"),
    "title": Field("text", required=True, example="SQL injection"),
    "summary": Field("text", example="'One sentence on why it matters.'"),
    "significant": Field("bool", example="false"),
    "paused": Field("bool", example="false"),
    "match": Field(
        "mapping",
        required=True,
        children={
            "patterns": Field("list", required=True, item=_PATTERN, checks=(not_empty("pattern"),)),
            "exclude": Field("list", item=_PATTERN),
            "on_code": _pairs(
                r"'\bshould ?n.t be here'", "'(password|secret)\\s*=\\s*\"'", _pattern_check
            ),
        },
    ),
    "examples": Field(
        "mapping",
        children={
            "match": Field("list", item=_TEXT),
            "no_match": Field("list", item=_TEXT),
            "match_on_code": _pairs("'This should not be here.'", "'password = \"hunter2\"'"),
        },
    ),
    "trigger": Field(
        "mapping",
        children={
            "comments": Field("int", example="2", checks=(at_least(1),)),
            "within_days": Field(
                "int", example="30", checks=(in_range(1, MAX_DAYS, "days (a year)", 30),)
            ),
            "cooldown_days": Field(
                "int", example="30", checks=(in_range(0, MAX_DAYS, "days (a year)", 30),)
            ),
        },
    ),
    "nudge": Field(
        "mapping",
        required=True,
        children={
            "minutes": Field("int", example="2", checks=(at_least(1),)),
            "play": Field("text", required=True, example="'Two to four sentences.'"),
            "checklist": Field("list", item=_TEXT),
            "link": Field(
                "mapping",
                children={
                    "title": Field("text", required=True, example="'OWASP cheat sheet'"),
                    "url": Field("text", required=True, example="https://...", checks=(https_url,)),
                },
            ),
        },
    ),
    "evaluation": Field(
        "mapping",
        children={
            "window_days": Field(
                "int", example="60", checks=(in_range(7, MAX_DAYS, "days (a year)", 60),)
            ),
            "resumed_on": Field("date", example="2026-01-05"),
            "observe_days": Field("int", example="30", checks=(at_least(0),)),
            "pre_days": Field("int", example="90", checks=(at_least(7),)),
            "stop_early": Field("bool", example="true"),
        },
    ),
}


def _glob_check(value: str) -> str | None:
    return glob_problem(value)


def _cwe_check(value: int) -> str | None:
    return (
        None if 1 <= value <= 9999 else f"must be a CWE number like 89 (for CWE-89), found {value}"
    )


SCHEMA["reinforcement"] = Field(
    "mapping",
    children={
        "enabled": Field("bool", example="true"),
        "desired_retention": Field(
            "number",
            example="0.9",
            checks=(
                lambda v: (
                    None
                    if 0.7 <= v <= 0.97
                    else f"must be between 0.7 and 0.97, found {v}; write a share like 0.9 "
                    "(a higher share brings follow-ups sooner)"
                ),
            ),
        ),
        "max_followups": Field("int", example="5", checks=(in_range(1, 12, "follow-ups", 5),)),
        "clean_reviews_to_end": Field(
            "int", example="5", checks=(in_range(1, 20, "clean reviews", 5),)
        ),
        "wait_days": Field(
            "int", example="21", checks=(in_range(1, MAX_DAYS, "days (a year)", 21),)
        ),
        "minutes": Field("int", example="1", checks=(at_least(1),)),
    },
)
SCHEMA["applies_to"] = Field(
    "mapping",
    children={
        "paths": Field("list", item=Field("text", example="'src/**/*.py'", checks=(_glob_check,))),
        "exclude_paths": Field(
            "list", item=Field("text", example="'tests/**'", checks=(_glob_check,))
        ),
        "languages": Field(
            "list", item=Field("text", example="python", checks=(one_of(sorted(LANGUAGES)),))
        ),
        "added_lines": Field("list", item=_PATTERN),
        "code_scanning": Field(
            "mapping",
            children={
                "rules": Field("list", item=Field("text", example="'py/sql-injection'")),
                "cwe": Field("list", item=Field("int", example="89", checks=(_cwe_check,))),
            },
        ),
    },
)


def _team_check(value: str) -> str | None:
    slug = value.removeprefix("team:")
    if SLUG_RE.match(slug):
        return None
    return f"'{value}' is not a team slug; write the team's slug as in its GitHub address, like backend"


def _repo_check(value: str) -> str | None:
    if REPO_RE.match(value.strip()):
        return None
    return f"'{value}' is not a repository; write owner/name, like acme/payments"


SCHEMA["rollout"] = Field(
    "mapping",
    children={
        "mode": Field("text", example="shadow", checks=(one_of(ROLLOUT_MODES),)),
        "teams": Field("list", item=Field("text", example="backend", checks=(_team_check,))),
        "repos": Field("list", item=Field("text", example="acme/payments", checks=(_repo_check,))),
    },
)


def parse_playbook(text: str, file: str) -> tuple[Playbook | None, list[Problem]]:
    """Parse and validate one playbook file's text (pure: no file access)."""
    doc, problems = parse_yaml(text, file)
    if doc is None:
        return None, problems
    problems += check_fields(doc, SCHEMA)
    data = doc.data if isinstance(doc.data, dict) else {}
    stem = Path(file).stem
    pid = data.get("id")
    if isinstance(pid, str):
        if not ID_RE.match(pid):
            problems.append(
                doc.problem(
                    ("id",), "use lower-case letters, digits and dashes, like sql-injection"
                )
            )
        elif pid != stem:
            problems.append(
                doc.problem(
                    ("id",), f"must equal the file name; write id: {stem} or rename the file"
                )
            )
    if problems:
        return None, problems
    playbook = _build(data, file)
    problems += _check_examples(playbook, doc)
    problems += _check_reinforcement(playbook, doc)
    if problems:
        return None, problems
    return playbook, []


def playbook_as_written(text: str, file: str) -> Playbook | None:
    """The playbook whose fields are valid, even when its examples or follow-ups are not.

    For showing what a proposed pattern would match while its examples still fail; never
    put in force (:func:`parse_playbook` is what loads playbooks).
    """
    doc, problems = parse_yaml(text, file)
    if doc is None or problems or check_fields(doc, SCHEMA):
        return None
    return _build(doc.data, file)


def _build(data: dict[str, Any], file: str) -> Playbook:
    match = data["match"]
    nudge = data["nudge"]
    trigger = data.get("trigger") or {}
    examples = data.get("examples") or {}
    link = nudge.get("link")
    return Playbook(
        id=data["id"],
        title=data["title"].strip(),
        summary=(data.get("summary") or "").strip(),
        patterns=tuple(match["patterns"]),
        exclude=tuple(match.get("exclude") or ()),
        on_code=_on_code(match.get("on_code")),
        significant=bool(data.get("significant", False)),
        paused=bool(data.get("paused", False)),
        trigger=Trigger(
            comments=trigger.get("comments", 2),
            within_days=trigger.get("within_days", 30),
            cooldown_days=trigger.get("cooldown_days", 30),
        ),
        nudge=NudgeContent(
            play=" ".join(nudge["play"].split()),
            checklist=tuple(" ".join(item.split()) for item in nudge.get("checklist") or ()),
            link=Link(link["title"].strip(), link["url"].strip()) if link else None,
            minutes=nudge.get("minutes", 2),
        ),
        examples_match=tuple(examples.get("match") or ()),
        examples_no_match=tuple(examples.get("no_match") or ()),
        examples_on_code=_on_code(examples.get("match_on_code")),
        evaluation_window_days=(data.get("evaluation") or {}).get("window_days", 60),
        evaluation_resumed_on=_day((data.get("evaluation") or {}).get("resumed_on")),
        evaluation_observe_days=(data.get("evaluation") or {}).get("observe_days", 30),
        evaluation_pre_days=(data.get("evaluation") or {}).get("pre_days", 90),
        evaluation_stop_early=bool((data.get("evaluation") or {}).get("stop_early", True)),
        source=file,
        reinforcement=_reinforcement(data.get("reinforcement") or {}, nudge.get("minutes", 2)),
        applies_to=_applies_to(data.get("applies_to") or {}),
        rollout=_rollout(data.get("rollout") or {}),
    )


def _on_code(items: list[dict[str, str]] | None) -> tuple[OnCode, ...]:
    return tuple(OnCode(item["comment"], item["code"]) for item in items or ())


def _rollout(block: dict[str, Any]) -> Rollout:
    return Rollout(
        mode=block.get("mode", "live"),
        teams=tuple(
            sorted({t.strip().removeprefix("team:").lower() for t in block.get("teams") or ()})
        ),
        repos=tuple(sorted({r.strip().lower() for r in block.get("repos") or ()})),
    )


def _reinforcement(block: dict[str, Any], nudge_minutes: int) -> Reinforcement:
    default = Reinforcement()
    return Reinforcement(
        enabled=bool(block.get("enabled", True)),
        desired_retention=float(block.get("desired_retention", default.desired_retention)),
        max_followups=block.get("max_followups", default.max_followups),
        clean_reviews_to_end=block.get("clean_reviews_to_end", default.clean_reviews_to_end),
        wait_days=block.get("wait_days", default.wait_days),
        minutes=block.get("minutes", min(default.minutes, nudge_minutes)),
    )


def _applies_to(block: dict[str, Any]) -> AppliesTo:
    scanning = block.get("code_scanning") or {}
    return AppliesTo(
        paths=tuple(p.strip() for p in block.get("paths") or ()),
        exclude_paths=tuple(p.strip() for p in block.get("exclude_paths") or ()),
        languages=tuple(block.get("languages") or ()),
        added_lines=tuple(block.get("added_lines") or ()),
        code_scanning_rules=tuple(r.strip() for r in scanning.get("rules") or ()),
        cwe=tuple(scanning.get("cwe") or ()),
    )


def _check_reinforcement(playbook: Playbook, doc: Document) -> list[Problem]:
    minutes = playbook.reinforcement.minutes
    if minutes >= playbook.nudge.minutes and playbook.nudge.minutes > 1:
        return [
            doc.problem(
                ("reinforcement", "minutes"),
                f"a follow-up must cost less than the nudge ({playbook.nudge.minutes} min); "
                f"write minutes: {max(1, playbook.nudge.minutes // 2)}",
            )
        ]
    if minutes > playbook.nudge.minutes:
        return [
            doc.problem(
                ("reinforcement", "minutes"),
                f"a follow-up cannot cost more than the nudge ({playbook.nudge.minutes} min); "
                "write minutes: 1",
            )
        ]
    return []


def _day(value: dt.date | None) -> dt.date | None:
    """YAML reads ``2026-05-01 10:00`` as a datetime; the day is what counts."""
    return value.date() if isinstance(value, dt.datetime) else value


def matches(playbook: Playbook, text: str, code: str = "") -> bool:
    """Whether ``text`` is this playbook's kind of comment (used for examples and previews);
    ``code``, the lines a line comment is on, lets its ``on_code`` rules match too."""
    if any(compiled(p).search(text) for p in playbook.exclude):
        return False
    return any(compiled(p).search(text) for p in playbook.patterns) or any(
        compiled(r.comment).search(text) and compiled(r.code).search(code)
        for r in playbook.on_code
        if code
    )


def _check_examples(playbook: Playbook, doc: Document) -> list[Problem]:
    problems = []
    for index, example in enumerate(playbook.examples_match):
        if not matches(playbook, example):
            problems.append(
                doc.problem(
                    ("examples", "match", index),
                    "this example does not match; widen a pattern in match.patterns, "
                    "or check match.exclude",
                )
            )
    for index, example in enumerate(playbook.examples_no_match):
        if matches(playbook, example):
            problems.append(
                doc.problem(
                    ("examples", "no_match", index),
                    "this example matches but must not; narrow match.patterns or add an "
                    "exclude pattern",
                )
            )
    for index, pair in enumerate(playbook.examples_on_code):
        if not matches(playbook, pair.comment, pair.code):
            problems.append(
                doc.problem(
                    ("examples", "match_on_code", index),
                    "this comment and code do not match; widen a rule in match.on_code (its "
                    "comment pattern must match the comment, its code pattern the code), or "
                    "check match.exclude",
                )
            )
    return problems


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to their ``*.yml``/``*.yaml`` files, sorted, keeping given files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.iterdir()
                if p.suffix in (".yml", ".yaml") and p.name not in NOT_PLAYBOOKS
            )
        else:
            files.append(path)
    return files


def parse_playbooks(
    sources: Iterable[tuple[str, str]], budget: SetBudget = DEFAULT_BUDGET
) -> LoadResult:
    """Parse many ``(file name, text)`` pairs; one broken file never hides the others.

    The playbooks that load must also fit together in the classifier's ``budget``
    (:mod:`bot.core.patterns`); one that would take the set past it is left out with a problem
    naming it, and the others still load.
    """
    result = LoadResult([], [])
    used = SetUsage()
    seen: dict[str, str] = {}
    for file, text in sources:
        playbook, problems = parse_playbook(text, file)
        result.problems += problems
        if playbook is None:
            continue
        if playbook.id in seen:
            result.problems.append(
                Problem(file, 1, "id", f"'{playbook.id}' is already used by {seen[playbook.id]}")
            )
            continue
        reason = used.add(playbook, budget)
        if reason:
            result.problems.append(Problem(file, 1, "match", reason))
            continue
        seen[playbook.id] = file
        result.playbooks.append(playbook)
    return result


@dataclass
class SetUsage:
    """What the playbooks accepted so far use of the classifier's budget."""

    instructions: int = 0
    every_comment: int = 0

    def add(self, playbook: Playbook, budget: SetBudget) -> str | None:
        """Count ``playbook`` in, or say (for its author) why it does not fit and leave it out."""
        patterns = playbook.patterns + playbook.exclude
        patterns += tuple(p for rule in playbook.on_code for p in (rule.comment, rule.code))
        instructions = self.instructions + sum(pattern_info(p).instructions for p in patterns)
        every = self.every_comment + sum(
            branch_atoms(b) is None for p in patterns for b in branches(p)
        )
        if every > budget.every_comment:
            return (
                f"not loaded: with this playbook more than {budget.every_comment} patterns of all "
                "playbooks have no word of three letters or more that every match contains, and "
                "each such pattern is tried on every comment; give its short patterns a required "
                "word (for example '\\bn\\+1[\\s`]+quer' instead of '\\bn\\+1\\b')"
            )
        if instructions > budget.instructions:
            return (
                f"not loaded: the playbooks before it and this one together compile to more than "
                f"{budget.instructions:,} RE2 instructions, the classifier's memory budget; "
                "shorten its longest patterns (bounded spans like [^\\n]{0,60} cost the most) or "
                "move rarely used playbooks out of the folder"
            )
        self.instructions, self.every_comment = instructions, every
        return None


def load_playbooks(*paths: Path | str, budget: SetBudget = DEFAULT_BUDGET) -> LoadResult:
    """Read playbook files (or directories of them) from disk and parse them.

    This is the one function of the core that touches the file system, kept here so that
    scripts and tests can say ``load_playbooks(directory)``; the parsing itself is pure.
    """
    sources = []
    problems = []
    for path in playbook_files(Path(p) for p in paths):
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 1, "(file)", f"cannot be read: {exc}"))
    result = parse_playbooks(sources, budget)
    result.problems = problems + result.problems
    return result
