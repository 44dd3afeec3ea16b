"""``python -m bot migrate``: create or upgrade the tables, then exit (the Procfile's ``release:``)."""

from __future__ import annotations

import asyncio
import os
import sys

from bot.app.settings import DEFAULT_DATABASE_URL, SettingsError


def migrate() -> int:
    from bot.cli.serve import cannot_start, open_checked, where

    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL

    async def run() -> None:
        store = await open_checked(url)  # opening migrates, under an advisory lock
        await store.close()

    try:
        asyncio.run(run())
    except SettingsError as exc:
        raise cannot_start(str(exc)) from None
    print(f"learning-nudges: the tables in {where(url)} are up to date", file=sys.stdout)
    return 0
