"""The GitHub Apps the fake knows: its own, and those made through the app-manifest flow.

The manifest flow, as GitHub runs it: someone posts a manifest (a JSON description of the app)
from a browser, GitHub creates the app and redirects back with a temporary ``code``; the
server trades that code for the app's credentials with ``POST /app-manifests/{code}/conversions``.
A code converts once, within an hour; then it is gone (404). Here a test registers the code
(``FakeGitHub.add_manifest_code``) in place of the browser step.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.testing.fakegithub import shapes
from bot.testing.fakegithub.keys import app_keypair

CODE_LIFETIME = dt.timedelta(hours=1)


@dataclass
class App:
    id: int
    slug: str
    name: str
    description: str | None
    owner: str  # the account's login; empty: the first installation's account
    owner_type: str
    external_url: str | None
    created_at: str
    permissions: dict[str, str] = field(default_factory=lambda: dict(shapes.APP_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(shapes.APP_EVENTS))

    def json(self, fallback_owner: str) -> dict[str, Any]:
        owner = self.owner or fallback_owner
        return shapes.app(
            self.id,
            self.slug,
            owner,
            self.created_at,
            owner_type=self.owner_type,
            name=self.name,
            description=self.description,
            external_url=self.external_url,
            permissions=self.permissions,
            events=self.events,
        )


@dataclass(frozen=True)
class Conversion:
    """What one manifest code turned into: the app and the secrets GitHub shows only once."""

    app: App
    private_key_pem: str
    public_key_pem: str
    client_secret: str
    webhook_secret: str | None
    webhook_url: str | None


@dataclass
class _Code:
    manifest: dict[str, Any]
    owner: str
    owner_type: str
    issued_at: dt.datetime


def slug_of(name: str) -> str:
    """GitHub's slug for an app name: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"


class Apps:
    def __init__(self, primary: App):
        self.primary = primary
        self._apps: dict[int, App] = {primary.id: primary}
        self._codes: dict[str, _Code] = {}

    def get(self, app_id: int | None) -> App:
        return self._apps.get(app_id or self.primary.id, self.primary)

    def known(self, app_id: int) -> bool:
        return app_id in self._apps

    def add_code(
        self,
        code: str,
        manifest: dict[str, Any],
        *,
        owner: str,
        owner_type: str,
        now: dt.datetime,
    ) -> None:
        self._codes[code] = _Code(dict(manifest), owner, owner_type, now)

    def convert(
        self, code: str, *, new_id: Callable[[], int], now: dt.datetime
    ) -> Conversion | None:
        """The app made from ``code``, or None: unknown, already used or older than an hour."""
        found = self._codes.pop(code, None)
        if found is None or now - found.issued_at > CODE_LIFETIME:
            return None
        app_id = new_id()
        manifest = found.manifest
        name = str(manifest.get("name") or f"app-{app_id}")
        slug = slug_of(name)
        if any(a.slug == slug for a in self._apps.values()):
            slug = f"{slug}-{app_id}"
        hook = manifest.get("hook_attributes") or {}
        webhook_url = hook.get("url") if hook.get("active", True) else None
        app = App(
            id=app_id,
            slug=slug,
            name=name,
            description=manifest.get("description"),
            owner=found.owner,
            owner_type=found.owner_type,
            external_url=manifest.get("url"),
            created_at=shapes.iso(now),
            permissions=dict(manifest.get("default_permissions") or {}),
            events=list(manifest.get("default_events") or []),
        )
        self._apps[app_id] = app
        private, public = app_keypair()
        return Conversion(
            app=app,
            private_key_pem=private,
            public_key_pem=public,
            client_secret=secrets.token_hex(20),
            webhook_secret=secrets.token_hex(20) if webhook_url else None,
            webhook_url=webhook_url,
        )
