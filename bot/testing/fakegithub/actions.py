"""GitHub Actions as the API shows it: workflow runs of a repository and the jobs of a run.

The fake runs no workflows; a test seeds the runs and jobs it needs (``FakeGitHub.
add_workflow_run`` / ``add_workflow_job``) and the API lists them the way GitHub does, newest
run first, with GitHub's filters.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.testing.fakegithub import shapes
from bot.testing.fakegithub.shapes import WEB, iso
from bot.testing.fakegithub.state import NotFound, Repo, World

CONCLUSIONS = frozenset(
    {
        "action_required",
        "cancelled",
        "failure",
        "neutral",
        "skipped",
        "stale",
        "success",
        "timed_out",
        "startup_failure",
    }
)


@dataclass
class Run:
    repo: Repo
    id: int
    run_number: int
    name: str
    path: str
    workflow_id: int
    event: str
    status: str
    conclusion: str | None
    head_sha: str
    head_branch: str
    actor: str
    created_at: dt.datetime
    updated_at: dt.datetime
    check_suite_id: int
    pull_numbers: list[int]
    jobs: list[dict[str, Any]] = field(default_factory=list)


def _parse(moment: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def created_matches(created: dt.datetime, wanted: str) -> bool:
    """GitHub's search syntax for dates: ``>=X``, ``<=X``, ``>X``, ``<X``, ``X..Y``, a day or a
    moment. The description declares ``created`` a ``date-time``, so only the last gets past
    the request check; the rest is here for when it does not."""
    for op, test in (
        (">=", created.__ge__),
        ("<=", created.__le__),
        (">", created.__gt__),
        ("<", created.__lt__),
    ):
        if wanted.startswith(op):
            return test(_parse(wanted[len(op) :]))
    if ".." in wanted:
        low, _, high = wanted.partition("..")
        return (low in ("", "*") or created >= _parse(low)) and (
            high in ("", "*") or created <= _parse(high)
        )
    if len(wanted) == 10:  # a day
        return iso(created).startswith(wanted)
    return created == _parse(wanted)


class Actions:
    def __init__(self, world: World, now: Callable[[], dt.datetime]):
        self._world = world
        self._now = now
        self._runs: dict[int, Run] = {}

    def add_run(
        self,
        repo: Repo,
        *,
        name: str,
        path: str,
        event: str,
        status: str,
        conclusion: str | None,
        head_sha: str,
        head_branch: str,
        actor: str,
        created_at: dt.datetime | None,
        pull_numbers: list[int],
    ) -> dict[str, Any]:
        created = created_at or self._now()
        runs_of_repo = [r for r in self._runs.values() if r.repo is repo]
        run = Run(
            repo=repo,
            id=self._world.new_id(),
            run_number=len(runs_of_repo) + 1,
            name=name,
            path=path,
            workflow_id=shapes.user_id(f"{repo.full_name}/{path}"),
            event=event,
            status=status,
            conclusion=conclusion,
            head_sha=head_sha,
            head_branch=head_branch,
            actor=actor,
            created_at=created,
            updated_at=created,
            check_suite_id=self._world.new_id(),
            pull_numbers=list(pull_numbers),
        )
        self._world.person(actor)
        self._runs[run.id] = run
        return self.run_json(run)

    def run(self, repo: Repo, run_id: int) -> Run:
        found = self._runs.get(run_id)
        if found is None or found.repo is not repo:
            raise NotFound
        return found

    def add_job(
        self,
        repo: Repo,
        run_id: int,
        *,
        name: str,
        status: str,
        conclusion: str | None,
        steps: list[dict[str, Any]] | None,
        started_at: dt.datetime | None,
        completed_at: dt.datetime | None,
    ) -> dict[str, Any]:
        run = self.run(repo, run_id)
        ident = self._world.new_id()
        started = started_at or run.created_at
        done = completed_at or (started if status == "completed" else None)
        api = repo.api_url
        job = {
            "id": ident,
            "run_id": run.id,
            "run_url": f"{api}/actions/runs/{run.id}",
            "run_attempt": 1,
            "node_id": shapes.node_id("CheckRun", ident),
            "head_sha": run.head_sha,
            "url": f"{api}/actions/jobs/{ident}",
            "html_url": f"{WEB}/{repo.full_name}/actions/runs/{run.id}/job/{ident}",
            "status": status,
            "conclusion": conclusion,
            "created_at": iso(started),
            "started_at": iso(started),
            "completed_at": iso(done) if done else None,
            "name": name,
            "steps": [
                {
                    "name": step["name"],
                    "status": step.get("status", status),
                    "conclusion": step.get("conclusion", conclusion),
                    "number": number,
                    "started_at": iso(started),
                    "completed_at": iso(done) if done else None,
                }
                for number, step in enumerate(steps or [], start=1)
            ],
            "check_run_url": f"{api}/check-runs/{ident}",
            "labels": ["ubuntu-latest"],
            "runner_id": 1,
            "runner_name": "GitHub Actions 1",
            "runner_group_id": 1,
            "runner_group_name": "GitHub Actions",
            "workflow_name": run.name,
            "head_branch": run.head_branch,
        }
        run.jobs.append(job)
        run.updated_at = max(run.updated_at, done or started)
        return copy.deepcopy(job)

    # listing ------------------------------------------------------------------------------------
    def runs(self, repo: Repo, query: Mapping[str, str]) -> list[dict[str, Any]]:
        found = [r for r in self._runs.values() if r.repo is repo]
        if query.get("actor"):
            found = [r for r in found if r.actor.lower() == query["actor"].lower()]
        if query.get("branch"):
            found = [r for r in found if r.head_branch == query["branch"]]
        if query.get("event"):
            found = [r for r in found if r.event == query["event"]]
        if query.get("status"):
            wanted = query["status"]
            field_name = "conclusion" if wanted in CONCLUSIONS else "status"
            found = [r for r in found if getattr(r, field_name) == wanted]
        if query.get("created"):
            found = [r for r in found if created_matches(r.created_at, query["created"])]
        if query.get("check_suite_id"):
            found = [r for r in found if r.check_suite_id == int(query["check_suite_id"])]
        if query.get("head_sha"):
            found = [r for r in found if r.head_sha == query["head_sha"]]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        exclude = query.get("exclude_pull_requests", "false").lower() == "true"
        return [self.run_json(r, with_pulls=not exclude) for r in found]

    def jobs(self, repo: Repo, run_id: int) -> list[dict[str, Any]]:
        return copy.deepcopy(self.run(repo, run_id).jobs)

    def run_json(self, run: Run, *, with_pulls: bool = True) -> dict[str, Any]:
        repo = run.repo
        api = f"{repo.api_url}/actions/runs/{run.id}"
        repository = self._world.repository_json(repo)
        actor = self._world.person(run.actor)
        pulls = []
        for number in run.pull_numbers if with_pulls else []:
            issue = self._world.pull(repo, number)
            assert issue.pull is not None
            side = {"id": repo.id, "url": repo.api_url, "name": repo.name}
            pulls.append(
                {
                    "id": issue.pull.id,
                    "number": number,
                    "url": f"{repo.api_url}/pulls/{number}",
                    "head": {"ref": issue.pull.head_ref, "sha": issue.pull.head_sha, "repo": side},
                    "base": {
                        "ref": repo.default_branch,
                        "sha": shapes.sha_of(repo.full_name, "base", number),
                        "repo": side,
                    },
                }
            )
        return {
            "id": run.id,
            "name": run.name,
            "node_id": shapes.node_id("WorkflowRun", run.id),
            "check_suite_id": run.check_suite_id,
            "check_suite_node_id": shapes.node_id("CheckSuite", run.check_suite_id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.path,
            "run_number": run.run_number,
            "run_attempt": 1,
            "referenced_workflows": [],
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "url": api,
            "html_url": f"{WEB}/{repo.full_name}/actions/runs/{run.id}",
            "pull_requests": pulls,
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "actor": actor,
            "triggering_actor": actor,
            "run_started_at": iso(run.created_at),
            "jobs_url": f"{api}/jobs",
            "logs_url": f"{api}/logs",
            "check_suite_url": f"{repo.api_url}/check-suites/{run.check_suite_id}",
            "artifacts_url": f"{api}/artifacts",
            "cancel_url": f"{api}/cancel",
            "rerun_url": f"{api}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{repo.api_url}/actions/workflows/{run.workflow_id}",
            "head_commit": {
                "id": run.head_sha,
                "tree_id": shapes.sha_of("tree", run.head_sha),
                "message": f"Commit {run.head_sha[:7]}",
                "timestamp": iso(run.created_at),
                "author": {"name": run.actor, "email": f"{run.actor}@users.noreply.github.com"},
                "committer": {"name": run.actor, "email": f"{run.actor}@users.noreply.github.com"},
            },
            "repository": repository,
            "head_repository": repository,
            "head_repository_id": repo.id,
            "display_title": f"Commit {run.head_sha[:7]}",
        }
