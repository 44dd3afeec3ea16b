"""Where a playbook's evidence issue may be written, and what an update to it changes.

The evaluation job at the edge finds the issue by its hidden marker; these rules decide whether
an installation may write it at all, and what the write carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.core.evaluate import Evaluation
from bot.core.evidence import evidence_marker, render_evidence, title
from bot.core.feedback import FeedbackShare


def owner_of(repo: str) -> str:
    return repo.split("/", 1)[0].lower()


def may_publish(evidence_repo: str | None, installation_repos: Iterable[str]) -> bool:
    """An installation writes evidence only to a repository of its own organisation.

    ``installation_repos`` are the repositories the installation's nudges were on; an org's
    settings naming another org's repository are not obeyed.
    """
    if not evidence_repo or "/" not in evidence_repo:
        return False
    return owner_of(evidence_repo) in {owner_of(r) for r in installation_repos}


def find_evidence_issue(
    playbook_id: str, issues: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The playbook's issue among listed issues (pull requests are not issues), by its marker."""
    marker = evidence_marker(playbook_id)
    for issue in issues:
        if "pull_request" not in issue and marker in (issue.get("body") or ""):
            return issue
    return None


def latest_decision(history: Sequence[Evaluation]) -> Evaluation:
    return max(history, key=lambda e: (e.at, e.window_end))


def evidence_write(
    playbook_title: str,
    history: Sequence[Evaluation],
    source: str,
    existing: Mapping[str, Any] | None,
    scope: str = "",
    feedback: FeedbackShare | None = None,
) -> dict[str, Any]:
    """The fields of the issue to create, or of the edit to the existing one.

    A pause asks for an author's attention again, so it reopens a closed issue; other decisions
    leave the issue's state as people left it.
    """
    latest = latest_decision(history)
    data: dict[str, Any] = {
        "title": title(playbook_title, latest),
        "body": render_evidence(playbook_title, history, source, scope, feedback),
    }
    if existing is not None and latest.pauses and existing.get("state") == "closed":
        data["state"] = "open"
    return data
