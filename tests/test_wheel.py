"""A real package: the wheel, installed in a fresh virtual environment, runs from any folder.

Builds the wheel from this checkout, installs it (with the ``demo`` extra, from the package
index pip is configured with) into a new virtual environment, and runs ``validate``,
``classify`` and ``demo`` from a folder that has nothing of the repository in it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from bot.app.settings import PACKAGE_ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh environment's python, an unrelated working folder)."""
    root = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--outdir",
            str(root / "dist"),
            str(PACKAGE_ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("learning_nudges-*.whl")
    venv.create(root / "env", with_pip=True)
    python = root / "env" / "bin" / "python"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{wheel}[demo]"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return python, elsewhere


def run(
    installed, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    python, cwd = installed
    return subprocess.run(
        [str(python), "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **(env or {})},
        timeout=120,
        check=False,
    )


def test_the_installed_package_is_not_the_checkout(installed):
    python, cwd = installed
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import bot, bot.app.settings as s; print(bot.__file__); print(s.SHIPPED_PLAYBOOKS)",
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    ).stdout.splitlines()
    assert all(str(PACKAGE_ROOT) not in line for line in where)
    assert where[1].endswith("site-packages/bot/shipped/playbooks")


def test_validate_checks_the_shipped_playbooks(installed):
    result = run(installed, "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        result.stdout.splitlines()[-1] == "9 playbooks OK, 1 org settings file checked; 1 warning"
    )


def test_classify_uses_the_shipped_playbooks(installed):
    result = run(installed, "classify", stdin=json.dumps({"text": "use bind params here"}) + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "text": "use bind params here",
        "playbooks": ["sql-injection"],
    }


def test_demo_runs_and_writes_its_page(installed):
    result = run(installed, "demo", "--html", "demo.html")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("Summary: 28 webhooks; 3 nudges posted")
    assert (installed[1] / "demo.html").read_text().count('class="pr"') >= 7
    assert sorted(p.name for p in installed[1].iterdir()) == [
        "demo.html"
    ]  # nothing else left behind


def test_version_and_the_console_script(installed):
    python, cwd = installed
    script = python.parent / "learning-nudges"
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert result.stdout.strip() == "learning-nudges 0.1.0"


def test_migrate_report_simulate_and_serve_run_from_the_wheel(installed):
    _, cwd = installed
    db = f"sqlite:///{cwd / 'n.db'}"
    migrated = run(installed, "migrate", env={"DATABASE_URL": db})
    assert migrated.returncode == 0, migrated.stderr
    report = run(installed, "report", "--database-url", db)
    assert report.returncode == 0 and report.stdout.startswith("Nudge decisions per playbook")
    simulated = run(installed, "simulate", "--days", "10", "--engineers", "10")
    assert simulated.returncode == 0, simulated.stderr
    # serve gets as far as GitHub: the settings, the store and the 9 shipped playbooks are fine
    from bot.testing.fakegithub import app_keypair

    env = {
        "WEBHOOK_SECRET": "x",
        "APP_ID": "1",
        "PRIVATE_KEY": app_keypair()[0],
        "DATABASE_URL": db,
        "GITHUB_API_URL": "http://127.0.0.1:9",
    }
    served = run(installed, "serve", env=env)
    assert served.returncode == 2
    assert (
        'msg="loaded 9 playbooks from ' in served.stderr
        and "site-packages/bot/shipped/playbooks" in served.stderr
    )
    assert served.stderr.splitlines()[-1].startswith(
        "learning-nudges: cannot start: GITHUB_API_URL=http://127.0.0.1:9 does not answer"
    )
    (cwd / "n.db").unlink()
