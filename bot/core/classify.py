"""Classify review comments against every playbook in one linear-time pass.

All patterns of all playbooks go into one ``re2.Set``: one scan of the comment says which
patterns hit, whatever an author wrote, so a hostile comment cannot make the worker backtrack.
Exclusions are a second set. Only for the playbooks that matched do we search again, to cut the
short quote that serves as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import re2

from bot.core.playbook import RE2_OPTIONS, Playbook

# Review comments beyond this are almost always pasted logs; the head says what the reviewer meant.
MAX_TEXT = 20_000
QUOTE_CHARS = 240  # a quote of more is cut (the renderer allows up to 280)

_QUOTED_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def reviewer_words(text: str) -> str:
    """The part of a comment that is the reviewer's own: no quoted replies, no hidden markers."""
    text = text[:MAX_TEXT]
    text = _HTML_COMMENT.sub(" ", text)
    return _QUOTED_LINE.sub(" ", text)


@dataclass(frozen=True)
class Match:
    playbook_id: str
    quote: str


class _PatternSet:
    def __init__(self, owners: list[tuple[str, str]]):
        self.owners = [owner for owner, _ in owners]
        self._set = None
        if owners:
            self._set = re2.Set.SearchSet(RE2_OPTIONS)
            for _, pattern in owners:
                self._set.Add(pattern)
            self._set.Compile()

    def hits(self, text: str) -> set[str]:
        if self._set is None:
            return set()
        return {self.owners[i] for i in self._set.Match(text) or ()}


class Classifier:
    """Which playbooks a comment belongs to. Paused playbooks still classify (outcomes need it)."""

    def __init__(self, playbooks: Sequence[Playbook]):
        self.playbooks = {p.id: p for p in playbooks}
        self._include = _PatternSet([(p.id, pat) for p in playbooks for pat in p.patterns])
        self._exclude = _PatternSet([(p.id, pat) for p in playbooks for pat in p.exclude])

    def classify(self, text: str) -> list[str]:
        """Ids of the playbooks whose patterns match ``text`` and whose exclusions do not."""
        words = reviewer_words(text)
        found = self._include.hits(words)
        if found:
            found -= self._exclude.hits(words)
        return sorted(found)

    def matches(self, text: str) -> list[Match]:
        """Like :meth:`classify`, with a short quote around the first hit for each playbook."""
        words = reviewer_words(text)
        return [Match(pid, self._quote(pid, words)) for pid in self.classify(text)]

    def _quote(self, playbook_id: str, words: str) -> str:
        for pattern in self.playbooks[playbook_id].patterns:
            hit = re2.search(pattern, words, RE2_OPTIONS)
            if hit:
                return short_quote(words, hit.start(), hit.end())
        return short_quote(words, 0, 0)


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
