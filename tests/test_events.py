"""GitHub's own example payloads, and broken ones, turned into the facts the core decides on."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.events import (
    Actor,
    PayloadError,
    PullRequestRef,
    event_kind,
    parse_time,
    pull_request_from_payload,
    review_comment_from_payload,
    review_from_payload,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github-webhooks"


def payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def comment_payload(
    *, author: str = "alice", reviewer: str = "bob", **comment: Any
) -> dict[str, Any]:
    data = payload("pull_request_review_comment.created")
    data["pull_request"]["user"] = {**data["pull_request"]["user"], "login": author, "type": "User"}
    data["comment"]["user"] = {**data["comment"]["user"], "login": reviewer, "type": "User"}
    data["comment"].update(comment)
    return data


def test_a_review_comment_fixture_parses():
    parsed = review_comment_from_payload(payload("pull_request_review_comment.created"))
    assert parsed.pull == PullRequestRef(
        installation_id=1,
        repo="Codertocat/Hello-World",
        number=2,
        author=Actor("Codertocat", is_bot=False),
    )
    assert parsed.engineer == Actor("Codertocat", is_bot=False)
    assert parsed.reviewer == Actor("Codertocat", is_bot=False)
    assert parsed.body == "Maybe you should use more emoji on this line."
    assert parsed.at == dt.datetime(2019, 5, 15, 15, 20, 37, tzinfo=dt.UTC)
    assert parsed.source == "review_comment"
    assert parsed.comment_id == 284312630
    assert parsed.thread_id == 284312630  # a top-level comment starts its own thread
    assert parsed.url == "https://github.com/Codertocat/Hello-World/pull/2#discussion_r284312630"


def test_the_engineer_is_the_pull_request_author_not_the_reviewer():
    parsed = review_comment_from_payload(comment_payload(author="alice", reviewer="bob"))
    assert parsed.engineer == Actor("alice", is_bot=False)
    assert parsed.reviewer == Actor("bob", is_bot=False)


def test_a_reply_belongs_to_the_thread_of_the_comment_it_answers():
    parsed = review_comment_from_payload(comment_payload(id=284312999, in_reply_to_id=284312630))
    assert parsed.comment_id == 284312999
    assert parsed.thread_id == 284312630


def test_a_submitted_review_fixture_parses_with_no_thread():
    parsed = review_from_payload(payload("pull_request_review.submitted"))
    assert parsed.pull.installation_id == 1
    assert parsed.pull.repo == "Codertocat/Hello-World"
    assert parsed.pull.number == 2
    assert parsed.engineer.login == "Codertocat"
    assert parsed.reviewer.login == "Codertocat"
    assert parsed.at == dt.datetime(2019, 5, 15, 15, 20, 38, tzinfo=dt.UTC)
    assert parsed.source == "review"
    assert parsed.comment_id == 237895671
    assert parsed.thread_id is None
    assert parsed.body == ""  # GitHub sends null for a review without a body


def test_the_time_keeps_its_time_zone():
    parsed = review_comment_from_payload(comment_payload(created_at="2026-03-02T10:15:00+01:00"))
    assert parsed.at == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
    assert parsed.at.utcoffset() is not None


@pytest.mark.parametrize(
    "name, action, at",
    [
        ("pull_request.opened", "opened", dt.datetime(2019, 5, 15, 15, 20, 33, tzinfo=dt.UTC)),
        ("pull_request.closed", "closed", None),
    ],
)
def test_pull_request_events_parse(name, action, at):
    data = payload(name)
    event = pull_request_from_payload(data)
    assert event.action == action
    assert event.pull.number == data["pull_request"]["number"]
    assert event.pull.author.login == data["pull_request"]["user"]["login"]
    expected = at or parse_time(data["pull_request"]["closed_at"])
    assert event.at == expected


def without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return data


@pytest.mark.parametrize(
    "parse, name, path, named",
    [
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("installation",),
            "installation",
        ),
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("installation", "id"),
            "installation.id",
        ),
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("pull_request", "user"),
            "pull_request.user",
        ),
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("repository",),
            "repository",
        ),
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("comment",),
            "comment",
        ),
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("comment", "created_at"),
            "created_at",
        ),
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("comment", "user"),
            "user",
        ),
        (
            review_comment_from_payload,
            "pull_request_review_comment.created",
            ("comment", "id"),
            "id",
        ),
        (review_from_payload, "pull_request_review.submitted", ("installation",), "installation"),
        (
            review_from_payload,
            "pull_request_review.submitted",
            ("pull_request", "user"),
            "pull_request.user",
        ),
        (
            review_from_payload,
            "pull_request_review.submitted",
            ("review", "submitted_at"),
            "submitted_at",
        ),
        (
            pull_request_from_payload,
            "pull_request.opened",
            ("pull_request", "user"),
            "pull_request.user",
        ),
    ],
)
def test_a_missing_field_raises_a_payload_error_naming_it(parse, name, path, named):
    with pytest.raises(PayloadError) as caught:
        parse(without(payload(name), *path))
    assert named in str(caught.value)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.update(installation=None), id="installation-null"),
        pytest.param(lambda d: d["pull_request"].update(user=None), id="author-null"),
        pytest.param(lambda d: d["pull_request"].update(user={"id": 1}), id="author-without-login"),
        pytest.param(lambda d: d["pull_request"].update(number="two"), id="number-not-a-number"),
        pytest.param(lambda d: d["comment"].update(created_at=None), id="created-at-null"),
        pytest.param(
            lambda d: d["comment"].update(created_at="yesterday"), id="created-at-not-a-time"
        ),
        pytest.param(lambda d: d["comment"].update(user={"id": 1}), id="reviewer-without-login"),
    ],
)
def test_malformed_fields_raise_payload_errors(change):
    data = payload("pull_request_review_comment.created")
    change(data)
    with pytest.raises(PayloadError):
        review_comment_from_payload(data)


# A PayloadError fails the delivery at once with its reason; any other exception is treated as a
# bug in a handler and the delivery is retried again and again.
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda d: d["comment"].update(id="not-a-number"), id="comment-id-not-a-number"
        ),
        pytest.param(
            lambda d: d["comment"].update(in_reply_to_id="abc"), id="reply-to-not-a-number"
        ),
        pytest.param(lambda d: d.update(comment="a string"), id="comment-not-an-object"),
    ],
)
def test_a_malformed_comment_is_a_payload_error_too(change):
    data = payload("pull_request_review_comment.created")
    change(data)
    with pytest.raises(PayloadError):
        review_comment_from_payload(data)


@pytest.mark.parametrize(
    "user, is_bot",
    [
        ({"login": "learning-nudges[bot]", "type": "Bot"}, True),
        ({"login": "dependabot[bot]", "type": "User"}, True),  # the suffix alone is enough
        ({"login": "Renovate[BOT]"}, True),
        ({"login": "ci-robot", "type": "Bot"}, True),  # the type alone is enough
        ({"login": "alice", "type": "User"}, False),
        ({"login": "botanist", "type": "User"}, False),
        ({"login": "bot", "type": "User"}, False),
    ],
)
def test_bots_are_recognised_by_suffix_or_type(user, is_bot):
    assert Actor.from_user(user).is_bot is is_bot


def test_a_bot_reviewer_in_a_payload_is_a_bot():
    data = payload("pull_request_review_comment.created")
    data["comment"]["user"] = {
        **data["comment"]["user"],
        "login": "learning-nudges[bot]",
        "type": "Bot",
    }
    parsed = review_comment_from_payload(data)
    assert parsed.reviewer == Actor("learning-nudges[bot]", is_bot=True)
    assert parsed.engineer.is_bot is False


@pytest.mark.parametrize(
    "data, reason",
    [
        pytest.param(None, "payload is null, not a JSON object", id="null"),
        pytest.param(42, "payload is a number, not a JSON object", id="number"),
        pytest.param(4.2, "payload is a number, not a JSON object", id="float"),
        pytest.param(True, "payload is true, not a JSON object", id="true"),
        pytest.param(False, "payload is false, not a JSON object", id="false"),
        pytest.param("created", "payload is a string, not a JSON object", id="string"),
        pytest.param([{"action": "created"}], "payload is a list, not a JSON object", id="list"),
        pytest.param(
            {"action": 1},
            "payload's action is a number, not the name of an action",
            id="action-number",
        ),
        pytest.param(
            {"action": True},
            "payload's action is true, not the name of an action",
            id="action-bool",
        ),
        pytest.param(
            {"action": ["created"]},
            "payload's action is a list, not the name of an action",
            id="action-list",
        ),
        pytest.param(
            {"action": {"x": 1}},
            "payload's action is an object, not the name of an action",
            id="action-object",
        ),
        pytest.param(
            {"action": ""},
            "payload's action is empty text, not the name of an action",
            id="action-empty",
        ),
    ],
)
def test_a_signed_body_of_the_wrong_shape_is_a_payload_error_with_its_reason(data, reason):
    # What json.loads returns for bodies such as b"null", b"42" or b'{"action": 1}'.
    with pytest.raises(PayloadError) as raised:
        event_kind("pull_request_review_comment", data)
    assert str(raised.value) == reason


@pytest.mark.parametrize(
    "event, data, expected",
    [
        (
            "pull_request_review_comment",
            payload("pull_request_review_comment.created"),
            ("pull_request_review_comment", "created"),
        ),
        ("push", payload("push"), ("push", None)),  # a push has no action
        ("ping", {"action": None, "zen": "Keep it logically awesome."}, ("ping", None)),
    ],
)
def test_event_kind_of_real_payloads(event, data, expected):
    assert event_kind(event, data) == expected


@pytest.mark.parametrize("event", ["", "  ", None, 7])
def test_a_delivery_without_an_event_name_is_a_payload_error(event):
    with pytest.raises(PayloadError, match="names no event"):
        event_kind(event, {"action": "created"})
