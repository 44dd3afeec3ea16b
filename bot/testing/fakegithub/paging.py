"""GitHub's pagination: ``per_page`` (default 30, at most 100), ``page``, and a ``Link`` header."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlencode

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

T = TypeVar("T")


def _number(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def paginate(items: Sequence[T], query: Mapping[str, str], url: str) -> tuple[list[T], str | None]:
    """The requested page of ``items`` and the Link header GitHub would send with it.

    ``url`` is the request URL without its query; links keep the other query parameters.
    """
    per_page = min(max(_number(query.get("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_number(query.get("page"), 1), 1)
    last = max(1, math.ceil(len(items) / per_page))
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    links = []
    if page > 1:
        links.append((min(page - 1, last), "prev"))
    if page < last:
        links += [(page + 1, "next"), (last, "last")]
    if page > 1:
        links.append((1, "first"))
    if not links:
        return chunk, None
    other = [(k, v) for k, v in query.items() if k != "page"]
    header = ", ".join(
        f'<{url}?{urlencode([*other, ("page", n)])}>; rel="{rel}"' for n, rel in links
    )
    return chunk, header


class BadCursor(ValueError):
    """A ``cursor`` this list never handed out."""


def cursor_of(ident: int) -> str:
    return f"v1_{ident}"


def paginate_by_cursor(
    items: Sequence[T], ids: Sequence[int], query: Mapping[str, str], url: str
) -> tuple[list[T], str | None]:
    """GitHub's cursor pages (webhook deliveries): ``cursor`` names the first item of a page.

    ``ids`` are the items' ids, in the order listed. The Link header has ``next`` (when more
    follow) and ``prev`` (when the page is not the first), each with its ``cursor``; unlike page
    numbers, a cursor keeps its place when new items arrive at the head of the list.
    """
    per_page = min(max(_number(query.get("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    start = 0
    if query.get("cursor"):
        wanted = query["cursor"]
        positions = [n for n, ident in enumerate(ids) if cursor_of(ident) == wanted]
        if not positions:
            raise BadCursor(wanted)
        start = positions[0]
    chunk = list(items[start : start + per_page])
    links = []
    if start + per_page < len(items):
        links.append((ids[start + per_page], "next"))
    if start > 0:
        links.append((ids[max(0, start - per_page)], "prev"))
    if not links:
        return chunk, None
    other = [(k, v) for k, v in query.items() if k != "cursor"]
    header = ", ".join(
        f'<{url}?{urlencode([*other, ("cursor", cursor_of(n))])}>; rel="{rel}"' for n, rel in links
    )
    return chunk, header
