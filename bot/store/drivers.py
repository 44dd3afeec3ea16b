"""The two drivers under the one SQL store: each runs ``?``-placeholder SQL on its database.

A driver offers three calls (``fetch``, ``execute``, ``executemany``), each one statement in a
transaction of its own, and ``transaction()``, a connection whose statements commit or roll back
together. The SQL, the rows and the results are the same on both; the dialect turns the SQL and
the arguments into what the database reads.

SQLite's calls block, so one thread owns the one connection and runs every statement; the event
loop only waits for it. A transaction holds the driver's lock from BEGIN to COMMIT, so no other
coroutine's statement lands inside it on the shared connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from bot.store.dialect import POSTGRES, SQLITE, Dialect

Args = Sequence[Any]
Row = Any  # sqlite3.Row or asyncpg.Record: both read by column name and by position


class Connection(Protocol):
    async def fetch(self, sql: str, args: Args = ()) -> list[Row]: ...

    async def execute(self, sql: str, args: Args = ()) -> None: ...

    async def executemany(self, sql: str, rows: Iterable[Args]) -> None: ...


class Driver(Connection, Protocol):
    dialect: Dialect

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...

    async def close(self) -> None: ...


# SQLite ----------------------------------------------------------------------------------------


def _binary(a: str, b: str) -> int:
    """PostgreSQL's "C" collation: code point order, which is SQLite's own byte order for UTF-8."""
    return (a > b) - (a < b)


class SQLiteDriver:
    """One connection, owned by one thread; WAL journal and a busy timeout for other processes."""

    dialect = SQLITE

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000):
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.connection: sqlite3.Connection | None = None  # opened on the thread by the first call
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._lock = asyncio.Lock()
        self._closed = False

    # on the store's thread ----------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self.connection is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
                db.create_collation("C", _binary)
            except BaseException:
                db.close()
                raise
            self.connection = db
        return self.connection

    def _fetch(self, sql: str, args: Args) -> list[Row]:
        return self._db().execute(sql, self.dialect.params(args)).fetchall()

    def _execute(self, sql: str, args: Args) -> None:
        self._db().execute(sql, self.dialect.params(args)).close()

    def _executemany(self, sql: str, rows: list[Args]) -> None:
        self._db().executemany(sql, [self.dialect.params(r) for r in rows]).close()

    def _begin(self) -> None:
        self._db().execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._db().execute("COMMIT")

    def _rollback(self) -> None:
        db = self.connection
        if db is not None and db.in_transaction:
            db.execute("ROLLBACK")

    def _close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # on the event loop -------------------------------------------------------------------------
    async def _run(self, job: Any, *args: Any) -> Any:
        if self._closed:
            raise RuntimeError(f"the SQLite store on {self.path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._thread, job, *args)

    async def _run_to_end(self, job: Any) -> None:
        """A job that must run even if the caller is cancelled while it waits (COMMIT, ROLLBACK)."""
        future = asyncio.get_running_loop().run_in_executor(self._thread, job)
        await asyncio.shield(future)

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        async with self._lock:
            return await self._run(self._fetch, sql, args)

    async def execute(self, sql: str, args: Args = ()) -> None:
        async with self._lock:
            await self._run(self._execute, sql, args)

    async def executemany(self, sql: str, rows: Iterable[Args]) -> None:
        async with self._lock:
            await self._run(self._executemany, sql, list(rows))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            try:
                await self._run(self._begin)
                yield _SQLiteTransaction(self)
                await self._run_to_end(self._commit)
            except BaseException:
                # Queued behind whatever the thread still runs for us, so it always comes last;
                # a no-op when BEGIN never ran or COMMIT went through.
                await self._run_to_end(self._rollback)
                raise

    async def close(self) -> None:
        if self._closed:
            return
        async with self._lock:
            await self._run(self._close)
            self._closed = True
        self._thread.shutdown(wait=False)


class _SQLiteTransaction:
    """Statements inside a transaction: the driver's lock is already held."""

    def __init__(self, driver: SQLiteDriver):
        self._driver = driver

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        return await self._driver._run(self._driver._fetch, sql, args)

    async def execute(self, sql: str, args: Args = ()) -> None:
        await self._driver._run(self._driver._execute, sql, args)

    async def executemany(self, sql: str, rows: Iterable[Args]) -> None:
        await self._driver._run(self._driver._executemany, sql, list(rows))


# PostgreSQL ------------------------------------------------------------------------------------


class PostgresDriver:
    """An asyncpg pool: each call on a connection of its own, a transaction on one connection."""

    dialect = POSTGRES

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        return await self.pool.fetch(self.dialect.sql(sql), *args)

    async def execute(self, sql: str, args: Args = ()) -> None:
        await self.pool.execute(self.dialect.sql(sql), *args)

    async def executemany(self, sql: str, rows: Iterable[Args]) -> None:
        await self.pool.executemany(self.dialect.sql(sql), list(rows))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PostgresConnection(conn, self.dialect)

    async def close(self) -> None:
        await self.pool.close()


class _PostgresConnection:
    def __init__(self, conn: asyncpg.Connection, dialect: Dialect):
        self._conn = conn
        self._dialect = dialect

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        return await self._conn.fetch(self._dialect.sql(sql), *args)

    async def execute(self, sql: str, args: Args = ()) -> None:
        await self._conn.execute(self._dialect.sql(sql), *args)

    async def executemany(self, sql: str, rows: Iterable[Args]) -> None:
        await self._conn.executemany(self._dialect.sql(sql), list(rows))
