"""The store opened for reading only, for the dry run: nothing is created, migrated or written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg

from bot.store.drivers import _binary
from bot.store.postgres import PostgresStore
from bot.store.sql import SqlStore
from bot.store.sqlite import SQLiteStore

# The first schema with what the dry run reads (the reviewed comments' snippets).
READ_VERSION = 8


class ReadOnlyStoreError(Exception):
    """The store cannot be read for a dry run; the message says why and what to do."""


async def open_read_only(url: str) -> SqlStore:
    """The store at ``url`` opened for reading only: nothing is created, migrated or written.

    A missing SQLite file is an error (it is not created); a database older than the backfill's
    schema version is one too, since the snippets replay reads are not there yet.
    """
    if url.startswith(("postgres://", "postgresql://")):
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=2,
                server_settings={
                    "application_name": "learning-nudges-replay",
                    "default_transaction_read_only": "on",
                },
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise ReadOnlyStoreError(
                f"cannot connect to the PostgreSQL store: {type(exc).__name__}"
            ) from None
        store = PostgresStore(pool)
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():  # noqa: ASYNC240  (read-only opens are for CLI commands)
            raise ReadOnlyStoreError(
                f"no database at {path}: nothing has been recorded there yet (run the app, or "
                "`python -m bot backfill`, with this DATABASE_URL first); none was created"
            )
        store = SQLiteStore(path)
        uri = f"{path.absolute().as_uri()}?mode=ro"  # noqa: ASYNC240  (CLI commands only)
        db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.create_collation("C", _binary)
        store.driver.connection = db  # the driver's thread uses this read-only connection
    else:
        raise ReadOnlyStoreError("DATABASE_URL must start with sqlite:/// or postgresql://")
    try:
        [row] = await store.driver.fetch("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    except (sqlite3.Error, asyncpg.PostgresError) as exc:  # no schema_version: not our database
        await store.close()
        raise ReadOnlyStoreError(
            f"the database has no Learning Nudges records ({type(exc).__name__})"
        ) from None
    if row[0] < READ_VERSION:
        await store.close()
        raise ReadOnlyStoreError(
            f"the database is at schema version {row[0]}; the dry run needs version "
            f"{READ_VERSION} or later "
            "(start the app once with this DATABASE_URL: it migrates the schema)"
        )
    return store
