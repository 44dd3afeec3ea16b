"""The shared store: PostgreSQL through an asyncpg pool, for several processes on one database.

The SQL is :mod:`bot.store.sql`'s. What concurrent processes need comes with the dialect:
migrations under an advisory lock, deliveries claimed with ``FOR UPDATE SKIP LOCKED`` so no two
workers take the same one, and inserts that skip what another process has already written.
Timestamps are TIMESTAMPTZ (aware datetimes in and out); the JSON columns stay TEXT.
"""

from __future__ import annotations

import asyncpg

from bot.store.drivers import PostgresDriver
from bot.store.sql import SqlStore


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresStore(SqlStore):
    driver: PostgresDriver
    write_concurrency = 4  # of the pool's connections, the rest stay for the worker

    def __init__(self, pool: asyncpg.Pool):
        super().__init__(PostgresDriver(pool))

    @property
    def pool(self) -> asyncpg.Pool:
        return self.driver.pool

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> PostgresStore:
        """A pool on ``url``; ``schema`` puts the tables in that (existing) schema instead of public."""
        server_settings = {"application_name": "learning-nudges"}
        if schema:
            server_settings["search_path"] = quote_ident(schema)
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, server_settings=server_settings
        )
        return cls(pool)
