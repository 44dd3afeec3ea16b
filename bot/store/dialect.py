"""What differs between SQLite and PostgreSQL in the store's SQL, and nothing else.

Every query in :mod:`bot.store.sql` is written once, with ``?`` placeholders. A dialect turns
it into what its database reads: numbered placeholders (``$1``) for PostgreSQL, timestamps as
fixed-width UTC text for SQLite (TIMESTAMPTZ values for PostgreSQL), ``FOR UPDATE SKIP LOCKED``
where a claim must skip rows another process holds, and the statement that serialises
migrations across processes.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

UTC = dt.UTC
_PLACEHOLDER = re.compile(r"\?")


def utc_text(moment: dt.datetime) -> str:
    """A timestamp as fixed-width UTC text, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, ...`` (the store's SQL has no ``?`` inside a literal)."""
    counter = iter(range(1, 1 << 16))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" or "postgres": also the key the schema migrations take
    skip_locked: str  # appended to the SELECT that picks a delivery to claim
    migrate_lock: str | None  # run first in the migration transaction, if any

    def sql(self, query: str) -> str:
        return numbered(query) if self.name == "postgres" else query

    def params(self, values: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
        if self.name == "postgres":
            return tuple(values)
        return tuple(utc_text(v) if isinstance(v, dt.datetime) else v for v in values)

    @staticmethod
    def timestamp(value: Any) -> dt.datetime | None:
        """A timestamp column read back: text from SQLite, a datetime from PostgreSQL."""
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromisoformat(value)


SQLITE = Dialect(name="sqlite", skip_locked="", migrate_lock=None)

# One advisory lock per schema: processes migrating the same tables wait for each other.
POSTGRES = Dialect(
    name="postgres",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    migrate_lock=(
        "SELECT pg_advisory_xact_lock("
        "hashtext('learning-nudges:migrate:' || COALESCE(current_schema(), '')))"
    ),
)
