"""Read YAML written by people who are not programmers, and say exactly where it is wrong.

Playbooks and org settings are edited by L&D staff. A stack trace helps nobody there, so every
problem is a :class:`Problem` that names the file, the line, the field and what to write instead.
The checks are declarative (:class:`Field`), so playbooks and settings share one vocabulary of
error messages.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, phrased for the person who edits it."""

    file: str
    line: int
    field: str
    message: str
    warning: bool = False  # worth fixing, but nothing breaks: ``validate`` still exits 0

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.file}:{self.line}: {kind}{self.field}: {self.message}"


def dotted(path: Path_) -> str:
    """``("match", "patterns", 2)`` -> ``match.patterns[2]``, as an author reads it."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(file)"


@dataclass
class Document:
    """Parsed YAML plus the line of every key and value, for error messages."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int:
        """The line of the value at ``path``, or of its closest parent that exists."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.file, self.line(path), dotted(path), message)


# A playbook is a page or two and nests four levels deep; far beyond that is a mistake (or an
# attack on the parser, whose recursion would otherwise crash the caller).
MAX_CHARS = 200_000
MAX_DEPTH = 20


# libyaml's parser (PyYAML's C loader, where PyYAML was built with it) reads a playbook about
# thirty times faster, which matters to an organisation with hundreds of them. PyYAML's own
# parser is the reference: a file libyaml refuses is read again with it, so every problem
# quotes the same words whichever parser the machine has.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _too_big_or_deep(text: str, file: str, loader: Any = yaml.SafeLoader) -> Problem | None:
    """Check size and nesting with the event parser, which does not recurse, before composing."""
    if len(text) > MAX_CHARS:
        return Problem(
            file,
            1,
            "(file)",
            f"is {len(text):,} characters long, more than the {MAX_CHARS:,} a playbook or org file "
            "may have; keep one playbook per file and remove what is not needed",
        )
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return Problem(
                    file,
                    event.start_mark.line + 1 if event.start_mark is not None else 0,
                    "(yaml)",
                    f"sections and lists are nested more than {MAX_DEPTH} levels deep here; a "
                    "playbook needs at most 4, so check the indentation and the [ ] and { } "
                    "brackets",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def parse_yaml(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Parse ``text`` safely; on a syntax error return the line and a hint instead of raising."""
    node, problems = _compose(text, file, _FAST_LOADER)
    if problems and _FAST_LOADER is not yaml.SafeLoader:
        node, problems = _compose(text, file, yaml.SafeLoader)
    if problems:
        return None, problems
    if node is None:
        return Document(file, {}), []
    doc = Document(file, None)
    _record_lines(node, (), doc, problems, set())
    if any(p.message.startswith(_ALIAS) for p in problems):
        return None, problems
    loader = yaml.SafeLoader("")
    try:
        doc.data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 1
        return None, [Problem(file, line, "(yaml)", f"{exc.problem}; remove the YAML tag")]
    finally:
        loader.dispose()
    return doc, problems


def _compose(text: str, file: str, loader: Any) -> tuple[yaml.Node | None, list[Problem]]:
    """The document's node tree, or the problem that stops it from being read."""
    try:
        too_big = _too_big_or_deep(text, file, loader)
        if too_big is not None:
            return None, [too_big]
        return yaml.compose(text, Loader=loader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = (exc.problem or "not valid YAML").strip()
        if (
            exc.context_mark is not None
            and "quoted scalar" in (exc.context or "")
            and "end of stream" in what
        ):
            # An unclosed quote is found at the end of the file; the author needs where it opened.
            return None, [
                Problem(
                    file,
                    exc.context_mark.line + 1,
                    "(yaml)",
                    "the quoted text that starts on this line is never closed; end it on this "
                    "line with the quote it starts with, and write a ' inside single-quoted "
                    "text as ''",
                )
            ]
        return None, [
            Problem(
                file,
                line,
                "(yaml)",
                f"{what}; check the indentation (spaces, not tabs) and that text containing "
                "': ' or starting with a quote or backslash is wrapped in single quotes",
            )
        ]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 1, "(yaml)", f"not valid YAML: {exc}")]
    except RecursionError:  # the depth check above makes this unreachable; never crash anyway
        return None, [
            Problem(file, 1, "(yaml)", "nested too deeply; a playbook needs at most 4 levels")
        ]


_ALIAS = "uses a YAML alias"


def _record_lines(
    node: yaml.Node, path: Path_, doc: Document, problems: list[Problem], seen_nodes: set[int]
) -> None:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        # An alias makes the same node appear twice (or inside itself): refuse it, since it can
        # loop forever or blow up exponentially, and nobody needs it to write a playbook.
        if id(node) in seen_nodes:
            problems.append(
                Problem(
                    doc.file,
                    node.start_mark.line + 1,
                    dotted(path),
                    f"{_ALIAS} (*name); write the value out in full instead",
                )
            )
            return
        seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(
                        doc.file,
                        key_node.start_mark.line + 1,
                        dotted(path + (key,)),
                        "appears twice; keep one (the later one would silently win)",
                    )
                )
            seen.add(key)
            _record_lines(value_node, path + (key,), doc, problems, seen_nodes)
            # A key's own line is more useful than its value's when the value is a block.
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, path + (index,), doc, problems, seen_nodes)


# ---------------------------------------------------------------------------------------------
# Declarative checks


Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Field:
    """What one key may hold. ``kind`` is one of: text, int, number, bool, list, mapping, date."""

    kind: str
    required: bool = False
    example: str = ""
    children: Mapping[str, Field] | None = None  # for a mapping with known keys
    item: Field | None = None  # for a list, or a mapping with free keys (``free_keys``)
    free_keys: bool = False
    checks: tuple[Check, ...] = ()


_KIND_WORDS = {
    "text": "text",
    "int": "a whole number",
    "number": "a number",
    "bool": "true or false",
    "list": "a list (one '- item' per line)",
    "mapping": "a section of 'key: value' lines",
    "date": "a date like 2026-01-05",
}


def _kind_ok(kind: str, value: Any) -> bool:
    import datetime as _dt

    if kind == "text":
        return isinstance(value, str) and value.strip() != ""
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "mapping":
        return isinstance(value, dict)
    if kind == "date":
        return isinstance(value, _dt.date)
    raise ValueError(kind)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return (
            "empty text"
            if not value.strip()
            else repr(value if len(value) < 40 else value[:37] + "...")
        )
    if isinstance(value, dict):
        return "a section"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def check_fields(doc: Document, schema: Mapping[str, Field]) -> list[Problem]:
    """Check ``doc.data`` against ``schema``; every problem found, not just the first."""
    problems: list[Problem] = []
    if not isinstance(doc.data, dict):
        return [doc.problem((), "the file must be a section of 'key: value' lines")]
    _check_mapping(doc, (), doc.data, schema, problems)
    return problems


def _check_mapping(
    doc: Document,
    path: Path_,
    data: dict[str, Any],
    schema: Mapping[str, Field],
    problems: list[Problem],
) -> None:
    for key in data:
        if str(key) not in schema:
            guess = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
            hint = f"did you mean '{guess[0]}'?" if guess else "known fields: " + ", ".join(schema)
            problems.append(doc.problem(path + (str(key),), f"unknown field; {hint}"))
    for key, spec in schema.items():
        if key not in data or data[key] is None:
            if spec.required:
                example = f", for example: {key}: {spec.example}" if spec.example else ""
                where = path + (key,) if key in data else path
                problems.append(
                    Problem(
                        doc.file,
                        doc.line(where),
                        dotted(path + (key,)),
                        f"is required; add it{example}",
                    )
                )
            continue
        _check_value(doc, path + (key,), data[key], spec, problems)


def _check_value(
    doc: Document, path: Path_, value: Any, spec: Field, problems: list[Problem]
) -> None:
    if not _kind_ok(spec.kind, value):
        words = _KIND_WORDS[spec.kind]
        example = f" such as {spec.example}" if spec.example and spec.example not in words else ""
        problems.append(doc.problem(path, f"expected {words}{example}, found {_describe(value)}"))
        return
    for check in spec.checks:
        message = check(value)
        if message:
            problems.append(doc.problem(path, message))
    if spec.kind == "mapping":
        if spec.children is not None:
            _check_mapping(doc, path, value, spec.children, problems)
        elif spec.free_keys and spec.item is not None:
            for key, item in value.items():
                _check_value(doc, path + (str(key),), item, spec.item, problems)
    elif spec.kind == "list" and spec.item is not None:
        for index, item in enumerate(value):
            _check_value(doc, path + (index,), item, spec.item, problems)


# Reusable checks -----------------------------------------------------------------------------


def _described(check: Check, **json_schema: Any) -> Check:
    """Attach the JSON Schema keywords that say the same as ``check`` (for editors)."""
    check.json_schema = json_schema  # type: ignore[attr-defined]
    return check


def at_least(minimum: float) -> Check:
    return _described(
        lambda v: None if v >= minimum else f"must be at least {minimum}, found {v}",
        minimum=minimum,
    )


def in_range(low: int, high: int, unit: str, example: int) -> Check:
    """A whole number from ``low`` to ``high``; above it, say what to write instead."""

    def check(value: int) -> str | None:
        if value < low:
            return f"must be at least {low}, found {value}"
        if value > high:
            return (
                f"must be at most {high} {unit}, found {value}; write a number from {low} to "
                f"{high}, like {example}"
            )
        return None

    return _described(check, minimum=low, maximum=high)


def between(low: float, high: float) -> Check:
    return _described(
        lambda v: None if low <= v <= high else f"must be between {low} and {high}, found {v}",
        minimum=low,
        maximum=high,
    )


def not_empty(what: str) -> Check:
    return _described(lambda v: None if len(v) > 0 else f"needs at least one {what}", minItems=1)


# What a web link may be: a scheme, a host (no user name: ``https://x@evil.example`` misleads,
# and ``@name`` is what GitHub turns into a mention), then a path, query and fragment that stay
# inside a markdown link: no spaces, quotes, angle brackets, backticks or backslashes.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)*{_LABEL}"
_URL_RE = re.compile(
    rf"^(?P<scheme>https?)://(?P<host>{_HOST})(?::[0-9]{{1,5}})?"
    r"(?P<rest>[/?#][\x21\x23-\x26\x28-\x3b\x3d\x3f-\x5b\x5d\x5f\x61-\x7a\x7c\x7e]*)?$"
)
MAX_URL = 2000


def url_problem(value: str, *, schemes: tuple[str, ...] = ("https",)) -> str | None:
    """Why ``value`` is not a plain web link we can put in a comment, or None when it is."""
    shown = _describe(value)
    value = value.strip()
    want = " or ".join(f"{s}://" for s in schemes)
    match = _URL_RE.match(value) if len(value) <= MAX_URL else None
    if match is None or match["scheme"] not in schemes:
        if not value.strip().lower().startswith(tuple(f"{s}://" for s in schemes)):
            return f"must be a full link starting with {want}, found {shown}"
        if len(value) > MAX_URL:
            return f"is longer than {MAX_URL} characters; link to a shorter address"
        bad = next((c for c in value if c in "<>`\"'{}^\\" or not 32 < ord(c) < 127), None)
        if bad is not None:
            what = "a space" if bad.isspace() else repr(bad)
            return (
                f"contains {what}, which breaks the link in a comment; write such characters "
                f"percent-encoded (a space as %20), found {shown}"
            )
        host = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if "@" in host:
            return (
                f"names a user before the host ({host!r}); write the address without 'name@', "
                f"like {want}example.org/page"
            )
        return f"is not a web address like {want}example.org/page, found {shown}"
    return None


def https_url(value: str) -> str | None:
    return url_problem(value, schemes=("https",))


def one_of(options: Iterable[str]) -> Check:
    allowed = list(options)

    def check(value: str) -> str | None:
        if value in allowed:
            return None
        guess = difflib.get_close_matches(value, allowed, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else "use one of: " + ", ".join(allowed)
        return f"'{value}' is not known; {hint}"

    return _described(check, enum=allowed)
