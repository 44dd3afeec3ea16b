"""What the fake GitHub knows: installations, repositories, pull requests, issues, comments,
reactions, check runs, files and teams, changed the way GitHub changes them.

Every method answers with GitHub's JSON (fresh copies, so callers cannot change the state by
accident) or raises :class:`NotFound` / :class:`Unprocessable`, which the server turns into
GitHub's 404 and 422 answers. Issues and pull requests share numbers in a repository.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.testing.fakegithub import shapes
from bot.testing.fakegithub.apps import App, Apps
from bot.testing.fakegithub.shapes import API, WEB, iso

ReactionSubject = Literal["pull_comment", "issue_comment", "issue"]
FIRST_GENERATED_ID = 1_000_001


class NotFound(Exception):
    pass


class Unprocessable(Exception):
    """GitHub's 422 "Validation Failed", with its ``errors`` list."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass
class Installation:
    id: int
    account: str
    account_type: str
    created_at: str
    app_id: int


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    installation_id: int
    default_branch: str
    created_at: str
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # ref -> path -> content
    last_number: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def api_url(self) -> str:
        return f"{API}/repos/{self.full_name}"


@dataclass
class Pull:
    id: int
    head_sha: str
    head_ref: str
    files: list[str]
    patches: dict[str, str] = field(default_factory=dict)  # path -> the diff GitHub shows


@dataclass
class Issue:
    """An issue, or the issue side of a pull request (``pull`` is set)."""

    repo: Repo
    number: int
    id: int
    title: str
    body: str | None
    author: dict[str, Any]
    author_association: str
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    labels: list[dict[str, Any]] = field(default_factory=list)
    assignees: list[dict[str, Any]] = field(default_factory=list)
    pull: Pull | None = None

    @property
    def kind(self) -> str:
        return "pull" if self.pull else "issues"


@dataclass
class Comment:
    """A review comment or an issue comment: GitHub's JSON plus where it lives."""

    repo: Repo
    number: int
    data: dict[str, Any]


@dataclass
class CheckRun:
    repo: Repo
    data: dict[str, Any]
    annotations: list[dict[str, Any]] = field(default_factory=list)


# pull-request fields that only GET .../pulls/{number} answers, not the list
PULL_DETAIL_ONLY = (
    "merged",
    "mergeable",
    "rebaseable",
    "mergeable_state",
    "merged_by",
    "comments",
    "review_comments",
    "maintainer_can_modify",
    "commits",
    "additions",
    "deletions",
    "changed_files",
)


def _key(*names: str) -> tuple[str, ...]:
    return tuple(name.lower() for name in names)


class World:
    def __init__(self, *, app_id: int, bot_login: str, now: Callable[[], dt.datetime]):
        self.app_id = app_id
        self.bot_login = bot_login
        self.app_slug = bot_login.removesuffix("[bot]")
        self._now = now
        self.created_at = iso(now())
        self.apps = Apps(
            App(
                app_id,
                self.app_slug,
                "Learning Nudges",
                "Short, targeted learning nudges in the pull request.",
                "",
                "Organization",
                None,
                self.created_at,
            )
        )
        self._ids = itertools.count(FIRST_GENERATED_ID)
        self._taken: set[int] = set()
        self.installations: dict[int, Installation] = {}
        self.repos: dict[tuple[str, ...], Repo] = {}
        self._issues: dict[tuple[tuple[str, ...], int], Issue] = {}
        self._review_comments: dict[int, Comment] = {}
        self._issue_comments: dict[int, Comment] = {}
        self._reactions: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._check_runs: dict[int, CheckRun] = {}
        self._teams: dict[tuple[str, ...], list[str]] = {}
        self._team_info: dict[tuple[str, ...], dict[str, Any]] = {}
        self._reviews: list[Comment] = []
        self._org_members: dict[str, set[str]] = {}
        self._users: dict[str, tuple[str, str]] = {bot_login.lower(): (bot_login, "Bot")}

    # ids, time and people -----------------------------------------------------------------------
    def new_id(self) -> int:
        while (candidate := next(self._ids)) in self._taken:
            pass
        self._taken.add(candidate)
        return candidate

    def claim_id(self, ident: int) -> int:
        self._taken.add(ident)
        return ident

    def now(self) -> str:
        return iso(self._now())

    def person(self, login: str, kind: str = "User") -> dict[str, Any]:
        self._users.setdefault(login.lower(), (login, kind))
        return shapes.user(*self._users[login.lower()])

    def bot(self) -> dict[str, Any]:
        return self.person(self.bot_login, "Bot")

    def association(self, repo: Repo, login: str) -> str:
        if login.lower() == repo.owner.lower():
            return "OWNER"
        if login.lower() in self._org_members.get(repo.owner.lower(), set()):
            return "MEMBER"
        return "NONE"

    # installations and the app ------------------------------------------------------------------
    def add_installation(
        self,
        installation_id: int,
        account: str,
        account_type: str = "Organization",
        app_id: int | None = None,
    ) -> None:
        self.installations[installation_id] = Installation(
            installation_id, account, account_type, self.now(), app_id or self.app_id
        )
        self.person(account, account_type)

    def installation(self, installation_id: int) -> Installation:
        try:
            return self.installations[installation_id]
        except KeyError:
            raise NotFound from None

    def installation_json(self, installation_id: int) -> dict[str, Any]:
        found = self.installation(installation_id)
        return shapes.installation(
            found.id,
            found.account,
            found.account_type,
            found.app_id,
            self.apps.get(found.app_id).slug,
            found.created_at,
        )

    def installations_of(self, app_id: int) -> list[Installation]:
        return [i for _, i in sorted(self.installations.items()) if i.app_id == app_id]

    def app_json(self, app_id: int | None = None) -> dict[str, Any]:
        """The app's ``integration``; the fake's own app unless ``app_id`` names another."""
        app = self.apps.get(app_id)
        mine = self.installations_of(app.id)
        return app.json(mine[0].account if mine else app.slug)

    # repositories ---------------------------------------------------------------------------------
    def add_repo(
        self, owner: str, name: str, *, installation_id: int, default_branch: str = "main"
    ) -> Repo:
        self.installation(installation_id)
        repo = Repo(owner, name, self.new_id(), installation_id, default_branch, self.now())
        self.repos[_key(owner, name)] = repo
        return repo

    def repo(self, owner: str, name: str) -> Repo:
        try:
            return self.repos[_key(owner, name)]
        except KeyError:
            raise NotFound from None

    def repos_of(self, installation_id: int, only: frozenset[int] | None) -> list[Repo]:
        """The installation's repositories (those of the token, if it names some), by name."""
        found = [
            r
            for r in self.repos.values()
            if r.installation_id == installation_id and (only is None or r.id in only)
        ]
        return sorted(found, key=lambda r: r.full_name.lower())

    def repository_json(self, repo: Repo) -> dict[str, Any]:
        owner_type = next(
            (
                i.account_type
                for i in self.installations.values()
                if i.account.lower() == repo.owner.lower()
            ),
            "Organization",
        )
        return shapes.repository(
            repo.owner, owner_type, repo.name, repo.id, repo.default_branch, repo.created_at
        )

    # issues and pull requests -------------------------------------------------------------------
    def _new_issue(
        self, repo: Repo, number: int | None, title: str, body: str | None, author: dict[str, Any]
    ) -> Issue:
        if number is None:
            number = repo.last_number + 1
        if (_key(repo.owner, repo.name), number) in self._issues:
            raise ValueError(f"{repo.full_name}#{number} exists already")
        repo.last_number = max(repo.last_number, number)
        now = self.now()
        issue = Issue(
            repo,
            number,
            self.new_id(),
            title,
            body,
            author,
            self.association(repo, author["login"]),
            now,
            now,
        )
        self._issues[(_key(repo.owner, repo.name), number)] = issue
        return issue

    def add_pull(
        self,
        repo: Repo,
        number: int,
        *,
        author: str,
        author_type: str,
        head_sha: str,
        files: Iterable[str],
        title: str | None = None,
        body: str | None = None,
        state: str = "open",
        head_ref: str | None = None,
        created_at: dt.datetime | None = None,
        patches: dict[str, str] | None = None,
    ) -> None:
        issue = self._new_issue(
            repo, number, title or f"Pull request #{number}", body, self.person(author, author_type)
        )
        issue.pull = Pull(
            self.new_id(),
            head_sha,
            head_ref or f"change-{number}",
            list(files),
            dict(patches or {}),
        )
        if created_at is not None:
            issue.created_at = issue.updated_at = iso(created_at)
        if state == "closed":
            issue.state, issue.closed_at, issue.updated_at = "closed", self.now(), self.now()

    def issue(self, repo: Repo, number: int) -> Issue:
        try:
            return self._issues[(_key(repo.owner, repo.name), number)]
        except KeyError:
            raise NotFound from None

    def pull(self, repo: Repo, number: int) -> Issue:
        issue = self.issue(repo, number)
        if issue.pull is None:
            raise NotFound
        return issue

    def issues_of(self, repo: Repo) -> list[Issue]:
        return [i for (key, _), i in self._issues.items() if key == _key(repo.owner, repo.name)]

    def create_issue(self, repo: Repo, fields: dict[str, Any]) -> dict[str, Any]:
        issue = self._new_issue(repo, None, str(fields["title"]), fields.get("body"), self.bot())
        self._apply_issue_fields(issue, fields)
        return self.issue_json(issue)

    def update_issue(self, repo: Repo, number: int, fields: dict[str, Any]) -> dict[str, Any]:
        issue = self.issue(repo, number)
        if "title" in fields and fields["title"] is not None:
            issue.title = str(fields["title"])
        if "body" in fields:
            issue.body = fields["body"]
        if fields.get("state") in ("open", "closed") and fields["state"] != issue.state:
            issue.state = fields["state"]
            issue.closed_at = self.now() if issue.state == "closed" else None
            issue.state_reason = fields.get("state_reason") or (
                "completed" if issue.state == "closed" else "reopened"
            )
        elif "state_reason" in fields:
            issue.state_reason = fields["state_reason"]
        self._apply_issue_fields(issue, fields)
        issue.updated_at = self.now()
        return self.issue_json(issue)

    def _apply_issue_fields(self, issue: Issue, fields: dict[str, Any]) -> None:
        repo = issue.repo
        if fields.get("labels") is not None:
            names = [
                item if isinstance(item, str) else item.get("name", "") for item in fields["labels"]
            ]
            issue.labels = [shapes.label(repo.owner, repo.name, name) for name in names if name]
        logins = list(fields.get("assignees") or [])
        if fields.get("assignee"):
            logins.insert(0, fields["assignee"])
        if logins or "assignees" in fields:
            issue.assignees = [
                self.person(login if isinstance(login, str) else login["login"]) for login in logins
            ]

    def issue_json(self, issue: Issue) -> dict[str, Any]:
        repo = issue.repo
        url = f"{repo.api_url}/issues/{issue.number}"
        data: dict[str, Any] = {
            "id": issue.id,
            "node_id": shapes.node_id("PullRequest" if issue.pull else "Issue", issue.id),
            "url": url,
            "repository_url": repo.api_url,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{WEB}/{repo.full_name}/{issue.kind}/{issue.number}",
            "timeline_url": f"{url}/timeline",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": copy.deepcopy(issue.author),
            "labels": copy.deepcopy(issue.labels),
            "assignee": copy.deepcopy(issue.assignees[0]) if issue.assignees else None,
            "assignees": copy.deepcopy(issue.assignees),
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": sum(
                1
                for c in self._issue_comments.values()
                if c.repo is repo and c.number == issue.number
            ),
            "closed_at": issue.closed_at,
            "closed_by": None,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "author_association": issue.author_association,
            "reactions": shapes.reaction_rollup(url, self._reactions.get(("issue", issue.id), [])),
        }
        if issue.pull:
            pull_url = f"{repo.api_url}/pulls/{issue.number}"
            html = f"{WEB}/{repo.full_name}/pull/{issue.number}"
            data["draft"] = False
            data["pull_request"] = {
                "url": pull_url,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": None,
            }
        return data

    def pull_json(self, repo: Repo, number: int) -> dict[str, Any]:
        issue = self.pull(repo, number)
        pull = issue.pull
        assert pull is not None
        url = f"{repo.api_url}/pulls/{number}"
        html = f"{WEB}/{repo.full_name}/pull/{number}"
        issue_url = f"{repo.api_url}/issues/{number}"
        owner = self.repository_json(repo)["owner"]

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {
                "label": f"{repo.owner}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": owner,
                "repo": self.repository_json(repo),
            }

        links = {
            "self": url,
            "html": html,
            "issue": issue_url,
            "comments": f"{issue_url}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{repo.api_url}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": f"{repo.api_url}/statuses/{pull.head_sha}",
        }
        return {
            "url": url,
            "id": pull.id,
            "node_id": shapes.node_id("PullRequest", pull.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "number": number,
            "state": issue.state,
            "locked": False,
            "active_lock_reason": None,
            "title": issue.title,
            "user": copy.deepcopy(issue.author),
            "body": issue.body,
            "labels": copy.deepcopy(issue.labels),
            "milestone": None,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": copy.deepcopy(issue.assignees[0]) if issue.assignees else None,
            "assignees": copy.deepcopy(issue.assignees),
            "requested_reviewers": [],
            "requested_teams": [],
            "head": side(pull.head_ref, pull.head_sha),
            "base": side(repo.default_branch, shapes.sha_of(repo.full_name, "base", number)),
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": issue.author_association,
            "auto_merge": None,
            "draft": False,
            "merged": False,
            "mergeable": True,
            "rebaseable": True,
            "mergeable_state": "clean",
            "merged_by": None,
            "comments": self.issue_json(issue)["comments"],
            "review_comments": len(self.review_comments_on(repo, number)),
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": len(pull.files),
            "deletions": len(pull.files),
            "changed_files": len(pull.files),
        }

    def pull_files(self, repo: Repo, number: int) -> list[dict[str, Any]]:
        pull = self.pull(repo, number).pull
        assert pull is not None
        return [
            shapes.diff_entry(repo.full_name, pull.head_sha, path, pull.patches.get(path))
            for path in pull.files
        ]

    def push_to_pull(
        self, repo: Repo, number: int, head_sha: str, files: Iterable[str], patches: dict[str, str]
    ) -> None:
        """A new head commit on the pull request, changing these files."""
        pull = self.pull(repo, number).pull
        assert pull is not None
        pull.head_sha, pull.files, pull.patches = head_sha, list(files), dict(patches)

    def pulls_of(self, repo: Repo) -> list[dict[str, Any]]:
        """Every pull request of the repository, as ``GET .../pulls`` lists them (unsorted)."""
        return [
            self.pull_simple_json(repo, issue.number)
            for issue in self.issues_of(repo)
            if issue.pull is not None
        ]

    def pull_simple_json(self, repo: Repo, number: int) -> dict[str, Any]:
        """A ``pull-request-simple``: a pull request without the counts and merge state."""
        full = self.pull_json(repo, number)
        for name in PULL_DETAIL_ONLY:
            full.pop(name, None)
        return full

    # reviews --------------------------------------------------------------------------------------
    def add_review(
        self,
        repo: Repo,
        number: int,
        *,
        author: dict[str, Any],
        body: str,
        state: str,
        submitted_at: dt.datetime | None,
    ) -> dict[str, Any]:
        issue = self.pull(repo, number)
        assert issue.pull is not None
        ident = self.new_id()
        html = f"{WEB}/{repo.full_name}/pull/{number}#pullrequestreview-{ident}"
        pull_url = f"{repo.api_url}/pulls/{number}"
        data = {
            "id": ident,
            "node_id": shapes.node_id("PullRequestReview", ident),
            "user": author,
            "body": body,
            "state": state,
            "html_url": html,
            "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": iso(submitted_at) if submitted_at else self.now(),
            "commit_id": issue.pull.head_sha,
            "author_association": self.association(repo, author["login"]),
        }
        self._reviews.append(Comment(repo, number, data))
        return copy.deepcopy(data)

    def reviews_on(self, repo: Repo, number: int) -> list[dict[str, Any]]:
        self.pull(repo, number)
        found = [c.data for c in self._reviews if c.repo is repo and c.number == number]
        return copy.deepcopy(sorted(found, key=lambda r: (r["submitted_at"], r["id"])))

    # review comments ------------------------------------------------------------------------------
    def add_review_comment(
        self,
        repo: Repo,
        number: int,
        *,
        author: dict[str, Any],
        body: str,
        comment_id: int | None = None,
        in_reply_to_id: int | None = None,
        path: str = "app.py",
        line: int = 1,
        commit_id: str | None = None,
        created_at: dt.datetime | None = None,
        updated_at: dt.datetime | None = None,
        diff_hunk: str | None = None,
    ) -> dict[str, Any]:
        issue = self.pull(repo, number)
        assert issue.pull is not None
        ident = self.claim_id(comment_id) if comment_id is not None else self.new_id()
        if ident in self._review_comments:
            raise ValueError(f"review comment {ident} exists already")
        url = f"{repo.api_url}/pulls/comments/{ident}"
        html = f"{WEB}/{repo.full_name}/pull/{number}#discussion_r{ident}"
        pull_url = f"{repo.api_url}/pulls/{number}"
        sha = commit_id or issue.pull.head_sha
        now = iso(created_at) if created_at else self.now()
        data: dict[str, Any] = {
            "url": url,
            "pull_request_review_id": self.new_id(),
            "id": ident,
            "node_id": shapes.node_id("PullRequestReviewComment", ident),
            "diff_hunk": diff_hunk or f"@@ -{line},2 +{line},2 @@",
            "path": path,
            "position": line,
            "original_position": line,
            "commit_id": sha,
            "original_commit_id": sha,
            "user": author,
            "body": body,
            "created_at": now,
            "updated_at": iso(updated_at) if updated_at else now,
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self.association(repo, author["login"]),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": pull_url},
            },
            "start_line": None,
            "original_start_line": None,
            "start_side": None,
            "line": line,
            "original_line": line,
            "side": "RIGHT",
            "subject_type": "line",
        }
        if in_reply_to_id is not None:
            data["in_reply_to_id"] = in_reply_to_id
        self._review_comments[ident] = Comment(repo, number, data)
        return self._review_comment_json(self._review_comments[ident])

    def create_review_comment(
        self, repo: Repo, number: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        if fields.get("in_reply_to") is not None:
            return self.reply(repo, number, int(fields["in_reply_to"]), fields["body"])
        pull = self.pull(repo, number).pull
        assert pull is not None
        if pull.files and fields["path"] not in pull.files:
            raise Unprocessable(
                "Validation Failed",
                [
                    {
                        "resource": "PullRequestReviewComment",
                        "code": "invalid",
                        "field": "path",
                        "message": "path could not be resolved",
                    }
                ],
            )
        if (
            fields.get("line") is None
            and fields.get("position") is None
            and fields.get("subject_type") != "file"
        ):
            raise Unprocessable(
                "Validation Failed",
                [
                    {
                        "resource": "PullRequestReviewComment",
                        "code": "missing_field",
                        "field": "line",
                    }
                ],
            )
        return self.add_review_comment(
            repo,
            number,
            author=self.bot(),
            body=fields["body"],
            path=fields["path"],
            line=int(fields.get("line") or fields.get("position") or 1),
            commit_id=fields["commit_id"],
        )

    def reply(self, repo: Repo, number: int, comment_id: int, body: str) -> dict[str, Any]:
        """A reply in a review thread: GitHub threads it under the thread's first comment."""
        parent = self._review_comments.get(comment_id)
        if parent is None or parent.repo is not repo or parent.number != number:
            raise NotFound
        top = parent.data.get("in_reply_to_id") or parent.data["id"]
        return self.add_review_comment(
            repo,
            number,
            author=self.bot(),
            body=body,
            in_reply_to_id=top,
            path=parent.data["path"],
            line=parent.data["line"] or 1,
            commit_id=parent.data["commit_id"],
        )

    def review_comments_on(self, repo: Repo, number: int) -> list[dict[str, Any]]:
        return [
            self._review_comment_json(c)
            for c in sorted(
                self._review_comments.values(), key=lambda c: (c.data["created_at"], c.data["id"])
            )
            if c.repo is repo and c.number == number
        ]

    def review_comments_of(self, repo: Repo) -> list[dict[str, Any]]:
        """Every review comment in the repository, by id (GitHub's order without ``sort``)."""
        return [
            self._review_comment_json(c)
            for c in sorted(self._review_comments.values(), key=lambda c: c.data["id"])
            if c.repo is repo
        ]

    def review_comment(self, repo: Repo, comment_id: int) -> Comment:
        found = self._review_comments.get(comment_id)
        if found is None or found.repo is not repo:
            raise NotFound
        return found

    def review_comment_json(self, repo: Repo, comment_id: int) -> dict[str, Any]:
        return self._review_comment_json(self.review_comment(repo, comment_id))

    def update_review_comment(self, repo: Repo, comment_id: int, body: str) -> dict[str, Any]:
        found = self.review_comment(repo, comment_id)
        found.data.update(body=body, updated_at=self.now())
        return self._review_comment_json(found)

    def delete_review_comment(self, repo: Repo, comment_id: int) -> None:
        self.review_comment(repo, comment_id)
        del self._review_comments[comment_id]
        self._reactions.pop(("pull_comment", comment_id), None)

    def _review_comment_json(self, comment: Comment) -> dict[str, Any]:
        data = copy.deepcopy(comment.data)
        data["reactions"] = shapes.reaction_rollup(
            data["url"], self._reactions.get(("pull_comment", data["id"]), [])
        )
        return data

    # issue comments -------------------------------------------------------------------------------
    def create_issue_comment(
        self, repo: Repo, number: int, body: str, author: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        issue = self.issue(repo, number)
        author = author or self.bot()
        ident = self.new_id()
        now = self.now()
        data = {
            "id": ident,
            "node_id": shapes.node_id("IssueComment", ident),
            "url": f"{repo.api_url}/issues/comments/{ident}",
            "html_url": f"{WEB}/{repo.full_name}/{issue.kind}/{number}#issuecomment-{ident}",
            "issue_url": f"{repo.api_url}/issues/{number}",
            "body": body,
            "user": author,
            "created_at": now,
            "updated_at": now,
            "author_association": self.association(repo, author["login"]),
            "performed_via_github_app": None,
        }
        self._issue_comments[ident] = Comment(repo, number, data)
        return self._issue_comment_json(self._issue_comments[ident])

    def issue_comments_on(self, repo: Repo, number: int) -> list[dict[str, Any]]:
        return [
            self._issue_comment_json(c)
            for c in sorted(
                self._issue_comments.values(), key=lambda c: (c.data["created_at"], c.data["id"])
            )
            if c.repo is repo and c.number == number
        ]

    def issue_comment(self, repo: Repo, comment_id: int) -> Comment:
        found = self._issue_comments.get(comment_id)
        if found is None or found.repo is not repo:
            raise NotFound
        return found

    def issue_comment_json(self, repo: Repo, comment_id: int) -> dict[str, Any]:
        return self._issue_comment_json(self.issue_comment(repo, comment_id))

    def update_issue_comment(self, repo: Repo, comment_id: int, body: str) -> dict[str, Any]:
        found = self.issue_comment(repo, comment_id)
        found.data.update(body=body, updated_at=self.now())
        return self._issue_comment_json(found)

    def delete_issue_comment(self, repo: Repo, comment_id: int) -> None:
        self.issue_comment(repo, comment_id)
        del self._issue_comments[comment_id]
        self._reactions.pop(("issue_comment", comment_id), None)

    def _issue_comment_json(self, comment: Comment) -> dict[str, Any]:
        data = copy.deepcopy(comment.data)
        data["reactions"] = shapes.reaction_rollup(
            data["url"], self._reactions.get(("issue_comment", data["id"]), [])
        )
        return data

    # reactions ------------------------------------------------------------------------------------
    def _subject_id(self, repo: Repo, subject: ReactionSubject, ident: int) -> int:
        """The id reactions are filed under; raises NotFound if the subject does not exist."""
        if subject == "pull_comment":
            return self.review_comment(repo, ident).data["id"]
        if subject == "issue_comment":
            return self.issue_comment(repo, ident).data["id"]
        return self.issue(repo, ident).id

    def reactions(
        self, repo: Repo, subject: ReactionSubject, ident: int, content: str | None = None
    ) -> list[dict[str, Any]]:
        found = self._reactions.get((subject, self._subject_id(repo, subject, ident)), [])
        return [copy.deepcopy(r) for r in found if content is None or r["content"] == content]

    def react(
        self, repo: Repo, subject: ReactionSubject, ident: int, who: dict[str, Any], content: str
    ) -> tuple[dict[str, Any], bool]:
        """The reaction and whether it is new (GitHub answers 201) or was already there (200)."""
        filed = self._reactions.setdefault((subject, self._subject_id(repo, subject, ident)), [])
        for existing in filed:
            if (
                existing["user"]["login"].lower() == who["login"].lower()
                and existing["content"] == content
            ):
                return copy.deepcopy(existing), False
        created = shapes.reaction(self.new_id(), who, content, self.now())
        filed.append(created)
        return copy.deepcopy(created), True

    # check runs -----------------------------------------------------------------------------------
    def create_check_run(self, repo: Repo, fields: dict[str, Any]) -> dict[str, Any]:
        ident = self.new_id()
        run = CheckRun(
            repo,
            {
                "id": ident,
                "node_id": shapes.node_id("CheckRun", ident),
                "head_sha": fields["head_sha"],
                "external_id": "",
                "url": f"{repo.api_url}/check-runs/{ident}",
                "html_url": f"{WEB}/{repo.full_name}/runs/{ident}",
                "details_url": None,
                "status": "queued",
                "conclusion": None,
                "started_at": self.now(),
                "completed_at": None,
                "output": {
                    "title": None,
                    "summary": None,
                    "text": None,
                    "annotations_count": 0,
                    "annotations_url": f"{repo.api_url}/check-runs/{ident}/annotations",
                },
                "name": fields["name"],
                "check_suite": {"id": self.new_id()},
                "app": self.app_json(),
                "pull_requests": [],
            },
        )
        self._check_runs[ident] = run
        return self._apply_check_run(run, fields)

    def update_check_run(self, repo: Repo, ident: int, fields: dict[str, Any]) -> dict[str, Any]:
        return self._apply_check_run(self.check_run(repo, ident), fields)

    def _apply_check_run(self, run: CheckRun, fields: dict[str, Any]) -> dict[str, Any]:
        data = run.data
        for name in (
            "name",
            "details_url",
            "external_id",
            "started_at",
            "status",
            "conclusion",
            "completed_at",
        ):
            if name in fields:
                data[name] = fields[name]
        if fields.get("conclusion") is not None:
            data["status"] = "completed"  # GitHub: a conclusion completes the run
        if data["status"] == "completed" and data["completed_at"] is None:
            data["completed_at"] = self.now()
        if "output" in fields:
            output = fields["output"]
            for name in ("title", "summary", "text"):
                if name in output:
                    data["output"][name] = output[name]
            run.annotations.extend(
                copy.deepcopy(output.get("annotations", []))
            )  # GitHub appends them
            data["output"]["annotations_count"] = len(run.annotations)
        return self._check_run_json(run)

    def _check_run_json(self, run: CheckRun) -> dict[str, Any]:
        data = copy.deepcopy(run.data)
        data["pull_requests"] = [
            {
                "id": i.pull.id,
                "number": i.number,
                "url": f"{run.repo.api_url}/pulls/{i.number}",
                "head": {
                    "ref": i.pull.head_ref,
                    "sha": i.pull.head_sha,
                    "repo": {"id": run.repo.id, "url": run.repo.api_url, "name": run.repo.name},
                },
                "base": {
                    "ref": run.repo.default_branch,
                    "sha": shapes.sha_of(run.repo.full_name, "base", i.number),
                    "repo": {"id": run.repo.id, "url": run.repo.api_url, "name": run.repo.name},
                },
            }
            for i in self.issues_of(run.repo)
            if i.pull is not None and i.pull.head_sha == data["head_sha"]
        ]
        return data

    def check_run(self, repo: Repo, ident: int) -> CheckRun:
        run = self._check_runs.get(ident)
        if run is None or run.repo is not repo:
            raise NotFound
        return run

    def annotations_of(self, repo: Repo, ident: int) -> list[dict[str, Any]]:
        """A run's annotations as ``check-annotation``s, in the order they were written."""
        run = self.check_run(repo, ident)
        sha = run.data["head_sha"]
        return [shapes.check_annotation(repo.full_name, sha, given) for given in run.annotations]

    def check_runs_for(self, repo: Repo, ref: str) -> list[dict[str, Any]]:
        """The runs on a commit: ``ref`` is a SHA, a branch (``main``, ``heads/main``) or a
        pull request's head branch; newest first."""
        sha = self._resolve_ref(repo, ref)
        runs = [
            r for r in self._check_runs.values() if r.repo is repo and r.data["head_sha"] == sha
        ]
        runs.sort(key=lambda r: (r.data["started_at"] or "", r.data["id"]), reverse=True)
        return [self._check_run_json(r) for r in runs]

    def _resolve_ref(self, repo: Repo, ref: str) -> str:
        branch = ref.removeprefix("refs/").removeprefix("heads/")
        for issue in self.issues_of(repo):
            if issue.pull is not None and branch == issue.pull.head_ref:
                return issue.pull.head_sha
        return ref

    def check_runs_of(self, repo: Repo) -> list[dict[str, Any]]:
        """The runs as the API shows them, plus every annotation in ``output.annotations``."""
        runs = []
        for run in self._check_runs.values():
            if run.repo is repo:
                data = self._check_run_json(run)
                data["output"]["annotations"] = copy.deepcopy(run.annotations)
                runs.append(data)
        return runs

    # contents -------------------------------------------------------------------------------------
    def add_file(self, repo: Repo, path: str, content: bytes, ref: str | None) -> None:
        repo.files.setdefault(ref or repo.default_branch, {})[path.strip("/")] = content

    def contents(
        self, repo: Repo, path: str, ref: str | None
    ) -> dict[str, Any] | list[dict[str, Any]]:
        ref = ref or repo.default_branch
        files = repo.files.get(ref, {})
        path = path.strip("/")
        if path in files:
            return shapes.content_file(repo.full_name, ref, path, files[path])
        prefix = f"{path}/" if path else ""
        children: dict[str, dict[str, Any]] = {}
        for name, content in sorted(files.items()):
            if not name.startswith(prefix):
                continue
            head, _, rest = name[len(prefix) :].partition("/")
            child = prefix + head
            if rest:
                sha = shapes.sha_of(ref, child)
                children.setdefault(
                    child, shapes.content_entry(repo.full_name, ref, child, "dir", sha, 0)
                )
            else:
                children[child] = shapes.content_entry(
                    repo.full_name, ref, child, "file", shapes.blob_sha(content), len(content)
                )
        if not children:
            raise NotFound
        return sorted(children.values(), key=lambda entry: (entry["type"] != "dir", entry["name"]))

    # organisations ------------------------------------------------------------------------------
    def add_team(
        self,
        org: str,
        slug: str,
        members: Iterable[str],
        *,
        name: str | None = None,
        description: str | None = None,
        parent: str | None = None,
    ) -> None:
        members = list(members)
        self._teams[_key(org, slug)] = members
        self._team_info[_key(org, slug)] = {
            "org": org,
            "slug": slug,
            "name": name or slug,
            "description": description,
            "parent": parent,
        }
        self._org_members.setdefault(org.lower(), set()).update(m.lower() for m in members)
        for login in members:
            self.person(login)

    def teams_of(self, org: str) -> list[dict[str, Any]]:
        """The organisation's teams, by name."""
        infos = [i for key, i in self._team_info.items() if key[0] == org.lower()]
        return [self.team_json(i) for i in sorted(infos, key=lambda i: i["name"].lower())]

    def team_json(self, info: dict[str, Any], *, simple: bool = False) -> dict[str, Any]:
        org, slug = info["org"], info["slug"]
        team_id = shapes.user_id(f"{org}/{slug}")
        parent = self._team_info.get(_key(org, info["parent"])) if info["parent"] else None
        data = shapes.team(org, slug, team_id, info["name"], info["description"])
        if not simple:
            data["parent"] = self.team_json(parent, simple=True) if parent else None
        return data

    def team_members(self, org: str, slug: str) -> list[dict[str, Any]]:
        try:
            return [self.person(login) for login in self._teams[_key(org, slug)]]
        except KeyError:
            raise NotFound from None

    def team_membership(self, org: str, slug: str, login: str) -> dict[str, Any]:
        members = {m.lower() for m in self._teams.get(_key(org, slug), [])}
        if login.lower() not in members:
            raise NotFound
        team_id = shapes.user_id(f"{org}/{slug}")
        return {
            "url": f"{API}/organizations/{shapes.user_id(org)}/team/{team_id}/memberships/{login}",
            "role": "member",
            "state": "active",
        }

    def is_org_member(self, org: str, login: str) -> bool:
        return login.lower() in self._org_members.get(org.lower(), set())

    def collaborator_permission(self, repo: Repo, login: str) -> dict[str, Any]:
        if login.lower() not in self._users:
            raise NotFound
        permission = {"OWNER": "admin", "MEMBER": "write"}.get(
            self.association(repo, login), "read"
        )
        who = self.person(login)
        return {
            "permission": permission,
            "role_name": permission,
            "user": {
                **who,
                "permissions": {
                    "admin": permission == "admin",
                    "maintain": permission == "admin",
                    "push": permission != "read",
                    "triage": permission != "read",
                    "pull": True,
                },
                "role_name": permission,
            },
        }

    def user_json(self, login: str) -> dict[str, Any]:
        known = self._users.get(login.lower())
        if known is None:
            raise NotFound
        return shapes.public_user(known[0], known[1], self.created_at)
