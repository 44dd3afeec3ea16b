"""Log lines for operators: one event a line, ``key=value`` pairs, nothing that spans lines.

A traceback or a value that came from outside (a header, a GitHub error message) may contain
newlines; escaped, it stays inside its own line, so log search sees one event per line and no
input can forge a second line.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


class OneLineFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\r", "\\r").replace("\n", "\\n")
