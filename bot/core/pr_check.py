"""The check on a pull request to the playbooks repository: problems, examples, and what changes.

The edge reads the playbooks folder at the pull request's base and head commits (nothing is put in
force) and hands the texts here. :func:`pull_request_check` parses the head version of every file
(problems at file and line, YAML syntax errors included), runs each playbook's examples, and for
every playbook the pull request adds, changes or removes says which labelled review comments it
now matches or stops matching compared with the base (:func:`match_diff`). The summary is bounded
(GitHub caps a check run's text at 65,535 characters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.classify import code_lines
from bot.core.config_folder import (
    ANNOTATIONS_PER_REQUEST,
    FolderState,
    annotation,
    apply_folder,
    is_org_file,
)
from bot.core.playbook import Playbook, matches, playbook_as_written
from bot.core.yamlcheck import Problem

SUMMARY_LIMIT = 60_000  # under GitHub's 65,535 characters, with room for the last line
SHOWN_PER_LIST = 8  # comments quoted per gained or lost list; the rest are counted


@dataclass(frozen=True)
class LabelledComment:
    """A review comment whose playbooks a person decided (see ``tests/data/README.md``)."""

    text: str
    playbooks: tuple[str, ...]
    set: str = ""
    diff_hunk: str = ""  # a line comment's code, where it was recorded


@dataclass(frozen=True)
class MatchDiff:
    """One changed playbook: the labelled comments it now matches, and those it stops matching."""

    playbook_id: str
    change: str  # added · changed · removed
    gained: tuple[LabelledComment, ...] = ()
    lost: tuple[LabelledComment, ...] = ()
    matched_before: int = 0
    matched_after: int = 0


def _matched(playbook: Playbook | None, labelled: Sequence[LabelledComment]) -> set[int]:
    if playbook is None:
        return set()
    return {i for i, c in enumerate(labelled) if matches(playbook, c.text, code_lines(c.diff_hunk))}


def match_diff(
    base: Mapping[str, Playbook],
    head: Mapping[str, Playbook],
    labelled: Sequence[LabelledComment],
    changed: Sequence[str] | None = None,
) -> list[MatchDiff]:
    """Per playbook id in ``changed`` (default: every id whose version differs), gained/lost matches.

    ``base`` and ``head`` map playbook ids to the versions at the base and head of the pull request.
    """
    if changed is None:
        changed = sorted(
            pid
            for pid in set(base) | set(head)
            if _comparable(base.get(pid)) != _comparable(head.get(pid))
        )
    diffs = []
    for pid in changed:
        before, after = base.get(pid), head.get(pid)
        old, new = _matched(before, labelled), _matched(after, labelled)
        diffs.append(
            MatchDiff(
                playbook_id=pid,
                change="added" if before is None else "removed" if after is None else "changed",
                gained=tuple(labelled[i] for i in sorted(new - old)),
                lost=tuple(labelled[i] for i in sorted(old - new)),
                matched_before=len(old),
                matched_after=len(new),
            )
        )
    return diffs


def _comparable(playbook: Playbook | None) -> object:
    return None if playbook is None else replace(playbook, source="")


@dataclass(frozen=True)
class PullRequestCheck:
    title: str
    summary: str
    conclusion: str  # success · failure
    annotations: tuple[tuple[dict[str, Any], ...], ...]  # one batch per request, at least one
    problems: tuple[Problem, ...] = ()
    diffs: tuple[MatchDiff, ...] = field(default_factory=tuple)


def _parse(texts: Mapping[str, str]) -> FolderState:
    listing = dict.fromkeys(texts, "")
    return apply_folder(FolderState(), listing, texts)


def _quote(text: str, limit: int = 140) -> str:
    one_line = " ".join(text.split()).replace("`", "'")
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _label(comment: LabelledComment, playbook_id: str) -> str:
    if playbook_id in comment.playbooks:
        return "labelled as this playbook's"
    if comment.playbooks:
        return "labelled " + ", ".join(comment.playbooks)
    return "labelled as about nothing"


def _diff_lines(diff: MatchDiff) -> list[str]:
    pid = diff.playbook_id
    head = f"### `{pid}` ({diff.change}): matches {diff.matched_before} → {diff.matched_after} labelled comments"
    lines = [head, ""]
    if not diff.gained and not diff.lost:
        return lines + ["No labelled comment changes.", ""]
    for word, comments in (("Now matches", diff.gained), ("Stops matching", diff.lost)):
        if not comments:
            continue
        right = sum((pid in c.playbooks) == (word == "Now matches") for c in comments)
        lines.append(
            f"**{word}** {len(comments)} ({right} of them "
            + (
                "labelled as this playbook's"
                if word == "Now matches"
                else "labelled as another's or about nothing"
            )
            + "):"
        )
        for c in comments[:SHOWN_PER_LIST]:
            lines.append(f"- `{_quote(c.text)}` ({_label(c, pid)}{', ' + c.set if c.set else ''})")
        if len(comments) > SHOWN_PER_LIST:
            lines.append(f"- … and {len(comments) - SHOWN_PER_LIST} more")
        lines.append("")
    return lines


def bounded(lines: Sequence[str], limit: int = SUMMARY_LIMIT) -> str:
    """Join ``lines``, cutting whole lines so the text stays within ``limit`` characters."""
    out, size = [], 0
    for index, line in enumerate(lines):
        if size + len(line) + 1 > limit - 200:
            out.append(
                f"\n… {len(lines) - index} more lines left out to stay within GitHub's size limit; "
                "run `python -m bot validate` and `python -m bot classify` locally for the rest."
            )
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def pull_request_check(
    base_texts: Mapping[str, str],
    head_texts: Mapping[str, str],
    labelled: Sequence[LabelledComment],
    *,
    dry_run: str | None = None,
    unreadable: Sequence[Problem] = (),
    per_request: int = ANNOTATIONS_PER_REQUEST,
) -> PullRequestCheck:
    """The check run for a pull request whose folder reads ``base_texts`` before and ``head_texts`` after.

    ``dry_run`` is a summary of the proposed playbooks run over the organisation's history, when
    the deployment can make one; it is shown as given. ``unreadable``: files of the head that
    could not be read at all; each is annotated first, and the check fails.
    """
    head = _parse(head_texts)
    base = _parse(base_texts)
    problems = sorted(head.problems())
    head_by_id = {p.id: p for p in head.playbooks.values()}
    base_by_id = {p.id: p for p in base.playbooks.values()}
    changed_paths = sorted(
        path
        for path in set(base_texts) | set(head_texts)
        if not is_org_file(path) and base_texts.get(path) != head_texts.get(path)
    )
    ids = []
    for path in changed_paths:
        for state in (head, base):
            playbook = state.playbooks.get(path)
            if playbook is not None and playbook.id not in ids:
                ids.append(playbook.id)
    broken = [path for path in changed_paths if path in head_texts and path not in head.playbooks]
    # A playbook whose fields are valid but whose examples fail is still compared: seeing what
    # the new patterns match is how its author fixes them.
    as_written = {path: playbook_as_written(head_texts[path], path) for path in broken}
    compared = dict(head_by_id)
    for playbook in as_written.values():
        if playbook is not None and playbook.id not in compared:
            compared[playbook.id] = playbook
            if playbook.id not in ids:
                ids.append(playbook.id)
    unparsed = [path for path, playbook in as_written.items() if playbook is None]
    unparsed_ids = {base.playbooks[p].id for p in unparsed if p in base.playbooks}
    diffs = [
        d
        for d in match_diff(base_by_id, compared, labelled, sorted(ids))
        if d.playbook_id not in unparsed_ids  # not readable at the head: not "removed"
    ]

    files = sorted({p.file for p in problems})
    if problems:
        title = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}"
    else:
        title = f"{len(head_by_id)} playbooks load; {len(diffs)} changed"
    lines = [
        "Checked the playbooks folder at this pull request's head commit; nothing is in force "
        "until it is merged.",
        "",
    ]
    if problems:
        lines += [
            "**Fix before merging** (each is also shown at its line in *Files changed*): "
            + ", ".join(f"`{f}`" for f in files)
            + ". A merged broken file keeps its last good version in force.",
            "",
        ]
        lines += [f"- `{p.file}:{p.line}` {p.field}: {p.message}" for p in problems[:50]]
        if len(problems) > 50:
            lines.append(f"- … and {len(problems) - 50} more (see the annotations)")
        lines.append("")
    examples = [
        (p.id, len(p.examples_match), len(p.examples_no_match))
        for p in sorted(head_by_id.values(), key=lambda p: p.id)
        if p.id in ids
    ]
    if examples:
        lines += ["## Examples", ""]
        lines += [
            f"- `{pid}`: all {m} must-match and {n} must-not-match examples behave as written"
            for pid, m, n in examples
        ]
        lines.append("")
    if unparsed:
        lines += [
            "Not readable at the head, so not compared: " + ", ".join(f"`{b}`" for b in unparsed),
            "",
        ]
    failing = [p.id for path, p in as_written.items() if p is not None]
    if failing:
        lines += [
            "Compared as written although they do not load yet (see the problems above): "
            + ", ".join(f"`{pid}`" for pid in failing),
            "",
        ]
    lines += [
        f"## Labelled review comments ({len(labelled)}), matched before and after",
        "",
    ]
    if not diffs:
        lines += ["No playbook's patterns changed.", ""]
    for diff in diffs:
        lines += _diff_lines(diff)
    lines += ["## Dry run on the organisation's history", ""]
    lines += [dry_run.strip() if dry_run else "Not available in this deployment.", ""]
    summary = bounded(lines)

    annotations = [
        {**annotation(p), "annotation_level": "warning" if p.warning else "failure"}
        for p in problems
    ]
    batches = tuple(
        tuple(annotations[i : i + per_request]) for i in range(0, len(annotations), per_request)
    ) or ((),)
    if unreadable:  # its own first batch, before the problems of the files that were read
        batches = (tuple(annotation(p) for p in unreadable), *(b for b in batches if b))
    failed = bool(unreadable) or any(not p.warning for p in problems)
    return PullRequestCheck(
        title, summary, "failure" if failed else "success", batches, tuple(problems), tuple(diffs)
    )
