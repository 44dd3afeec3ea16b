"""Every misconfiguration stops the real ``serve`` at once, with exit status 2 and one clear line.

Each test starts ``python -m bot serve`` as a process, from an empty folder (so no ``.env`` of
the developer's is read), with the stand-in GitHub running in the test where GitHub is needed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.testing.fakegithub import FakeGitHub, app_keypair

APP_ID = 4242
PREFIX = "learning-nudges: cannot start: "


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return app_keypair()


@pytest.fixture
async def fake(keys):
    github = FakeGitHub(app_id=APP_ID, public_key_pem=keys[1])
    github.add_installation(1, "acme")
    await github.start()
    yield github
    await github.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(tmp_path: Path, keys, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "WEBHOOK_SECRET": "s3cret-webhook",
        "APP_ID": str(APP_ID),
        "PRIVATE_KEY": keys[0],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'nudges.db'}",
        "GITHUB_API_URL": "http://127.0.0.1:9",  # overridden where GitHub must answer
        "PORT": str(free_port()),
    }
    env.update(extra)
    return env


async def serve(tmp_path: Path, env: dict[str, str], timeout: float = 60) -> tuple[int, list[str]]:
    """Run ``serve`` until it exits; its status and standard error lines."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, err.decode().splitlines()


def the_line(status: int, lines: list[str]) -> str:
    """The start-up failure: status 2, no traceback, at most a few lines, the last one ours."""
    text = "\n".join(lines)
    assert status == 2, text
    assert "Traceback" not in text
    assert len(lines) <= 3, text
    assert lines[-1].startswith(PREFIX), text
    return lines[-1].removeprefix(PREFIX)


async def test_a_mistyped_playbooks_dir(tmp_path, keys):
    line = the_line(
        *await serve(tmp_path, base_env(tmp_path, keys, PLAYBOOKS_DIR=str(tmp_path / "playbok")))
    )
    assert line.startswith(f"PLAYBOOKS_DIR={tmp_path / 'playbok'} is not a folder")


async def test_a_playbooks_dir_where_no_playbook_loads(tmp_path, keys):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "broken.yml").write_text("id: broken\ntitle: [unclosed\n")
    status, lines = await serve(tmp_path, base_env(tmp_path, keys, PLAYBOOKS_DIR=str(folder)))
    line = lines[-1].removeprefix(PREFIX)
    assert status == 2 and "Traceback" not in "\n".join(lines)
    assert line == (
        f"PLAYBOOKS_DIR={folder} has no playbook that loads (1 files with problems); "
        f"run: python -m bot validate {folder}"
    )


async def test_a_truncated_private_key(tmp_path, keys):
    env = base_env(tmp_path, keys, PRIVATE_KEY=keys[0][:400])
    line = the_line(*await serve(tmp_path, env))
    assert line.startswith("PRIVATE_KEY is not a usable private key: it does not parse")
    assert keys[0][40:80] not in line, "the key is never echoed"


async def test_a_key_file_that_is_not_a_key(tmp_path, keys):
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot really\n-----END RSA PRIVATE KEY-----\n")
    env = base_env(tmp_path, keys, PRIVATE_KEY_PATH=str(pem))
    del env["PRIVATE_KEY"]
    line = the_line(*await serve(tmp_path, env))
    assert line.startswith(f"PRIVATE_KEY_PATH={pem} is not a usable private key")


async def test_a_valid_key_that_is_not_the_apps(tmp_path, keys, fake):
    other = app_keypair()[0]
    env = base_env(tmp_path, keys, PRIVATE_KEY=other, GITHUB_API_URL=fake.base_url)
    line = the_line(*await serve(tmp_path, env))
    assert line.startswith(
        f"GitHub refused the App's JWT (GET /app: 401): APP_ID={APP_ID} and the private key"
    )


async def test_an_app_id_of_another_app(tmp_path, keys, fake):
    env = base_env(tmp_path, keys, APP_ID="999", GITHUB_API_URL=fake.base_url)
    line = the_line(*await serve(tmp_path, env))
    assert "GitHub refused the App's JWT" in line and "APP_ID=999" in line


async def test_github_that_does_not_answer(tmp_path, keys):
    line = the_line(*await serve(tmp_path, base_env(tmp_path, keys)))
    assert line.startswith("GITHUB_API_URL=http://127.0.0.1:9 does not answer")


async def test_a_bot_login_that_is_not_the_apps(tmp_path, keys, fake):
    env = base_env(tmp_path, keys, GITHUB_API_URL=fake.base_url, BOT_LOGIN="someone-else[bot]")
    line = the_line(*await serve(tmp_path, env))
    assert line.startswith(
        "BOT_LOGIN=someone-else[bot] but this App's account is learning-nudges[bot]"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:hunter2@db/x", "DATABASE_URL must start with sqlite:/// "),
        (
            "postgresql://u:hunter2@127.0.0.1:1/x",
            "DATABASE_URL=postgresql://127.0.0.1:1/x: the database does not answer",
        ),
    ],
)
async def test_a_bad_database_url(tmp_path, keys, url, expected):
    line = the_line(*await serve(tmp_path, base_env(tmp_path, keys, DATABASE_URL=url)))
    assert line.startswith(expected)
    assert "hunter2" not in line


async def test_a_postgresql_database_that_does_not_exist(tmp_path, keys):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = server.rsplit("/", 1)[0] + "/no_such_database_here"
    line = the_line(*await serve(tmp_path, base_env(tmp_path, keys, DATABASE_URL=url)))
    assert "PostgreSQL refused the connection (InvalidCatalogNameError" in line


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("WEBHOOK_SECRET", "", "WEBHOOK_SECRET is not set"),
        ("APP_ID", "my-app", "APP_ID is not set or not a number"),
        ("PORT", "80808", "PORT='80808' is not a port number"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL='LOUD' is not one of DEBUG, INFO, WARNING, ERROR"),
        ("GITHUB_API_URL", "github.example.com/api/v3", "GITHUB_API_URL must be a URL"),
    ],
)
async def test_each_bad_setting(tmp_path, keys, name, value, expected):
    line = the_line(*await serve(tmp_path, base_env(tmp_path, keys, **{name: value})))
    assert line.startswith(expected)


async def test_a_port_in_use(tmp_path, keys, fake):
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        env = base_env(tmp_path, keys, GITHUB_API_URL=fake.base_url, PORT=str(port))
        line = the_line(*await serve(tmp_path, env))
    finally:
        taken.close()
    assert (
        line
        == f"PORT={port} is already in use by another process; stop that process or set PORT to a free port"
    )


async def test_a_good_setup_starts_reads_env_and_answers_health_and_readiness(tmp_path, keys, fake):
    """The same checks pass on a correct setup, read from .env: the server is up and ready."""
    port = free_port()
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    (cwd / ".env").write_text(
        f'WEBHOOK_SECRET=from-dotenv\nAPP_ID={APP_ID}\nPRIVATE_KEY="{keys[0]}"\n'
        f"GITHUB_API_URL={fake.base_url}\nPORT={port}\nDATABASE_URL=sqlite:///{tmp_path / 'n.db'}\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        ready = response.status, await response.json()
                        break
                except aiohttp.ClientConnectionError:
                    assert process.returncode is None, (await process.stderr.read()).decode()
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("serve did not start listening")
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert ready == (
        200,
        {
            "status": "ready",
            "checks": {
                "store": "ok",
                "github": "ok",
                "worker": "ok",
                "playbooks": "ok",
                "outbox": "ok",
                "inbox": "ok",
            },
        },
    )
    log = err.decode()
    assert f'msg="listening on port {port}; playbooks=9; store=sqlite"' in log
    assert "from-dotenv" not in log and keys[0][40:80] not in log
    assert process.returncode == 0


async def test_a_separate_worker_answers_health_and_metrics_on_health_port(tmp_path, keys, fake):
    """``worker`` passes the same checks and, with HEALTH_PORT, can be probed and scraped."""
    port = free_port()
    env = base_env(tmp_path, keys, GITHUB_API_URL=fake.base_url, HEALTH_PORT=str(port))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        ready = response.status
                        break
                except aiohttp.ClientConnectionError:
                    assert process.returncode is None, (await process.stderr.read()).decode()
                    await asyncio.sleep(0.1)
            else:
                process.terminate()
                raise AssertionError(
                    "worker did not start: " + (await process.stderr.read()).decode()
                )
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
            async with http.post(f"http://127.0.0.1:{port}/webhooks", data=b"{}") as response:
                webhooks = response.status
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), 30)
    assert ready == 200
    assert "learning_nudges_ready 1.0" in metrics
    assert webhooks == 404  # a worker takes no webhooks


async def test_a_bad_health_port(tmp_path, keys):
    status, lines = await serve(tmp_path, base_env(tmp_path, keys, HEALTH_PORT="lots"))
    assert the_line(status, lines) == "HEALTH_PORT='lots' is not a port number between 1 and 65535"
