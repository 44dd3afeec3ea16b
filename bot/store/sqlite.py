"""The embedded store: one SQLite file, for a single process (the default and the demo).

The SQL is :mod:`bot.store.sql`'s; the driver gives the one connection to one thread, so no
SQLite call runs on the event loop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.store.drivers import SQLiteDriver
from bot.store.sql import SqlStore


class SQLiteStore(SqlStore):
    driver: SQLiteDriver

    def __init__(self, path: str | Path):
        self.path = str(path)
        super().__init__(SQLiteDriver(self.path))

    @property
    def db(self) -> sqlite3.Connection | None:
        """The connection, once the first call has opened it: for looking underneath in tests.

        Calls on it block, and bypass the store's thread: never use it from the app.
        """
        return self.driver.connection
