"""Which playbooks a review comment belongs to: one linear-time pass, whatever the comment says."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.classify import QUOTE_CHARS, Classifier, reviewer_words
from bot.core.playbook import Playbook, parse_playbook


def playbook(pid: str, patterns: list[str], exclude: list[str] = ()) -> Playbook:
    lines = [f"id: {pid}", f"title: {pid}", "match:", "  patterns:"]
    lines += [f"    - '{p}'" for p in patterns]
    if exclude:
        lines.append("  exclude:")
        lines += [f"    - '{p}'" for p in exclude]
    lines += ["nudge:", "  play: Read this."]
    parsed, problems = parse_playbook("\n".join(lines) + "\n", f"playbooks/{pid}.yml")
    assert problems == [], problems
    return parsed


PLAYBOOKS = [
    playbook(
        "sql-injection",
        [r"\bbind\s+params?\b", r"\bsql\s*inj"],
        exclude=[r"\bparametri[sz]ed\s+tests?\b"],
    ),
    playbook(
        "missing-tests",
        [r"\badd\s+(a\s+)?(unit\s+)?tests?\b", r"\buntested\b"],
        exclude=[r"\bthanks\s+for\s+adding\b"],
    ),
    playbook("resource-leaks", [r"\bnever\s+closed\b", r"\bleak(s|ing)?\b"]),
    playbook(
        "swallowed-errors",
        [r"\bexcept\s*:\s*pass\b", r"\bswallow\w*\s+(the\s+)?(error|exception)s?\b"],
    ),
]
CLASSIFIER = Classifier(PLAYBOOKS)
IDS = {p.id for p in PLAYBOOKS}


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("Please use bind params here.", ["sql-injection"]),
        ("This is SQL injection waiting to happen", ["sql-injection"]),
        ("Could you add a unit test for this?", ["missing-tests"]),
        (
            "The file handle is never closed, and this path is untested.",
            ["missing-tests", "resource-leaks"],
        ),
        (
            "except: pass swallows the error; add a test; use bind params; the socket leaks",
            ["missing-tests", "resource-leaks", "sql-injection", "swallowed-errors"],
        ),
        ("USE BIND PARAMS", ["sql-injection"]),  # case does not matter
        ("Looks good to me, thanks!", []),
        ("", []),
    ],
)
def test_one_pass_finds_every_matching_playbook(comment, expected):
    assert CLASSIFIER.classify(comment) == expected


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("Nice parametrized tests!", []),
        ("Nice parametrized tests! But bind params in the query builder, please.", []),
        ("Thanks for adding a test, but the connection is never closed", ["resource-leaks"]),
        ("Please add a test; the connection is never closed", ["missing-tests", "resource-leaks"]),
    ],
)
def test_exclude_patterns_veto_their_own_playbook_only(comment, expected):
    assert CLASSIFIER.classify(comment) == expected


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("> use bind params here\n\nI disagree, this is fine.", []),
        ("   > quoted with indentation: the socket leaks\nok", []),
        ("> use bind params here\n\nAgreed, and add a test too.", ["missing-tests"]),
        ("Fixed.\n<!-- learning-nudge:0123456789abcdef use bind params -->", []),
        ("<!--\nthe socket leaks\n-->Fixed, thanks.", []),
        ("<!-- hidden -->the socket leaks", ["resource-leaks"]),
    ],
)
def test_quoted_lines_and_html_comments_are_not_the_reviewers_words(comment, expected):
    assert CLASSIFIER.classify(comment) == expected


def test_reviewer_words_drop_quotes_and_hidden_markers():
    words = reviewer_words("> earlier text\nmy own text <!-- marker --> more")
    assert "earlier" not in words and "marker" not in words
    assert "my own text" in words and "more" in words


def test_matches_quote_the_hit_in_a_short_single_line():
    filler = "This is a long review comment with plenty of context around it. " * 6
    comment = filler + "\nThe connection is never closed\n on the error path. " + filler
    [match] = CLASSIFIER.matches(comment)
    assert match.playbook_id == "resource-leaks"
    assert "never closed" in match.quote
    assert "\n" not in match.quote
    assert len(match.quote) <= QUOTE_CHARS + 2  # plus the two ellipses
    assert match.quote.startswith("…") and match.quote.endswith("…")


def test_a_short_comment_is_quoted_whole():
    [match] = CLASSIFIER.matches("  Please use   bind params.  ")
    assert match.quote == "Please use bind params."


@pytest.mark.parametrize("prefix", ["é" * 300 + " ", "日本語のコメント " * 40, "🙂 " * 200])
def test_the_quote_finds_the_hit_after_non_ascii_text(prefix):
    [match] = CLASSIFIER.matches(prefix + "this socket leaks on every retry " + "x " * 100)
    assert "leaks" in match.quote
    assert len(match.quote) <= QUOTE_CHARS + 2


def test_matches_quotes_the_reviewers_words_not_a_quoted_reply():
    comment = "> the socket leaks, said someone\n\nStill: the socket leaks here too."
    [match] = CLASSIFIER.matches(comment)
    assert "said someone" not in match.quote
    assert "leaks here too" in match.quote


def test_a_paused_playbook_still_classifies():
    paused = playbook("resource-leaks", [r"\bleak(s|ing)?\b"])
    classifier = Classifier([dataclasses.replace(paused, paused=True)])
    assert classifier.classify("this leaks") == ["resource-leaks"]


def test_no_playbooks_classify_nothing():
    assert Classifier([]).classify("use bind params") == []
    assert Classifier([]).matches("use bind params") == []


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_classifies_to_a_sorted_list_of_known_ids(text):
    ids = CLASSIFIER.classify(text)
    assert ids == sorted(set(ids))
    assert set(ids) <= IDS
    found = CLASSIFIER.matches(text)
    assert [m.playbook_id for m in found] == ids
    for m in found:
        assert len(m.quote) <= QUOTE_CHARS + 2


_PLAIN = st.text(
    alphabet=st.characters(blacklist_characters="<>\n\r", blacklist_categories=("Cs",))
)


@settings(max_examples=300)
@given(_PLAIN, _PLAIN)
def test_the_quote_always_contains_the_hit(before, after):
    comment = before + " the socket leaks " + after
    found = {m.playbook_id: m.quote for m in CLASSIFIER.matches(comment)}
    assert "resource-leaks" in found
    assert "leak" in found["resource-leaks"].lower()
    assert len(found["resource-leaks"]) <= QUOTE_CHARS + 2


@settings(max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("bind params leaks untested> \n<!--")), max_size=200))
def test_near_miss_text_classifies_without_error(text):
    assert set(CLASSIFIER.classify(text)) <= IDS


@pytest.mark.parametrize(
    "pattern, comment",
    [
        ("(a+)+$", "a" * 19_999 + "!"),
        ("(x+x+)+y", "x" * 19_999),
        ("(a|aa)+b", "a" * 19_999),
        ("(\\w+\\s?)+$", "word " * 3_999 + "!"),
        ("(.*a){20}", "a" * 19_999),
    ],
)
def test_a_hostile_comment_is_classified_in_linear_time(pattern, comment):
    # These patterns are valid RE2 and make a backtracking engine run for ages on such input.
    # RE2 needs no time limit: the test finishing is the proof.
    hostile = playbook("redos", [pattern])
    classifier = Classifier([hostile, *PLAYBOOKS])
    expected = ["redos"] if pattern == "(.*a){20}" else []
    assert classifier.classify(comment) == expected
    assert [m.playbook_id for m in classifier.matches(comment)] == expected


@pytest.mark.parametrize("pattern", ["(a+)+$", "(x+x+)+y", "(a+)+!"])
def test_a_comment_far_beyond_the_size_limit_is_classified_too(pattern):
    classifier = Classifier([playbook("redos", [pattern]), *PLAYBOOKS])
    for comment in ("a" * 50_000 + "!", "x" * 50_000, "a" * 500_000 + "!"):
        assert set(classifier.classify(comment)) <= {"redos"}


def test_a_hostile_comment_that_does_match_is_quoted_quickly():
    classifier = Classifier([playbook("redos", ["(a+)+!"])])
    [match] = classifier.matches("a" * 19_999 + "!")
    assert match.playbook_id == "redos"
    assert match.quote.startswith("aaa") and match.quote.endswith("…")
    assert len(match.quote) <= QUOTE_CHARS + 2
