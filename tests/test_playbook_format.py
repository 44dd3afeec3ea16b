"""The playbook format as an L&D author meets it: every mistake names file, line, field and a fix."""

from __future__ import annotations

import pytest

from bot.core.playbook import Link, NudgeContent, Trigger, parse_playbook, parse_playbooks

FILE = "playbooks/sql-injection.yml"

# Line numbers are part of the contract, so the text is spelled out line by line.
GOOD = """\
id: sql-injection
title: SQL injection
summary: Queries built by string formatting let input rewrite the query.
match:
  patterns:
    - '\\bbind\\s+params?\\b'
    - '\\bprepared\\s+statements?\\b'
  exclude:
    - '\\bparametri[sz]ed\\s+tests?\\b'
examples:
  match:
    - "use bind params here"
  no_match:
    - "parametrized tests are nice"
trigger:
  comments: 2
  within_days: 30
  cooldown_days: 30
nudge:
  minutes: 2
  play: >
    Let the driver carry the value:
    write a placeholder.
  checklist:
    - Pass every value as a parameter
  link:
    title: OWASP cheat sheet
    url: https://cheatsheetseries.owasp.org/
"""

PATTERN_HINT = (
    "RE2 has no look-ahead, look-behind or back-references; quote the pattern in single quotes "
    "and test it with: python -m bot classify"
)
YAML_HINT = (
    "check the indentation (spaces, not tabs) and that text containing ': ' or starting with a "
    "quote or backslash is wrapped in single quotes"
)


def edit(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def problems_of(text: str, file: str = FILE) -> list[str]:
    playbook, problems = parse_playbook(text, file)
    if problems:
        assert playbook is None, "a playbook with problems must not load"
    return [str(p) for p in problems]


def test_valid_playbook_parses_with_every_field():
    playbook, problems = parse_playbook(GOOD, FILE)
    assert problems == []
    assert playbook is not None
    assert playbook.id == "sql-injection"
    assert playbook.title == "SQL injection"
    assert playbook.summary == "Queries built by string formatting let input rewrite the query."
    assert playbook.patterns == (r"\bbind\s+params?\b", r"\bprepared\s+statements?\b")
    assert playbook.exclude == (r"\bparametri[sz]ed\s+tests?\b",)
    assert playbook.trigger == Trigger(comments=2, within_days=30, cooldown_days=30)
    assert playbook.nudge == NudgeContent(
        play="Let the driver carry the value: write a placeholder.",
        checklist=("Pass every value as a parameter",),
        link=Link("OWASP cheat sheet", "https://cheatsheetseries.owasp.org/"),
        minutes=2,
    )
    assert playbook.examples_match == ("use bind params here",)
    assert playbook.examples_no_match == ("parametrized tests are nice",)
    assert playbook.significant is False and playbook.paused is False
    assert playbook.source == FILE


def test_optional_sections_take_their_defaults():
    text = """\
id: sql-injection
title: SQL injection
match:
  patterns:
    - '\\bbind\\s+params?\\b'
nudge:
  play: Use placeholders.
"""
    playbook, problems = parse_playbook(text, FILE)
    assert problems == []
    assert playbook.trigger == Trigger(comments=2, within_days=30, cooldown_days=30)
    assert playbook.nudge == NudgeContent(
        play="Use placeholders.", checklist=(), link=None, minutes=2
    )
    assert playbook.evaluation_window_days == 60


YEAR = "days (a year)"


def link_problem(_: str, message: str) -> list[str]:
    return [f"{FILE}:28: nudge.link.url: {message}"]


MISTAKES = [
    pytest.param(
        edit("  within_days: 30", "  within_days: 100000000"),
        [
            f"{FILE}:17: trigger.within_days: must be at most 365 {YEAR}, found 100000000; write a "
            "number from 1 to 365, like 30"
        ],
        id="huge-within-days",
    ),
    pytest.param(
        edit("  cooldown_days: 30", "  cooldown_days: 999999999999"),
        [
            f"{FILE}:18: trigger.cooldown_days: must be at most 365 {YEAR}, found 999999999999; "
            "write a number from 0 to 365, like 30"
        ],
        id="huge-cooldown-days",
    ),
    pytest.param(
        GOOD + "evaluation:\n  window_days: 36500\n",
        [
            f"{FILE}:30: evaluation.window_days: must be at most 365 {YEAR}, found 36500; write a "
            "number from 7 to 365, like 60"
        ],
        id="huge-evaluation-window",
    ),
    pytest.param(
        GOOD + "evaluation:\n  window_days: 3\n",
        [f"{FILE}:30: evaluation.window_days: must be at least 7, found 3"],
        id="short-evaluation-window",
    ),
    pytest.param(
        edit("url: https://cheatsheetseries.owasp.org/", "url: 'https://example.org/a) @alice ('"),
        link_problem(
            "",
            "contains a space, which breaks the link in a comment; write such characters "
            "percent-encoded (a space as %20), found 'https://example.org/a) @alice ('",
        ),
        id="link-with-a-space-and-a-mention",
    ),
    pytest.param(
        edit("url: https://cheatsheetseries.owasp.org/", "url: 'https://example.org/<!--'"),
        link_problem(
            "",
            "contains '<', which breaks the link in a comment; write such characters "
            "percent-encoded (a space as %20), found 'https://example.org/<!--'",
        ),
        id="link-opening-an-html-comment",
    ),
    pytest.param(
        edit("url: https://cheatsheetseries.owasp.org/", "url: 'https://example.org/`rm`'"),
        link_problem(
            "",
            "contains '`', which breaks the link in a comment; write such characters "
            "percent-encoded (a space as %20), found 'https://example.org/`rm`'",
        ),
        id="link-with-backticks",
    ),
    pytest.param(
        edit(
            "url: https://cheatsheetseries.owasp.org/",
            "url: 'https://alice@cheatsheetseries.owasp.org/'",
        ),
        link_problem(
            "",
            "names a user before the host ('alice@cheatsheetseries.owasp.org'); write the address "
            "without 'name@', like https://example.org/page",
        ),
        id="link-with-a-user-name",
    ),
    pytest.param(
        edit("url: https://cheatsheetseries.owasp.org/", "url: 'https://@alice'"),
        link_problem(
            "",
            "names a user before the host ('@alice'); write the address without 'name@', like "
            "https://example.org/page",
        ),
        id="link-that-is-a-mention",
    ),
    pytest.param(
        edit("url: https://cheatsheetseries.owasp.org/", 'url: "https://example.org/a\\0b"'),
        link_problem(
            "",
            "contains '\\x00', which breaks the link in a comment; write such characters "
            "percent-encoded (a space as %20), found 'https://example.org/a\\x00b'",
        ),
        id="link-with-a-control-character",
    ),
    pytest.param(
        edit("url: https://cheatsheetseries.owasp.org/", "url: 'https://'"),
        link_problem("", "is not a web address like https://example.org/page, found 'https://'"),
        id="link-without-a-host",
    ),
    pytest.param(
        edit("url: https://cheatsheetseries.owasp.org/", "url: 'javascript:alert(1)'"),
        link_problem("", "must be a full link starting with https://, found 'javascript:alert(1)'"),
        id="link-with-a-script",
    ),
    pytest.param(
        edit("  within_days: 30", "  within_day: 30"),
        [f"{FILE}:17: trigger.within_day: unknown field; did you mean 'within_days'?"],
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        edit("summary:", "sumary:"),
        [f"{FILE}:3: sumary: unknown field; did you mean 'summary'?"],
        id="unknown-top-level-key",
    ),
    pytest.param(
        edit("  comments: 2", "  comments: two"),
        [f"{FILE}:16: trigger.comments: expected a whole number such as 2, found 'two'"],
        id="wrong-type-int",
    ),
    pytest.param(
        edit(
            "  checklist:\n    - Pass every value as a parameter", "  checklist: Pass every value"
        ),
        [
            (
                f"{FILE}:24: nudge.checklist: expected a list (one '- item' per line), "
                "found 'Pass every value'"
            )
        ],
        id="wrong-type-list",
    ),
    pytest.param(
        edit("title: SQL injection\n", ""),
        [f"{FILE}:1: title: is required; add it, for example: title: SQL injection"],
        id="missing-required-top-level",
    ),
    pytest.param(
        edit("  play: >\n    Let the driver carry the value:\n    write a placeholder.\n", ""),
        [
            f"{FILE}:19: nudge.play: is required; add it, for example: play: 'Two to four sentences.'"
        ],
        id="missing-required-nested",
    ),
    pytest.param(
        edit("'\\bprepared\\s+statements?\\b'", "'(a)\\1'"),
        [
            f"{FILE}:7: match.patterns[1]: is not a valid pattern (invalid escape sequence: \\1); "
            + PATTERN_HINT
        ],
        id="re2-back-reference",
    ),
    pytest.param(
        edit("'\\bprepared\\s+statements?\\b'", "'prepared(?=statement)'"),
        [
            f"{FILE}:7: match.patterns[1]: is not a valid pattern (invalid perl operator: (?=); "
            + PATTERN_HINT
        ],
        id="re2-look-ahead",
    ),
    pytest.param(
        edit("'\\bparametri[sz]ed\\s+tests?\\b'", "'(?<!un)parametrized'"),
        [
            f"{FILE}:9: match.exclude[0]: is not a valid pattern (invalid perl operator: (?<!); "
            + PATTERN_HINT
        ],
        id="re2-look-behind-in-exclude",
    ),
    pytest.param(
        edit("'\\bprepared\\s+statements?\\b'", "'(prepared)*'"),
        [
            f"{FILE}:7: match.patterns[1]: matches every comment, even an empty one; make it more specific"
        ],
        id="pattern-matches-empty-text",
    ),
    pytest.param(
        edit("'\\bprepared\\s+statements?\\b'", "'prepared|'"),
        [
            f"{FILE}:7: match.patterns[1]: matches every comment, even an empty one; make it more specific"
        ],
        id="pattern-with-empty-alternative",
    ),
    pytest.param(
        edit("https://cheat", "http://cheat"),
        [
            (
                f"{FILE}:28: nudge.link.url: must be a full link starting with https://, "
                "found 'http://cheatsheetseries.owasp.org/'"
            )
        ],
        id="http-link",
    ),
    pytest.param(
        edit("id: sql-injection", "id: sqli"),
        [f"{FILE}:1: id: must equal the file name; write id: sql-injection or rename the file"],
        id="id-not-file-name",
    ),
    pytest.param(
        edit("id: sql-injection", "id: SQL_Injection"),
        [f"{FILE}:1: id: use lower-case letters, digits and dashes, like sql-injection"],
        id="id-not-a-slug",
    ),
    pytest.param(
        edit('    - "use bind params here"', '    - "use bind params here"\n    - "use an ORM"'),
        [
            (
                f"{FILE}:13: examples.match[1]: this example does not match; widen a pattern in "
                "match.patterns, or check match.exclude"
            )
        ],
        id="failing-examples-match",
    ),
    pytest.param(
        edit('"parametrized tests are nice"', '"bind params, please"'),
        [
            (
                f"{FILE}:14: examples.no_match[0]: this example matches but must not; narrow "
                "match.patterns or add an exclude pattern"
            )
        ],
        id="matching-examples-no-match",
    ),
    pytest.param(
        edit("  cooldown_days: 30", " cooldown_days: 30"),
        [
            f"{FILE}:18: (yaml): expected <block end>, but found '<block mapping start>'; "
            + YAML_HINT
        ],
        id="yaml-bad-indentation",
    ),
    pytest.param(
        edit("  cooldown_days: 30", "\tcooldown_days: 30"),
        [f"{FILE}:18: (yaml): found character '\\t' that cannot start any token; " + YAML_HINT],
        id="yaml-tab",
    ),
    pytest.param(
        edit("title: SQL injection", "title: @security says"),
        [f"{FILE}:2: (yaml): found character '@' that cannot start any token; " + YAML_HINT],
        id="yaml-unquoted-at-sign",
    ),
    pytest.param(
        edit("  cooldown_days: 30", "  cooldown_days: 30\n  comments: 3"),
        [
            f"{FILE}:19: trigger.comments: appears twice; keep one (the later one would silently win)"
        ],
        id="duplicate-key",
    ),
    pytest.param(
        edit("summary: Queries", "summary: !!python/object/apply:os.system ['ls']\nx: Queries"),
        [
            (
                f"{FILE}:3: (yaml): could not determine a constructor for the tag "
                "'tag:yaml.org,2002:python/object/apply:os.system'; remove the YAML tag"
            )
        ],
        id="yaml-python-tag",
    ),
    pytest.param(
        edit("summary: Queries", "summary: !!python/object:os.system\nx: Queries"),
        [
            (
                f"{FILE}:3: (yaml): could not determine a constructor for the tag "
                "'tag:yaml.org,2002:python/object:os.system'; remove the YAML tag"
            )
        ],
        id="yaml-python-object-tag",
    ),
]


@pytest.mark.parametrize("text, expected", MISTAKES)
def test_each_mistake_gives_exactly_one_precise_problem(text, expected):
    assert problems_of(text) == expected


def test_several_mistakes_are_all_reported_in_one_go():
    text = edit("  comments: 2", "  comments: 0").replace("  minutes: 2", "  minutes: lots")
    assert problems_of(text) == [
        f"{FILE}:16: trigger.comments: must be at least 1, found 0",
        f"{FILE}:20: nudge.minutes: expected a whole number such as 2, found 'lots'",
    ]


def test_a_misspelt_required_field_gives_the_guess_and_the_missing_field():
    text = edit("title: SQL injection", "tittle: SQL injection")
    assert problems_of(text) == [
        f"{FILE}:2: tittle: unknown field; did you mean 'title'?",
        f"{FILE}:1: title: is required; add it, for example: title: SQL injection",
    ]


def test_line_numbers_follow_the_text_exactly():
    text = """\
# A playbook with its mistakes spread out.
id: sql-injection
title: SQL injection

match:
  patterns:
    - '\\bbind\\s+params?\\b'

    - '(a)\\1'
    - 'x*'
nudge:
  minutes: 0
  play: >
    A play over
    several lines.
  link:
    title: OWASP
    url: ftp://example.org/
"""
    playbook, problems = parse_playbook(text, FILE)
    assert playbook is None
    assert [(p.line, p.field) for p in problems] == [
        (9, "match.patterns[1]"),
        (10, "match.patterns[2]"),
        (12, "nudge.minutes"),
        (18, "nudge.link.url"),
    ]
    assert all(p.file == FILE for p in problems)


def test_a_required_section_left_empty_points_at_its_own_line():
    # The author wrote "nudge:" on line 19 and nothing under it.
    text = GOOD.split("nudge:")[0] + "nudge:\n"
    _, problems = parse_playbook(text, FILE)
    assert [(p.line, p.field) for p in problems] == [(19, "nudge")]


def test_a_non_mapping_file_is_explained():
    assert problems_of("- just\n- a list\n") == [
        f"{FILE}:1: (file): the file must be a section of 'key: value' lines"
    ]


def test_an_empty_file_lists_the_required_fields():
    assert problems_of("") == [
        f"{FILE}:1: id: is required; add it, for example: id: sql-injection",
        f"{FILE}:1: title: is required; add it, for example: title: SQL injection",
        f"{FILE}:1: match: is required; add it",
        f"{FILE}:1: nudge: is required; add it",
    ]


def good_playbook(pid: str) -> str:
    return f"""\
id: {pid}
title: {pid.replace("-", " ").capitalize()}
match:
  patterns:
    - '\\b{pid.split("-")[0]}\\b'
nudge:
  play: Read about {pid}.
"""


def test_one_broken_file_leaves_the_good_ones_loaded():
    result = parse_playbooks(
        [
            ("playbooks/missing-tests.yml", good_playbook("missing-tests")),
            ("playbooks/sql-injection.yml", edit("'\\bprepared\\s+statements?\\b'", "'(a)\\1'")),
            ("playbooks/resource-leaks.yml", good_playbook("resource-leaks")),
            ("playbooks/swallowed-errors.yml", "id: swallowed-errors\ntitle: [unclosed\n"),
        ]
    )
    assert [p.id for p in result.playbooks] == ["missing-tests", "resource-leaks"]
    assert [(p.file, p.line, p.field) for p in result.problems] == [
        ("playbooks/sql-injection.yml", 7, "match.patterns[1]"),
        ("playbooks/swallowed-errors.yml", 3, "(yaml)"),
    ]


def test_the_same_id_in_two_files_keeps_the_first():
    result = parse_playbooks(
        [
            ("team-a/missing-tests.yml", good_playbook("missing-tests")),
            ("team-b/missing-tests.yml", good_playbook("missing-tests")),
        ]
    )
    assert [p.source for p in result.playbooks] == ["team-a/missing-tests.yml"]
    assert [str(p) for p in result.problems] == [
        "team-b/missing-tests.yml:1: id: 'missing-tests' is already used by team-a/missing-tests.yml"
    ]


def test_a_pattern_that_matches_the_empty_string_between_words_is_rejected():
    # An empty alternative inside word boundaries matches (with zero width) every comment that
    # contains a word, although it does not match the empty comment itself.
    text = edit("'\\bprepared\\s+statements?\\b'", "'\\b(prepared|)\\b'")
    _, problems = parse_playbook(text, FILE)
    assert [(p.line, p.field) for p in problems] == [(7, "match.patterns[1]")]
    assert "matches every comment" in problems[0].message


def test_a_self_referencing_yaml_alias_is_a_problem_not_a_crash():
    bad = "id: resource-leaks\ntitle: &t [*t]\n"
    result = parse_playbooks(
        [
            ("playbooks/resource-leaks.yml", bad),
            ("playbooks/missing-tests.yml", good_playbook("missing-tests")),
        ]
    )
    assert [p.id for p in result.playbooks] == ["missing-tests"]
    assert [p.file for p in result.problems] == ["playbooks/resource-leaks.yml"]


@pytest.mark.parametrize(
    "url",
    [
        "https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html",
        "https://en.wikipedia.org/wiki/Prepared_statement_(SQL)",
        "https://medium.com/@author/a-post-about-queries",
        "https://example.org:8443/docs?topic=sql&lang=en#bind-params",
        "https://example.org/search?q=a%20b",
    ],
)
def test_ordinary_links_are_accepted(url):
    assert problems_of(edit("url: https://cheatsheetseries.owasp.org/", f"url: '{url}'")) == []


def test_deeply_nested_yaml_is_a_problem_on_its_line_not_a_crash():
    for nested in (
        "title: " + "[" * 5000 + "]" * 5000 + "\n",
        "title:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(300)),
    ):
        text = "id: sql-injection\n" + nested
        result = parse_playbooks(
            [(FILE, text), ("playbooks/missing-tests.yml", good_playbook("missing-tests"))]
        )
        assert [p.id for p in result.playbooks] == ["missing-tests"]
        [problem] = result.problems
        assert problem.file == FILE and problem.field == "(yaml)"
        assert problem.line == 2 if nested.startswith("title: [") else problem.line == 22
        assert "nested more than 20 levels deep here" in problem.message
        assert "check the indentation" in problem.message


def test_nesting_a_little_deeper_than_a_playbook_needs_is_still_only_unknown_fields():
    text = GOOD + "notes:\n  a:\n    b:\n      c: [[1]]\n"
    assert problems_of(text) == [
        f"{FILE}:29: notes: unknown field; known fields: "
        + ", ".join(
            [
                "id",
                "title",
                "summary",
                "significant",
                "paused",
                "match",
                "examples",
                "trigger",
                "nudge",
                "evaluation",
                "reinforcement",
                "applies_to",
                "rollout",
            ]
        )
    ]


def test_a_huge_file_is_refused_before_it_is_parsed():
    text = GOOD + "# " + "x" * 250_000 + "\n"
    assert problems_of(text) == [
        f"{FILE}:1: (file): is {len(text):,} characters long, more than the 200,000 a playbook or "
        "org file may have; keep one playbook per file and remove what is not needed"
    ]
