"""The command line as operators and playbook authors meet it: real processes, real output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from bot.app.settings import PACKAGE_ROOT, Settings, SettingsError


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", cwd=None
) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd or PACKAGE_ROOT,
        timeout=60,
    )


def test_serve_refuses_to_start_without_a_webhook_secret():
    result = run("serve", env={"APP_ID": "1", "PRIVATE_KEY_PATH": "/nonexistent.pem"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "WEBHOOK_SECRET is not set" in lines[0]


def test_serve_names_the_missing_key_without_printing_secrets():
    result = run("serve", env={"WEBHOOK_SECRET": "s3cr3t-value", "APP_ID": "12"})
    assert result.returncode == 2
    assert "PRIVATE_KEY or PRIVATE_KEY_PATH is not set" in result.stderr
    assert "s3cr3t-value" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"WEBHOOK_SECRET": "x"}, "APP_ID"),
        (
            {"WEBHOOK_SECRET": "x", "APP_ID": "1", "PRIVATE_KEY": "not a key"},
            "PRIVATE_KEY does not look",
        ),
        (
            {"WEBHOOK_SECRET": "x", "APP_ID": "1", "PRIVATE_KEY_PATH": "/nope.pem"},
            "PRIVATE_KEY_PATH=/nope.pem cannot be read",
        ),
        (
            {
                "WEBHOOK_SECRET": "x",
                "APP_ID": "1",
                "PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----",
                "PORT": "http",
            },
            "PORT",
        ),
        (
            {
                "WEBHOOK_SECRET": "x",
                "APP_ID": "1",
                "PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----",
                "GITHUB_API_URL": "api.github.com",
            },
            "GITHUB_API_URL",
        ),
    ],
)
def test_each_unusable_setting_is_named(env, names):
    with pytest.raises(SettingsError, match=names.replace("(", r"\(")) as raised:
        Settings.from_env(env)
    assert env.get("PRIVATE_KEY", "-") not in str(raised.value), "the key itself is never echoed"


def test_settings_repr_hides_secrets():
    settings = Settings.from_env(
        {
            "WEBHOOK_SECRET": "hush",
            "APP_ID": "7",
            "PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nAAAA",
        }
    )
    assert "hush" not in repr(settings) and "AAAA" not in repr(settings)
    assert settings.github_api_url == "https://api.github.com"
    assert settings.database_url.startswith("sqlite:///")


def test_validate_reports_every_broken_file_and_exits_1(tmp_path):
    shutil.copy(PACKAGE_ROOT / "playbooks" / "sql-injection.yml", tmp_path)
    (tmp_path / "typo.yml").write_text(
        "id: typo\ntitle: Typo\nmatch:\n  patterns: ['\\bfoo']\ntrgger:\n  comments: 2\nnudge:\n  play: hi\n"
    )
    (tmp_path / "bad-yaml.yml").write_text("id: bad-yaml\ntitle: [unclosed\n")
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    out = result.stdout
    assert f"{tmp_path / 'typo.yml'}:5: trgger: unknown field; did you mean 'trigger'?" in out
    assert f"{tmp_path / 'bad-yaml.yml'}:" in out and "(yaml)" in out
    assert "1 playbook OK; 2 files with problems" in out


def test_validate_passes_on_the_shipped_playbooks_and_warns_that_nobody_can_co_sign():
    result = run("validate")
    assert result.returncode == 0, result.stdout  # a warning alone is not a failure
    org = PACKAGE_ROOT / "playbooks" / "org.yml"
    line = next(
        n for n, text in enumerate(org.read_text().splitlines(), 1) if text.startswith("leads:")
    )
    assert result.stdout.splitlines() == [
        f"{org}:{line}: warning: leads: nobody can co-sign, so the significant playbook "
        "secrets-in-code is never sent; name each lead with the logins or teams they co-sign for, "
        "like:  leads: {carol: [alice, team:backend]}",
        "9 playbooks OK, 1 org settings file checked; 1 warning",
    ]


def test_validate_is_quiet_once_the_example_lead_is_written_in(tmp_path):
    shutil.copytree(PACKAGE_ROOT / "playbooks", tmp_path / "playbooks")
    org = tmp_path / "playbooks" / "org.yml"
    text = org.read_text()
    assert "#   leads:\n#     carol: [alice, team:backend]" in text  # the shipped example
    org.write_text(text.replace("leads: {}", "leads:\n  carol: [team:backend]"))
    result = run("validate", str(tmp_path / "playbooks"))
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["9 playbooks OK, 1 org settings file checked"]


def test_validate_reports_a_huge_day_count_and_deep_nesting_instead_of_crashing(tmp_path):
    shutil.copy(PACKAGE_ROOT / "playbooks" / "sql-injection.yml", tmp_path)
    text = (tmp_path / "sql-injection.yml").read_text()
    (tmp_path / "sql-injection.yml").write_text(
        text.replace("within_days: 30", "within_days: 99999999999")
    )
    (tmp_path / "deep.yml").write_text("id: deep\ntitle: " + "[" * 50_000 + "]" * 50_000 + "\n")
    (tmp_path / "org.yml").write_text(
        "sprint:\n  days: 1000000000\nleads:\n  carol: [team:backend]\n"
    )
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    out = result.stdout
    assert (
        f"{tmp_path / 'deep.yml'}:2: (yaml): sections and lists are nested more than 20 levels deep"
        in out
    )
    assert (
        "trigger.within_days: must be at most 365 days (a year), found 99999999999; write a number from 1 to 365, like 30"
        in out
    )
    assert (
        f"{tmp_path / 'org.yml'}:2: sprint.days: must be at most 90 days, found 1000000000" in out
    )
    assert "0 playbooks OK, 1 org settings file checked; 3 files with problems" in out


def test_classify_reads_json_lines_and_adds_the_matching_playbooks():
    lines = [
        {"text": "use bind params here", "id": 1},
        {"text": "nice work!", "id": 2},
        {"text": "bare except: pass swallows the error", "id": 3},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    result = run("classify", stdin=stdin)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["id"], o["playbooks"]) for o in out] == [
        (1, ["sql-injection"]),
        (2, []),
        (3, ["swallowed-errors"]),
    ]
    assert "line 4: skipped" in result.stderr
    assert result.returncode == 1


def test_report_on_an_empty_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert (
        run("migrate", env={"DATABASE_URL": url}).returncode == 0
    )  # report itself creates nothing
    result = run("report", "--database-url", url)
    assert result.returncode == 0
    assert "Nudge decisions per playbook" in result.stdout and "(nothing yet)" in result.stdout


def test_demo_tells_the_story_and_ends_with_a_summary():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(
        "Summary: 28 webhooks; 3 nudges posted (1 after a lead's co-sign), 1 held out, 1 over "
        "budget; 5 follow-ups posted, 2 dropped"
    )
    assert "0 duplicate posts" in last
    for expected in (
        "held out",
        "401 refused",
        "recorded as failed",
        "does not count",
        "budget spent",
        "✉ bot posted follow-up 1 of alice's SQL injection series on PR #108",
        "alice · sql-injection",
    ):
        assert expected in result.stdout


TOKENS = (
    "id: literal-tokens\ntitle: Tokens in code\nmatch:\n  patterns:\n"
    "    - '\\bhard-?coded\\s+token'\n  on_code:\n"
    "    - comment: '\\bshould\\s*n.t\\s+be\\s+here\\b'\n"
    "      code: '(?i)token\\w*\\s*=\\s*\"[^\"\\s]{8,}'\n"
    "nudge:\n  play: Read tokens from the environment.\n"
)


def test_classify_reads_a_line_comment_beside_its_code(tmp_path):
    (tmp_path / "literal-tokens.yml").write_text(TOKENS)
    folder = ["--playbooks", str(tmp_path)]
    said = "This shouldn't be here."
    shown = run("classify", *folder, "--text", said, "--code", 'API_TOKEN = "abcdefghijk"')
    assert shown.returncode == 0, shown.stderr
    assert "literal-tokens" in shown.stdout
    assert "on code: (?i)token" in shown.stdout
    assert 'code:    API_TOKEN = "abcdefghijk"' in shown.stdout
    assert "no playbook matched" in run("classify", *folder, "--text", said).stdout
    lines = [
        {"text": said, "diff_hunk": '@@ -1 +1,2 @@\n x = 1\n+API_TOKEN = "abcdefghijk"'},
        {"text": said, "diff_hunk": "@@ -1 +1 @@\n+x = 1"},
        {"text": said, "diff_hunk": 42},
    ]
    result = run(
        "classify", *folder, "--explain", stdin="\n".join(json.dumps(x) for x in lines) + "\n"
    )
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["playbooks"] for o in out] == [["literal-tokens"], []]
    assert out[0]["matches"][0]["code_words"] == 'API_TOKEN = "abcdefghijk"'
    assert "line 3: skipped" in result.stderr and "diff_hunk must be" in result.stderr
    assert result.returncode == 1
