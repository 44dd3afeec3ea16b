"""What a test does to the stand-in GitHub besides calling its API: seed state, read it back,
inject faults, register manifest codes, send webhooks.

:class:`FakeGitHub` (in :mod:`.server`) carries these methods; they act on its state directly,
the way things happen on GitHub without the app asking (a person comments, CI runs, GitHub
delivers an event). Unknown owners, repositories or pull requests raise ``LookupError`` with
what to add first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import Literal

from bot.testing.fakegithub.actions import Actions
from bot.testing.fakegithub.auth import Credentials
from bot.testing.fakegithub.faults import Faults
from bot.testing.fakegithub.state import NotFound, Repo, World
from bot.testing.fakegithub.webhooks import Webhooks


class StateAPI:
    """The test-facing half of :class:`~.server.FakeGitHub`."""

    app_id: int
    _now: Callable[[], dt.datetime]
    _world: World
    _credentials: Credentials
    _webhooks: Webhooks
    _actions: Actions
    _faults: Faults

    # seeding state ------------------------------------------------------------------------------
    def add_installation(
        self, installation_id: int, account: str, *, app_id: int | None = None
    ) -> None:
        """An installation of the fake's app, or of the app ``app_id`` (one made from a manifest)."""
        if app_id is not None and not self._world.apps.known(app_id):
            raise LookupError(f"app {app_id} is not in the fake; convert a manifest code first")
        self._world.add_installation(installation_id, account, app_id=app_id)

    def add_repo(
        self, owner: str, repo: str, *, installation_id: int, default_branch: str = "main"
    ) -> None:
        try:
            self._world.add_repo(
                owner, repo, installation_id=installation_id, default_branch=default_branch
            )
        except NotFound:
            raise LookupError(
                f"installation {installation_id} is not in the fake; add_installation first"
            ) from None

    def add_pull(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        author: str,
        author_type: str = "User",
        head_sha: str | None = None,
        files: list[str] | tuple[str, ...] = (),
        title: str | None = None,
        body: str | None = None,
        state: Literal["open", "closed"] = "open",
        head_ref: str | None = None,
        created_at: dt.datetime | None = None,
        patches: dict[str, str] | None = None,
    ) -> None:
        """A pull request; ``created_at`` (default: now) lets a test seed older ones.

        ``files`` are the paths it changes, listed by ``GET .../pulls/{n}/files``; ``patches``
        (path -> diff) are the diffs shown there, a one-line stand-in for a file without one. A
        diff whose first hunk starts ``@@ -0,0`` is of a file the pull request adds.
        """
        found = self._repo(owner, repo)
        sha = head_sha or hashlib.sha1(f"{owner}/{repo}#{number}".encode()).hexdigest()
        self._world.add_pull(
            found,
            number,
            author=author,
            author_type=author_type,
            head_sha=sha,
            files=files,
            title=title,
            body=body,
            state=state,
            head_ref=head_ref,
            created_at=created_at,
            patches=patches,
        )

    def push_to_pull(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        head_sha: str,
        files: list[str] | tuple[str, ...] = (),
        patches: dict[str, str] | None = None,
    ) -> None:
        """A new head commit on a pull request: its changed files, with the diffs GitHub shows.

        A file without an entry in ``patches`` gets a one-line stand-in diff.
        """
        self._world.push_to_pull(self._repo(owner, repo), number, head_sha, files, patches or {})

    def add_review_comment(
        self,
        owner: str,
        repo: str,
        pull_number: int,
        *,
        comment_id: int,
        user: str,
        body: str,
        user_type: str = "User",
        in_reply_to_id: int | None = None,
        path: str = "app.py",
        line: int = 1,
        created_at: dt.datetime | None = None,
        updated_at: dt.datetime | None = None,
        diff_hunk: str | None = None,
    ) -> dict:
        """A review comment made by a person (or another bot), e.g. the one a webhook describes.

        ``created_at`` (default: now) and ``updated_at`` (default: ``created_at``) may lie in
        the past, for history the app reads back with ``since``; ``diff_hunk`` (default: a
        two-line hunk header) is the code the comment is on.
        """
        try:
            return self._world.add_review_comment(
                self._repo(owner, repo),
                pull_number,
                author=self._world.person(user, user_type),
                body=body,
                comment_id=comment_id,
                in_reply_to_id=in_reply_to_id,
                path=path,
                line=line,
                created_at=created_at,
                updated_at=updated_at,
                diff_hunk=diff_hunk,
            )
        except NotFound:
            raise LookupError(
                f"{owner}/{repo}#{pull_number} is not a pull request in the fake; add_pull first"
            ) from None

    def add_issue_comment(
        self,
        owner: str,
        repo: str,
        issue_number: int,
        *,
        user: str,
        body: str,
        user_type: str = "User",
    ) -> dict:
        """A comment on an issue or pull request conversation, made by a person."""
        try:
            return self._world.create_issue_comment(
                self._repo(owner, repo),
                issue_number,
                body,
                author=self._world.person(user, user_type),
            )
        except NotFound:
            raise LookupError(f"{owner}/{repo}#{issue_number} is not in the fake") from None

    def add_file(
        self, owner: str, repo: str, path: str, content: bytes, *, ref: str | None = None
    ) -> None:
        """A file for the contents API; ``ref`` defaults to the repository's default branch."""
        self._world.add_file(self._repo(owner, repo), path, content, ref)

    def add_review(
        self,
        owner: str,
        repo: str,
        pull_number: int,
        *,
        user: str,
        body: str = "",
        state: Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"] = "COMMENTED",
        submitted_at: dt.datetime | None = None,
    ) -> dict:
        """A submitted review of a pull request, listed by ``GET .../pulls/{n}/reviews``."""
        try:
            return self._world.add_review(
                self._repo(owner, repo),
                pull_number,
                author=self._world.person(user),
                body=body,
                state=state,
                submitted_at=submitted_at,
            )
        except NotFound:
            raise LookupError(
                f"{owner}/{repo}#{pull_number} is not a pull request in the fake"
            ) from None

    def add_team(
        self,
        org: str,
        team_slug: str,
        members: list[str],
        *,
        name: str | None = None,
        description: str | None = None,
        parent: str | None = None,
    ) -> None:
        """A team (``parent``: another team's slug); its members become organisation members."""
        self._world.add_team(
            org, team_slug, members, name=name, description=description, parent=parent
        )

    def add_workflow_run(
        self,
        owner: str,
        repo: str,
        *,
        name: str = "CI",
        path: str = ".github/workflows/ci.yml",
        event: str = "push",
        status: str = "completed",
        conclusion: str | None = "success",
        head_sha: str | None = None,
        head_branch: str | None = None,
        actor: str = "octocat",
        created_at: dt.datetime | None = None,
        pull_numbers: list[int] | tuple[int, ...] = (),
    ) -> dict:
        """A GitHub Actions workflow run, as ``GET .../actions/runs`` shows it."""
        found = self._repo(owner, repo)
        try:
            return self._actions.add_run(
                found,
                name=name,
                path=path,
                event=event,
                status=status,
                conclusion=conclusion,
                head_sha=head_sha or hashlib.sha1(f"{owner}/{repo}@{name}".encode()).hexdigest(),
                head_branch=head_branch or found.default_branch,
                actor=actor,
                created_at=created_at,
                pull_numbers=list(pull_numbers),
            )
        except NotFound:
            raise LookupError(f"pull requests {pull_numbers} are not all in the fake") from None

    def add_workflow_job(
        self,
        owner: str,
        repo: str,
        run_id: int,
        *,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
        steps: list[dict] | tuple[dict, ...] = (),
        started_at: dt.datetime | None = None,
        completed_at: dt.datetime | None = None,
    ) -> dict:
        """A job of a workflow run; ``steps`` are ``{"name": ...}`` (status/conclusion optional)."""
        try:
            return self._actions.add_job(
                self._repo(owner, repo),
                run_id,
                name=name,
                status=status,
                conclusion=conclusion,
                steps=list(steps),
                started_at=started_at,
                completed_at=completed_at,
            )
        except NotFound:
            raise LookupError(f"workflow run {run_id} is not in {owner}/{repo}") from None

    # the app-manifest flow ------------------------------------------------------------------------
    def add_manifest_code(
        self,
        code: str,
        manifest: dict,
        *,
        owner: str | None = None,
        owner_type: Literal["Organization", "User"] = "Organization",
    ) -> None:
        """A code GitHub would hand back after someone created an app from ``manifest``.

        ``POST /app-manifests/{code}/conversions`` turns it, once and within an hour, into a new
        app (its own id, key pair and, if the manifest has ``hook_attributes.url``, webhook
        target and secret). ``owner`` defaults to the account of the first installation.
        """
        installations = list(self._world.installations.values())
        account = owner or (installations[0].account if installations else self._world.app_slug)
        self._world.apps.add_code(
            code, manifest, owner=account, owner_type=owner_type, now=self._now()
        )

    # webhooks -------------------------------------------------------------------------------------
    def set_webhook_target(
        self, url: str, secret: str | None, *, app_id: int | None = None
    ) -> None:
        """Where the app's webhooks go, and the secret that signs them (None: unsigned)."""
        self._webhooks.set_target(app_id or self.app_id, url, secret)

    async def send_webhook(self, event: str, payload: dict, *, app_id: int | None = None) -> str:
        """Deliver one event to the app's webhook URL now, as GitHub would; returns its guid.

        The outcome (``OK``, ``Invalid HTTP Response: 503``, ``failed to connect to host``,
        ``timed out``) is recorded in :meth:`deliveries` and never retried.
        """
        delivery = await self._webhooks.send(app_id or self.app_id, event, payload)
        return delivery.guid

    def deliveries(self, *, app_id: int | None = None) -> list[dict]:
        """Every delivery so far, newest first, as ``GET /app/hook/deliveries/{id}`` shows it."""
        return [d.json() for d in self._webhooks.deliveries_of(app_id or self.app_id)]

    async def flush_webhooks(self) -> None:
        """Wait for the redeliveries asked for so far (GitHub answers 202, then sends)."""
        await self._webhooks.settle()

    def add_reaction(
        self,
        kind: Literal["pull_comment", "issue_comment", "issue"],
        owner: str,
        repo: str,
        comment_id: int,
        *,
        user: str,
        content: str,
    ) -> dict:
        """A reaction made in the UI; for ``kind="issue"``, ``comment_id`` is the issue number."""
        try:
            reaction, _ = self._world.react(
                self._repo(owner, repo), kind, comment_id, self._world.person(user), content
            )
        except NotFound:
            raise LookupError(f"no {kind} {comment_id} in {owner}/{repo}") from None
        return reaction

    # reading state --------------------------------------------------------------------------------
    def review_comments(self, owner: str, repo: str, pull_number: int) -> list[dict]:
        return self._world.review_comments_on(self._repo(owner, repo), pull_number)

    def issue_comments(self, owner: str, repo: str, issue_number: int) -> list[dict]:
        return self._world.issue_comments_on(self._repo(owner, repo), issue_number)

    def issues(self, owner: str, repo: str) -> list[dict]:
        """The repository's issues, oldest first (pull requests, which GitHub also lists, left out)."""
        found = sorted(self._world.issues_of(self._repo(owner, repo)), key=lambda i: i.number)
        return [self._world.issue_json(i) for i in found if i.pull is None]

    def reviews(self, owner: str, repo: str, pull_number: int) -> list[dict]:
        return self._world.reviews_on(self._repo(owner, repo), pull_number)

    def check_runs(self, owner: str, repo: str) -> list[dict]:
        return self._world.check_runs_of(self._repo(owner, repo))

    def issued_tokens(self) -> list[str]:
        """Every installation token minted so far."""
        return self._credentials.issued()

    def _repo(self, owner: str, repo: str) -> Repo:
        try:
            return self._world.repo(owner, repo)
        except NotFound:
            raise LookupError(f"{owner}/{repo} is not in the fake; add_repo first") from None

    # faults ---------------------------------------------------------------------------------------
    def inject_fault(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        *,
        status: int,
        headers: dict[str, str] | None = None,
        body: dict | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests matching get this answer instead.

        ``method`` may be ``"*"``. ``path_pattern`` is a glob (``/repos/a/b/pulls/*/comments``)
        or a regex (compiled, or a string starting with ``^``), matched against the path only.
        """
        self._faults.add(
            method, path_pattern, status=status, headers=headers, body=body, times=times
        )

    def inject_delay(
        self, method: str, path_pattern: str | re.Pattern[str], *, seconds: float, times: int = 1
    ) -> None:
        """The next ``times`` matching requests are answered as usual, ``seconds`` late."""
        self._faults.add(method, path_pattern, status=0, times=times, delay=seconds)

    def inject_disconnect(
        self, method: str, path_pattern: str | re.Pattern[str], *, times: int = 1
    ) -> None:
        """The next ``times`` matching requests get no answer: the connection is closed."""
        self._faults.add(method, path_pattern, status=0, times=times, drop=True)

    def inject_late_write(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        *,
        after_seconds: float,
        times: int = 1,
    ) -> None:
        """A slow write during a GitHub incident: the next ``times`` matching requests get no
        answer (the connection is closed, as when the client gives up), and GitHub does the
        write anyway ``after_seconds`` later by its clock (before any request it then serves)."""
        self._faults.add(method, path_pattern, status=0, times=times, late=after_seconds)

    def expire_tokens(self) -> None:
        """Every installation token issued so far is refused from now on (401)."""
        self._credentials.expire_all()
