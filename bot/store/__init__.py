"""Persistence: pick the store from ``DATABASE_URL``."""

from __future__ import annotations

from bot.store.base import Delivery, DeliveryRecord, NoteRecord, ReactionRecord, Store

__all__ = ["Delivery", "DeliveryRecord", "NoteRecord", "ReactionRecord", "Store", "open_store"]


async def open_store(url: str) -> Store:
    """``sqlite:///path.db`` (the default) or ``postgresql://...``; migrated and ready."""
    if url.startswith(("postgres://", "postgresql://")):
        from bot.store.postgres import PostgresStore

        store: Store = await PostgresStore.connect(url)
    elif url.startswith("sqlite:///") or url == "sqlite://":
        from bot.store.sqlite import SQLiteStore

        store = SQLiteStore(url.removeprefix("sqlite:///") or ":memory:")
    else:
        raise ValueError(
            f"DATABASE_URL must start with sqlite:/// or postgresql://, got {url.split(':', 1)[0]}:..."
        )
    await store.migrate()
    return store
