"""``python -m bot register``: register the GitHub App in one click, through GitHub's manifest flow.

1. A small page on ``http://localhost:PORT/`` holds ``app.yml`` as the JSON ``manifest`` field of a
   form that posts to GitHub's "new App" page: ``https://github.com/settings/apps/new`` (your
   account) or ``/organizations/ORG/settings/apps/new``, with a random ``state``. For GitHub
   Enterprise Server the web host comes from ``GITHUB_API_URL`` (``https://HOST/api/v3`` → ``https://HOST``).
2. On GitHub you name the App and create it; GitHub redirects the browser to the manifest's
   ``redirect_url`` (``http://localhost:PORT/done``) with a one-time ``code`` and the ``state``.
3. The code is exchanged, within the hour it lives, with ``POST /app-manifests/{code}/conversions``
   for the App's id, private key, webhook secret and name. They are written to ``.env`` (mode 600;
   the other settings of an existing file are kept), and the page links to the App's
   installation page.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import secrets
import sys
import webbrowser
from pathlib import Path
from typing import Any

import yaml

from bot.app.settings import DEFAULT_API_URL, github_web_url, shipped

WRITTEN = ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "BOT_LOGIN", "GITHUB_API_URL")


class RegisterError(Exception):
    """One line for the person registering."""


def manifest_for(
    source: Path, *, webhook_url: str, redirect_url: str, name: str | None
) -> dict[str, Any]:
    """``app.yml`` as the JSON GitHub expects, with this deployment's URLs."""
    manifest = yaml.safe_load(source.read_text(encoding="utf-8"))
    manifest["hook_attributes"] = {
        **(manifest.get("hook_attributes") or {}),
        "url": webhook_url,
        "active": True,
    }
    manifest["redirect_url"] = redirect_url
    if name:
        manifest["name"] = name
    return manifest


def new_app_url(api_url: str, org: str | None, state: str) -> str:
    web = github_web_url(api_url)
    where = f"/organizations/{org}/settings/apps/new" if org else "/settings/apps/new"
    return f"{web}{where}?state={state}"


def page(action: str, manifest: dict[str, Any]) -> str:
    """The form GitHub's manifest flow expects: POST ``manifest`` (JSON) to the new-App page."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Register Learning Nudges</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>Register the Learning Nudges GitHub App</h1>
<p>GitHub will show the App's name (you may change it), its permissions and events. Create it
there; GitHub then brings you back here and the App's credentials are written to your env file.</p>
<form id="register" action="{html.escape(action)}" method="post">
<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest))}">
<button type="submit">Create the GitHub App on {html.escape(action.split("/")[2])}</button>
</form>
</body></html>
"""


def env_value(value: str) -> str:
    """A value as python-dotenv reads it back: double-quoted, newlines kept, quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def existing_app_id(env_file: Path) -> str | None:
    if not env_file.exists():
        return None
    from dotenv import dotenv_values

    return dotenv_values(env_file).get("APP_ID") or None


def write_env(env_file: Path, values: dict[str, str]) -> None:
    """Write our keys into ``env_file``, keeping its other settings; the file is mode 600."""
    from dotenv import dotenv_values

    kept = (
        {k: v for k, v in dotenv_values(env_file).items() if k not in values}
        if env_file.exists()
        else {}
    )
    lines = [f"{k}={env_value(v or '')}" for k, v in {**kept, **values}.items()]
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(env_file, 0o600)  # an existing file keeps its mode on open: make it private too


async def convert(api_url: str, code: str) -> dict[str, Any]:
    """``POST /app-manifests/{code}/conversions``: the App GitHub made, with its secrets."""
    import aiohttp

    url = f"{api_url}/app-manifests/{code}/conversions"
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "learning-nudges"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as response,
    ):
        if response.status == 404:
            raise RegisterError(
                "GitHub no longer knows this code (it works once, for an hour); run register again"
            )
        if response.status != 201:
            raise RegisterError(
                f"GitHub answered {response.status} to the code exchange; run register again"
            )
        return await response.json()


async def run(args: argparse.Namespace, out=sys.stdout) -> int:
    from aiohttp import web

    api_url = (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    source = args.manifest or shipped("app.yml")
    if not source.is_file():
        raise RegisterError(f"--manifest {source} does not exist")
    if not args.webhook_url.startswith("https://") and not args.webhook_url.startswith("http://"):
        raise RegisterError("--webhook-url must be the https:// address GitHub sends webhooks to")
    if (found := existing_app_id(args.env_file)) and not args.force:
        raise RegisterError(
            f"{args.env_file} already has APP_ID={found}; use --force to replace it with a new App"
        )
    state = secrets.token_urlsafe(24)
    done = asyncio.get_running_loop().create_future()
    app = web.Application()
    holder: dict[str, Any] = {}

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            text=page(holder["action"], holder["manifest"]), content_type="text/html"
        )

    async def finish(request: web.Request) -> web.Response:
        if request.query.get("state") != state:
            return web.Response(
                status=400, text="This is not the registration this command started."
            )
        code = request.query.get("code", "")
        if not code:
            return web.Response(status=400, text="GitHub sent no code.")
        try:
            made = await convert(api_url, code)
        except RegisterError as exc:
            if not done.done():
                done.set_exception(exc)
            return web.Response(status=502, text=str(exc))
        values = {
            "APP_ID": str(made["id"]),
            "PRIVATE_KEY": made["pem"],
            "WEBHOOK_SECRET": made.get("webhook_secret") or "",
            "BOT_LOGIN": f"{made['slug']}[bot]",
        }
        if api_url != DEFAULT_API_URL:
            values["GITHUB_API_URL"] = api_url
        write_env(args.env_file, values)
        install = f"{made.get('html_url') or github_web_url(api_url) + '/apps/' + made['slug']}/installations/new"
        if not done.done():
            done.set_result((made, install))
        return web.Response(
            content_type="text/html",
            text=f"<!doctype html><meta charset=utf-8><title>Registered</title><body style='font-family:"
            f"system-ui;max-width:40em;margin:3em auto'><h1>{html.escape(made['name'])} is registered</h1>"
            f"<p>Its credentials are in <code>{html.escape(str(args.env_file))}</code>. Now "
            f"<a href='{html.escape(install)}'>install it</a> on your organisation.</p></body>",
        )

    app.router.add_get("/", index)
    app.router.add_get("/done", finish)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise RegisterError(
            f"--port {args.port} cannot be used ({exc.strerror}); pick another"
        ) from None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    local = f"http://localhost:{port}"
    holder["manifest"] = manifest_for(
        source, webhook_url=args.webhook_url, redirect_url=f"{local}/done", name=args.name
    )
    holder["action"] = new_app_url(api_url, args.org, state)
    print(
        f"Open {local}/ in your browser and press the button (waiting up to an hour).",
        file=out,
        flush=True,
    )
    if not args.no_browser:
        webbrowser.open(f"{local}/")
    try:
        made, install = await asyncio.wait_for(done, timeout=3600)
    except TimeoutError:
        raise RegisterError(
            "no answer from GitHub within the hour the code would live; run register again"
        ) from None
    finally:
        await asyncio.sleep(0.2)  # let the last page reach the browser
        await runner.cleanup()
    print(
        f"Registered {made['name']} (App ID {made['id']}); APP_ID, PRIVATE_KEY, WEBHOOK_SECRET and "
        f"BOT_LOGIN are in {args.env_file} (mode 600).\nNext: install it on your organisation at "
        f"{install}, then run: python -m bot serve",
        file=out,
        flush=True,
    )
    return 0


def register(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run(args))
    except RegisterError as exc:
        print(f"learning-nudges: register: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("learning-nudges: register: stopped; nothing was written", file=sys.stderr)
        return 1
