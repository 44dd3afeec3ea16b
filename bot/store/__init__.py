"""Persistence: pick the store from ``DATABASE_URL``."""

from __future__ import annotations

from bot.store.base import (
    Delivery,
    DeliveryRecord,
    FailedNudge,
    NewDelivery,
    NoteRecord,
    ReactionRecord,
    Store,
)

__all__ = [
    "Delivery",
    "DeliveryRecord",
    "FailedNudge",
    "NewDelivery",
    "NoteRecord",
    "ReactionRecord",
    "Store",
    "open_store",
]


async def open_store(url: str) -> Store:
    """``sqlite:///path.db`` (the default) or ``postgresql://...``; migrated and ready."""
    if url.startswith(("postgres://", "postgresql://")):
        from bot.store.postgres import PostgresStore

        store: Store = await PostgresStore.connect(url)
    elif url.startswith("sqlite:///") or url == "sqlite://":
        from bot.store.sqlite import SQLiteStore

        store = SQLiteStore(url.removeprefix("sqlite:///") or ":memory:")
    else:
        # Only the scheme is repeated: the rest of a URL may hold a password.
        scheme, sep, _ = url.partition("://")
        got = (
            f"{scheme}://..." if sep and scheme.isascii() and scheme.isalnum() else "no such prefix"
        )
        raise ValueError(
            "DATABASE_URL must start with sqlite:/// (a file, e.g. sqlite:///data/nudges.db) or"
            f" postgresql:// (a server, e.g. postgresql://user:password@host:5432/db); got {got}"
        )
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    return store
