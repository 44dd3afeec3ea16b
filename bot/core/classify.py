"""Classify review comments against every playbook, at a cost that does not grow with their number.

All include and exclude patterns of all playbooks go into one prefiltered set
(:class:`bot.core.patterns.PatternSet`): one scan finds which of the words the patterns require
occur in the comment, and only the patterns that need those words run, each in linear time. A
playbook matches when one of its patterns matches and none of its exclusions does; the pattern
that matched and the words it matched are kept, so an author can see why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.patterns import (
    DEFAULT_BUDGET,
    Entry,
    PatternSet,
    PatternSetTooLarge,
    SetBudget,
    compiled,
    entries_for,
)
from bot.core.playbook import Playbook

__all__ = [
    "MAX_TEXT",
    "QUOTE_CHARS",
    "Classifier",
    "Match",
    "PatternSetTooLarge",
    "reviewer_words",
    "short_quote",
]

# Review comments beyond this are almost always pasted logs; the head says what the reviewer meant.
MAX_TEXT = 20_000
QUOTE_CHARS = 240  # a quote of more is cut (the renderer allows up to 280)


def reviewer_words(text: str) -> str:
    """The part of a comment that is the reviewer's own: no quoted replies, no hidden markers.

    Linear in the text: HTML comments (``<!-- ... -->``) become a space, and every line whose
    first non-blank character is ``>`` (a quoted reply) becomes a space.
    """
    text = _drop_html_comments(text[:MAX_TEXT])
    if ">" not in text:
        return text
    return "\n".join(" " if line.lstrip().startswith(">") else line for line in text.split("\n"))


def _drop_html_comments(text: str) -> str:
    if "<!--" not in text:
        return text
    parts, pos = [], 0
    while True:
        start = text.find("<!--", pos)
        if start < 0:
            break
        end = text.find("-->", start + 4)
        if end < 0:  # unclosed: no later comment can close either, keep the rest as written
            break
        parts += [text[pos:start], " "]
        pos = end + 3
    parts.append(text[pos:])
    return "".join(parts)


@dataclass(frozen=True)
class Match:
    """One playbook a comment matched: the short quote that is the evidence, and the pattern."""

    playbook_id: str
    quote: str
    pattern: str = ""
    words: str = ""  # exactly what the pattern matched


class Classifier:
    """Which playbooks a comment belongs to. Paused playbooks still classify (outcomes need it).

    Raises :class:`PatternSetTooLarge` (naming the playbook that does not fit) when the playbooks
    together exceed ``budget``; :func:`bot.core.playbook.load_playbooks` already leaves such
    playbooks out and reports them, so a loaded set always fits the default budget.
    """

    def __init__(self, playbooks: Sequence[Playbook], budget: SetBudget = DEFAULT_BUDGET):
        self.playbooks = {p.id: p for p in playbooks}
        entries: list[Entry] = []
        for p in playbooks:
            for pat in p.patterns:
                entries += entries_for(p.id, pat, False, p.source)
            for pat in p.exclude:
                entries += entries_for(p.id, pat, True, p.source)
        self._set = PatternSet(entries, budget)
        # branch id -> the playbooks it includes, and the playbooks it excludes
        self._includes: list[tuple[str, ...]] = []
        self._excludes: list[tuple[str, ...]] = []
        for bid in range(self._set.branch_count):
            owners = [entries[i] for i in self._set.owners_of(bid)]
            self._includes.append(tuple(dict.fromkeys(e.owner for e in owners if not e.exclude)))
            self._excludes.append(tuple(dict.fromkeys(e.owner for e in owners if e.exclude)))

    def _matched(self, words: str) -> tuple[set[str], list[int]]:
        """Ids of the playbooks that ``words`` matches and does not exclude, and the branches
        that matched."""
        found: set[str] = set()
        excluded: set[str] = set()
        includes, excludes = self._includes, self._excludes
        branches = self._set.branch_hits(words.encode("utf-8"))
        for bid in branches:
            found.update(includes[bid])
            excluded.update(excludes[bid])
        return (found - excluded if excluded else found), branches

    def _found(self, words: str) -> dict[str, Entry]:
        """Playbook id -> the first of its patterns that matched, for playbooks not excluded."""
        ids, branches = self._matched(words)
        entries = self._set.entries
        first: dict[str, int] = {}
        for bid in branches:
            for index in self._set.owners_of(bid):
                owner = entries[index].owner
                if (
                    owner in ids
                    and not entries[index].exclude
                    and index < first.get(owner, index + 1)
                ):
                    first[owner] = index
        return {owner: entries[index] for owner, index in first.items()}

    def classify(self, text: str) -> list[str]:
        """Ids of the playbooks whose patterns match ``text`` and whose exclusions do not."""
        return sorted(self._matched(reviewer_words(text))[0])

    def matches(self, text: str) -> list[Match]:
        """Like :meth:`classify`, with the pattern and a short quote around its first hit."""
        words = reviewer_words(text)
        found = self._found(words)
        return [self._match(pid, found[pid], words) for pid in sorted(found)]

    @staticmethod
    def _match(playbook_id: str, entry: Entry, words: str) -> Match:
        data = words.encode("utf-8")  # byte offsets are cheaper to find than character ones
        hit = compiled(entry.branch).search(data)
        if hit is None:  # cannot happen: the set said this pattern matches
            return Match(playbook_id, short_quote(words, 0, 0), entry.pattern)
        start = len(data[: hit.start()].decode("utf-8", "ignore"))
        exact = data[hit.start() : hit.end()].decode("utf-8", "ignore")
        end = start + len(exact)
        exact = " ".join(exact.split())[:QUOTE_CHARS]
        return Match(playbook_id, short_quote(words, start, end), entry.pattern, exact)


def short_quote(text: str, start: int, end: int) -> str:
    """At most ``QUOTE_CHARS`` characters around ``start:end``, on one line, with ellipses."""
    flat = " ".join(text.split())
    # Map positions roughly: collapse the same way before the hit.
    lead = len(" ".join(text[:start].split()))
    lead = max(0, min(lead, len(flat)))
    width = max(QUOTE_CHARS, 0)
    if len(flat) <= width:  # the whole comment fits: quote it whole
        return flat
    # Some context before the hit, and as much of the end as still fits.
    begin = min(max(0, lead - width // 3), len(flat) - width)
    if begin > 0:  # start at a word, not in the middle of one
        space = flat.find(" ", begin)
        begin = space + 1 if 0 <= space < lead else begin
    snippet = flat[begin : begin + width]
    prefix = "…" if begin > 0 else ""
    suffix = "…" if begin + width < len(flat) else ""
    return prefix + snippet.strip() + suffix
