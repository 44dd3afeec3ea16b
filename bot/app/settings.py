"""Deployment settings, read from an environment mapping passed in (never at import time).

The names are the ones GitHub App users already know. A missing or unusable setting stops
start-up with one line that names it and says what to do; secrets never appear in that line,
in ``repr`` or in any log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///learning-nudges.db"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(Exception):
    """One line an operator can act on."""


@dataclass(frozen=True)
class Settings:
    webhook_secret: str = field(repr=False)
    app_id: str
    private_key: str = field(repr=False)
    github_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 8080
    playbooks_dir: Path = PACKAGE_ROOT / "playbooks"
    bot_login: str = "learning-nudges[bot]"
    run_worker: bool = True
    delivery_lease_seconds: int = 120

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, need_github: bool = True) -> Settings:
        """Read and check settings; raise :class:`SettingsError` naming the first problem."""
        env = os.environ if env is None else env
        secret = env.get("WEBHOOK_SECRET", "")
        if not secret:
            raise SettingsError(
                "WEBHOOK_SECRET is not set: set it to the webhook secret of your GitHub App "
                "(Settings > Developer settings > GitHub Apps > your app); the server refuses "
                "unsigned webhooks"
            )
        app_id = env.get("APP_ID", "")
        private_key = env.get("PRIVATE_KEY", "")
        if need_github:
            if not app_id.strip().isdigit():
                raise SettingsError(
                    "APP_ID is not set or not a number: copy the App ID from your GitHub App's "
                    "settings page"
                )
            if not private_key and env.get("PRIVATE_KEY_PATH"):
                path = Path(env["PRIVATE_KEY_PATH"])
                try:
                    private_key = path.read_text()
                except OSError as exc:
                    raise SettingsError(
                        f"PRIVATE_KEY_PATH={path} cannot be read ({exc.strerror}); point it at the "
                        ".pem file downloaded from your GitHub App's settings"
                    ) from None
            if not private_key:
                raise SettingsError(
                    "PRIVATE_KEY or PRIVATE_KEY_PATH is not set: give the app's private key (PEM "
                    "text) or the path of the downloaded .pem file"
                )
            if "PRIVATE KEY-----" not in private_key:
                raise SettingsError(
                    "PRIVATE_KEY does not look like a PEM private key (it should start with "
                    "-----BEGIN RSA PRIVATE KEY-----); if it came from an env file, keep its newlines"
                )
        port_text = env.get("PORT", "8080")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"PORT={port_text!r} is not a port number between 1 and 65535")
        lease_text = env.get("DELIVERY_LEASE_SECONDS", "120").strip()
        if not lease_text.isdigit() or int(lease_text) < 1:
            raise SettingsError(
                f"DELIVERY_LEASE_SECONDS={lease_text!r} is not a whole number of seconds (at least 1); "
                "it is how long a process keeps a delivery before another may take it over"
            )
        api_url = env.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")
        if not api_url.startswith(("https://", "http://")):
            raise SettingsError(
                "GITHUB_API_URL must be a URL such as https://api.github.com or, for GitHub "
                "Enterprise Server, https://HOSTNAME/api/v3"
            )
        return cls(
            webhook_secret=secret,
            app_id=app_id.strip(),
            private_key=private_key,
            github_api_url=api_url,
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            port=int(port_text),
            playbooks_dir=Path(env.get("PLAYBOOKS_DIR") or PACKAGE_ROOT / "playbooks"),
            bot_login=env.get("BOT_LOGIN") or "learning-nudges[bot]",
            run_worker=env.get("RUN_WORKER", "1") not in ("0", "false", "no"),
            delivery_lease_seconds=int(lease_text),
        )
