"""Log lines for operators, in logfmt: one event a line, ``key=value`` pairs.

Each line is ``ts=… level=… logger=… msg="…"`` (plus ``exc="…"`` for a traceback): the time in
UTC with milliseconds and a ``Z``, the level in lower case, and a value quoted whenever it holds a
space, a quote, an ``=`` or a control character, with ``\\``, ``"``, newlines and tabs escaped.
So a traceback or a value that came from outside (a header, a GitHub error message) stays inside
its own line: log search sees one event per line and no input can forge a second line. The
message keeps its own ``delivery=… event=…`` words, so ``delivery=ID`` still finds the event.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

_BARE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(value: object) -> str:
    """A logfmt value: bare when it can be, else double-quoted with escapes."""
    text = str(value)
    if text and _BARE.fullmatch(text):
        return text
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def timestamp(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class LogfmtFormatter(logging.Formatter):
    """``ts=2026-03-02T09:00:00.000Z level=info logger=bot.app.web msg="…"``."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = [
            ("ts", timestamp(record.created)),
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        if record.exc_info:
            pairs.append(("exc", self.formatException(record.exc_info)))
        elif record.exc_text:
            pairs.append(("exc", record.exc_text))
        if record.stack_info:
            pairs.append(("stack", self.formatStack(record.stack_info)))
        return " ".join(f"{key}={quote(value)}" for key, value in pairs)


# The name the rest of the app already uses.
OneLineFormatter = LogfmtFormatter


def configure(level: str = "INFO") -> None:
    """Standard error, logfmt, ``level``; aiohttp's access log only for warnings."""
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
