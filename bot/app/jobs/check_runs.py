"""Publishing a check run: created in progress, then completed with its annotations in batches.

GitHub takes at most 50 annotations per request, so the report arrives as batches
(:func:`bot.core.config_folder.check_run_report`); the last request carries the conclusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class CheckRunOutput(Protocol):
    """What a check run shows: :class:`bot.core.config_folder.CheckRunReport` and
    :class:`bot.core.pr_check.PullRequestCheck` both are one."""

    title: str
    summary: str
    conclusion: str
    annotations: Sequence[Sequence[Mapping[str, Any]]]


async def publish_check_run(
    gh: Any, repo: str, *, name: str, head_sha: str, report: CheckRunOutput
) -> None:
    title, summary, conclusion = report.title, report.summary, report.conclusion
    owner, repo_name = repo.split("/", 1)
    url_vars = {"owner": owner, "repo": repo_name}
    run = await gh.post(
        "/repos/{owner}/{repo}/check-runs",
        url_vars=url_vars,
        data={"name": name, "head_sha": head_sha, "status": "in_progress"},
    )
    batches = list(report.annotations) or [()]
    for index, batch in enumerate(batches):
        data: dict[str, Any] = {
            "output": {"title": title, "summary": summary, "annotations": list(batch)}
        }
        if index == len(batches) - 1:
            data["conclusion"] = conclusion
        await gh.patch(
            "/repos/{owner}/{repo}/check-runs/{id}",
            url_vars={**url_vars, "id": run["id"]},
            data=data,
        )
