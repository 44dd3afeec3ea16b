"""A pull request to the playbooks repository gets a check run on its head commit.

Problems are annotations at file and line, the examples are run, and for each changed playbook
the check says which labelled review comments it now matches or stops matching; nothing is put
in force before the merge.
"""

from __future__ import annotations

import copy
import hashlib

from conftest import INSTALLATION, OWNER, fixture_payload, running_bot
from test_config_sync import CONFIG_REPO, broken_sql_playbook, config_repo, local_dir, shipped  # noqa: F401

from bot.app.jobs.config_sync import PR_CHECK_NAME, labelled_comments

# A wider missing-tests playbook: a request for docs on test functions (labelled about no
# playbook, and matched by none of the shipped patterns) now matches as well.
WIDER = "    - '\\bcode-docs\\s+to\\s+test\\s+functions'\n"


def propose(
    github, config_repo, changes: dict[str, str], *, number: int = 12, action: str = "opened"
) -> dict:
    """A branch with ``changes`` on top of the default branch, and the pull_request payload for it."""
    base = config_repo.head
    head = hashlib.sha1((base + repr(sorted(changes.items()))).encode()).hexdigest()
    files = {**{p: t.decode() for p, t in config_repo.files.items()}, **changes}
    for path, text in files.items():
        github.add_file(OWNER, CONFIG_REPO, path, text.encode(), ref=head)
    payload = copy.deepcopy(fixture_payload("pull_request.synchronize"))
    repo = payload["repository"]
    repo.update(full_name=f"{OWNER}/{CONFIG_REPO}", name=CONFIG_REPO, default_branch="main")
    repo["owner"] = {**repo["owner"], "login": OWNER}
    pull = payload["pull_request"]
    pull["number"] = payload["number"] = number
    pull["head"].update(sha=head, ref="new-playbook", repo=copy.deepcopy(repo))
    pull["base"].update(sha=base, ref="main", repo=copy.deepcopy(repo))
    payload["action"] = action
    payload["installation"] = {
        "id": INSTALLATION,
        "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=",
    }
    return payload


def wider_missing_tests() -> tuple[str, str]:
    text = shipped("missing-tests")
    lines = text.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("- '"))
    return text, "".join(lines[:first] + [WIDER] + lines[first:])


async def test_a_pull_request_with_a_good_and_a_broken_playbook_gets_annotations_and_a_match_diff(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    before, wider = wider_missing_tests()
    config_repo.commit({"playbooks/missing-tests.yml": before})
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        in_force = bot.service.config.current
        broken, line = broken_sql_playbook()
        bad_yaml = "id: unvalidated-input\ntitle: Unvalidated input\nmatch:\n  patterns:\n    - 'x\n  - y\n"
        payload = propose(
            github,
            config_repo,
            {
                "playbooks/missing-tests.yml": wider,
                "playbooks/sql-injection.yml": broken,
                "playbooks/unvalidated-input.yml": bad_yaml,
            },
        )
        await bot.deliver("pull_request", payload)
        await bot.worker.drain()

        assert bot.service.config.current is in_force, "nothing is put in force before the merge"
        [run] = github.check_runs(OWNER, CONFIG_REPO)
        assert (run["name"], run["head_sha"], run["status"], run["conclusion"]) == (
            PR_CHECK_NAME,
            payload["pull_request"]["head"]["sha"],
            "completed",
            "failure",
        )
        annotations = {
            (a["path"], a["start_line"]): a["message"] for a in run["output"]["annotations"]
        }
        assert annotations[("playbooks/sql-injection.yml", line)].startswith(
            "match.patterns[0]: is not a valid pattern"
        )
        [(yaml_line, yaml_message)] = [
            (ln, m) for (p, ln), m in annotations.items() if p == "playbooks/unvalidated-input.yml"
        ]
        assert yaml_message.startswith(
            "(yaml): the quoted text that starts on this line is never closed"
        )
        assert yaml_line == 5, "the line of the unclosed quote, not the end of the file"
        assert not any(p == "playbooks/missing-tests.yml" for p, _ in annotations)

        summary = run["output"]["summary"]
        assert len(summary) < 65_535
        labelled = labelled_comments()
        gained = [c for c in labelled if "code-docs to test functions" in c.text.lower()]
        assert gained, "the labelled set has comments the wider pattern now matches"
        section = summary.split("### `missing-tests` (changed)")[1].split("###")[0]
        assert "**Now matches**" in section and "Stops matching" not in section
        assert any(" ".join(c.text.split())[:60].replace("`", "'") in section for c in gained)
        assert "`playbooks/sql-injection.yml`" in summary and "Not readable at the head" in summary
        assert "missing-tests`: all" in summary, "the examples were run"
        assert "## Dry run on the organisation's history" in summary
        assert "Not available in this deployment" not in summary, "the wiring runs the dry run"
        assert "Nothing was posted." in summary


async def test_a_clean_pull_request_succeeds_and_a_merged_push_still_reloads(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        payload = propose(
            github, config_repo, {"playbooks/missing-tests.yml": shipped("missing-tests")}
        )
        await bot.deliver("pull_request", payload)
        await bot.worker.drain()
        [run] = github.check_runs(OWNER, CONFIG_REPO)
        assert run["conclusion"] == "success" and run["output"]["annotations"] == []
        assert "### `missing-tests` (added): matches 0 →" in run["output"]["summary"]
        assert "missing-tests" not in [p.id for p in bot.service.config.current.playbooks.playbooks]


async def test_pull_requests_to_other_repositories_get_no_playbook_check(
    tmp_path, github, clock, rsa_key, local_dir, config_repo
):
    async with running_bot(tmp_path, github, clock, rsa_key, playbooks_dir=local_dir) as bot:
        payload = propose(github, config_repo, {"playbooks/missing-tests.yml": "id: [\n"})
        payload["repository"]["full_name"] = f"{OWNER}/shop"
        await bot.deliver("pull_request", payload)
        await bot.worker.drain()
        assert github.check_runs(OWNER, CONFIG_REPO) == []
