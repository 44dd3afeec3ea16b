"""Registering the App in one click: the manifest flow over HTTP against the stand-in GitHub.

The test plays the browser: it opens the page ``register`` serves, reads the form GitHub would
receive, lets the stand-in create the App from that manifest (what GitHub does when the person
presses "Create"), and follows GitHub's redirect back. Then the written ``.env`` starts ``serve``.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import yaml
from dotenv import dotenv_values

from bot.app.settings import PACKAGE_ROOT, Settings, github_web_url
from bot.cli.register import new_app_url
from bot.testing.fakegithub import FakeGitHub, app_keypair

WEBHOOK_URL = "https://nudges.acme.example/webhooks"


class Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.method, self.fields = "", "", {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action, self.method = attrs["action"], attrs["method"]
        if tag == "input":
            self.fields[attrs["name"]] = attrs["value"]


@pytest.fixture
async def fake():
    github = FakeGitHub(app_id=1, public_key_pem=app_keypair()[1])
    github.add_installation(1, "acme")
    await github.start()
    yield github
    await github.close()
    assert github.violations == []


async def start_register(cwd: Path, fake: FakeGitHub, *extra: str):
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "GITHUB_API_URL": fake.base_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "register",
        "--webhook-url",
        WEBHOOK_URL,
        "--port",
        "0",
        "--no-browser",
        *extra,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return process


async def test_register_creates_the_app_and_writes_env_that_serve_starts_with(tmp_path, fake):
    process = await start_register(tmp_path, fake, "--org", "acme")
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert first.startswith("Open http://localhost:") and "in your browser" in first
    local = first.split()[1].rstrip("/")
    async with aiohttp.ClientSession() as browser:
        async with browser.get(local + "/") as page:
            form = Form()
            form.feed(await page.text())
        # what GitHub receives: a POST of the manifest to the organisation's new-App page
        action = urlsplit(form.action)
        assert form.method == "post"
        assert (
            f"{action.scheme}://{action.netloc}{action.path}"
            == f"{fake.base_url}/organizations/acme/settings/apps/new"
        )
        state = parse_qs(action.query)["state"][0]
        manifest = json.loads(form.fields["manifest"])
        shipped = yaml.safe_load((PACKAGE_ROOT / "app.yml").read_text())
        assert manifest["hook_attributes"] == {"url": WEBHOOK_URL, "active": True}
        assert manifest["redirect_url"] == f"{local}/done"
        assert manifest["default_permissions"] == shipped["default_permissions"]
        assert manifest["default_events"] == shipped["default_events"]
        # a redirect that this command did not start is refused
        async with browser.get(f"{local}/done", params={"code": "x", "state": "forged"}) as answer:
            assert answer.status == 400
        # the person presses "Create GitHub App"; GitHub redirects back with a one-time code
        fake.add_manifest_code("c0de-1", manifest, owner="acme")
        async with browser.get(
            manifest["redirect_url"], params={"code": "c0de-1", "state": state}
        ) as answer:
            assert answer.status == 200
            assert "Learning Nudges is registered" in await answer.text()
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    said = first + out.decode()
    assert "Registered Learning Nudges (App ID " in said and "installations/new" in said

    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dotenv_values(env_file)
    assert values["APP_ID"] != "1" and values["APP_ID"].isdigit()
    # the stand-in's own App already has the slug learning-nudges, so GitHub made it unique
    assert values["BOT_LOGIN"] == f"learning-nudges-{values['APP_ID']}[bot]"
    assert values["GITHUB_API_URL"] == fake.base_url
    assert len(values["WEBHOOK_SECRET"]) >= 20
    settings = Settings.from_env(values, check_key=True)  # the key parses, newlines and all
    assert settings.app_id == values["APP_ID"]

    # and serve starts from that .env: GitHub accepts the new App's JWT
    from test_startup import free_port

    port = free_port()
    with env_file.open("a") as extra:
        extra.write(f"PORT={port}\nDATABASE_URL=sqlite:///{tmp_path / 'n.db'}\n")
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        assert response.status == 200, await response.text()
                        break
                except aiohttp.ClientConnectionError:
                    assert server.returncode is None, (await server.stderr.read()).decode()
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("serve did not start")
    finally:
        server.terminate()
        await asyncio.wait_for(server.communicate(), 30)


async def test_a_code_that_was_used_or_is_unknown_ends_with_one_line(tmp_path, fake):
    process = await start_register(tmp_path, fake)
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    local = first.split()[1].rstrip("/")
    async with aiohttp.ClientSession() as browser:
        async with browser.get(local + "/") as page:
            form = Form()
            form.feed(await page.text())
        action = urlsplit(form.action)
        assert action.path == "/settings/apps/new"  # no --org: the person's own account
        state = parse_qs(action.query)["state"][0]
        async with browser.get(
            f"{local}/done", params={"code": "unknown", "state": state}
        ) as answer:
            assert answer.status == 502
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert err.decode().strip().splitlines() == [
        "learning-nudges: register: GitHub no longer knows this code (it works once, for an hour); run register again"
    ]
    assert not (tmp_path / ".env").exists()


async def test_register_keeps_an_app_already_written_unless_forced(tmp_path, fake):
    (tmp_path / ".env").write_text("APP_ID=77\nLOG_LEVEL=DEBUG\n")
    process = await start_register(tmp_path, fake)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert err.decode().strip() == (
        "learning-nudges: register: .env already has APP_ID=77; use --force to replace it with a new App"
    )
    assert (tmp_path / ".env").read_text() == "APP_ID=77\nLOG_LEVEL=DEBUG\n"


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.acme.example/api/v3", "https://ghe.acme.example"),
        ("https://ghe.acme.example/api/v3/", "https://ghe.acme.example"),
    ],
)
def test_the_new_app_page_is_on_the_web_host_of_github_or_enterprise_server(api, web):
    assert github_web_url(api) == web
    assert new_app_url(api, "acme", "s") == f"{web}/organizations/acme/settings/apps/new?state=s"
    assert new_app_url(api, None, "s") == f"{web}/settings/apps/new?state=s"
