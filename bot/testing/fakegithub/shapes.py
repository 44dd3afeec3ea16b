"""The JSON GitHub answers with, built from the fake's state (pure functions, no I/O).

Field names, URL layouts and ``node_id`` encodings follow api.github.com; the description's
``required`` lists decide which fields are always present.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import zlib
from collections.abc import Iterable
from typing import Any

API = "https://api.github.com"
WEB = "https://github.com"
REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
}
APP_EVENTS = ["pull_request", "pull_request_review", "pull_request_review_comment"]


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, ident: int) -> str:
    """GitHub's legacy global id: base64 of ``0<len(kind)>:<kind><id>``."""
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


def user_id(login: str) -> int:
    """A stable id per login, the same in every fake."""
    return zlib.crc32(login.lower().encode()) % 90_000_000 + 1_000_000


def sha_of(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


def blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


# people ---------------------------------------------------------------------------------------
def user(login: str, kind: str = "User") -> dict[str, Any]:
    """A ``simple-user``; ``kind`` is GitHub's ``type``: User, Bot or Organization."""
    uid = user_id(login)
    url = f"{API}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id(kind, uid),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{WEB}/{login}"
        if kind != "Bot"
        else f"{WEB}/apps/{login.removesuffix('[bot]')}",
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def public_user(login: str, kind: str, created_at: str) -> dict[str, Any]:
    """What ``GET /users/{username}`` answers."""
    return {
        **user(login, kind),
        "name": None,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created_at,
        "updated_at": created_at,
    }


# apps and installations -------------------------------------------------------------------------
def app(
    app_id: int,
    slug: str,
    owner: str,
    created_at: str,
    *,
    owner_type: str = "Organization",
    name: str = "Learning Nudges",
    description: str | None = "Short, targeted learning nudges in the pull request.",
    external_url: str | None = None,
    permissions: dict[str, str] | None = None,
    events: list[str] | None = None,
) -> dict[str, Any]:
    """An ``integration``; the defaults describe the fake's own app."""
    return {
        "id": app_id,
        "slug": slug,
        "node_id": node_id("Integration", app_id),
        "client_id": client_id(app_id),
        "owner": user(owner, owner_type),
        "name": name,
        "description": description,
        "external_url": external_url or f"{WEB}/{owner}",
        "html_url": f"{WEB}/apps/{slug}",
        "created_at": created_at,
        "updated_at": created_at,
        "permissions": dict(APP_PERMISSIONS if permissions is None else permissions),
        "events": list(APP_EVENTS if events is None else events),
    }


def client_id(app_id: int) -> str:
    return f"Iv1.{sha_of('client', app_id)[:16]}"


def installation(
    installation_id: int, account: str, account_type: str, app_id: int, slug: str, created_at: str
) -> dict[str, Any]:
    return {
        "id": installation_id,
        "account": user(account, account_type),
        "repository_selection": "all",
        "access_tokens_url": f"{API}/app/installations/{installation_id}/access_tokens",
        "repositories_url": f"{API}/installation/repositories",
        "html_url": f"{WEB}/organizations/{account}/settings/installations/{installation_id}",
        "app_id": app_id,
        "app_slug": slug,
        "target_id": user_id(account),
        "target_type": account_type,
        "permissions": dict(APP_PERMISSIONS),
        "events": list(APP_EVENTS),
        "created_at": created_at,
        "updated_at": created_at,
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


# repositories ---------------------------------------------------------------------------------
def repository(
    owner: str, owner_type: str, name: str, repo_id: int, default_branch: str, created_at: str
) -> dict[str, Any]:
    full = f"{owner}/{name}"
    url = f"{API}/repos/{full}"
    templated = {
        "archive_url": "/{archive_format}{/ref}",
        "assignees_url": "/assignees{/user}",
        "blobs_url": "/git/blobs{/sha}",
        "branches_url": "/branches{/branch}",
        "collaborators_url": "/collaborators{/collaborator}",
        "comments_url": "/comments{/number}",
        "commits_url": "/commits{/sha}",
        "compare_url": "/compare/{base}...{head}",
        "contents_url": "/contents/{+path}",
        "contributors_url": "/contributors",
        "deployments_url": "/deployments",
        "downloads_url": "/downloads",
        "events_url": "/events",
        "forks_url": "/forks",
        "git_commits_url": "/git/commits{/sha}",
        "git_refs_url": "/git/refs{/sha}",
        "git_tags_url": "/git/tags{/sha}",
        "hooks_url": "/hooks",
        "issue_comment_url": "/issues/comments{/number}",
        "issue_events_url": "/issues/events{/number}",
        "issues_url": "/issues{/number}",
        "keys_url": "/keys{/key_id}",
        "labels_url": "/labels{/name}",
        "languages_url": "/languages",
        "merges_url": "/merges",
        "milestones_url": "/milestones{/number}",
        "notifications_url": "/notifications{?since,all,participating}",
        "pulls_url": "/pulls{/number}",
        "releases_url": "/releases{/id}",
        "stargazers_url": "/stargazers",
        "statuses_url": "/statuses/{sha}",
        "subscribers_url": "/subscribers",
        "subscription_url": "/subscription",
        "tags_url": "/tags",
        "teams_url": "/teams",
        "trees_url": "/git/trees{/sha}",
    }
    return {
        "id": repo_id,
        "node_id": node_id("Repository", repo_id),
        "name": name,
        "full_name": full,
        "owner": user(owner, owner_type),
        "private": True,
        "html_url": f"{WEB}/{full}",
        "description": None,
        "fork": False,
        "url": url,
        **{key: url + suffix for key, suffix in templated.items()},
        "git_url": f"git://github.com/{full}.git",
        "ssh_url": f"git@github.com:{full}.git",
        "clone_url": f"{WEB}/{full}.git",
        "svn_url": f"{WEB}/{full}",
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": default_branch,
        "open_issues_count": 0,
        "open_issues": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private",
        "license": None,
        "pushed_at": created_at,
        "created_at": created_at,
        "updated_at": created_at,
    }


# conversations --------------------------------------------------------------------------------
def reaction(
    reaction_id: int, who: dict[str, Any], content: str, created_at: str
) -> dict[str, Any]:
    return {
        "id": reaction_id,
        "node_id": node_id("Reaction", reaction_id),
        "user": who,
        "content": content,
        "created_at": created_at,
    }


def reaction_rollup(subject_url: str, reactions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    counts = dict.fromkeys(REACTION_CONTENTS, 0)
    for item in reactions:
        counts[item["content"]] += 1
    return {"url": f"{subject_url}/reactions", "total_count": sum(counts.values()), **counts}


def label(owner: str, repo: str, name: str, color: str | None = None) -> dict[str, Any]:
    label_id = zlib.crc32(f"{owner}/{repo}/{name}".lower().encode())
    return {
        "id": label_id,
        "node_id": node_id("Label", label_id),
        "url": f"{API}/repos/{owner}/{repo}/labels/{name}",
        "name": name,
        "color": color or sha_of(name)[:6],
        "default": False,
        "description": None,
    }


STAND_IN_PATCH = "@@ -1 +1 @@\n-before\n+after"
NEW_FILE_HUNK = "@@ -0,0 "  # GitHub's first hunk of a file the commit adds


def diff_entry(
    full_name: str, head_sha: str, path: str, patch: str | None = None
) -> dict[str, Any]:
    """A ``diff-entry``; its counts and status follow the patch (a stand-in one by default)."""
    patch = STAND_IN_PATCH if patch is None else patch
    lines = patch.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return {
        "sha": sha_of(head_sha, path),
        "filename": path,
        "status": "added" if patch.startswith(NEW_FILE_HUNK) else "modified",
        "additions": added,
        "deletions": removed,
        "changes": added + removed,
        "blob_url": f"{WEB}/{full_name}/blob/{head_sha}/{path}",
        "raw_url": f"{WEB}/{full_name}/raw/{head_sha}/{path}",
        "contents_url": f"{API}/repos/{full_name}/contents/{path}?ref={head_sha}",
        "patch": patch,
    }


# contents -------------------------------------------------------------------------------------
def content_entry(
    full_name: str, ref: str, path: str, kind: str, sha: str, size: int
) -> dict[str, Any]:
    url = f"{API}/repos/{full_name}/contents/{path}?ref={ref}"
    html = f"{WEB}/{full_name}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
    git = f"{API}/repos/{full_name}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
    return {
        "type": kind,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "size": size,
        "url": url,
        "html_url": html,
        "git_url": git,
        "download_url": f"https://raw.githubusercontent.com/{full_name}/{ref}/{path}"
        if kind == "file"
        else None,
        "_links": {"self": url, "git": git, "html": html},
    }


def content_file(full_name: str, ref: str, path: str, content: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(content).decode()
    # GitHub wraps the base64 text at 60 characters, with a trailing newline.
    wrapped = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
    return {
        **content_entry(full_name, ref, path, "file", blob_sha(content), len(content)),
        "content": wrapped,
        "encoding": "base64",
    }


# organisations ----------------------------------------------------------------------------------
def team(org: str, slug: str, team_id: int, name: str, description: str | None) -> dict[str, Any]:
    """A ``team`` (its ``parent`` is filled in by the caller)."""
    url = f"{API}/organizations/{user_id(org)}/team/{team_id}"
    return {
        "id": team_id,
        "node_id": node_id("Team", team_id),
        "url": url,
        "html_url": f"{WEB}/orgs/{org}/teams/{slug}",
        "name": name,
        "slug": slug,
        "description": description,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "type": "organization",
        "organization_id": user_id(org),
        "parent": None,
    }


# checks -----------------------------------------------------------------------------------------
def check_annotation(full_name: str, head_sha: str, given: dict[str, Any]) -> dict[str, Any]:
    """A ``check-annotation`` as listed, from the annotation a check-run update sent."""
    path = given["path"]
    return {
        "path": path,
        "start_line": given["start_line"],
        "end_line": given["end_line"],
        "start_column": given.get("start_column"),
        "end_column": given.get("end_column"),
        "annotation_level": given.get("annotation_level"),
        "title": given.get("title"),
        "message": given.get("message"),
        "raw_details": given.get("raw_details"),
        "blob_href": f"{WEB}/{full_name}/blob/{head_sha}/{path}",
    }
