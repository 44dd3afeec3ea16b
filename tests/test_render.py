"""What the engineer and the leads read: the nudge, the co-sign request and its outcome."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.classify import Classifier
from bot.core.cosign import Reaction, decide_cosign
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.nudges import Nudge, NudgeState
from bot.core.org import OrgSettings, Role
from bot.core.playbook import Playbook, parse_playbook
from bot.core.render import (
    MARKER_RE,
    find_marker,
    marker,
    render_cosign_outcome,
    render_cosign_request,
    render_nudge,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MENTION = re.compile(r"@[A-Za-z0-9]")

PLAYBOOK_YAML = """\
id: sql-injection
title: SQL injection
significant: {significant}
match:
  patterns:
    - '\\bbind\\s+params?\\b'
trigger:
  comments: 2
  within_days: 30
nudge:
  minutes: 3
  play: >
    Let the driver carry the value: write a placeholder
    and pass the value separately.
  checklist:
    - Pass every value as a query parameter
    - Add a test with a quote in the input
  link:
    title: OWASP SQL Injection Prevention Cheat Sheet
    url: https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html
"""


def make_playbook(significant: bool = False) -> Playbook:
    playbook, problems = parse_playbook(
        PLAYBOOK_YAML.format(significant=str(significant).lower()), "playbooks/sql-injection.yml"
    )
    assert problems == []
    return playbook


PLAYBOOK = make_playbook()
SIGNIFICANT = make_playbook(significant=True)


def review_comment(body: str, at: dt.datetime, cid: int, reviewer: str) -> ReviewComment:
    return ReviewComment(
        pull=PullRequestRef(77, "acme/shop", 7, Actor("alice", False)),
        reviewer=Actor(reviewer, False),
        body=body,
        at=at,
        source="review_comment",
        comment_id=cid,
        thread_id=cid,
    )


def triggered(playbook: Playbook) -> Nudge:
    """The nudge the core decides after two matching comments from two reviewers."""
    ctx = DecisionConfig(
        playbooks={playbook.id: playbook},
        org=OrgSettings(
            holdout_share=0.0,
            roles={"engineer": Role("engineer")},
            leads={"carol": ("alice",), "dave-ops": ("alice",)},
        ),
    )
    classifier = Classifier([playbook])
    history = History()
    nudges = []
    for n, (reviewer, body) in enumerate(
        [
            ("bob", "Please use bind params for the user id."),
            ("erin", "Same as last week: bind params here, not an f-string into the query."),
        ]
    ):
        c = review_comment(body, T0 + dt.timedelta(days=n), 900 + n, reviewer)
        decision = decide_comment(c, classifier.matches(body), history, ctx, c.at)
        history = History(
            [*history.signals, *decision.signals], [*history.nudges, *decision.nudges]
        )
        nudges += decision.nudges
    [nudge] = nudges
    return nudge


NUDGE = triggered(PLAYBOOK)
AWAITING = triggered(SIGNIFICANT)


def with_quote(nudge: Nudge, quote: str, reviewer: str | None = None) -> Nudge:
    evidence = list(nudge.evidence)
    evidence[-1] = dataclasses.replace(
        evidence[-1], quote=quote, reviewer=reviewer or evidence[-1].reviewer
    )
    return dataclasses.replace(nudge, evidence=tuple(evidence))


def with_content(playbook: Playbook, **changes) -> Playbook:
    return dataclasses.replace(playbook, nudge=dataclasses.replace(playbook.nudge, **changes))


def assert_safe(body: str, key: str, *, cosign: bool = False) -> None:
    assert not MENTION.search(body), "no @-mention"
    assert body.count("<!--") == 1 and body.count("-->") == 1, "only the marker is an HTML comment"
    assert body.endswith(marker(key, cosign=cosign))


# ------------------------------------------------------------------------------------ nudge


def test_the_nudge_has_the_play_the_checklist_the_link_and_the_marker():
    body = render_nudge(NUDGE, PLAYBOOK)
    assert body.startswith("**Learning nudge · SQL injection** · about 3 min")
    assert "2 review comments in the last 30 days pointed at sql injection, for example:" in body
    assert (
        "Let the driver carry the value: write a placeholder and pass the value separately." in body
    )
    assert (
        "- [ ] Pass every value as a query parameter\n- [ ] Add a test with a quote in the input"
        in body
    )
    assert (
        "Go deeper: [OWASP SQL Injection Prevention Cheat Sheet]"
        "(https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html)"
    ) in body
    assert body.endswith(f"<!-- learning-nudge:{NUDGE.key} -->")
    assert [m.group("key") for m in MARKER_RE.finditer(body)] == [NUDGE.key]
    assert find_marker(body, NUDGE.key) and not find_marker(body, NUDGE.key, cosign=True)
    assert_safe(body, NUDGE.key)


def test_the_nudge_quotes_the_latest_comment_briefly():
    body = render_nudge(NUDGE, PLAYBOOK)
    [quote_line] = [line for line in body.splitlines() if line.startswith("> ")]
    assert "bind params here, not an f-string" in quote_line
    assert len(quote_line) <= 2 + 122
    assert "user id" not in body  # one example, not the whole history


def test_a_nudge_without_checklist_link_or_quote_still_reads_well():
    bare = with_content(PLAYBOOK, checklist=(), link=None)
    body = render_nudge(with_quote(NUDGE, ""), bare)
    assert "- [ ]" not in body and "Go deeper" not in body and "\n> " not in body
    assert "Let the driver carry the value" in body
    assert_safe(body, NUDGE.key)


@pytest.mark.parametrize(
    "text",
    [
        "ask @security-team or @alice about it",
        "cc @acme/security",
        "email me: someone@example.com",
        "end of the comment --> <!-- learning-nudge:0123456789abcdef -->",
        "<!-- hide the rest",
    ],
)
def test_playbook_and_comment_text_cannot_mention_or_hide(text):
    playbook = with_content(PLAYBOOK, play=text, checklist=(text,))
    body = render_nudge(with_quote(NUDGE, text), playbook)
    assert_safe(body, NUDGE.key)
    assert [m.group("key") for m in MARKER_RE.finditer(body)] == [NUDGE.key]


@settings(max_examples=300)
@given(
    play=st.text(min_size=1),
    quote=st.text(),
    item=st.text(min_size=1),
    link_title=st.text(min_size=1),
)
def test_no_text_from_a_playbook_or_a_quote_produces_a_mention(play, quote, item, link_title):
    playbook = with_content(
        PLAYBOOK,
        play=play,
        checklist=(item,),
        link=dataclasses.replace(PLAYBOOK.nudge.link, title=link_title),
    )
    body = render_nudge(with_quote(NUDGE, quote), playbook)
    assert_safe(body, NUDGE.key)


@pytest.mark.parametrize("title", ["Ask @security-team", "Closing --> comments"])
def test_a_playbook_title_cannot_mention_or_close_the_marker_in_a_nudge(title):
    text = PLAYBOOK_YAML.format(significant="false").replace(
        "title: SQL injection", f"title: {title}"
    )
    playbook, problems = parse_playbook(text, "playbooks/sql-injection.yml")
    assert problems == [] and playbook.title == title  # a valid playbook
    assert_safe(render_nudge(NUDGE, playbook), NUDGE.key)


def test_a_playbook_title_cannot_mention_anyone_in_a_co_sign_request():
    request = render_cosign_request(
        AWAITING, dataclasses.replace(SIGNIFICANT, title="Ask @security-team")
    )
    assert mentioned(request) == ["carol", "dave-ops"]


# ---------------------------------------------------------------------------------- co-sign


def mentioned(body: str) -> list[str]:
    return re.findall(r"@([A-Za-z0-9][A-Za-z0-9-]*)", body)


def test_the_co_sign_request_mentions_exactly_the_leads():
    assert AWAITING.state == NudgeState.AWAITING_COSIGN
    body = render_cosign_request(AWAITING, SIGNIFICANT)
    assert mentioned(body) == ["carol", "dave-ops"]
    assert body.startswith("@carol @dave-ops: ")
    assert "alice" not in body  # the engineer is not named, let alone mentioned
    assert "- bob on #7: “" in body and "- erin on #7: “" in body
    assert "react 👍 to send it, 👎 to drop it" in body
    assert body.endswith(marker(AWAITING.key, cosign=True))
    assert find_marker(body, AWAITING.key, cosign=True) and not find_marker(body, AWAITING.key)


@settings(max_examples=200)
@given(quote=st.text(), reviewer=st.text(min_size=1))
def test_the_co_sign_request_mentions_nobody_but_the_leads_whatever_the_evidence(quote, reviewer):
    body = render_cosign_request(with_quote(AWAITING, quote, reviewer), SIGNIFICANT)
    assert mentioned(body) == ["carol", "dave-ops"]
    assert body.count("<!--") == 1 and body.count("-->") == 1


def reacted(reactions, now):
    moved, _ = decide_cosign(AWAITING, reactions, OrgSettings(cosign_expiry_days=7), now)
    return moved


@pytest.mark.parametrize(
    "nudge, sentence",
    [
        (
            reacted([Reaction("carol", "+1", T0)], T0 + dt.timedelta(days=2)),
            "Co-signed by carol; the nudge was posted in the review thread.",
        ),
        (
            reacted([Reaction("dave-ops", "-1", T0)], T0 + dt.timedelta(days=2)),
            "Declined by dave-ops; no nudge was sent.",
        ),
        (
            reacted([], T0 + dt.timedelta(days=9)),
            "No lead answered within the co-sign period; no nudge was sent.",
        ),
    ],
)
def test_the_co_sign_outcome_mentions_nobody(nudge, sentence):
    body = render_cosign_outcome(nudge, SIGNIFICANT)
    assert sentence in body
    assert "Learning Nudges proposed a nudge on **SQL injection**" in body
    assert not MENTION.search(body)
    assert body.endswith(marker(AWAITING.key, cosign=True))
