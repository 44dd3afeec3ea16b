"""Classify review comments against every playbook, at a cost that does not grow with their number.

All include and exclude patterns of all playbooks go into one prefiltered set
(:class:`bot.core.patterns.PatternSet`): one scan finds which of the words the patterns require
occur in the comment, and only the patterns that need those words run, each in linear time. A
playbook matches when one of its patterns matches and none of its exclusions does; the pattern
that matched and the words it matched are kept, so an author can see why.

A line comment is also read beside the code it is on. A playbook's ``match.on_code`` rules each
pair a pattern for the reviewer's words with a pattern for that code (the last
:data:`CODE_LINES` lines of the comment's diff hunk, without the diff's ``+``/``-`` marks):
"This should not be here" on ``password = "hunter2"`` is a finding that neither says alone. The
rules' comment patterns are a second prefiltered set, run only when there is code; each rule
whose comment pattern matched then runs its code pattern on those few lines. A playbook's
exclusions apply to a code match as to any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.core.patterns import (
    DEFAULT_BUDGET,
    Entry,
    PatternSet,
    PatternSetTooLarge,
    SetBudget,
    compiled,
    entries_for,
    occurs_test,
)
from bot.core.playbook import Playbook

__all__ = [
    "CODE_LINES",
    "MAX_TEXT",
    "QUOTE_CHARS",
    "Classifier",
    "Match",
    "PatternSetTooLarge",
    "code_lines",
    "reviewer_words",
    "short_quote",
]

# Review comments beyond this are almost always pasted logs; the head says what the reviewer meant.
MAX_TEXT = 20_000
QUOTE_CHARS = 240  # a quote of more is cut (the renderer allows up to 280)
# A line comment is about the line it is on and the few above it (GitHub shows four above).
CODE_LINES = 5


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


def code_lines(diff_hunk: str) -> str:
    """The code a line comment is on: the hunk's last :data:`CODE_LINES` lines, marks dropped.

    GitHub's ``diff_hunk`` runs from the hunk's ``@@`` header to the line commented on; each
    line after the header starts with ``+`` (added), ``-`` (removed) or a space (unchanged).
    """
    if not diff_hunk:
        return ""
    lines = diff_hunk[-MAX_TEXT:].split("\n")
    kept = [line for line in lines[-CODE_LINES - 1 :] if not line.startswith("@@")]
    return "\n".join(line[1:] if line[:1] in "+- " else line for line in kept[-CODE_LINES:])


@dataclass(frozen=True)
class Match:
    """One playbook a comment matched: the short quote that is the evidence, and the pattern.

    A match made by an ``on_code`` rule also names the rule's code pattern and the line of code
    it matched on (``code_pattern``, ``code_words``); ``pattern`` is then the rule's comment
    pattern. Only ``quote`` is ever rendered into a pull request.
    """

    playbook_id: str
    quote: str
    pattern: str = ""
    words: str = ""  # exactly what the pattern matched
    code_pattern: str = ""
    code_words: str = ""


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
        # on_code rules: their comment patterns in a set of their own; ``_rule_of`` gives each
        # of its entries the rule's number in ``_rules`` (playbook, comment pattern, code pattern).
        self._rules: list[tuple[str, str, str]] = []
        self._rule_of: list[int] = []
        cues: list[Entry] = []
        for p in playbooks:
            for rule in p.on_code:
                more = entries_for(p.id, rule.comment, False, p.source)
                cues += more
                self._rule_of += [len(self._rules)] * len(more)
                self._rules.append((p.id, rule.comment, rule.code))
        self._cues = PatternSet(cues, budget) if cues else None
        self._code_tests = [occurs_test(code) for _, _, code in self._rules]

    def _scan(self, data: bytes) -> tuple[set[str], set[str], list[int]]:
        """Playbooks whose patterns match the UTF-8 ``data``, those excluded, and the matching
        branches."""
        found: set[str] = set()
        excluded: set[str] = set()
        includes, excludes = self._includes, self._excludes
        branches = self._set.branch_hits(data)
        for bid in branches:
            found.update(includes[bid])
            excluded.update(excludes[bid])
        return found, excluded, branches

    def _by_code(self, data: bytes, diff_hunk: str, skip: set[str]) -> dict[str, int]:
        """Playbook id -> the first of its ``on_code`` rules that matches the UTF-8 ``data``
        beside ``diff_hunk``'s code, for the playbooks not in ``skip``. The code is cut out of
        the hunk only when a rule's comment pattern matched."""
        if self._cues is None or not diff_hunk:
            return {}
        first: dict[str, int] = {}
        code: bytes | None = None
        for bid in self._cues.branch_hits(data):
            for index in self._cues.owners_of(bid):
                rule = self._rule_of[index]
                owner = self._rules[rule][0]
                if owner in skip or rule >= first.get(owner, rule + 1):
                    continue
                if code is None:
                    code = code_lines(diff_hunk).encode("utf-8")
                if code.strip() and self._code_tests[rule](code):
                    first[owner] = rule
        return first

    def classify(self, text: str, diff_hunk: str = "") -> list[str]:
        """Ids of the playbooks whose patterns match ``text`` and whose exclusions do not; with
        a line comment's ``diff_hunk``, also those an ``on_code`` rule matches."""
        data = reviewer_words(text).encode("utf-8")
        found, excluded, _ = self._scan(data)
        found -= excluded
        found.update(self._by_code(data, diff_hunk, found | excluded))
        return sorted(found)

    def matches(self, text: str, diff_hunk: str = "") -> list[Match]:
        """Like :meth:`classify`, with the pattern and a short quote around its first hit."""
        words = reviewer_words(text)
        data = words.encode("utf-8")
        ids, excluded, branches = self._scan(data)
        ids -= excluded
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
        made = {
            owner: _match(owner, entries[index].pattern, entries[index].branch, words)
            for owner, index in first.items()
        }
        for owner, rule in self._by_code(data, diff_hunk, ids | excluded).items():
            _, comment_pattern, code_pattern = self._rules[rule]
            made[owner] = replace(
                _match(owner, comment_pattern, comment_pattern, words),
                code_pattern=code_pattern,
                code_words=_code_line(code_pattern, code_lines(diff_hunk)),
            )
        return [made[pid] for pid in sorted(made)]


def _match(playbook_id: str, pattern: str, branch: str, words: str) -> Match:
    """The match of ``playbook_id``: exactly what ``branch`` matched in ``words``, and a quote."""
    data = words.encode("utf-8")  # byte offsets are cheaper to find than character ones
    hit = compiled(branch).search(data)
    if hit is None:  # cannot happen: the set said this pattern matches
        return Match(playbook_id, short_quote(words, 0, 0), pattern)
    start = len(data[: hit.start()].decode("utf-8", "ignore"))
    exact = data[hit.start() : hit.end()].decode("utf-8", "ignore")
    end = start + len(exact)
    return Match(playbook_id, short_quote(words, start, end), pattern, _one_line(exact))


def _code_line(pattern: str, code: str) -> str:
    """The line (or lines) of ``code`` where ``pattern`` matched, on one line; for authors only,
    never rendered into a comment (the code may hold the very secret a playbook is about)."""
    data = code.encode("utf-8")
    hit = compiled(pattern).search(data)
    if hit is None:
        return ""
    start = data.rfind(b"\n", 0, hit.start()) + 1
    end = data.find(b"\n", max(hit.end() - 1, hit.start()))
    return _one_line(data[start : end if end >= 0 else len(data)].decode("utf-8", "ignore"))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:QUOTE_CHARS]


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
