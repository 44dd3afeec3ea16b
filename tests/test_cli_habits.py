"""CLI habits: help that names options and settings, --version, non-zero exits, checked ranges,
read-only commands that create nothing, and a report that fits 80 columns, coloured only on a TTY."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from bot import __version__
from bot.cli import COMMANDS
from bot.cli.report import build_report
from bot.core.org import OrgSettings

SQL = (
    "This builds SQL with an f-string; please use bind params here.",
    "Concatenating input into SQL again; use a parameterized query.",
)


def run(
    *args: str, cwd=None, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd or "/tmp"), **(env or {})},
        timeout=60,
        check=False,
    )


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"learning-nudges {__version__}"


@pytest.mark.parametrize("command", [name for name, _ in COMMANDS])
def test_every_command_has_help_with_its_options(command, tmp_path):
    result = run(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: python -m bot {command}")
    assert "-h, --help" in result.stdout
    assert len(result.stdout.splitlines()) >= 5, "a description, not just usage"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "settings"),
    [
        (
            "serve",
            [
                "WEBHOOK_SECRET",
                "APP_ID",
                "PRIVATE_KEY",
                "DATABASE_URL",
                "PORT",
                "PLAYBOOKS_DIR",
                "LOG_LEVEL",
            ],
        ),
        ("worker", ["WEBHOOK_SECRET", "APP_ID", "PRIVATE_KEY", "DATABASE_URL", "LOG_LEVEL"]),
        ("migrate", ["DATABASE_URL"]),
        ("report", ["DATABASE_URL", "PLAYBOOKS_DIR"]),
        ("register", ["GITHUB_API_URL"]),
    ],
)
def test_help_names_the_settings_a_command_reads(command, settings):
    out = run(command, "--help").stdout
    assert "settings read (environment variables, or .env in the current folder):" in out
    for name in settings:
        assert f"\n  {name} " in out, name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("simulate", "--days", "-5"), "--days must be from 1 to 3650, got -5"),
        (("simulate", "--engineers", "0"), "--engineers must be from 4 to 10000, got 0"),
        (("simulate", "--days", "many"), "argument --days: invalid int value: 'many'"),
        (("classify", "--playbooks", "/nonexistent"), "/nonexistent is not a folder of playbooks"),
        (("register",), "the following arguments are required: --webhook-url"),
        (("serve", "--bogus"), "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[-1]


def test_classify_and_validate_refuse_a_folder_with_no_playbooks(tmp_path):
    (tmp_path / "org.yml").write_text("holdout_share: 0.2\n")
    result = run("classify", "--playbooks", str(tmp_path), stdin='{"text": "x"}\n')
    assert result.returncode == 2 and f"{tmp_path} has no playbook files (*.yml)" in result.stderr
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"{tmp_path}:1: (folder): has no playbook files (*.yml); give the folder that holds them, or a playbook file"
    )


def test_report_on_a_missing_database_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'dir' / 'nudges.db'}"
    result = run("report", "--database-url", url, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"learning-nudges: no database at {tmp_path / 'sub' / 'dir' / 'nudges.db'} ({url}); nothing to report; "
        "point --database-url or DATABASE_URL at the deployment's database"
    )
    assert list(tmp_path.iterdir()) == []
    result = run("report", cwd=tmp_path)  # the default, learning-nudges.db in the current folder
    assert result.returncode == 1 and list(tmp_path.iterdir()) == []


def test_report_on_a_database_that_does_not_answer(tmp_path):
    result = run("report", "--database-url", "postgresql://u:hunter2@127.0.0.1:1/x", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(
        "learning-nudges: cannot report: DATABASE_URL=postgresql://127.0.0.1:1/x: the database does not answer"
    )
    assert "hunter2" not in result.stderr


def test_migrate_creates_the_tables_once_and_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    for _ in range(2):
        result = run("migrate", env={"DATABASE_URL": url}, cwd=tmp_path)
        assert result.returncode == 0
        assert result.stdout.strip() == f"learning-nudges: the tables in {url} are up to date"


async def test_the_report_fits_in_80_columns(bot):
    for body in SQL:
        await bot.deliver(
            "pull_request_review_comment",
            bot.review_comment(pr=1, author="alice", reviewer="bob", body=body),
        )
    await bot.deliver("pull_request_review_comment", b"{not json" + b" and a long tail" * 20)
    await bot.worker.drain()
    org = OrgSettings(leads={"a-lead-with-a-rather-long-login-name": ("alice",)})
    text = await build_report(bot.store, org, wrap=True)  # as on a terminal
    assert "sql-injection" in text and "led by a-lead-with-a-…" in text
    assert "\n  failed " in text  # the failed delivery and its reason, wrapped
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "\033[" not in text


def test_report_is_coloured_on_a_terminal_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    assert run("migrate", env={"DATABASE_URL": url}, cwd=tmp_path).returncode == 0
    piped = run("report", "--database-url", url, cwd=tmp_path)
    assert piped.returncode == 0 and "\033[" not in piped.stdout
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "report", "--database-url", url],
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TERM": "xterm"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(60) == 0
    on_tty = b"".join(chunks).decode()
    assert "\033[1mNudge decisions per playbook\033[0m" in on_tty
    no_color = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--database-url", url, "--color", "never"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert "\033[" not in no_color.stdout


def test_env_example_names_every_setting_and_loads():
    from dotenv import dotenv_values

    from bot.app.settings import PACKAGE_ROOT, SETTINGS_HELP

    text = (PACKAGE_ROOT / ".env.example").read_text()
    for name, _ in SETTINGS_HELP:
        assert f"\n{name}=" in text or f"\n# {name}=" in text, name
    values = dotenv_values(PACKAGE_ROOT / ".env.example")
    assert values["PRIVATE_KEY"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")


def test_constraints_pin_every_runtime_dependency():
    import re
    import tomllib

    from bot.app.settings import PACKAGE_ROOT

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    project = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {norm(re.split(r"[\[<>=!~ ]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    lines = [
        ln
        for ln in (PACKAGE_ROOT / "constraints.txt").read_text().splitlines()
        if ln and not ln.startswith("#")
    ]
    pinned = {norm(ln.split("==")[0]) for ln in lines}
    assert all("==" in ln for ln in lines)
    assert wanted <= pinned, wanted - pinned
