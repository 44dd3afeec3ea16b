"""Turn GitHub webhook payloads into the few facts the core decides on.

Parsing is strict about what it needs and says which field was missing, so a malformed delivery
is recorded as failed with a reason a person can act on, and the worker moves on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

BOT_SUFFIX = "[bot]"


class PayloadError(ValueError):
    """A delivery lacks a field we need; the message names it."""


@dataclass(frozen=True)
class Actor:
    login: str
    is_bot: bool

    @classmethod
    def from_user(cls, user: Mapping[str, Any]) -> Actor:
        login = str(user["login"])
        return cls(login, user.get("type") == "Bot" or login.lower().endswith(BOT_SUFFIX))


@dataclass(frozen=True)
class PullRequestRef:
    installation_id: int
    repo: str  # "owner/name"
    number: int
    author: Actor


@dataclass(frozen=True)
class ReviewComment:
    """A reviewer's words on a pull request: a line comment, or the body of a submitted review."""

    pull: PullRequestRef
    reviewer: Actor
    body: str
    at: datetime
    source: Literal["review_comment", "review"]
    comment_id: int  # the review comment's id, or the review's id
    thread_id: int | None  # the top-level comment of the thread to reply in; None for a review
    url: str = ""
    path: str = ""  # the file a line comment is on; empty for a review body
    diff_hunk: str = ""  # the diff above a line comment, ending at its line; empty for a review

    @property
    def engineer(self) -> Actor:
        return self.pull.author


@dataclass(frozen=True)
class PullRequestEvent:
    pull: PullRequestRef
    action: str
    at: datetime


def _json_kind(value: Any) -> str:
    """How a JSON value reads in a message: null, true, 42, a string, a list, an object."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return "a number"
    kinds: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def event_kind(event: Any, data: Any) -> tuple[str, str | None]:
    """``(event, action)`` of a delivery whose body is valid JSON, or a PayloadError saying why not.

    ``event`` is the X-GitHub-Event header; ``data`` the decoded body. Run before any router looks
    at the payload, so that a signed body of the wrong shape fails with its reason, not a crash.
    """
    if not isinstance(event, str) or not event.strip():
        raise PayloadError("the delivery names no event (X-GitHub-Event header)")
    if not isinstance(data, Mapping):
        raise PayloadError(f"payload is {_json_kind(data)}, not a JSON object")
    action = data.get("action")
    if action is not None and (not isinstance(action, str) or not action.strip()):
        shown = "empty text" if isinstance(action, str) else _json_kind(action)
        raise PayloadError(f"payload's action is {shown}, not the name of an action")
    return event, action


def _get(payload: Any, *path: str) -> Any:
    value: Any = payload
    for index, key in enumerate(path):
        if not isinstance(value, Mapping) or value.get(key) is None:
            raise PayloadError(f"payload has no {'.'.join(path[: index + 1])}")
        value = value[key]
    return value


# What reading a field of the wrong shape raises; each becomes a PayloadError naming the part.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)


def _payload_error(what: str, exc: Exception) -> PayloadError:
    return exc if isinstance(exc, PayloadError) else PayloadError(f"malformed {what}: {exc}")


def parse_time(value: str) -> datetime:
    """GitHub's ISO 8601 timestamps (``...Z``) as aware datetimes."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError) as exc:
        raise PayloadError(f"not a timestamp: {value!r}") from exc


def pull_request_ref(payload: Mapping[str, Any]) -> PullRequestRef:
    try:
        return PullRequestRef(
            installation_id=int(_get(payload, "installation", "id")),
            repo=str(_get(payload, "repository", "full_name")),
            number=int(_get(payload, "pull_request", "number")),
            author=Actor.from_user(_get(payload, "pull_request", "user")),
        )
    except _MALFORMED as exc:
        raise _payload_error("pull request fields", exc) from exc


def review_comment_from_payload(payload: Mapping[str, Any]) -> ReviewComment:
    """A ``pull_request_review_comment`` delivery."""
    comment = _get(payload, "comment")
    try:
        reply_to = comment.get("in_reply_to_id")
        return ReviewComment(
            pull=pull_request_ref(payload),
            reviewer=Actor.from_user(_get(comment, "user")),
            body=str(comment.get("body") or ""),
            at=parse_time(_get(comment, "created_at")),
            source="review_comment",
            comment_id=int(_get(comment, "id")),
            thread_id=int(reply_to) if reply_to else int(comment["id"]),
            url=str(comment.get("html_url") or ""),
            path=str(comment.get("path") or ""),
            diff_hunk=str(comment.get("diff_hunk") or ""),
        )
    except _MALFORMED as exc:
        raise _payload_error("comment", exc) from exc


def review_from_payload(payload: Mapping[str, Any]) -> ReviewComment:
    """A ``pull_request_review`` delivery; its body is classified like a comment."""
    review = _get(payload, "review")
    try:
        return ReviewComment(
            pull=pull_request_ref(payload),
            reviewer=Actor.from_user(_get(review, "user")),
            body=str(review.get("body") or ""),
            at=parse_time(_get(review, "submitted_at")),
            source="review",
            comment_id=int(_get(review, "id")),
            thread_id=None,
            url=str(review.get("html_url") or ""),
        )
    except _MALFORMED as exc:
        raise _payload_error("review", exc) from exc


def pull_request_from_payload(payload: Mapping[str, Any]) -> PullRequestEvent:
    pull = _get(payload, "pull_request")
    action = str(_get(payload, "action"))
    stamp = _get(pull, "closed_at" if action == "closed" else "created_at")
    return PullRequestEvent(pull=pull_request_ref(payload), action=action, at=parse_time(stamp))


# GitHub lists at most this many commits in a push payload; a longer push may touch anything.
PUSH_COMMITS_LISTED = 20


@dataclass(frozen=True)
class Push:
    """A ``push``: which repository and branch moved, to which commit, and the paths touched."""

    installation_id: int
    repo: str  # "owner/name"
    ref: str
    default_branch: str
    after: str
    deleted: bool
    paths: frozenset[str]
    complete: bool  # False when GitHub listed only some of the commits

    @property
    def to_default_branch(self) -> bool:
        return self.ref == f"refs/heads/{self.default_branch}" and not self.deleted

    def touches(self, folder: str) -> bool:
        """Whether a file in ``folder`` may have changed (always, if the list was cut short)."""
        prefix = folder.strip("/") + "/"
        return not self.complete or any(p.startswith(prefix) for p in self.paths)


def push_from_payload(payload: Mapping[str, Any]) -> Push:
    try:
        commits = payload.get("commits") or []
        paths = {
            str(path)
            for commit in [*commits, payload.get("head_commit") or {}]
            for kind in ("added", "modified", "removed")
            for path in commit.get(kind) or ()
        }
        return Push(
            installation_id=int(_get(payload, "installation", "id")),
            repo=str(_get(payload, "repository", "full_name")),
            ref=str(_get(payload, "ref")),
            default_branch=str(_get(payload, "repository", "default_branch")),
            after=str(_get(payload, "after")),
            deleted=bool(payload.get("deleted")),
            paths=frozenset(paths),
            complete=len(commits) < PUSH_COMMITS_LISTED,
        )
    except _MALFORMED as exc:
        raise _payload_error("push", exc) from exc
