"""Playbook patterns compiled once, matched with a cost that does not grow with the playbook count.

Every pattern is an RE2 regular expression (linear time in the comment, whatever it says). The
patterns of all playbooks go into one ``re2.Filter`` (RE2's FilteredRE2): from each pattern RE2
derives the words a match must contain (its *atoms*), and one literal scan of the comment finds
which atoms occur. Only the patterns whose atoms are present run, each with its own memory, so
a comment costs about the same with 10 playbooks as with 300, and no shared DFA cache thrashes.

The memory is bounded by two deliberate numbers, documented in the README:

* ``PATTERN_MAX_MEM``: each pattern may use at most 1 MiB (RE2 gives two thirds of it to the
  compiled program and the rest to that pattern's DFA cache). A pattern that needs more does not
  validate.
* ``SetBudget``: all playbooks together may compile to at most ``instructions`` RE2 instructions
  (4 million, about 32 MiB of programs; the nine shipped playbooks use about 50 thousand), and at
  most ``every_comment`` patterns may lack a required word of three letters or more (such a
  pattern runs on every comment, so each one adds to every comment's cost).

A set beyond its budget is reported when playbooks are loaded, naming the playbook that does not
fit, and :class:`PatternSet` refuses it with :class:`PatternSetTooLarge`; matching never fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import re2

PATTERN_MAX_MEM = 1 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = PATTERN_MAX_MEM
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
    regexp: object  # the compiled re2 pattern
    instructions: int
    every_comment: bool  # no required word: the prefilter cannot skip it


@lru_cache(maxsize=65_536)
def pattern_info(pattern: str) -> PatternInfo:
    """Compile one pattern (cached: validation, quotes and the set share one compilation).

    Raises ``re2.error`` when the pattern is not valid RE2 or needs more than ``PATTERN_MAX_MEM``.
    """
    regexp = re2.compile(pattern, RE2_OPTIONS)
    probe = re2.Filter()
    probe.Add(pattern, RE2_OPTIONS)
    probe.Compile()
    every_comment = bool(probe.Match("", potential=True))
    return PatternInfo(regexp, regexp.programsize + regexp.reverseprogramsize, every_comment)


def compiled(pattern: str):
    """The compiled RE2 pattern (cached)."""
    return pattern_info(pattern).regexp


class PatternSetTooLarge(Exception):
    """The playbooks together do not fit the classifier's budget; names the first that does not."""

    def __init__(self, owner: str, source: str, reason: str):
        self.owner, self.source, self.reason = owner, source, reason
        where = f"{source}: " if source else ""
        super().__init__(f"{where}playbook {owner!r} does not fit: {reason}")


@dataclass(frozen=True)
class Entry:
    """One pattern of one playbook; ``exclude`` marks the playbook's exclusion patterns."""

    owner: str
    pattern: str
    exclude: bool = False
    source: str = ""


def over_budget(entries: Sequence[Entry], budget: SetBudget = DEFAULT_BUDGET) -> int | None:
    """Index of the first entry that takes the set past ``budget``, or None when all fit."""
    instructions = every = 0
    for index, entry in enumerate(entries):
        info = pattern_info(entry.pattern)
        instructions += info.instructions
        every += info.every_comment
        if instructions > budget.instructions or every > budget.every_comment:
            return index
    return None


def budget_reason(entries: Sequence[Entry], budget: SetBudget) -> str:
    infos = [pattern_info(e.pattern) for e in entries]
    if sum(i.every_comment for i in infos) > budget.every_comment:
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
    """All include and exclude patterns of all playbooks, matched in one prefiltered pass."""

    def __init__(self, entries: Sequence[Entry], budget: SetBudget = DEFAULT_BUDGET):
        self.entries = list(entries)
        bad = over_budget(self.entries, budget)
        if bad is not None:
            entry = self.entries[bad]
            raise PatternSetTooLarge(entry.owner, entry.source, budget_reason(self.entries[: bad + 1], budget))
        self._filter = self._compile(self.entries) if self.entries else None
        if self.entries and self._filter is None:
            self._filter = self._largest_prefix_or_raise()

    @staticmethod
    def _compile(entries: Sequence[Entry]):
        filt = re2.Filter()
        try:
            for entry in entries:
                filt.Add(entry.pattern, RE2_OPTIONS)
            filt.Compile()
        except re2.error:
            return None
        return filt

    def _largest_prefix_or_raise(self):
        """RE2 refused the whole set: find the first playbook whose patterns it cannot take."""
        low, high = 0, len(self.entries)  # prefix of `low` entries compiles, of `high` does not
        while high - low > 1:
            mid = (low + high) // 2
            if self._compile(self.entries[:mid]) is None:
                high = mid
            else:
                low = mid
        entry = self.entries[high - 1]
        raise PatternSetTooLarge(
            entry.owner, entry.source, "RE2 cannot compile the playbooks' patterns together up to here"
        )

    def hits(self, text: str) -> list[int]:
        """Indices (into ``entries``) of every pattern that matches ``text``, ascending."""
        if self._filter is None:
            return []
        return sorted(self._filter.Match(text) or ())
