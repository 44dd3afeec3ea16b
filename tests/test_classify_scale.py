"""The classifier at scale: prefiltered answers equal trying every pattern, budgets give clear
errors naming the playbook, hostile text is cleaned up correctly, and authors can see why a
comment matched (``python -m bot classify --text``). No test here measures time: speed is in
bench/classify_speed.py."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli.classify import classify as classify_command
from bot.core.classify import Classifier, PatternSetTooLarge, reviewer_words
from bot.core.patterns import SetBudget, branches, compiled, required_groups, required_words
from bot.core.playbook import load_playbooks, parse_playbooks

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(load_playbooks(ROOT / "playbooks").playbooks, key=lambda p: p.id)


def _load_speed_bench():
    spec = importlib.util.spec_from_file_location(
        "classify_speed", ROOT / "bench" / "classify_speed.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("classify_speed", module)
    spec.loader.exec_module(module)
    return module


speed = _load_speed_bench()


def _comments() -> list[str]:
    texts = []
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        texts += [
            json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()
        ]
    return texts


def one_by_one(playbooks, text):
    """The reference answer: every pattern of every playbook tried in turn."""
    words = reviewer_words(text)
    return sorted(
        p.id
        for p in playbooks
        if any(compiled(x).search(words) for x in p.patterns)
        and not any(compiled(x).search(words) for x in p.exclude)
    )


# --- the prefilter never changes an answer ---------------------------------------------------


def test_the_shipped_playbooks_answer_as_if_every_pattern_were_tried():
    classifier = Classifier(SHIPPED)
    for text in _comments():
        assert classifier.classify(text) == one_by_one(SHIPPED, text), text


def test_three_hundred_generated_playbooks_answer_as_if_every_pattern_were_tried():
    playbooks = speed.generated_playbooks(SHIPPED, 300)
    assert len({p.id for p in playbooks}) == 300
    classifier = Classifier(playbooks)
    texts = _comments()[::5]
    # Comments in the generated playbooks' own words must match them, too.
    texts += [" and ".join(p.examples_match) for p in SHIPPED]
    for text in texts:
        assert classifier.classify(text) == one_by_one(playbooks, text), text


_WORDS = sorted(
    {w for p in SHIPPED for x in p.patterns for b in branches(x) for w in (required_words(b) or ())}
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_WORDS),
            st.sampled_from(
                [
                    "the",
                    "is",
                    "not",
                    " ",
                    "\n",
                    "`",
                    "(",
                    ")",
                    "'",
                    '"',
                    "+",
                    "?",
                    "_ =",
                    ".close()",
                ]
            ),
            st.text(max_size=8),
        ),
        max_size=25,
    )
)
def test_any_mix_of_pattern_words_answers_as_if_every_pattern_were_tried(parts):
    text = " ".join(parts)
    assert CLASSIFIER.classify(text) == one_by_one(SHIPPED, text)


CLASSIFIER = Classifier(SHIPPED)


@pytest.mark.parametrize(
    "pattern, needed",
    [
        (r"\bbind[\s`]*params?", {"bind"}),  # a word after \b is preferred
        (r"\b(bind|bound)[\s`]*(param|var)", {"bind", "bound"}),
        (r"tests?\b", {"test"}),
        (r"\bn\+1\b", {"n+1"}),
        (r"(?-i:SELECT|WHERE)\b[^\n]{0,9}x", {"SELECT", "WHERE"}),
        (r"(?P<name>leak)s?", {"leak"}),
        (r"\blet[\s`]+_", {"let"}),
    ],
)
def test_required_words_are_the_ones_every_match_contains(pattern, needed):
    assert required_words(pattern) == needed


def test_a_branch_also_needs_a_word_of_its_second_group_before_it_runs():
    groups = [{a.text for a in g} for g in required_groups(r"\bmissing[\s`]+(unit[\s`]+)?tests?\b")]
    assert groups == [{"missing"}, {"test"}]
    pattern = r"\bmissing[\s`]+(unit[\s`]+)?tests?\b"
    result = parse_playbooks([("playbooks/missing.yml", _yaml("missing", [pattern]))])
    assert result.problems == []
    classifier = Classifier(result.playbooks)
    assert classifier.classify("Missing unit tests for the parser.") == ["missing"]
    assert classifier.classify("The missing field breaks the parser.") == []
    assert classifier.classify("The tests pass.") == []


def test_words_in_other_scripts_are_found_beside_ascii_ones_as_re2_would():
    # ASCII and other words are looked for in two sets; a comment in ASCII only still finds a
    # word whose long s (ſ) RE2 matches to an "s" regardless of case.
    result = parse_playbooks(
        [
            ("playbooks/leak.yml", _yaml("leak", ["누수", r"\bleak"])),
            ("playbooks/strict.yml", _yaml("strict", ["ſtrict[\\s`]+mode"])),
        ]
    )
    assert result.problems == []
    classifier = Classifier(result.playbooks)
    texts = ["메모리 누수가 있어요", "this leaks", "leak 누수", "Use STRICT mode here", "nothing"]
    assert [classifier.classify(t) for t in texts] == [
        ["leak"],
        ["leak"],
        ["leak"],
        ["strict"],
        [],
    ]
    assert all(classifier.classify(t) == one_by_one(result.playbooks, t) for t in texts)


def test_a_gap_of_spaces_or_backticks_makes_a_word_boundary_for_the_prefilter():
    # "log" followed by [\s`]+ must end a word, so "catalog" does not even run the pattern
    (atoms,) = required_groups(r"log[\s`]+in\b")[:1]
    assert {(a.text, a.ends_word) for a in atoms} == {("log", True)}
    result = parse_playbooks(
        [
            ("playbooks/login.yml", _yaml("login", [r"log[\s`]+in\b"])),
            ("playbooks/keys.yml", _yaml("keys", [r"api[\s_]key", r"\(\s+secret"])),
        ]
    )
    assert result.problems == []
    classifier = Classifier(result.playbooks)
    assert classifier.classify("Please log in first.") == ["login"]
    assert classifier.classify("Please log\tin first.") == ["login"]
    assert classifier.classify("A catalog index.") == []
    # "_" is a word character and "(" is not: neither gives a boundary to the word next to it
    assert classifier.classify("The api_key is pasted here.") == ["keys"]
    assert classifier.classify("Call f(  secret) here.") == ["keys"]


@pytest.mark.parametrize(
    "pattern, needed",
    [
        ("(메모리|자원)?\\s*누수", {"누수"}),
        ("リーク", {"リーク"}),
        ("(泄漏|泄露)", {"泄漏", "泄露"}),
    ],
)
def test_two_korean_japanese_or_chinese_characters_make_a_required_word(pattern, needed):
    assert required_words(pattern) == needed


def test_a_single_chinese_character_is_not_a_required_word():
    assert required_words("漏") is None


@pytest.mark.parametrize(
    "pattern",
    [r"\bon[\s`]+gc\b", r"a|bcd", r"[a-z]+", r"(abc)?d", r"\Qabc\E", r"x\x{41}yz", r"ab*c"],
)
def test_patterns_without_a_word_of_three_letters_have_no_required_words(pattern):
    assert required_words(pattern) is None


def test_top_level_alternatives_are_split_and_nothing_else():
    assert branches(r"a(b|c)|[|]d|\|e") == ("a(b|c)", "[|]d", r"\|e")
    assert branches(r"(?i)abc|def") == (r"(?i)abc|def",)  # the flag reaches past the |
    assert branches(r"abc") == ("abc",)


# --- budgets: a clear error that names the playbook, never a crash --------------------------


def _yaml(pid: str, patterns: list[str]) -> str:
    lines = [f"id: {pid}", f"title: {pid}", "match:", "  patterns:"]
    lines += [f"    - '{p}'" for p in patterns]
    return "\n".join(lines + ["nudge:", "  play: Read this."]) + "\n"


def test_a_set_too_large_for_the_budget_is_refused_naming_the_playbook():
    playbooks = speed.generated_playbooks(SHIPPED, 12)
    size = sum(compiled(x).programsize for p in playbooks[:10] for x in p.patterns + p.exclude)
    with pytest.raises(PatternSetTooLarge) as caught:
        Classifier(playbooks, budget=SetBudget(instructions=size, every_comment=32))
    assert caught.value.owner == playbooks[10].id
    assert playbooks[10].source in str(caught.value)
    assert "RE2 instructions" in str(caught.value)


def test_loading_leaves_out_the_playbook_that_does_not_fit_and_says_why():
    small = [
        (
            f"playbooks/p{i}.yml",
            _yaml(f"p{i}", [rf"\bword{i}[\s`]+(one|two|three)[^\n]{{0,60}}\bend"]),
        )
        for i in range(5)
    ]
    one = sum(
        compiled(b).programsize for b in branches(r"\bword0[\s`]+(one|two|three)[^\n]{0,60}\bend")
    )
    result = parse_playbooks(
        small, budget=SetBudget(instructions=3 * one + one // 2, every_comment=32)
    )
    assert [p.id for p in result.playbooks] == ["p0", "p1", "p2"]
    assert [p.file for p in result.problems] == ["playbooks/p3.yml", "playbooks/p4.yml"]
    assert all(
        "not loaded" in p.message and "RE2 instructions" in p.message for p in result.problems
    )
    Classifier(
        result.playbooks, budget=SetBudget(instructions=3 * one + one // 2)
    )  # what loaded fits


def test_too_many_patterns_without_a_required_word_is_a_clear_problem():
    sources = [(f"playbooks/q{i}.yml", _yaml(f"q{i}", [r"\bo[nf]\b"])) for i in range(4)]
    result = parse_playbooks(sources, budget=SetBudget(every_comment=2))
    assert [p.id for p in result.playbooks] == ["q0", "q1"]
    assert [p.file for p in result.problems] == ["playbooks/q2.yml", "playbooks/q3.yml"]
    assert "tried on every comment" in result.problems[0].message


def test_a_pattern_too_big_for_its_memory_does_not_validate():
    huge = r"\b(" + "|".join(f"w{i}[^\\n]{{0,60}}[^\\n]{{0,60}}x" for i in range(2_000)) + ")"
    result = parse_playbooks([("playbooks/huge.yml", _yaml("huge", [huge]))])
    assert result.playbooks == []
    assert (
        "too large" in result.problems[0].message
        and result.problems[0].file == "playbooks/huge.yml"
    )


def test_the_shipped_playbooks_fit_with_room_for_hundreds_more():
    result = load_playbooks(
        ROOT / "playbooks", budget=SetBudget(instructions=6_000_000 // 30, every_comment=1)
    )
    assert result.problems == []


# --- the text clean-up is linear and still right on hostile text ----------------------------


def test_tens_of_thousands_of_newlines_are_cleaned_up_correctly():
    text = "\n" * 50_000 + "the socket leaks"
    assert reviewer_words(text) == "\n" * 20_000  # cut at MAX_TEXT, nothing else touched
    text = "\n" * 10_000 + "> quoted leaks\n" + "\n" * 5_000 + "mine: the socket leaks"
    words = reviewer_words(text)
    assert "quoted" not in words and words.endswith("mine: the socket leaks")
    assert words.count("\n") == 15_001


def test_many_quote_markers_and_unclosed_html_comments_are_cleaned_up_correctly():
    words = reviewer_words("> a\n" * 4_000 + "own words")
    assert words == " \n" * 4_000 + "own words"
    words = reviewer_words("keep <!-- hidden --> this " + "<!--" * 4_000)
    assert words.startswith("keep   this ") and "hidden" not in words
    assert words.endswith("<!--")  # an unclosed comment is kept as written
    assert reviewer_words("a <!-- x --> b <!-- y --> c <!-- z") == "a   b   c <!-- z"


# --- explainable to an author ----------------------------------------------------------------


def _run(**kwargs) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = classify_command(ROOT / "playbooks", out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_classify_text_shows_playbook_pattern_and_the_words_that_matched():
    code, out, _ = _run(texts=["Please use bind params here; the socket is never closed.", "LGTM"])
    assert code == 0
    assert "  sql-injection\n    pattern: \\b(bind|bound)" in out
    assert "    matched: bind param\n" in out
    assert "  resource-leaks\n" in out and "    matched: never closed\n" in out
    assert "LGTM\n  no playbook matched\n" in out


def test_classify_reads_lines_of_plain_text():
    code, out, _ = _run(
        inp=io.StringIO("except: pass hides it\n\nnice work\n"), input_format="text"
    )
    assert code == 0
    assert (
        out.count("pattern:") == 1
        and "swallowed-errors" in out
        and "nice work\n  no playbook matched" in out
    )


def test_classify_json_lines_carry_the_matches_when_asked():
    line = json.dumps({"text": "use bind params here", "id": 7})
    code, out, _ = _run(inp=io.StringIO(line + "\n"))
    assert json.loads(out) == {
        "text": "use bind params here",
        "id": 7,
        "playbooks": ["sql-injection"],
    }
    code, out, _ = _run(inp=io.StringIO(line + "\n"), explain=True)
    item = json.loads(out)
    assert code == 0 and item["id"] == 7 and item["playbooks"] == ["sql-injection"]
    [match] = item["matches"]
    assert match["playbook"] == "sql-injection" and match["words"] == "bind param"
    assert match["pattern"] in SHIPPED[[p.id for p in SHIPPED].index("sql-injection")].patterns
