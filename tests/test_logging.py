"""What an operator's log search sees: one event a line, even for a traceback or forged input."""

from __future__ import annotations

import io
import logging

from bot.app.logfmt import OneLineFormatter


def test_a_traceback_and_a_forged_newline_stay_on_their_own_line():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(OneLineFormatter())
    logger = logging.getLogger("test.one-line")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("delivery=%s refused", "abc\n2026-01-01 level=ERROR logger=bot forged")
        try:
            raise ValueError("first line\nsecond line")
        except ValueError:
            logger.exception("delivery=%s handler %s failed", "d-1", "review_comment_created")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "level=WARNING logger=test.one-line delivery=abc\\n2026-01-01 level=ERROR" in lines[0]
    assert "level=ERROR" in lines[1] and "Traceback" in lines[1] and "ValueError: first line\\nsecond line" in lines[1]

