"""Playbooks and org settings kept in an organisation's repository, read through the contents API.

An L&D author edits playbooks in a repository and pushes; the app reloads them, keeps the last
good version of any broken file, and answers on the pushed commit with a check run whose
annotations name each broken file and line.
"""

from __future__ import annotations

import copy
import hashlib
import subprocess
import sys

import pytest
from conftest import INSTALLATION, OWNER, fixture_payload, running_bot
from test_nudge_flow import bot_comments, two_sql_comments

from bot.app.jobs.config_sync import CHECK_NAME
from bot.app.settings import PACKAGE_ROOT

CONFIG_REPO = "learning"
SHIPPED = PACKAGE_ROOT / "playbooks"
REMOTE_ORG = "holdout_share: 0.2\ncosign_expiry_days: 3\n"
BROKEN_PATTERN = "    - '(a)\\1'\n"


class ConfigRepo:
    """The organisation's playbooks repository in the fake, and pushes to it."""

    def __init__(self, github):
        self.github = github
        self.files: dict[str, bytes] = {}
        self.head = "0" * 40
        github.add_repo(OWNER, CONFIG_REPO, installation_id=INSTALLATION)

    def commit(self, changes: dict[str, str]) -> dict:
        """Write the files on the default branch (and at the new commit); the push payload."""
        before = self.head
        self.head = hashlib.sha1((before + repr(sorted(changes.items()))).encode()).hexdigest()
        added = [p for p in changes if p not in self.files]
        self.files.update({path: text.encode() for path, text in changes.items()})
        for path, content in self.files.items():
            self.github.add_file(OWNER, CONFIG_REPO, path, content)
            self.github.add_file(OWNER, CONFIG_REPO, path, content, ref=self.head)
        return push_payload(
            before, self.head, added=added, modified=[p for p in changes if p not in added]
        )


def push_payload(
    before: str, after: str, *, added=(), modified=(), ref: str = "refs/heads/main"
) -> dict:
    payload = copy.deepcopy(fixture_payload("push.with-installation"))
    commit = {
        "id": after,
        "tree_id": after,
        "distinct": True,
        "message": "Update playbooks",
        "timestamp": "2026-03-02T09:00:00Z",
        "url": f"https://github.com/{OWNER}/{CONFIG_REPO}/commit/{after}",
        "author": {"name": "Lee", "email": "lee@example.com", "username": "lee"},
        "committer": {"name": "Lee", "email": "lee@example.com", "username": "lee"},
        "added": list(added),
        "removed": [],
        "modified": list(modified),
    }
    payload.update(
        ref=ref,
        before=before,
        after=after,
        created=False,
        deleted=False,
        commits=[commit],
        head_commit=commit,
    )
    payload["installation"] = {
        "id": INSTALLATION,
        "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=",
    }
    payload["repository"].update(
        full_name=f"{OWNER}/{CONFIG_REPO}", name=CONFIG_REPO, default_branch="main"
    )
    payload["repository"]["owner"] = {**payload["repository"]["owner"], "login": OWNER}
    return payload


def shipped(name: str) -> str:
    return (SHIPPED / f"{name}.yml").read_text()


def broken_sql_playbook() -> tuple[str, int]:
    """The SQL playbook with a back-reference (not RE2) as its first pattern; and that line."""
    lines = shipped("sql-injection").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("- '"))
    lines[first] = BROKEN_PATTERN
    return "".join(lines), first + 1


@pytest.fixture
def local_dir(tmp_path):
    """The deployment's own folder: only an org.yml that points at the repository."""
    folder = tmp_path / "deployment"
    folder.mkdir()
    (folder / "org.yml").write_text(f"playbooks_repo: {OWNER}/{CONFIG_REPO}\n")
    return folder


@pytest.fixture
def config_repo(github):
    repo = ConfigRepo(github)
    repo.commit(
        {
            "playbooks/sql-injection.yml": shipped("sql-injection"),
            "playbooks/swallowed-errors.yml": shipped("swallowed-errors"),
            "playbooks/org.yml": REMOTE_ORG,
            "README.md": "Our playbooks\n",
        }
    )
    return repo


def ids(bot) -> list[str]:
    return sorted(p.id for p in bot.service.config.current.playbooks.playbooks)


def contents_reads(github) -> int:
    return sum(1 for r in github.requests if "/contents/" in r.path)


async def test_playbooks_and_org_settings_are_read_from_the_repository_at_start(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        assert ids(bot) == ["sql-injection", "swallowed-errors"]
        assert bot.service.config.current.org.cosign_expiry_days == 3, (
            "org.yml of the repository is in force"
        )
        await two_sql_comments(bot)
        assert len(bot_comments(github, 7)) == 1


async def test_a_push_with_a_broken_file_keeps_its_last_good_version_and_annotates_the_commit(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        broken, line = broken_sql_playbook()
        push = config_repo.commit(
            {
                "playbooks/sql-injection.yml": broken,
                "playbooks/missing-tests.yml": shipped("missing-tests"),
                "playbooks/org.yml": REMOTE_ORG + "cosign_expiry_days: 5\nholdout: 0.1\n",
            }
        )
        await bot.deliver("push", push)
        await bot.worker.drain()

        assert ids(bot) == ["missing-tests", "sql-injection", "swallowed-errors"]
        assert bot.service.config.current.org.cosign_expiry_days == 3, (
            "the broken org.yml is not in force"
        )
        [run] = github.check_runs(OWNER, CONFIG_REPO)
        assert (run["name"], run["head_sha"], run["status"], run["conclusion"]) == (
            CHECK_NAME,
            push["after"],
            "completed",
            "failure",
        )
        annotations = {(a["path"], a["start_line"]): a for a in run["output"]["annotations"]}
        sql = annotations[("playbooks/sql-injection.yml", line)]
        assert sql["end_line"] == line and sql["annotation_level"] == "failure"
        assert sql["message"].startswith("match.patterns[0]: is not a valid pattern")
        assert any(
            path == "playbooks/org.yml" and "appears twice" in a["message"]
            for (path, _), a in annotations.items()
        )
        assert any("unknown field" in a["message"] for a in annotations.values())
        # The last good SQL playbook still nudges.
        await two_sql_comments(bot)
        assert len(bot_comments(github, 7)) == 1


async def test_a_clean_push_reloads_and_gets_a_success_check_run(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        stricter = shipped("swallowed-errors").replace("cooldown_days: 30", "cooldown_days: 45")
        assert stricter != shipped("swallowed-errors")
        push = config_repo.commit({"playbooks/swallowed-errors.yml": stricter})
        await bot.deliver("push", push)
        await bot.worker.drain()
        assert (
            bot.service.config.current.playbooks.get("swallowed-errors").trigger.cooldown_days == 45
        )
        [run] = github.check_runs(OWNER, CONFIG_REPO)
        assert (run["head_sha"], run["conclusion"]) == (push["after"], "success")
        assert run["output"]["annotations"] == []


async def test_pushes_that_do_not_change_the_playbooks_are_ignored(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        reads = contents_reads(github)
        readme = config_repo.commit({"README.md": "Our playbooks, explained\n"})
        broken, _ = broken_sql_playbook()
        branch = config_repo.commit({"playbooks/sql-injection.yml": broken})
        branch["ref"] = "refs/heads/try-a-pattern"
        for payload in (readme, branch):
            await bot.deliver("push", payload)
        await bot.worker.drain()
        assert contents_reads(github) == reads
        assert github.check_runs(OWNER, CONFIG_REPO) == []
        assert [d.status for d in await bot.store.deliveries()] == ["done", "done"]


async def test_another_process_catches_up_without_the_push_and_unchanged_costs_nothing(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as other:
        sync = other.service.config_sync
        clock.advance(minutes=1)
        before = len(github.requests)
        await sync.refresh_if_due(clock())
        listing = [r for r in github.requests[before:] if "/contents/" in r.path]
        assert [r.status for r in listing] == [304], (
            "an unchanged folder is one conditional request"
        )
        config_repo.commit(
            {"playbooks/missing-tests.yml": shipped("missing-tests")}
        )  # handled elsewhere
        await sync.refresh_if_due(clock())
        assert "missing-tests" not in ids(other), "not due yet"
        clock.advance(minutes=1)
        await sync.refresh_if_due(clock())
        assert ids(other) == ["missing-tests", "sql-injection", "swallowed-errors"]
        assert github.check_runs(OWNER, CONFIG_REPO) == [], (
            "only the process handling the push reports"
        )


async def test_a_push_that_cannot_be_read_is_retried_then_reported_as_failed(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        github.inject_fault("GET", "/repos/acme/learning/contents/*", status=502, times=1000)
        push = config_repo.commit({"playbooks/missing-tests.yml": shipped("missing-tests")})
        await bot.deliver("push", push, delivery_id="push-during-outage")
        await bot.worker.drain()
        [record] = await bot.store.deliveries()
        assert (record.status, record.attempts) == ("pending", 1)
        assert await bot.worker.drain() == 0, "tried again after a backoff, not at once"
        for _ in range(4):
            clock.advance(hours=1)
            await bot.worker.drain()
        [record] = await bot.store.deliveries()
        assert (record.status, record.attempts) == ("failed", 5)
        assert (
            "acme/learning/playbooks at" in record.error and "GitHub answered 502" in record.error
        )
        assert ids(bot) == ["sql-injection", "swallowed-errors"], "the playbooks in force are kept"
        report = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "report",
                "--database-url",
                bot.service.settings.database_url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=PACKAGE_ROOT,
        )
        assert report.returncode == 0, report.stderr
        assert f"failed push-during-outage (push, 5 attempts): {record.error}" in report.stdout
