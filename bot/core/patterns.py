"""Playbook patterns compiled once, matched with a cost that does not grow with the playbook count.

Every pattern is an RE2 regular expression (linear time in the comment, whatever it says). Each
top-level alternative of each pattern (a *branch*) is read once for the words that every match
of it must contain (:func:`required_words`; ``\\bbind[\\s`]*params?`` needs ``bind``). All those
words of all playbooks go into one literal ``re2.Set``: one scan of the comment says which words
occur, and only the branches that need one of them run, each compiled on its own with its own
memory. So a comment costs about the same with 10 playbooks as with 300, and no shared DFA cache
is rebuilt over and over (which is what a single ``re2.Set`` of all patterns did).

The memory is bounded by deliberate numbers, documented in the README:

* ``PATTERN_MAX_MEM``: each pattern may use at most 4 MiB (RE2 gives two thirds of it to the
  compiled program and the rest to that pattern's DFA cache, which grows only when it runs). A
  pattern that needs more does not validate.
* ``WORDS_MAX_MEM``: the set of required words may use 64 MiB (about 100,000 words; the nine
  shipped playbooks need about 1,700, 300 playbooks about 60,000).
* ``SetBudget``: all playbooks together may compile to at most ``instructions`` RE2 instructions
  (4 million, about 32 MiB of programs; the nine shipped playbooks use about 99 thousand), and at
  most ``every_comment`` branches may lack a required word of three letters or more (such a
  branch runs on every comment, so each one adds to every comment's cost).

A set beyond its budget is reported when playbooks are loaded, naming the playbook that does not
fit, and :class:`PatternSet` refuses it with :class:`PatternSetTooLarge`; matching never fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol, TypeAlias

import re2

PATTERN_MAX_MEM = 4 << 20
WORDS_MAX_MEM = 64 << 20
MIN_WORD = 3  # shorter required words ("on", "gc") would make nearly every comment a candidate
MAX_CHECKS = 1  # further required word groups checked before a branch runs (required_groups)


@lru_cache(maxsize=65_536)
def word_weight(text: str) -> int:
    """How selective a required word is, in ASCII letters: a letter counts 1, any other
    character 2 (a two-character Korean, Japanese or Chinese word such as "누수" or "競合" is
    as rare in review comments as a four-letter English one; a single such character is not)."""
    if text.isascii():
        return len(text)
    return len(text) + sum(not c.isascii() for c in text)


# re2 ships no type hints: the parts of its objects this package uses.
class RegexpMatch(Protocol):
    def start(self) -> int: ...

    def end(self) -> int: ...


class Regexp(Protocol):
    """A compiled ``re2`` pattern."""

    @property
    def programsize(self) -> int: ...

    def search(self, text: str | bytes) -> RegexpMatch | None: ...


class _SearchSet(Protocol):
    """A compiled ``re2.Set``: ``Match`` gives the indices of the patterns that occur in the data."""

    def Add(self, pattern: str) -> int: ...  # noqa: N802 (re2's names)

    def Compile(self) -> bool: ...  # noqa: N802

    def Match(self, data: bytes) -> list[int]: ...  # noqa: N802


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = PATTERN_MAX_MEM
    options.never_capture = True  # only where the whole pattern matched is ever used
    return options


RE2_OPTIONS = _options()


@dataclass(frozen=True)
class SetBudget:
    """How much one classifier may hold: compiled instructions, and patterns run on every comment."""

    instructions: int = 4_000_000
    every_comment: int = 32


DEFAULT_BUDGET = SetBudget()


@dataclass(frozen=True)
class PatternInfo:
    regexp: Regexp  # the compiled re2 pattern
    instructions: int


@lru_cache(maxsize=65_536)
def pattern_info(pattern: str) -> PatternInfo:
    """Compile one pattern (cached: validation, quotes and budgets share one compilation).

    Raises ``re2.error`` when the pattern is not valid RE2 or needs more than ``PATTERN_MAX_MEM``.
    """
    regexp: Regexp = re2.compile(pattern, RE2_OPTIONS)
    return PatternInfo(regexp, regexp.programsize)


@lru_cache(maxsize=65_536)
def branch_atoms(branch: str) -> frozenset[Atom] | None:
    """The required words of one branch (cached); None: it runs on every comment."""
    return required_atoms(branch)


@lru_cache(maxsize=65_536)
def branch_groups(branch: str) -> tuple[frozenset[Atom], ...]:
    """The further word groups a branch needs besides :func:`branch_atoms` (cached)."""
    return required_groups(branch)[1:]


def compiled(pattern: str) -> Regexp:
    """The compiled RE2 pattern (cached)."""
    return pattern_info(pattern).regexp


_FLAG_GROUP = re.compile(r"\(\?[a-zA-Z-]*\)")


@lru_cache(maxsize=65_536)
def branches(pattern: str) -> tuple[str, ...]:
    """The top-level alternatives of ``pattern`` (``a|b(c|d)`` -> ``a``, ``b(c|d)``).

    Each alternative goes into the prefilter on its own: RE2 factors a common prefix out of an
    alternation (``vam|vesiw...`` becomes ``v(?:am|esiw...)``), which can leave the whole pattern
    without a required word, and a branch that runs alone needs a smaller DFA. A pattern that
    cannot be split safely (a top-level ``(?i)``, ``\\Q...\\E``, an empty branch) stays whole.
    """
    if "|" not in pattern or "\\Q" in pattern:
        return (pattern,)
    parts, depth, start, i, n = [], 0, 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            j = i + 1
            if pattern[j : j + 1] == "^":
                j += 1
            if pattern[j : j + 1] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\":
                    j += 2
                elif pattern[j : j + 2] == "[:" and pattern.find(":]", j + 2) >= 0:
                    j = pattern.find(":]", j + 2) + 2
                else:
                    j += 1
            i = j + 1
            continue
        if c == "(":
            if depth == 0 and _FLAG_GROUP.match(pattern, i):
                return (pattern,)
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    if len(parts) == 1 or depth != 0 or any(not part for part in parts):
        return (pattern,)
    try:
        for part in parts:
            _test(part)  # each part must compile on its own (and is then ready for the set)
    except re2.error:
        return (pattern,)
    return tuple(parts)


class PatternSetTooLarge(Exception):
    """The playbooks together do not fit the classifier's budget; names the first that does not."""

    def __init__(self, owner: str, source: str, reason: str):
        self.owner, self.source, self.reason = owner, source, reason
        where = f"{source}: " if source else ""
        super().__init__(f"{where}playbook {owner!r} does not fit: {reason}")


@dataclass(frozen=True)
class Entry:
    """One alternative (``branch``) of one pattern of one playbook, as the set compiles it.

    ``pattern`` is the pattern as its author wrote it; ``exclude`` marks exclusion patterns.
    """

    owner: str
    pattern: str
    exclude: bool = False
    source: str = ""
    branch: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.branch:
            object.__setattr__(self, "branch", self.pattern)


def entries_for(owner: str, pattern: str, exclude: bool = False, source: str = "") -> list[Entry]:
    """The entries of one pattern: one per top-level alternative."""
    return [Entry(owner, pattern, exclude, source, branch) for branch in branches(pattern)]


def over_budget(entries: Sequence[Entry], budget: SetBudget = DEFAULT_BUDGET) -> int | None:
    """Index of the first entry that takes the set past ``budget``, or None when all fit."""
    instructions = every = 0
    counted: set[tuple[str, str, bool]] = set()
    for index, entry in enumerate(entries):
        key = (entry.owner, entry.pattern, entry.exclude)
        if key not in counted:  # a pattern's instructions count once, not once per branch
            counted.add(key)
            instructions += pattern_info(entry.pattern).instructions
        every += branch_atoms(entry.branch) is None
        if instructions > budget.instructions or every > budget.every_comment:
            return index
    return None


def budget_reason(entries: Sequence[Entry], budget: SetBudget) -> str:
    if sum(branch_atoms(e.branch) is None for e in entries) > budget.every_comment:
        return (
            f"the playbooks have more than {budget.every_comment} patterns without a word of three "
            "letters or more that every match contains; each such pattern is tried on every "
            "comment. Give this playbook's short patterns a required word (for example write "
            "'n\\+1[\\s`]+quer' instead of 'n\\+1')"
        )
    return (
        f"the playbooks together compile to more than {budget.instructions:,} RE2 instructions; "
        "shorten the longest patterns (bounded spans like [^\\n]{0,60} cost the most) or move "
        "rarely used playbooks out of the folder"
    )


class PatternSet:
    """All include and exclude patterns of all playbooks, prefiltered by their required words."""

    def __init__(self, entries: Sequence[Entry], budget: SetBudget = DEFAULT_BUDGET):
        self.entries = list(entries)
        bad = over_budget(self.entries, budget)
        if bad is not None:
            entry = self.entries[bad]
            raise PatternSetTooLarge(
                entry.owner, entry.source, budget_reason(self.entries[: bad + 1], budget)
            )
        # One boolean test per distinct branch (playbooks may share a pattern): an re2.Set of one
        # pattern runs the forward DFA only, where a search would also run a reverse DFA to find
        # where the match starts.
        branch_ids: dict[str, int] = {}
        self._tests: list[_SearchSet] = []
        self._owners: list[list[int]] = []  # branch id -> entries with that branch
        for index, entry in enumerate(self.entries):
            bid = branch_ids.get(entry.branch)
            if bid is None:
                try:
                    self._tests.append(_test(entry.branch))
                except re2.error:
                    raise PatternSetTooLarge(
                        entry.owner,
                        entry.source,
                        f"RE2 cannot compile the pattern {entry.pattern!r}",
                    ) from None
                bid = branch_ids[entry.branch] = len(self._owners)
                self._owners.append([])
            self._owners[bid].append(index)
        self._always: list[int] = []  # branches without a required word
        word_ids: dict[str, int] = {}
        self._by_word: list[list[int]] = []  # word id -> branches that need it
        # branch id -> a second group of word ids; the branch runs only when the comment also has
        # one of those words (``\bmissing[\s`]+tests?`` needs "missing" and "test").
        self._checks: dict[int, frozenset[int]] = {}

        def word_id(atom: Atom) -> int:
            text = atom.text.lower() if atom.text.isascii() else atom.text
            key = Atom(text, atom.starts_word, atom.ends_word).regex()
            if key not in word_ids:
                word_ids[key] = len(self._by_word)
                self._by_word.append([])
            return word_ids[key]

        for branch, bid in branch_ids.items():
            atoms = branch_atoms(branch)
            if atoms is None:
                self._always.append(bid)
                continue
            for atom in atoms:
                needing = self._by_word[word_id(atom)]
                if not needing or needing[-1] != bid:
                    needing.append(bid)
            groups = branch_groups(branch)
            if groups:
                self._checks[bid] = frozenset(map(word_id, groups[0]))
        self.words = list(word_ids)  # the word set's patterns, by id
        self._words: _SearchSet | None = None
        if word_ids:
            self._words = _word_set(list(word_ids), self.entries)

    def hits(self, text: str) -> list[int]:
        """Indices (into ``entries``) of every pattern branch that matches ``text``, ascending."""
        data = text.encode("utf-8")
        found = self._words.Match(data) if self._words is not None else None
        candidates: Iterable[int]
        if found:
            by_word = self._by_word
            if len(found) == 1 and not self._always:
                candidates = by_word[found[0]]
            else:
                candidates = {i for w in found for i in by_word[w]}.union(self._always)
            checks = self._checks
            if checks:
                present = set(found)
                candidates = [
                    b for b in candidates if b not in checks or not checks[b].isdisjoint(present)
                ]
        elif self._always:
            candidates = self._always
        else:
            return []
        tests, owners = self._tests, self._owners
        out = [e for b in candidates if tests[b].Match(data) for e in owners[b]]
        if len(out) > 1:
            out.sort()
        return out


@lru_cache(maxsize=65_536)
def _test(branch: str) -> _SearchSet:
    one: _SearchSet = re2.Set.SearchSet(RE2_OPTIONS)
    one.Add(branch)
    one.Compile()
    return one


def _word_set(words: list[str], entries: Sequence[Entry]) -> _SearchSet:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.never_capture = True
    options.max_mem = WORDS_MAX_MEM
    word_set: _SearchSet = re2.Set.SearchSet(options)
    for word in words:
        word_set.Add(word)
    try:
        word_set.Compile()
    except re2.error:
        entry = entries[-1]
        raise PatternSetTooLarge(
            entry.owner,
            entry.source,
            f"the playbooks need more than {WORDS_MAX_MEM >> 20} MiB for their {len(words):,} "
            "required words",
        ) from None
    return word_set


# Reading a pattern for its required words. Anything this reader does not understand makes it
# answer "no required words", which only costs speed, never a match.

_ZERO_WIDTH_ESCAPES = frozenset("bBAz")
_CLASS_ESCAPES = frozenset("dDsSwWpPCntrfvax")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}\??")


class _Unsupported(Exception):
    pass


@dataclass(frozen=True)
class Atom:
    """A word every match contains, and whether the pattern puts a ``\\b`` right before or
    after it (then the word must start or end at a word boundary in the text too, so "han" in
    ``\\bhan`` is not found in "than")."""

    text: str
    starts_word: bool = False
    ends_word: bool = False

    def regex(self) -> str:
        escaped: str = re2.escape(self.text)
        return ("\\b" if self.starts_word else "") + escaped + ("\\b" if self.ends_word else "")


def required_atoms(pattern: str) -> frozenset[Atom] | None:
    """Words (``MIN_WORD`` characters or more) of which every match of ``pattern`` contains one,
    compared case-insensitively; None when there are none to be sure of."""
    groups = required_groups(pattern)
    return groups[0] if groups else None


@lru_cache(maxsize=65_536)
def required_groups(pattern: str) -> tuple[frozenset[Atom], ...]:
    """Groups of words such that every match of ``pattern`` contains a word of each group, the
    most selective first (that one is :func:`required_atoms`), at most ``1 + MAX_CHECKS``;
    only groups whose words all weigh ``MIN_WORD`` or more. Empty when there is none."""
    try:
        node, end = _parse_alt(pattern, 0)
        if end != len(pattern):
            return ()
        groups = _groups(node)
    except (_Unsupported, IndexError, RecursionError):
        return ()
    usable = {frozenset(g) for g in groups if g and _usable(g)}
    ranked = sorted(usable, key=lambda g: (_rank(g), sorted(a.regex() for a in g)), reverse=True)
    best = _best([set(g) for g in groups])
    if best is None or not _usable(best):
        return ()
    first = frozenset(best)
    rest = [g for g in ranked if g != first][:MAX_CHECKS]
    return (first, *rest)


def _usable(group: Iterable[Atom]) -> bool:
    return min(word_weight(a.text) for a in group) >= MIN_WORD


def required_words(pattern: str) -> frozenset[str] | None:
    """The text of :func:`required_atoms`, for people and tests."""
    atoms = required_atoms(pattern)
    return None if atoms is None else frozenset(a.text for a in atoms)


# Nodes: ("lit", ch) one literal character; ("any",) one character of a class; ("zero",) an
# assertion that consumes nothing; ("cat", [nodes]); ("alt", [nodes]); ("rep", node, minimum).
_Node: TypeAlias = (
    tuple[Literal["lit"], str]
    | tuple[Literal["any"]]
    | tuple[Literal["zero"], str]
    | tuple[Literal["cat", "alt"], list["_Node"]]
    | tuple[Literal["rep"], "_Node", int]
)


def _parse_alt(p: str, i: int) -> tuple[_Node, int]:
    options: list[_Node] = []
    node, i = _parse_cat(p, i)
    options.append(node)
    while i < len(p) and p[i] == "|":
        node, i = _parse_cat(p, i + 1)
        options.append(node)
    return (options[0] if len(options) == 1 else ("alt", options)), i


def _parse_cat(p: str, i: int) -> tuple[_Node, int]:
    items: list[_Node] = []
    n = len(p)
    while i < n and p[i] not in "|)":
        c = p[i]
        if c in "*+?" or (c == "{" and _REPEAT.match(p, i)):
            if not items:
                raise _Unsupported(p)
            if c == "{":
                m = _REPEAT.match(p, i)
                assert m is not None  # the condition above matched here
                minimum, i = int(m.group(1)), m.end()
            else:
                minimum = 1 if c == "+" else 0
                i += 2 if p[i + 1 : i + 2] == "?" else 1
            items[-1] = ("rep", items[-1], minimum)
            continue
        if c == "(":
            i += 1
            if p.startswith("?", i):
                close = p.find(")", i)
                colon = p.find(":", i)
                if p.startswith("?P<", i) or p.startswith("?<", i):
                    i = p.index(">", i) + 1
                elif colon != -1 and (close == -1 or colon < close):
                    i = colon + 1
                elif close != -1:  # a bare flag group such as (?i): consumes nothing
                    items.append(("zero", "flags"))
                    i = close + 1
                    continue
                else:
                    raise _Unsupported(p)
            node, i = _parse_alt(p, i)
            if i >= n or p[i] != ")":
                raise _Unsupported(p)
            items.append(node)
            i += 1
        elif c == "[":
            i = _skip_class(p, i)
            items.append(("any",))
        elif c == "\\":
            e = p[i + 1]
            if e in _ZERO_WIDTH_ESCAPES:
                items.append(("zero", e))
            elif e == "Q":
                raise _Unsupported(p)
            elif e in _CLASS_ESCAPES:
                items.append(("any",))
                if e in "pP" and p[i + 2 : i + 3] == "{":
                    i = p.index("}", i)
                    i -= 1
                elif e in "pP":
                    i += 1
                elif e == "x" and p[i + 2 : i + 3] == "{":
                    i = p.index("}", i) - 1
                elif e == "x":
                    i += 2
            elif e.isalnum():
                raise _Unsupported(p)
            else:
                items.append(("lit", e))
            i += 2
        elif c in "^$":
            items.append(("zero", c))
            i += 1
        elif c == ".":
            items.append(("any",))
            i += 1
        else:
            items.append(("lit", c))
            i += 1
    return ("cat", items), i


def _skip_class(p: str, i: int) -> int:
    j = i + 1
    if p[j : j + 1] == "^":
        j += 1
    if p[j : j + 1] == "]":
        j += 1
    while p[j] != "]":
        if p[j] == "\\":
            j += 2
        elif p.startswith("[:", j) and p.find(":]", j + 2) != -1:
            j = p.find(":]", j + 2) + 2
        else:
            j += 1
    return j + 1


# Words in nearly every review comment: a branch keyed on one of them runs on nearly every comment.
_COMMON = frozenset(
    {
        "the",
        "and",
        "for",
        "this",
        "that",
        "you",
        "not",
        "with",
        "should",
        "from",
        "out",
        "per",
        "are",
        "can",
        "here",
        "use",
        "but",
        "have",
        "will",
        "when",
        "what",
        "why",
        "all",
        "any",
        "one",
        "its",
        "into",
        "there",
        "then",
        "than",
        "also",
        "just",
        "only",
        "need",
        "make",
        "like",
        "was",
        "has",
        "been",
        "get",
        "got",
        "see",
        "could",
        "would",
        "about",
        "more",
        "some",
        "other",
        "each",
        "every",
    }
)


@lru_cache(maxsize=65_536)
def _selectivity(word: str) -> int:
    return word_weight(word) - (4 if word.lower() in _COMMON else 0)


def _rank(option: Iterable[Atom]) -> tuple[int, int]:
    atoms = list(option)
    return (
        min(_selectivity(a.text) + a.starts_word + a.ends_word for a in atoms),
        -len(atoms),
    )


def _best(options: list[set[Atom]]) -> set[Atom] | None:
    """The most selective of several word sets that are each required: one whose words are all
    long enough to use, then the one whose least selective word is longest (common words count
    as short), then the smallest."""
    options = [o for o in options if o]
    if not options:
        return None
    return max(options, key=lambda o: (_usable(o), *_rank(o)))


def _required(node: _Node, starts: bool = False, ends: bool = False) -> set[Atom] | None:
    """Atoms of which every match of ``node`` contains one. ``starts``/``ends``: a ``\\b`` sits
    right before/after the node, so an atom at its very start/end starts/ends a word."""
    return _best(_groups(node, starts, ends))


def _groups(node: _Node, starts: bool = False, ends: bool = False) -> list[set[Atom]]:
    """Every group of atoms of which each match of ``node`` contains one (a word of each)."""
    if node[0] == "lit":
        return [{Atom(node[1], starts, ends)}]
    if node[0] == "any" or node[0] == "zero":
        return []
    # "rep": the first repetition starts where the node starts; the last may not end it
    if node[0] == "rep":
        return _groups(node[1], starts, False) if node[2] >= 1 else []
    if node[0] == "alt":
        out: set[Atom] = set()
        for option in node[1]:
            words = _required(option, starts, ends)
            if not words:
                return []
            out |= words
        return [out]
    # "cat": literal runs and each other part's own words. Assertions consume nothing, so they
    # do not break a run; a \b right before or after a run or a part is kept with it.
    items = node[1]
    before_b = [False] * len(items)  # a \b (or the node's own start boundary) right before item i
    after_b = [False] * len(items)  # a \b (or the node's own end boundary) right after item i
    flag = starts
    for i, item in enumerate(items):
        if item[0] == "zero":
            flag = flag or item[1] == "b"
            continue
        before_b[i], flag = flag, False
    flag = ends
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if item[0] == "zero":
            flag = flag or item[1] == "b"
            continue
        after_b[i], flag = flag, False
    candidates: list[set[Atom]] = []
    run, run_starts, run_last = "", False, -1
    for i, item in enumerate(items):
        if item[0] == "lit":
            if not run:
                run_starts = before_b[i]
            run += item[1]
            run_last = i
            continue
        if item[0] == "zero":
            if item[1] == "b" and run:  # the run ends at a word boundary
                candidates.append({Atom(run, run_starts, True)})
                run = ""
            continue
        if run:
            candidates.append({Atom(run, run_starts, False)})
            run = ""
        candidates += _groups(item, before_b[i], after_b[i])
    if run:
        candidates.append({Atom(run, run_starts, after_b[run_last])})
    return candidates
