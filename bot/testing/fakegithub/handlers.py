"""One function per operation of the description, answering from the fake's state.

A handler gets a :class:`Call` whose request already matched the description and whose caller
is already authenticated and allowed to see ``call.repo``; it returns an :class:`Answer` or
raises :class:`~.state.NotFound` / :class:`~.state.Unprocessable`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.testing.fakegithub import shapes
from bot.testing.fakegithub.actions import Actions
from bot.testing.fakegithub.auth import Caller, Credentials
from bot.testing.fakegithub.limits import Bucket
from bot.testing.fakegithub.state import NotFound, ReactionSubject, Repo, Unprocessable, World
from bot.testing.fakegithub.webhooks import Webhooks

PERMISSION_LEVELS = {"read": 1, "write": 2, "admin": 3}


@dataclass
class Call:
    params: dict[str, str]
    query: Mapping[str, str]
    body: Any
    caller: Caller
    bucket: Bucket
    repo: Repo | None = None

    @property
    def the_repo(self) -> Repo:
        assert self.repo is not None, "the operation has no {owner}/{repo} in its path"
        return self.repo

    def number(self, name: str) -> int:
        return int(self.params[name])


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Answer]


class Handlers:
    """The operations by operationId; ``table`` maps each id to its handler."""

    def __init__(
        self,
        world: World,
        credentials: Credentials,
        webhooks: Webhooks,
        actions: Actions,
        now: Callable[[], dt.datetime],
    ):
        self.world = world
        self.credentials = credentials
        self.webhooks = webhooks
        self.actions = actions
        self._now = now
        self.table: dict[str, Handler] = {
            "apps/get-authenticated": self.get_app,
            "apps/list-installations": self.list_installations,
            "apps/create-installation-access-token": self.create_token,
            "apps/get-repo-installation": self.get_repo_installation,
            "orgs/check-membership-for-user": self.check_org_membership,
            "teams/list-members-in-org": self.list_team_members,
            "teams/get-membership-for-user-in-org": self.get_team_membership,
            "rate-limit/get": self.get_rate_limit,
            "users/get-by-username": self.get_user,
            "checks/create": self.create_check_run,
            "checks/update": self.update_check_run,
            "code-scanning/list-alerts-for-repo": lambda call: Answer(200, []),
            "repos/get-collaborator-permission-level": self.get_collaborator_permission,
            "repos/get-content": self.get_content,
            "issues/list-for-repo": self.list_issues,
            "issues/create": lambda call: Answer(
                201, self.world.create_issue(call.the_repo, call.body)
            ),
            "issues/update": self.update_issue,
            "issues/list-comments": self.list_issue_comments,
            "issues/create-comment": self.create_issue_comment,
            "issues/get-comment": self.get_issue_comment,
            "issues/update-comment": self.update_issue_comment,
            "issues/delete-comment": self.delete_issue_comment,
            "reactions/list-for-issue": self.reactions_lister("issue", "issue_number"),
            "reactions/list-for-issue-comment": self.reactions_lister(
                "issue_comment", "comment_id"
            ),
            "reactions/create-for-issue-comment": self.reaction_creator("issue_comment"),
            "reactions/list-for-pull-request-review-comment": self.reactions_lister(
                "pull_comment", "comment_id"
            ),
            "reactions/create-for-pull-request-review-comment": self.reaction_creator(
                "pull_comment"
            ),
            "pulls/get": lambda call: Answer(
                200, self.world.pull_json(call.the_repo, call.number("pull_number"))
            ),
            "pulls/list-files": self.list_pull_files,
            "pulls/list-reviews": self.list_reviews,
            "pulls/list-review-comments": self.list_review_comments,
            "pulls/create-review-comment": self.create_review_comment,
            "pulls/create-reply-for-review-comment": self.create_reply,
            "pulls/get-review-comment": self.get_review_comment,
            "pulls/update-review-comment": self.update_review_comment,
            "pulls/delete-review-comment": self.delete_review_comment,
            # the operations of the extended description
            "apps/list-webhook-deliveries": self.list_deliveries,
            "apps/get-webhook-delivery": self.get_delivery,
            "apps/redeliver-webhook-delivery": self.redeliver,
            "apps/create-from-manifest": self.create_from_manifest,
            "apps/list-repos-accessible-to-installation": self.list_installation_repos,
            "teams/list": lambda call: Answer(200, self.world.teams_of(call.params["org"])),
            "pulls/list": self.list_pulls,
            "pulls/list-review-comments-for-repo": self.list_repo_review_comments,
            "checks/list-annotations": lambda call: Answer(
                200, self.world.annotations_of(call.the_repo, call.number("check_run_id"))
            ),
            "checks/list-for-ref": self.list_check_runs_for_ref,
            "actions/list-workflow-runs-for-repo": self.list_workflow_runs,
            "actions/list-jobs-for-workflow-run": self.list_jobs,
        }

    # the app ------------------------------------------------------------------------------------
    def get_app(self, call: Call) -> Answer:
        return Answer(200, self.world.app_json(call.caller.app_id))

    def list_installations(self, call: Call) -> Answer:
        mine = self.world.installations_of(self._app_id(call))
        return Answer(200, [self.world.installation_json(i.id) for i in mine])

    def get_repo_installation(self, call: Call) -> Answer:
        installation = self.world.installation(call.the_repo.installation_id)
        if installation.app_id != self._app_id(call):
            raise NotFound
        return Answer(200, self.world.installation_json(installation.id))

    def create_token(self, call: Call) -> Answer:
        installation_id = call.number("installation_id")
        if self.world.installation(installation_id).app_id != self._app_id(call):
            raise NotFound
        body = call.body or {}
        permissions = self._granted(body.get("permissions"))
        repos = self._selected_repos(installation_id, body)
        token = self.credentials.mint(
            installation_id,
            app_id=self._app_id(call),
            repositories=None if repos is None else {r.id for r in repos},
        )
        answer: dict[str, Any] = {
            "token": token.token,
            "expires_at": shapes.iso(token.expires_at),
            "permissions": permissions,
            "repository_selection": "all" if repos is None else "selected",
        }
        if repos is not None:
            answer["repositories"] = [self.world.repository_json(r) for r in repos]
        return Answer(201, answer)

    def _app_id(self, call: Call) -> int:
        return call.caller.app_id or self.world.app_id

    def list_installation_repos(self, call: Call) -> Answer:
        caller = call.caller
        repos = self.world.repos_of(caller.installation_id or 0, caller.repository_ids)
        return Answer(
            200,
            {
                "total_count": len(repos),
                "repository_selection": "all" if caller.repository_ids is None else "selected",
                "repositories": [self.world.repository_json(r) for r in repos],
            },
        )

    # webhook deliveries and the manifest flow -------------------------------------------------
    def list_deliveries(self, call: Call) -> Answer:
        found = self.webhooks.deliveries_of(self._app_id(call), call.query.get("status"))
        return Answer(200, [d.item_json() for d in found])

    def get_delivery(self, call: Call) -> Answer:
        return Answer(
            200, self.webhooks.delivery(self._app_id(call), call.number("delivery_id")).json()
        )

    def redeliver(self, call: Call) -> Answer:
        self.webhooks.redeliver(self._app_id(call), call.number("delivery_id"))
        return Answer(202, {})

    def create_from_manifest(self, call: Call) -> Answer:
        made = self.world.apps.convert(
            call.params["code"], new_id=self.world.new_id, now=self._now()
        )
        if made is None:
            raise NotFound
        self.credentials.add_app(made.app.id, made.public_key_pem)
        if made.webhook_url:
            self.webhooks.set_target(made.app.id, made.webhook_url, made.webhook_secret)
        return Answer(
            201,
            {
                **self.world.app_json(made.app.id),
                "client_id": shapes.client_id(made.app.id),
                "client_secret": made.client_secret,
                "webhook_secret": made.webhook_secret,
                "pem": made.private_key_pem,
            },
        )

    @staticmethod
    def _granted(requested: dict[str, str] | None) -> dict[str, str]:
        if not requested:
            return dict(shapes.APP_PERMISSIONS)
        for name, level in requested.items():
            granted = shapes.APP_PERMISSIONS.get(name)
            if granted is None or PERMISSION_LEVELS.get(level, 9) > PERMISSION_LEVELS[granted]:
                raise Unprocessable(
                    "The permissions requested are not granted to this installation."
                )
        return dict(requested)

    def _selected_repos(self, installation_id: int, body: dict[str, Any]) -> list[Repo] | None:
        names, ids = body.get("repositories"), body.get("repository_ids")
        if names is None and ids is None:
            return None
        mine = [r for r in self.world.repos.values() if r.installation_id == installation_id]
        chosen = [
            r
            for r in mine
            if r.name.lower() in {n.lower() for n in names or []} or r.id in set(ids or [])
        ]
        if len(chosen) != len(names or []) + len(ids or []):
            raise Unprocessable(
                "There is at least one repository that does not exist or is not accessible to the parent installation."
            )
        return chosen

    # organisations and people -------------------------------------------------------------------
    def check_org_membership(self, call: Call) -> Answer:
        if not self.world.is_org_member(call.params["org"], call.params["username"]):
            raise NotFound
        return Answer(204)

    def list_team_members(self, call: Call) -> Answer:
        members = self.world.team_members(call.params["org"], call.params["team_slug"])
        return Answer(200, [] if call.query.get("role") == "maintainer" else members)

    def get_team_membership(self, call: Call) -> Answer:
        return Answer(
            200,
            self.world.team_membership(
                call.params["org"], call.params["team_slug"], call.params["username"]
            ),
        )

    def get_rate_limit(self, call: Call) -> Answer:
        core = call.bucket.as_json()
        search = {"limit": 30, "used": 0, "remaining": 30, "reset": core["reset"]}
        return Answer(200, {"resources": {"core": core, "search": search}, "rate": core})

    def get_user(self, call: Call) -> Answer:
        return Answer(200, self.world.user_json(call.params["username"]))

    def get_collaborator_permission(self, call: Call) -> Answer:
        return Answer(
            200, self.world.collaborator_permission(call.the_repo, call.params["username"])
        )

    def get_content(self, call: Call) -> Answer:
        return Answer(
            200, self.world.contents(call.the_repo, call.params["path"], call.query.get("ref"))
        )

    # check runs ---------------------------------------------------------------------------------
    def create_check_run(self, call: Call) -> Answer:
        return Answer(201, self.world.create_check_run(call.the_repo, call.body))

    def update_check_run(self, call: Call) -> Answer:
        return Answer(
            200, self.world.update_check_run(call.the_repo, call.number("check_run_id"), call.body)
        )

    # issues -------------------------------------------------------------------------------------
    def list_issues(self, call: Call) -> Answer:
        query = call.query
        issues = self.world.issues_of(call.the_repo)
        state = query.get("state", "open")
        if state != "all":
            issues = [i for i in issues if i.state == state]
        if query.get("creator"):
            issues = [i for i in issues if i.author["login"].lower() == query["creator"].lower()]
        if query.get("labels"):
            wanted = {name.strip().lower() for name in query["labels"].split(",") if name.strip()}
            issues = [i for i in issues if wanted <= {label["name"].lower() for label in i.labels}]
        if query.get("assignee") in ("none", "*"):
            issues = [i for i in issues if bool(i.assignees) == (query["assignee"] == "*")]
        elif query.get("assignee"):
            issues = [
                i
                for i in issues
                if query["assignee"].lower() in {a["login"].lower() for a in i.assignees}
            ]
        found = [self.world.issue_json(i) for i in issues]
        found = _since(found, query.get("since"))
        sort = {"created": "created_at", "updated": "updated_at", "comments": "comments"}[
            query.get("sort", "created")
        ]
        found.sort(
            key=lambda item: (item[sort], item["number"]),
            reverse=query.get("direction", "desc") == "desc",
        )
        return Answer(200, found)

    def update_issue(self, call: Call) -> Answer:
        return Answer(
            200,
            self.world.update_issue(call.the_repo, call.number("issue_number"), call.body or {}),
        )

    def list_issue_comments(self, call: Call) -> Answer:
        repo, number = call.the_repo, call.number("issue_number")
        self.world.issue(repo, number)
        return Answer(
            200, _since(self.world.issue_comments_on(repo, number), call.query.get("since"))
        )

    def create_issue_comment(self, call: Call) -> Answer:
        return Answer(
            201,
            self.world.create_issue_comment(
                call.the_repo, call.number("issue_number"), call.body["body"]
            ),
        )

    def get_issue_comment(self, call: Call) -> Answer:
        return Answer(200, self.world.issue_comment_json(call.the_repo, call.number("comment_id")))

    def update_issue_comment(self, call: Call) -> Answer:
        return Answer(
            200,
            self.world.update_issue_comment(
                call.the_repo, call.number("comment_id"), call.body["body"]
            ),
        )

    def delete_issue_comment(self, call: Call) -> Answer:
        self.world.delete_issue_comment(call.the_repo, call.number("comment_id"))
        return Answer(204)

    # reactions ----------------------------------------------------------------------------------
    def reactions_lister(self, subject: ReactionSubject, param: str) -> Handler:
        def handler(call: Call) -> Answer:
            content = call.query.get("content")
            return Answer(
                200, self.world.reactions(call.the_repo, subject, call.number(param), content)
            )

        return handler

    def reaction_creator(self, subject: ReactionSubject) -> Handler:
        """POST answers 201 for a new reaction, 200 when the bot had already reacted so."""

        def handler(call: Call) -> Answer:
            comment_id, content = call.number("comment_id"), call.body["content"]
            reaction, new = self.world.react(
                call.the_repo, subject, comment_id, self.world.bot(), content
            )
            return Answer(201 if new else 200, reaction)

        return handler

    # pull requests ------------------------------------------------------------------------------
    def list_pull_files(self, call: Call) -> Answer:
        return Answer(200, self.world.pull_files(call.the_repo, call.number("pull_number")))

    def list_reviews(self, call: Call) -> Answer:
        return Answer(200, self.world.reviews_on(call.the_repo, call.number("pull_number")))

    def list_pulls(self, call: Call) -> Answer:
        query = call.query
        pulls = self.world.pulls_of(call.the_repo)
        state = query.get("state", "open")
        if state != "all":
            pulls = [p for p in pulls if p["state"] == state]
        if query.get("head"):
            pulls = [p for p in pulls if p["head"]["label"].lower() == query["head"].lower()]
        if query.get("base"):
            pulls = [p for p in pulls if p["base"]["ref"] == query["base"]]
        sort = query.get("sort", "created")
        if sort == "long-running":
            month_ago = shapes.iso(self._now() - dt.timedelta(days=30))
            pulls = [p for p in pulls if p["state"] == "open" and p["created_at"] < month_ago]
        key = {"created": "created_at", "long-running": "created_at"}.get(sort, "updated_at")
        if sort == "popularity":
            counts = {p["number"]: self.world.pull_json(call.the_repo, p["number"]) for p in pulls}
            pulls.sort(key=lambda p: (counts[p["number"]]["comments"], p["number"]))
        else:
            pulls.sort(key=lambda p: (p[key], p["number"]))
        default = "desc" if sort == "created" else "asc"
        if query.get("direction", default) == "desc":
            pulls.reverse()
        return Answer(200, pulls)

    def list_repo_review_comments(self, call: Call) -> Answer:
        found = _since(self.world.review_comments_of(call.the_repo), call.query.get("since"))
        if "sort" in call.query:  # without sort, GitHub lists by id and ignores direction
            key = "updated_at" if call.query["sort"] == "updated" else "created_at"
            found.sort(
                key=lambda item: (item[key], item["id"]),
                reverse=call.query.get("direction", "asc") == "desc",
            )
        return Answer(200, found)

    # checks and actions -------------------------------------------------------------------------
    def list_check_runs_for_ref(self, call: Call) -> Answer:
        query = call.query
        runs = self.world.check_runs_for(call.the_repo, call.params["ref"])
        if query.get("check_name"):
            runs = [r for r in runs if r["name"] == query["check_name"]]
        if query.get("status"):
            runs = [r for r in runs if r["status"] == query["status"]]
        if query.get("app_id"):
            runs = [r for r in runs if r["app"]["id"] == int(query["app_id"])]
        if query.get("filter", "latest") == "latest":  # the newest run of each name
            newest: dict[str, dict[str, Any]] = {}
            for run in runs:  # newest first already
                newest.setdefault(run["name"], run)
            runs = list(newest.values())
        return Answer(200, {"total_count": len(runs), "check_runs": runs})

    def list_workflow_runs(self, call: Call) -> Answer:
        runs = self.actions.runs(call.the_repo, call.query)
        return Answer(200, {"total_count": len(runs), "workflow_runs": runs})

    def list_jobs(self, call: Call) -> Answer:
        jobs = self.actions.jobs(call.the_repo, call.number("run_id"))
        return Answer(200, {"total_count": len(jobs), "jobs": jobs})

    def list_review_comments(self, call: Call) -> Answer:
        repo, number = call.the_repo, call.number("pull_number")
        self.world.pull(repo, number)
        found = _since(self.world.review_comments_on(repo, number), call.query.get("since"))
        if "sort" in call.query or "direction" in call.query:
            key = "updated_at" if call.query.get("sort") == "updated" else "created_at"
            found.sort(
                key=lambda item: (item[key], item["id"]),
                reverse=call.query.get("direction", "asc") == "desc",
            )
        return Answer(200, found)

    def create_review_comment(self, call: Call) -> Answer:
        return Answer(
            201,
            self.world.create_review_comment(call.the_repo, call.number("pull_number"), call.body),
        )

    def create_reply(self, call: Call) -> Answer:
        reply = self.world.reply(
            call.the_repo, call.number("pull_number"), call.number("comment_id"), call.body["body"]
        )
        return Answer(201, reply)

    def get_review_comment(self, call: Call) -> Answer:
        return Answer(200, self.world.review_comment_json(call.the_repo, call.number("comment_id")))

    def update_review_comment(self, call: Call) -> Answer:
        return Answer(
            200,
            self.world.update_review_comment(
                call.the_repo, call.number("comment_id"), call.body["body"]
            ),
        )

    def delete_review_comment(self, call: Call) -> Answer:
        self.world.delete_review_comment(call.the_repo, call.number("comment_id"))
        return Answer(204)


def _since(items: list[dict[str, Any]], since: str | None) -> list[dict[str, Any]]:
    """Items updated at or after ``since`` (ISO 8601), as GitHub's ``since`` parameters mean."""
    if not since:
        return items
    moment = dt.datetime.fromisoformat(since)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return [i for i in items if dt.datetime.fromisoformat(i["updated_at"]) >= moment]
