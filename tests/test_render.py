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
    WORD_JOINER,
    find_marker,
    link_target,
    marker,
    marker_secret,
    nudge_text,
    quote_text,
    render_cosign_outcome,
    render_cosign_request,
    render_nudge,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MENTION = re.compile(r"@[A-Za-z0-9_]")
SECRET = marker_secret("the webhook secret")
ORG = OrgSettings(
    holdout_share=0.0,
    roles={"engineer": Role("engineer")},
    leads={"carol": ("alice",), "dave-ops": ("alice",)},
    cosign_expiry_days=7,
    about_url="https://wiki.acme.example/learning-nudges",
)

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
        url=f"https://github.com/acme/shop/pull/7#discussion_r{cid}",
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
    ctx = DecisionConfig(playbooks={playbook.id: playbook}, org=ORG)
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


HTML_TAG = re.compile(r"<(?=[A-Za-z/!?])")
ENTITY = re.compile(r"&(#|[A-Za-z][A-Za-z0-9]*;)")
LEADS = ("carol", "dave-ops")
OUR_TAGS = {"<sub>", "</sub>", "<details>", "</details>", "<summary>", "</summary>"}


def assert_safe(body: str, key: str, *, cosign: bool = False, leads: tuple[str, ...] = ()) -> None:
    """What GitHub would see: no mention but the leads', no HTML but ours, no entity, one marker."""
    assert re.findall(r"@([A-Za-z0-9_][A-Za-z0-9_-]*)", body) == list(leads), "no other @-mention"
    assert body.count("<!--") == 1 and body.count("-->") == 1, "only the marker is an HTML comment"
    assert body.endswith(marker(key, SECRET, cosign=cosign))
    without_marker = body.removesuffix(marker(key, SECRET, cosign=cosign))
    tags = re.findall(r"<[^>\n]*>?", without_marker)
    assert [t for t in tags if HTML_TAG.match(t) and t not in OUR_TAGS] == [], "no HTML of others"
    assert not ENTITY.search(body), "no HTML entity (&#64; would read as @)"
    assert without_marker.count("<details>") == without_marker.count("</details>") <= 1


# ------------------------------------------------------------------------------------ nudge

OWASP = "https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html"
COMMENT_1 = "https://github.com/acme/shop/pull/7#discussion_r900"
COMMENT_2 = "https://github.com/acme/shop/pull/7#discussion_r901"
WHY = (
    "<sub>Why you are seeing this: Learning Nudges sends a short note when the same kind of review "
    "comment keeps coming up, at most once every 30 days on one topic. Reply `/nudge why` to see "
    "why, `/nudge mute` to stop them. React 👍 if it helped, 👎 if "
    "it did not. To stop these notes or to ask about them, see [how Learning Nudges works here]"
    "(https://wiki.acme.example/learning-nudges).</sub>"
)
EXPECTED_NUDGE = f"""\
**Learning nudge · SQL injection** · about 3 min

2 review comments in the last 30 days pointed at SQL injection ([comment 1]({COMMENT_1}), \
[comment 2]({COMMENT_2})). The latest:

> Same as last week: bind params here, not an f-string into the query.

Let the driver carry the value: write a placeholder and pass the value separately.

- [ ] Pass every value as a query parameter
- [ ] Add a test with a quote in the input

Go deeper: [OWASP SQL Injection Prevention Cheat Sheet]({OWASP})

{WHY}"""


def test_the_nudge_reads_as_written_with_the_comments_linked_and_why_it_came():
    body = render_nudge(NUDGE, PLAYBOOK, ORG, SECRET)
    assert body == EXPECTED_NUDGE + "\n" + marker(NUDGE.key, SECRET)
    assert [m.group("key") for m in MARKER_RE.finditer(body)] == [NUDGE.key]
    assert find_marker(body, NUDGE.key, SECRET)
    assert not find_marker(body, NUDGE.key, SECRET, cosign=True)
    assert_safe(body, NUDGE.key)


@pytest.mark.parametrize(
    "title",
    [
        "SQL injection",
        "N+1 queries",
        "gRPC deadlines",
        "iOS Keychain misuse",
        "XSS in React",
        "TLS 1.3",
    ],
)
def test_the_title_is_shown_exactly_as_the_author_wrote_it(title):
    playbook = dataclasses.replace(PLAYBOOK, title=title)
    lines = render_nudge(NUDGE, playbook, ORG, SECRET).splitlines()
    assert lines[0] == f"**Learning nudge · {title}** · about 3 min"
    assert lines[2].startswith(f"2 review comments in the last 30 days pointed at {title} (")
    request = render_cosign_request(
        AWAITING, dataclasses.replace(SIGNIFICANT, title=title), ORG, SECRET
    )
    assert f"on **{title}** for the author" in request
    assert f"pointed at {title}:" in request


def test_markdown_characters_in_a_title_are_shown_not_interpreted():
    playbook = dataclasses.replace(PLAYBOOK, title="Use *args_and_kwargs* [sparingly] `here`")
    first = render_nudge(NUDGE, playbook, ORG, SECRET).splitlines()[0]
    assert first == (
        "**Learning nudge · Use \\*args\\_and\\_kwargs\\* \\[sparingly\\] \\`here\\`** · about 3 min"
    )


def quoted_line(body: str) -> str:
    [line] = [line for line in body.splitlines() if line.startswith("> ")]
    return line


@pytest.mark.parametrize(
    "quote, shown",
    [
        pytest.param(
            "Same as last week: bind params here, not an f-string into the query.",
            "Same as last week: bind params here, not an f-string into the query.",
            id="short",
        ),
        pytest.param(
            "First line of the comment.\n\nSecond paragraph:   bind params.",
            "First line of the comment. Second paragraph: bind params.",
            id="several-lines-on-one",
        ),
        pytest.param(
            "Please bind params " + "here " * 40 + "and the end.",
            "Please bind params " + "here " * 40 + "and the end.",
            id="long-but-fits",
        ),
        pytest.param("# bind params, please", "\\# bind params, please", id="not-a-heading"),
        pytest.param("- bind params", "\\- bind params", id="not-a-list"),
        pytest.param("1. bind params", "1\\. bind params", id="not-a-numbered-list"),
        pytest.param("> quoting someone", "\\> quoting someone", id="not-a-nested-quote"),
        pytest.param("```sql bind params", "\\```sql bind params", id="not-a-code-fence"),
        pytest.param(
            "use `cursor.execute(sql, params)` please",
            "use `cursor.execute(sql, params)` please",
            id="code-kept",
        ),
        pytest.param(
            "![pixel](https://evil.example/p.png)",
            "!\\[pixel](https://evil.example/p.png)",
            id="no-image",
        ),
    ],
)
def test_the_quote_is_the_whole_comment_when_it_fits_on_one_safe_line(quote, shown):
    line = quoted_line(render_nudge(with_quote(NUDGE, quote), PLAYBOOK, ORG, SECRET))
    assert line == f"> {shown}"
    assert len(line) <= 2 + 280


def test_a_comment_too_long_to_fit_is_cut_at_a_word_and_says_so():
    comment = "Please bind params " + "here " * 60 + "and the end."
    line = quoted_line(render_nudge(with_quote(NUDGE, comment), PLAYBOOK, ORG, SECRET))
    assert line.startswith("> Please bind params here here") and line.endswith(" here…")
    assert len(line) <= 2 + 280
    assert comment.startswith(line[2:-1] + " ")  # the words as written, up to a word's end


def test_a_comment_that_fits_is_quoted_from_its_first_word():
    # The classifier cuts the evidence; a comment that fits is kept whole, not started mid-way.
    comment = (
        "Nice refactor overall, thanks for splitting the module. One thing though: please use "
        "bind params here."
    )
    [match] = Classifier([PLAYBOOK]).matches(comment)
    assert match.quote == comment
    assert (
        quoted_line(render_nudge(with_quote(NUDGE, match.quote), PLAYBOOK, ORG, SECRET))
        == f"> {comment}"
    )


def test_a_long_comment_is_quoted_around_its_finding_with_as_much_of_the_end_as_fits():
    comment = "Background first. " * 20 + "Here is the point: please use bind params."
    [match] = Classifier([PLAYBOOK]).matches(comment)
    assert match.quote.startswith("…") and match.quote.endswith("please use bind params.")
    assert len(match.quote) <= 240 + 2
    line = quoted_line(render_nudge(with_quote(NUDGE, match.quote), PLAYBOOK, ORG, SECRET))
    assert line == f"> {match.quote}"  # shown as the classifier cut it, not cut again


def test_the_nudge_quotes_only_the_latest_comment():
    body = render_nudge(NUDGE, PLAYBOOK, ORG, SECRET)
    assert "bind params here, not an f-string" in quoted_line(body)
    assert "user id" not in body  # one example, not the whole history


def test_a_nudge_without_checklist_link_quote_or_comment_urls_still_reads_well():
    bare = with_content(PLAYBOOK, checklist=(), link=None)
    nudge = with_quote(NUDGE, "")
    nudge = dataclasses.replace(
        nudge, evidence=tuple(dataclasses.replace(s, url="") for s in nudge.evidence)
    )
    body = render_nudge(nudge, bare, ORG, SECRET)
    assert "- [ ]" not in body and "Go deeper" not in body and "\n> " not in body
    assert "2 review comments in the last 30 days pointed at SQL injection.\n" in body
    assert "Let the driver carry the value" in body
    assert_safe(body, NUDGE.key)


def test_a_single_comment_and_a_single_day_read_in_the_singular():
    one = dataclasses.replace(NUDGE, evidence=NUDGE.evidence[-1:])
    playbook = dataclasses.replace(
        PLAYBOOK, trigger=dataclasses.replace(PLAYBOOK.trigger, within_days=1)
    )
    body = render_nudge(one, playbook, ORG, SECRET)
    assert (
        f"1 review comment in the last 1 day pointed at SQL injection ([comment 1]({COMMENT_2}))."
        in body
    )


@pytest.mark.parametrize(
    "org, playbook_source, ending",
    [
        pytest.param(
            ORG,
            "playbooks/sql-injection.yml",
            "see [how Learning Nudges works here](https://wiki.acme.example/learning-nudges).</sub>",
            id="the-org-page",
        ),
        pytest.param(
            OrgSettings(playbooks_repo="acme/learning-playbooks"),
            "playbooks/sql-injection.yml",
            "see [this nudge's playbook](https://github.com/acme/learning-playbooks/blob/HEAD/"
            "playbooks/sql-injection.yml) and the people who edit it.</sub>",
            id="else-the-playbook-source",
        ),
        pytest.param(
            OrgSettings(),
            "/srv/bot/playbooks/sql-injection.yml",
            "ask your team lead, who can reach the people who run Learning Nudges.</sub>",
            id="else-who-to-ask",
        ),
    ],
)
def test_the_why_line_says_where_to_read_about_the_nudges_and_how_to_stop(
    org, playbook_source, ending
):
    playbook = dataclasses.replace(PLAYBOOK, source=playbook_source)
    why = render_nudge(NUDGE, playbook, org, SECRET).splitlines()[-2]
    assert why.startswith("<sub>Why you are seeing this: ")
    assert (
        "React 👍 if it helped, 👎 if it did not. To stop these notes or to ask about them, " in why
    )
    assert why.endswith(ending)
    assert "/srv/bot" not in why


def test_a_playbook_without_a_quiet_period_does_not_promise_one():
    playbook = dataclasses.replace(
        PLAYBOOK, trigger=dataclasses.replace(PLAYBOOK.trigger, cooldown_days=0)
    )
    why = render_nudge(NUDGE, playbook, ORG, SECRET).splitlines()[-2]
    assert "keeps coming up. Reply `/nudge why`" in why and "at most once" not in why


@pytest.mark.parametrize(
    "url, shown",
    [
        (OWASP, f"[OWASP SQL Injection Prevention Cheat Sheet]({OWASP})"),
        (
            "https://en.wikipedia.org/wiki/Prepared_statement_(SQL)",
            "[OWASP SQL Injection Prevention Cheat Sheet]"
            "(https://en.wikipedia.org/wiki/Prepared_statement_%28SQL%29)",
        ),
        ("https://example.org/a) @alice (", "OWASP SQL Injection Prevention Cheat Sheet"),
        ("https://example.org/<!-- hidden", "OWASP SQL Injection Prevention Cheat Sheet"),
        ("javascript:alert(1)", "OWASP SQL Injection Prevention Cheat Sheet"),
        ("https://alice@evil.example/", "OWASP SQL Injection Prevention Cheat Sheet"),
        ("https://example.org/`code`", "OWASP SQL Injection Prevention Cheat Sheet"),
    ],
)
def test_a_link_is_rendered_only_when_it_is_a_plain_web_address(url, shown):
    playbook = with_content(PLAYBOOK, link=dataclasses.replace(PLAYBOOK.nudge.link, url=url))
    body = render_nudge(NUDGE, playbook, ORG, SECRET)
    assert f"Go deeper: {shown}\n" in body
    assert_safe(body, NUDGE.key)


@pytest.mark.parametrize(
    "text",
    [
        "ask @security-team or @alice about it",
        "cc @acme/security",
        "email me: someone@example.com",
        "end of the comment --> <!-- learning-nudge:0123456789abcdef -->",
        "<!-- hide the rest",
        "</sub></details><details open><summary>click",
        "ping &#64;alice or &commat;bob",
        "<a href='https://evil.example'>docs</a> <img src=x>",
        "@_underscored_user",
    ],
)
def test_playbook_and_comment_text_cannot_mention_hide_or_break_the_layout(text):
    playbook = with_content(PLAYBOOK, play=text, checklist=(text,))
    playbook = dataclasses.replace(playbook, title=text)
    body = render_nudge(with_quote(NUDGE, text), playbook, ORG, SECRET)
    assert_safe(body, NUDGE.key)
    assert [m.group("key") for m in MARKER_RE.finditer(body)] == [NUDGE.key]
    request = render_cosign_request(
        with_quote(AWAITING, text, reviewer=text), playbook, ORG, SECRET
    )
    assert_safe(request, AWAITING.key, cosign=True, leads=LEADS)
    assert mentioned(request) == ["carol", "dave-ops"]


def test_defused_text_still_reads_the_same():
    body = render_nudge(
        with_quote(NUDGE, "ask @alice about <details> &#64;"), PLAYBOOK, ORG, SECRET
    )
    assert quoted_line(body).replace(WORD_JOINER, "") == "> ask @alice about <details> &#64;"


@settings(max_examples=300)
@given(
    play=st.text(min_size=1),
    quote=st.text(),
    item=st.text(min_size=1),
    link_title=st.text(min_size=1),
    link_url=st.one_of(
        st.just(OWASP), st.text(), st.text().map(lambda t: "https://example.org/" + t)
    ),
    title=st.text(min_size=1),
)
def test_no_text_from_a_playbook_or_a_quote_produces_a_mention(
    play, quote, item, link_title, link_url, title
):
    playbook = with_content(
        PLAYBOOK,
        play=play,
        checklist=(item,),
        link=dataclasses.replace(PLAYBOOK.nudge.link, title=link_title, url=link_url),
    )
    playbook = dataclasses.replace(playbook, title=title)
    body = render_nudge(with_quote(NUDGE, quote), playbook, ORG, SECRET)
    assert_safe(body, NUDGE.key)
    assert len(quoted_line(body) if "\n> " in body else "") <= 2 + 280 + 280  # bounded


@pytest.mark.parametrize("title", ["Ask @security-team", "Closing --> comments"])
def test_a_playbook_title_cannot_mention_or_close_the_marker_in_a_nudge(title):
    text = PLAYBOOK_YAML.format(significant="false").replace(
        "title: SQL injection", f"title: {title}"
    )
    playbook, problems = parse_playbook(text, "playbooks/sql-injection.yml")
    assert problems == [] and playbook.title == title  # a valid playbook
    assert_safe(render_nudge(NUDGE, playbook, ORG, SECRET), NUDGE.key)


def test_a_playbook_title_cannot_mention_anyone_in_a_co_sign_request():
    request = render_cosign_request(
        AWAITING, dataclasses.replace(SIGNIFICANT, title="Ask @security-team"), ORG, SECRET
    )
    assert mentioned(request) == ["carol", "dave-ops"]


# ----------------------------------------------------------------------------------- marker


def test_the_marker_is_keyed_and_found_only_with_the_same_key():
    body = render_nudge(NUDGE, PLAYBOOK, ORG, SECRET)
    assert find_marker(body, NUDGE.key, SECRET)
    assert not find_marker(body, NUDGE.key, marker_secret("another app's secret"))
    assert not find_marker(body, "0" * 16, SECRET)
    assert marker_secret("the webhook secret") == SECRET  # stable across restarts
    assert marker_secret("the webhook secret") != b"the webhook secret"


def test_an_unkeyed_or_copied_marker_is_not_ours():
    unkeyed = f"<!-- learning-nudge:{NUDGE.key} -->"  # what the marker used to be
    assert not find_marker(f"lgtm {unkeyed}", NUDGE.key, SECRET)
    # The co-sign marker of the same key never stands in for the nudge's, nor the other way.
    assert not find_marker(marker(NUDGE.key, SECRET, cosign=True), NUDGE.key, SECRET)
    assert not find_marker(marker(NUDGE.key, SECRET), NUDGE.key, SECRET, cosign=True)


def test_a_marker_needs_a_secret():
    with pytest.raises(ValueError):
        marker(NUDGE.key, b"")
    with pytest.raises(ValueError):
        marker_secret("")


@settings(max_examples=200)
@given(
    forger_secret=st.binary(min_size=1, max_size=64),
    mac=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    before=st.text(),
    after=st.text(),
    cosign=st.booleans(),
)
def test_a_marker_computed_without_the_key_is_never_found(
    forger_secret, mac, before, after, cosign
):
    forged_key = marker_secret(forger_secret)
    if forged_key == SECRET:
        return
    kind = "-cosign" if cosign else ""
    forgeries = [
        marker(NUDGE.key, forged_key, cosign=cosign),
        f"<!-- learning-nudge{kind}:{NUDGE.key}:{mac} -->",
        f"<!-- learning-nudge{kind}:{NUDGE.key} -->",
    ]
    for forged in forgeries:
        if forged == marker(NUDGE.key, SECRET, cosign=cosign):
            continue  # a guess of the 128-bit tag itself (never happens)
        assert not find_marker(before + forged + after, NUDGE.key, SECRET, cosign=cosign)


# ---------------------------------------------------------------------------------- co-sign


def mentioned(body: str) -> list[str]:
    return re.findall(r"@([A-Za-z0-9_][A-Za-z0-9_-]*)", body)


def test_the_co_sign_request_shows_the_nudge_as_it_would_be_posted_and_when_it_expires():
    assert AWAITING.state == NudgeState.AWAITING_COSIGN
    body = render_cosign_request(AWAITING, SIGNIFICANT, ORG, SECRET)
    expires = AWAITING.created_at + dt.timedelta(days=7)
    assert expires == T0 + dt.timedelta(days=8)  # decided at the second comment, a day after T0
    assert body == (
        "@carol @dave-ops: Learning Nudges proposes a short nudge on **SQL injection** for the "
        "author of this pull request, because 2 review comments in the last 30 days pointed at "
        "SQL injection:\n"
        "\n"
        f"- bob on #7 ([comment]({COMMENT_1})): “Please use bind params for the user id.”\n"
        f"- erin on #7 ([comment]({COMMENT_2})): “Same as last week: bind params here, not an "
        "f-string into the query.”\n"
        "\n"
        "It is marked significant, so it waits for a lead: react 👍 to send it, 👎 to drop it. "
        "Without an answer it is dropped on 2026-03-10 at 09:00 UTC (7 days after it was proposed).\n"
        "\n"
        "<details>\n"
        "<summary>The nudge, exactly as it would be posted</summary>\n"
        "\n"
        f"{EXPECTED_NUDGE}\n"
        "\n"
        "</details>\n"
        f"{marker(AWAITING.key, SECRET, cosign=True)}"
    )
    # Exactly the text the engineer would get, once a lead co-signs it.
    cosigned = reacted([Reaction("carol", "+1", T0)], T0 + dt.timedelta(days=2))
    posted = render_nudge(cosigned, SIGNIFICANT, ORG, SECRET)
    assert nudge_text(cosigned, SIGNIFICANT, ORG) in body
    assert posted.removesuffix("\n" + marker(AWAITING.key, SECRET)) in body
    # The request never passes for the nudge itself, so the nudge is still posted after it.
    assert not find_marker(body, AWAITING.key, SECRET)
    assert find_marker(body, AWAITING.key, SECRET, cosign=True)


@pytest.mark.parametrize(
    "expiry_days, created, shown",
    [
        (7, dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "2026-03-10 at 09:00 UTC (7 days after"),
        (1, dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "2027-01-01 at 23:30 UTC (1 day after"),
        (
            14,
            dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2026-03-17 at 07:00 UTC (14 days after",
        ),
    ],
)
def test_the_expiry_date_follows_the_org_setting_from_when_the_request_was_made(
    expiry_days, created, shown
):
    org = dataclasses.replace(ORG, cosign_expiry_days=expiry_days)
    nudge = dataclasses.replace(AWAITING, created_at=created)
    assert f"Without an answer it is dropped on {shown} it was proposed)." in render_cosign_request(
        nudge, SIGNIFICANT, org, SECRET
    )
    # The date shown is the one the co-sign decision uses.
    deadline = created + dt.timedelta(days=expiry_days)
    before, _ = decide_cosign(nudge, [], org, deadline - dt.timedelta(seconds=1))
    after, _ = decide_cosign(nudge, [], org, deadline)
    assert (before.state, after.state) == (NudgeState.AWAITING_COSIGN, NudgeState.EXPIRED)


def test_the_co_sign_request_mentions_exactly_the_leads():
    body = render_cosign_request(AWAITING, SIGNIFICANT, ORG, SECRET)
    assert mentioned(body) == ["carol", "dave-ops"]
    assert body.startswith("@carol @dave-ops: ")
    assert "alice" not in body  # the engineer is not named, let alone mentioned
    assert "react 👍 to send it, 👎 to drop it" in body
    assert_safe(body, AWAITING.key, cosign=True, leads=LEADS)


def test_a_request_without_leads_mentions_nobody():
    body = render_cosign_request(dataclasses.replace(AWAITING, leads=()), SIGNIFICANT, ORG, SECRET)
    assert body.startswith("Learning Nudges proposes a short nudge on **SQL injection** for the")
    assert_safe(body, AWAITING.key, cosign=True)


def test_the_engineer_is_never_mentioned_even_if_listed_as_a_lead():
    nudge = dataclasses.replace(AWAITING, leads=("Alice", "carol", "bad<!--name"))
    body = render_cosign_request(nudge, SIGNIFICANT, ORG, SECRET)
    assert mentioned(body) == ["carol"]
    assert_safe(body, AWAITING.key, cosign=True, leads=("carol",))


@settings(max_examples=200)
@given(quote=st.text(), reviewer=st.text(min_size=1), url=st.text(), play=st.text(min_size=1))
def test_the_co_sign_request_mentions_nobody_but_the_leads_whatever_the_evidence(
    quote, reviewer, url, play
):
    nudge = with_quote(AWAITING, quote, reviewer)
    nudge = dataclasses.replace(
        nudge, evidence=(dataclasses.replace(nudge.evidence[0], url=url), nudge.evidence[1])
    )
    body = render_cosign_request(nudge, with_content(SIGNIFICANT, play=play), ORG, SECRET)
    assert mentioned(body) == ["carol", "dave-ops"]
    assert_safe(body, AWAITING.key, cosign=True, leads=LEADS)


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
    body = render_cosign_outcome(nudge, SIGNIFICANT, SECRET)
    assert sentence in body
    assert "Learning Nudges proposed a nudge on **SQL injection**" in body
    assert not MENTION.search(body)
    assert body.endswith(marker(AWAITING.key, SECRET, cosign=True))
    assert find_marker(body, AWAITING.key, SECRET, cosign=True)


# ------------------------------------------------------------------------------- pieces


def test_quote_text_is_bounded_and_link_target_refuses_what_breaks_a_link():
    assert len(quote_text("word " * 1000)) <= 280
    assert quote_text("") == ""
    assert link_target("https://github.com/acme/shop/pull/7#discussion_r1") == (
        "https://github.com/acme/shop/pull/7#discussion_r1"
    )
    assert link_target("https://medium.com/@author/post") == "https://medium.com/@author/post"
    assert link_target("https://x.org/a b") is None
    assert link_target("") is None
