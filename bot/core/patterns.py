"""Playbook patterns compiled once, matched with a cost that does not grow with the playbook count.

Every pattern is an RE2 regular expression (linear time in the comment, whatever it says). Each
top-level alternative of each pattern (a *branch*) is read once for the words that every match
of it must contain (:func:`required_words`; ``\\bbind[\\s`]*params?`` needs ``bind`` at the start
of a word). A word next to a gap of spaces or backticks (``missing[\\s`]+tests?``) must start or
end at a word boundary, like one next to ``\\b``, so "missing" is not looked for inside
"missingno". All those words of all playbooks go into two literal sets (``re2.Set``), one of
ASCII words and one of words in other scripts: one scan of the comment says which words occur,
and only the branches whose words occur run, each compiled on its own with its own memory. A
branch that needs a word of several groups (``\\bmissing[\\s`]+tests?`` needs "missing" and
"test") runs only when the comment has one of each. So a comment
costs about the same with 10 playbooks as with 300, and no shared DFA cache is rebuilt over and
over (which is what a single ``re2.Set`` of all patterns did).

The memory is bounded by deliberate numbers, documented in the README:

* ``PATTERN_MAX_MEM``: each pattern may use at most 4 MiB (RE2 gives two thirds of it to the
  compiled program and the rest to that pattern's DFA cache, which grows only when it runs). A
  pattern that needs more does not validate.
* ``WORDS_MAX_MEM``: each of the two sets of required words (ASCII words, words in other scripts)
  may use 64 MiB (about 100,000 words; the nine shipped playbooks need about 2,400, 300
  playbooks about 91,000).
* ``SetBudget``: all playbooks together may compile to at most ``instructions`` RE2 instructions
  (6 million, about 48 MiB of programs; the nine shipped playbooks use about 142 thousand), and at
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
from itertools import chain
from typing import Literal, Protocol, TypeAlias

import re2

# Characters other than ASCII that RE2 matches to an ASCII letter when case does not matter.
_ASCII_FOLDS = ("\u017f", "\u212a")  # ſ (s), K (Kelvin sign, k)

PATTERN_MAX_MEM = 4 << 20
WORDS_MAX_MEM = 64 << 20
MIN_WORD = 3  # shorter required words ("on", "gc") would make nearly every comment a candidate
MAX_CHECKS = 3  # further required word groups checked before a branch runs (required_groups)


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

    instructions: int = 6_000_000
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
        tests: list[_Test] = []
        self._owners: list[list[int]] = []  # branch id -> entries with that branch
        for index, entry in enumerate(self.entries):
            bid = branch_ids.get(entry.branch)
            if bid is None:
                try:
                    tests.append(_match_of(_test(entry.branch)))
                except re2.error:
                    raise PatternSetTooLarge(
                        entry.owner,
                        entry.source,
                        f"RE2 cannot compile the pattern {entry.pattern!r}",
                    ) from None
                bid = branch_ids[entry.branch] = len(self._owners)
                self._owners.append([])
            self._owners[bid].append(index)
        self._tests = tests
        self.branch_count = len(tests)
        self._always: list[int] = []  # branches without a required word
        word_ids: dict[str, int] = {}

        def word_id(atom: Atom) -> int:
            text = atom.text.lower() if atom.text.isascii() else atom.text
            key = Atom(text, atom.starts_word, atom.ends_word).regex()
            if key not in word_ids:
                word_ids[key] = len(word_ids)
            return word_ids[key]

        # word id -> branches that need it and need nothing more, and branches that need it and
        # also a word of each further group (``\bmissing[\s`]+tests?`` needs "missing" and "test").
        plain: dict[int, list[int]] = {}
        checked: dict[int, list[tuple[int, tuple[frozenset[int], ...]]]] = {}
        for branch, bid in branch_ids.items():
            atoms = branch_atoms(branch)
            if atoms is None:
                self._always.append(bid)
                continue
            groups = tuple(frozenset(map(word_id, g)) for g in branch_groups(branch))
            for wid in sorted({word_id(atom) for atom in atoms}):
                if groups:
                    checked.setdefault(wid, []).append((bid, groups))
                else:
                    plain.setdefault(wid, []).append(bid)
        # Two word sets: the ASCII words first, then the others (Korean, Japanese, Chinese ...).
        # One set of both is many times slower on text it has not seen: RE2 builds its DFA's
        # states as it meets them, and thousands of multi-byte words multiply the states and
        # their size. A comment in ASCII only needs the second set when one of its words holds
        # a character that matches an ASCII letter regardless of case (the long s, the Kelvin
        # sign).
        ascii_keys = [key for key in word_ids if key.isascii()]
        other_keys = [key for key in word_ids if not key.isascii()]
        renumber = {word_ids[key]: i for i, key in enumerate(ascii_keys + other_keys)}
        count = len(word_ids)
        self._plain: list[tuple[int, ...]] = [()] * count
        for wid, bids in plain.items():
            self._plain[renumber[wid]] = tuple(bids)
        self._checked: list[tuple[tuple[int, tuple[frozenset[int], ...]], ...]] = [()] * count
        for wid, entries_ in checked.items():
            self._checked[renumber[wid]] = tuple(
                (bid, tuple(frozenset(renumber[w] for w in group) for group in groups))
                for bid, groups in entries_
            )
        self.words = ascii_keys + other_keys  # the word sets' patterns, by id
        self._ascii_words: _Test | None = None
        self._other_words: _Test | None = None
        self._other_offset = len(ascii_keys)
        self._other_on_ascii = any(c in key for key in other_keys for c in _ASCII_FOLDS)
        if ascii_keys:
            self._ascii_words = _match_of(_word_set(ascii_keys, self.entries))
        if other_keys:
            self._other_words = _match_of(_word_set(other_keys, self.entries))

    def _found_words(self, data: bytes) -> list[int]:
        """Ids of the required words that occur in the UTF-8 ``data``."""
        found: list[int] = []
        if self._ascii_words is not None:
            found = self._ascii_words(data) or []
        if self._other_words is not None and (self._other_on_ascii or not data.isascii()):
            more = self._other_words(data)
            if more:
                offset = self._other_offset
                found = [*found, *(offset + i for i in more)]
        return found

    def branch_hits(self, data: bytes) -> list[int]:
        """Branch ids (see :meth:`owners_of`) of every branch that matches the UTF-8 ``data``."""
        found = self._found_words(data)
        if not found:
            candidates: Iterable[int] = self._always
        else:
            # C-level loops over the found words: a comment finds dozens of them.
            chosen = set(chain.from_iterable(map(self._plain.__getitem__, found)))
            checked = self._checked
            present: set[int] | None = None
            for word in filter(checked.__getitem__, found):
                if present is None:
                    present = set(found)
                for bid, groups in checked[word]:
                    for group in groups:
                        if present.isdisjoint(group):
                            break
                    else:
                        chosen.add(bid)
            if self._always:
                chosen.update(self._always)
            candidates = chosen
        tests = self._tests
        return [b for b in candidates if tests[b](data)]

    def owners_of(self, branch_id: int) -> list[int]:
        """Indices (into ``entries``) of the entries whose branch is ``branch_id``."""
        return self._owners[branch_id]


class _Test(Protocol):
    """A compiled set's ``Match``: the indices of its patterns that occur in the data, or an
    empty or None answer when none does."""

    def __call__(self, data: bytes, /) -> list[int] | None: ...


def _match_of(one: _SearchSet) -> _Test:
    """The set's ``Match`` without the ``re2`` module's Python wrapper around it (which only
    encodes ``str`` input; the data here is already bytes): a comment runs several of these."""
    inner = getattr(one, "_set", None)
    match = getattr(inner, "Match", None)
    return match if callable(match) else one.Match


def occurs_test(pattern: str) -> _Test:
    """A test whether ``pattern`` occurs in UTF-8 data (a non-empty answer when it does): the
    forward DFA only, cheaper than a search that also finds where the match starts."""
    return _match_of(_test(pattern))


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
        return _atom_regex(self.text, self.starts_word, self.ends_word)


@lru_cache(maxsize=65_536)
def _atom_regex(text: str, starts_word: bool, ends_word: bool) -> str:
    escaped: str = re2.escape(text)
    return ("\\b" if starts_word else "") + escaped + ("\\b" if ends_word else "")


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


# Nodes: ("lit", ch) one literal character; ("any",) one character of a class; ("gap",) one
# character of a class of characters that are never word characters (``\s``, ``[\s`]``),
# so a word next to it starts or ends at a word boundary; ("zero",) an
# assertion that consumes nothing; ("cat", [nodes]); ("alt", [nodes]); ("rep", node, minimum).
_Node: TypeAlias = (
    tuple[Literal["lit"], str]
    | tuple[Literal["any"]]
    | tuple[Literal["gap"]]
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
            end = _skip_class(p, i)
            items.append(("gap",) if _never_word(p[i + 1 : end - 1]) else ("any",))
            i = end
        elif c == "\\":
            e = p[i + 1]
            if e in _ZERO_WIDTH_ESCAPES:
                items.append(("zero", e))
            elif e == "Q":
                raise _Unsupported(p)
            elif e in _CLASS_ESCAPES:
                items.append(("gap",) if e in "sW" else ("any",))
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


_GAP_ESCAPES = frozenset("sWntrfv")


def _never_word(body: str) -> bool:
    """Whether a character class ``[body]`` holds only characters that are not word characters
    (ASCII letters, digits, ``_``): whitespace, ``\\W``, punctuation; no ranges, no negation."""
    if not body or body[0] == "^":
        return False
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            e = body[i + 1 : i + 2]
            if not (e in _GAP_ESCAPES or (e.isascii() and not _word_char(e))):
                return False
            i += 2
            continue
        if c == "-" and 0 < i < len(body) - 1:  # a range: it could hold word characters
            return False
        if not c.isascii() or _word_char(c) or c == "[":
            return False
        i += 1
    return True


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


def _is_gap(node: _Node) -> bool:
    """Whether ``node`` consumes at least one character and only characters that are never word
    characters."""
    if node[0] == "gap":
        return True
    return node[0] == "rep" and node[2] >= 1 and _is_gap(node[1])


def _word_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _atom(text: str, starts: bool, ends: bool) -> Atom:
    """An atom whose boundary flags hold only where its own end is a word character (RE2's
    ``\b`` is ASCII: between a word character and anything else)."""
    return Atom(text, starts and _word_char(text[0]), ends and _word_char(text[-1]))


def _groups(node: _Node, starts: bool = False, ends: bool = False) -> list[set[Atom]]:
    """Every group of atoms of which each match of ``node`` contains one (a word of each)."""
    if node[0] == "lit":
        return [{_atom(node[1], starts, ends)}]
    if node[0] == "any" or node[0] == "gap" or node[0] == "zero":
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
    # A gap (``[\s`]+``: at least one character that is never a word character) next to a part
    # is a boundary too, for a word character at that end of the part (see _atom).
    gaps = [_is_gap(item) for item in items]
    flag = starts
    for i, item in enumerate(items):
        if item[0] == "zero":
            flag = flag or item[1] == "b"
            continue
        before_b[i], flag = flag, gaps[i]
    flag = ends
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if item[0] == "zero":
            flag = flag or item[1] == "b"
            continue
        after_b[i], flag = flag, gaps[i]
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
                candidates.append({_atom(run, run_starts, True)})
                run = ""
            continue
        if run:
            candidates.append({_atom(run, run_starts, after_b[run_last])})
            run = ""
        candidates += _groups(item, before_b[i], after_b[i])
    if run:
        candidates.append({_atom(run, run_starts, after_b[run_last])})
    return candidates
