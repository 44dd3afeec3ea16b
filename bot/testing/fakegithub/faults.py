"""Injected faults: the next few requests matching a method and a path get a canned answer."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

DEFAULT_MESSAGES = {
    403: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    429: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    500: "Server Error",
    502: "Server Error",
}


@dataclass
class Fault:
    method: str
    pattern: str | re.Pattern[str]
    status: int  # 0: not a canned answer (the request is slowed down or dropped)
    headers: dict[str, str]
    body: dict[str, Any]
    times: int
    delay: float = 0.0  # seconds to wait before answering (a slow GitHub)
    drop: bool = False  # close the connection without answering (a network error)
    late: float | None = None  # drop, but do the write this many seconds (GitHub's clock) later

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        if isinstance(self.pattern, re.Pattern):
            return self.pattern.search(path) is not None
        return fnmatch.fnmatchcase(path, self.pattern)


def _as_pattern(path_pattern: str | re.Pattern[str]) -> str | re.Pattern[str]:
    """A compiled regex or a string starting with ``^`` is a regex; anything else is a glob."""
    if isinstance(path_pattern, str) and path_pattern.startswith("^"):
        return re.compile(path_pattern)
    return path_pattern


class Faults:
    def __init__(self) -> None:
        self._pending: list[Fault] = []

    def add(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        *,
        status: int,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        times: int = 1,
        delay: float = 0.0,
        drop: bool = False,
        late: float | None = None,
    ) -> None:
        if body is None and status:
            body = {
                "message": DEFAULT_MESSAGES.get(status, HTTPStatus(status).phrase),
                "documentation_url": "https://docs.github.com/rest",
            }
        self._pending.append(
            Fault(
                method.upper(),
                _as_pattern(path_pattern),
                status,
                dict(headers or {}),
                body or {},
                times,
                delay,
                drop or late is not None,
                late,
            )
        )

    def take_slow(self, method: str, path: str) -> Fault | None:
        """The first pending delay or drop for this request, used up once per call."""
        return self._take(method, path, canned=False)

    def take(self, method: str, path: str) -> Fault | None:
        """The first pending canned answer for this request, used up once per call."""
        return self._take(method, path, canned=True)

    def _take(self, method: str, path: str, *, canned: bool) -> Fault | None:
        for fault in self._pending:
            if bool(fault.status) == canned and fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self._pending.remove(fault)
                return fault
        return None
