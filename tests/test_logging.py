"""What an operator's log search sees: logfmt, one event a line, even for a traceback or forged input."""

from __future__ import annotations

import io
import logging
import re

import pytest

from bot.app.logfmt import LogfmtFormatter, quote

PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def parse(line: str) -> dict[str, str]:
    """A strict logfmt reader: the whole line must be key=value pairs separated by single spaces."""
    pairs = PAIR.findall(line)
    assert " ".join(f"{k}={v}" for k, v in pairs) == line, f"not logfmt: {line!r}"
    return {
        k: v[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        if v.startswith('"')
        else v
        for k, v in pairs
    }


def capture(emit) -> list[str]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(LogfmtFormatter())
    logger = logging.getLogger("test.logfmt")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return out.getvalue().splitlines()


def test_a_traceback_and_a_forged_newline_stay_on_their_own_line():
    def emit(logger):
        logger.warning("delivery=%s refused", "abc\n2026-01-01 level=ERROR logger=bot forged")
        try:
            raise ValueError("first line\nsecond line")
        except ValueError:
            logger.exception("delivery=%s handler %s failed", "d-1", "review_comment_created")

    lines = capture(emit)
    assert len(lines) == 2
    first, second = parse(lines[0]), parse(lines[1])
    assert first["level"] == "warning" and first["logger"] == "test.logfmt"
    assert first["msg"] == "delivery=abc\n2026-01-01 level=ERROR logger=bot forged refused"
    assert "level=error" not in lines[0].split(" msg=")[0]  # the forged words stay inside msg
    assert (
        second["level"] == "error"
        and second["msg"] == "delivery=d-1 handler review_comment_created failed"
    )
    assert (
        second["exc"].startswith("Traceback")
        and "ValueError: first line\nsecond line" in second["exc"]
    )


def test_timestamps_are_utc_with_milliseconds():
    lines = capture(lambda logger: logger.info("hello"))
    ts = parse(lines[0])["ts"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts)
    assert lines[0].startswith(f"ts={ts} level=info logger=test.logfmt msg=hello")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a=b", '"a=b"'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\there", '"tab\\there"'),
        ("bell\x07", '"bell\\u0007"'),
    ],
)
def test_values_are_quoted_only_where_needed(value, written):
    assert quote(value) == written
