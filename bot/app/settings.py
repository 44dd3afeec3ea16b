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
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///learning-nudges.db"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ENV_FILE = ".env"

# Every setting a process reads, for ``--help`` and the README (name, required, meaning).
SETTINGS_HELP = (
    ("WEBHOOK_SECRET", "the App's webhook secret (required by serve and worker)"),
    ("APP_ID", "the App ID from the App's settings page (required)"),
    ("PRIVATE_KEY", "the App's private key as PEM text, or PRIVATE_KEY_PATH: its .pem file"),
    ("GITHUB_API_URL", f"default {DEFAULT_API_URL}; GitHub Enterprise Server: https://HOST/api/v3"),
    ("DATABASE_URL", f"default {DEFAULT_DATABASE_URL}; postgresql://USER:PASSWORD@HOST/DB"),
    ("PORT", "default 8080 (serve)"),
    ("PLAYBOOKS_DIR", "default: the playbooks shipped with the package"),
    ("RUN_WORKER", "0: serve answers webhooks only (run `worker` separately)"),
    ("DELIVERY_LEASE_SECONDS", "default 120"),
    ("BOT_LOGIN", "default learning-nudges[bot]: the App's own account, whose comments it skips"),
    ("LOG_LEVEL", "DEBUG, INFO (default), WARNING or ERROR"),
    ("HEALTH_PORT", "worker only: serve GET /healthz, /readyz and /metrics on this port"),
)


def shipped(name: str) -> Path:
    """A file or folder shipped with the app: package data in a wheel, the repository root otherwise.

    A wheel carries ``playbooks/`` and ``app.yml`` under ``bot/shipped/`` (see ``setup.py``); a
    source checkout (and an editable install) reads them where they live, at the root.
    """
    packaged = Path(__file__).resolve().parents[1] / "shipped" / name
    return packaged if packaged.exists() else PACKAGE_ROOT / name


SHIPPED_PLAYBOOKS = shipped("playbooks")


def load_env_file(path: str | os.PathLike[str] = ENV_FILE) -> bool:
    """Read ``.env`` from the current folder into the environment; the real environment wins."""
    from dotenv import load_dotenv

    return load_dotenv(path, override=False) if Path(path).is_file() else False


def github_web_url(api_url: str) -> str:
    """github.com for api.github.com; https://HOST for GitHub Enterprise Server's https://HOST/api/v3."""
    parts = urlsplit(api_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _check_private_key(private_key: str, where: str) -> None:
    """The key must parse as an RSA private key: a truncated one fails here, not on each request."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError) as exc:
        problem = (
            "it is encrypted" if isinstance(exc, TypeError) else "it does not parse (cut short?)"
        )
        raise SettingsError(
            f"{where} is not a usable private key: {problem}; paste the whole .pem file downloaded "
            "from the App's settings page, from -----BEGIN to -----END, with its newlines"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SettingsError(
            f"{where} is not an RSA key; GitHub Apps sign with the RSA key GitHub generates"
        )


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
    playbooks_dir: Path = SHIPPED_PLAYBOOKS
    bot_login: str = "learning-nudges[bot]"
    run_worker: bool = True
    delivery_lease_seconds: int = 120
    log_level: str = "INFO"
    health_port: int | None = None

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        need_github: bool = True,
        check_key: bool = False,
    ) -> Settings:
        """Read and check settings; raise :class:`SettingsError` naming the first problem.

        ``check_key`` also parses the private key (``serve`` and ``worker`` do, at start-up).
        """
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
            if check_key:
                where = (
                    "PRIVATE_KEY"
                    if env.get("PRIVATE_KEY")
                    else f"PRIVATE_KEY_PATH={env.get('PRIVATE_KEY_PATH')}"
                )
                _check_private_key(private_key, where)
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
        health_text = (env.get("HEALTH_PORT") or "").strip()
        if health_text and (not health_text.isdigit() or not 0 < int(health_text) < 65536):
            raise SettingsError(
                f"HEALTH_PORT={health_text!r} is not a port number between 1 and 65535"
            )
        level = (env.get("LOG_LEVEL") or "INFO").strip().upper()
        if level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL={level!r} is not one of {', '.join(LOG_LEVELS)}")
        playbooks_dir = Path(env.get("PLAYBOOKS_DIR") or SHIPPED_PLAYBOOKS)
        if not playbooks_dir.is_dir():
            raise SettingsError(
                f"PLAYBOOKS_DIR={playbooks_dir} is not a folder; point it at the folder of playbook "
                "files, or unset it to use the shipped playbooks"
            )
        return cls(
            webhook_secret=secret,
            app_id=app_id.strip(),
            private_key=private_key,
            github_api_url=api_url,
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            port=int(port_text),
            playbooks_dir=playbooks_dir,
            bot_login=env.get("BOT_LOGIN") or "learning-nudges[bot]",
            run_worker=env.get("RUN_WORKER", "1") not in ("0", "false", "no"),
            delivery_lease_seconds=int(lease_text),
            log_level=level,
            health_port=int(health_text) if health_text else None,
        )
