"""The engineer's say, a repository's say, and co-sign kept private: over the real HTTP paths.

Webhooks go to the running app signed, as GitHub sends them; every request the app makes is
checked by the stand-in GitHub against the API description (``fake.violations == []``).
"""

from __future__ import annotations

import copy
import re

import pytest
from conftest import INSTALLATION, OWNER, REPO, _iso, fixture_payload, running_bot
from test_config_sync import push_payload

from bot.core.commands import parse_command
from bot.core.nudges import NudgeState
from bot.core.org import OrgSettings
from bot.core.repo_settings import REPO_FILE

SQL_1 = "This builds the query with an f-string. Please use bind params here."
SQL_2 = "Same problem as before: concatenating user input into SQL; use a parameterized query."
SECRET_1 = "hardcoded password here"
SECRET_2 = "Please don't commit the API key, move it to an env var."
NO_HOLDOUT = OrgSettings(holdout_share=0.0, holdout_share_kept=0.0)
MENTION = re.compile(r"@[A-Za-z0-9]")


@pytest.fixture
async def bot(tmp_path, github, clock, rsa_key):
    async with running_bot(tmp_path, github, clock, rsa_key, org=NO_HOLDOUT) as b:
        yield b


def pr_comment(
    bot, *, pr: int, author: str, commenter: str, body: str, commenter_type: str = "User"
) -> dict:
    """An issue_comment.created payload on a pull request, and the comment in the fake's state."""
    bot.pull(pr, author)
    made = bot.github.add_issue_comment(
        OWNER, REPO, pr, user=commenter, body=body, user_type=commenter_type
    )
    payload = copy.deepcopy(fixture_payload("issue_comment.created.with-installation"))
    payload["installation"] = {
        "id": INSTALLATION,
        "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=",
    }
    payload["repository"].update(full_name=f"{OWNER}/{REPO}", name=REPO)
    payload["repository"]["owner"] = {**payload["repository"]["owner"], "login": OWNER}
    payload["issue"].update(
        number=pr, pull_request={"url": f"https://api.github.com/repos/{OWNER}/{REPO}/pulls/{pr}"}
    )
    payload["issue"]["user"] = {**payload["issue"]["user"], "login": author, "type": "User"}
    payload["comment"].update(
        id=made["id"], body=body, created_at=_iso(bot.clock()), updated_at=_iso(bot.clock())
    )
    payload["comment"]["user"] = {
        **payload["comment"]["user"],
        "login": commenter,
        "type": commenter_type,
    }
    payload["sender"] = {**payload["sender"], "login": commenter, "type": commenter_type}
    return payload


async def say(bot, event: str, payload: dict) -> None:
    await bot.deliver(event, payload)
    await bot.worker.drain()


async def two_comments(
    bot, *, author: str, pr: int, bodies=(SQL_1, SQL_2), first_pr: int | None = None
):
    first = bot.review_comment(pr=first_pr or pr, author=author, reviewer="bob", body=bodies[0])
    await say(bot, "pull_request_review_comment", first)
    bot.clock.advance(days=1)
    second = bot.review_comment(pr=pr, author=author, reviewer="erin", body=bodies[1])
    await say(bot, "pull_request_review_comment", second)
    return second


def ours(github, pr: int, *, thread: bool = True) -> list[dict]:
    listed = (
        github.review_comments(OWNER, REPO, pr)
        if thread
        else github.issue_comments(OWNER, REPO, pr)
    )
    return [c for c in listed if c["user"]["login"] == github.bot_login]


def reactions_by_app(github, kind: str, comment_id: int) -> list[str]:
    found = github._world.reactions(github._world.repo(OWNER, REPO), kind, comment_id)
    return [r["content"] for r in found if r["user"]["login"] == github.bot_login]


# ------------------------------------------------------------------------------ the commands


def test_commands_are_read_from_the_first_nudge_line():
    assert parse_command("thanks!\n/nudge mute sql-injection\n").__dict__ == {
        "verb": "mute",
        "playbook_id": "sql-injection",
        "problem": None,
    }
    assert parse_command("/NUDGE why").verb == "why"
    assert parse_command("/nudge").verb == "help"
    assert parse_command("/nudge stop").problem == "'stop' is not a command"
    assert parse_command("please /nudge mute") is None  # not at the start of a line
    assert parse_command("nothing to see") is None


async def test_a_mute_by_the_engineer_stops_nudges_and_is_acknowledged(bot):
    command = pr_comment(bot, pr=7, author="alice", commenter="alice", body="/nudge mute")
    await say(bot, "issue_comment", command)
    assert reactions_by_app(bot.github, "issue_comment", command["comment"]["id"]) == ["+1"]
    assert ours(bot.github, 7, thread=False) == [], (
        "a mute is acknowledged by a reaction, not a comment"
    )
    [mute] = await bot.store.mutes()
    assert (mute.engineer, mute.playbook_id, mute.action, mute.counted) == (
        "alice",
        None,
        "mute",
        True,
    )

    await two_comments(bot, author="alice", pr=7)
    assert ours(bot.github, 7) == []
    notes = [r.note for r in await bot.store.notes()]
    assert ("sql-injection", "muted") in [(n.playbook_id, n.outcome) for n in notes]
    assert len(await bot.store.signals()) == 2, "the comments still count for outcomes"

    # Unmuted, the next comments nudge again.
    unmute = pr_comment(bot, pr=8, author="alice", commenter="alice", body="/nudge unmute")
    await say(bot, "issue_comment", unmute)
    bot.clock.advance(days=1)
    third = bot.review_comment(pr=8, author="alice", reviewer="erin", body=SQL_2)
    await say(bot, "pull_request_review_comment", third)
    assert len(ours(bot.github, 8)) == 1


async def test_a_mute_by_someone_else_is_refused_politely_and_nudges_continue(bot):
    command = pr_comment(
        bot, pr=7, author="dana", commenter="bob", body="/nudge mute sql-injection"
    )
    await say(bot, "issue_comment", command)
    [answer] = ours(bot.github, 7, thread=False)
    assert "only the author of this pull request" in answer["body"]
    assert not MENTION.search(answer["body"]), "answers never mention anyone"
    assert reactions_by_app(bot.github, "issue_comment", command["comment"]["id"]) == ["eyes"]
    [mute] = await bot.store.mutes()
    assert (mute.by, mute.counted) == ("bob", False), "recorded as asked, and refused"

    await two_comments(bot, author="dana", pr=7)
    assert len(ours(bot.github, 7)) == 1, "dana still gets the nudge"


async def test_muting_one_playbook_leaves_the_others(bot):
    await two_comments(bot, author="alice", pr=7)
    [nudge] = ours(bot.github, 7)
    reply = bot.review_comment(
        pr=7,
        author="alice",
        reviewer="alice",
        body="/nudge mute sql-injection",
        in_reply_to=nudge["in_reply_to_id"],
    )
    await say(bot, "pull_request_review_comment", reply)
    assert reactions_by_app(bot.github, "pull_comment", reply["comment"]["id"]) == ["+1"]
    bot.clock.advance(days=40)  # past the cooldown
    await two_comments(bot, author="alice", pr=9)
    assert ours(bot.github, 9) == []
    await two_comments(
        bot,
        author="alice",
        pr=10,
        bodies=(
            "Swallowing the exception here hides failures; at least log it.",
            "This bare except: pass silently swallows errors.",
        ),
    )
    assert len(ours(bot.github, 10)) == 1


async def test_why_answers_in_the_thread_with_the_evidence_the_rule_and_the_budget_once(bot):
    await two_comments(bot, author="alice", pr=7)
    [nudge] = ours(bot.github, 7)
    reply = bot.review_comment(
        pr=7,
        author="alice",
        reviewer="alice",
        body="/nudge why",
        in_reply_to=nudge["in_reply_to_id"],
    )
    await bot.deliver("pull_request_review_comment", reply, delivery_id="why")
    await bot.deliver("pull_request_review_comment", reply, delivery_id="why-again")
    await bot.worker.drain()
    await bot.worker.tick()
    answers = [c for c in ours(bot.github, 7) if c["id"] != nudge["id"]]
    assert len(answers) == 1, "answered once, however often the command is delivered"
    body = answers[0]["body"]
    assert answers[0]["in_reply_to_id"] == nudge["in_reply_to_id"], "in the nudge's thread"
    assert "[comment 1](" in body and "[comment 2](" in body
    assert "The rule: 2 matching review comments within" in body
    assert "Budget left this sprint" in body and "1 of 2 nudges" in body
    assert not MENTION.search(body)


async def test_help_lists_the_commands_and_bots_are_never_answered(bot):
    command = pr_comment(bot, pr=7, author="alice", commenter="erin", body="/nudge help")
    await say(bot, "issue_comment", command)
    [answer] = ours(bot.github, 7, thread=False)
    for verb in ("/nudge mute", "/nudge unmute", "/nudge why", "/nudge help"):
        assert verb in answer["body"]
    from_bot = pr_comment(
        bot, pr=7, author="alice", commenter="ci[bot]", commenter_type="Bot", body="/nudge help"
    )
    await say(bot, "issue_comment", from_bot)
    echo = pr_comment(
        bot,
        pr=7,
        author="alice",
        commenter=bot.github.bot_login,
        commenter_type="Bot",
        body=answer["body"] + "\n/nudge help",
    )
    await say(bot, "issue_comment", echo)
    assert len(ours(bot.github, 7, thread=False)) == 2  # the first answer and the echo we made up
    assert len(await bot.store.answers()) == 1


async def help_asked_on(bot, *prs: int) -> dict:
    """``/nudge help`` on each pull request, all delivered before the worker answers any."""
    for pr in prs:
        command = pr_comment(bot, pr=pr, author="alice", commenter="erin", body="/nudge help")
        await bot.deliver("issue_comment", command)
    await bot.worker.drain()
    await bot.worker.tick()
    return {a.pr_number: a for a in await bot.store.answers()}


async def test_an_answer_github_refuses_fails_with_its_reason_and_the_next_one_is_written(bot):
    bot.github.inject_fault("POST", f"/repos/{OWNER}/{REPO}/issues/7/comments", status=422)
    by_pr = await help_asked_on(bot, 7, 8)
    assert by_pr[7].state == "failed" and by_pr[7].last_error.startswith(
        "GitHub will not accept it: 422"
    )
    assert by_pr[8].state == "done"
    assert ours(bot.github, 7, thread=False) == [] and len(ours(bot.github, 8, thread=False)) == 1
    assert bot.github.violations == []


async def test_an_answer_that_breaks_on_our_side_is_retried_later_and_the_others_go_on(bot):
    # GitHub answers the reply with a body that has no id: an error of ours, not GitHub's.
    bot.github.inject_fault("POST", f"/repos/{OWNER}/{REPO}/issues/7/comments", status=201, body={})
    by_pr = await help_asked_on(bot, 7, 8)
    assert by_pr[7].state == "planned" and by_pr[7].attempts == 1
    assert "KeyError" in by_pr[7].last_error
    assert by_pr[8].state == "done", "one broken answer does not stop the others"
    bot.clock.advance(hours=1)
    await bot.worker.tick()
    by_pr = {a.pr_number: a for a in await bot.store.answers()}
    assert by_pr[7].state == "done"
    assert len(ours(bot.github, 7, thread=False)) == 1, "answered once, after the retry"


# ------------------------------------------------------------------- the repository's settings


def repo_push(bot, text: str, sha: str) -> dict:
    bot.github.add_file(OWNER, REPO, REPO_FILE, text.encode())
    bot.github.add_file(OWNER, REPO, REPO_FILE, text.encode(), ref=sha)
    payload = push_payload("0" * 40, sha, modified=[REPO_FILE])
    payload["repository"].update(full_name=f"{OWNER}/{REPO}", name=REPO)
    return payload


async def test_a_repository_switches_a_playbook_off_and_a_broken_file_keeps_the_last_good(bot):
    off = "# our settings\nplaybooks_off: [sql-injection]\n"
    await say(bot, "push", repo_push(bot, off, "a" * 40))
    [run] = bot.github.check_runs(OWNER, REPO)
    assert (run["head_sha"], run["conclusion"]) == ("a" * 40, "success")

    await two_comments(bot, author="alice", pr=7)
    assert ours(bot.github, 7) == []
    notes = [(r.note.outcome, r.note.reason) for r in await bot.store.notes()]
    assert ("repo_off", f"sql-injection switched off in this repository by {REPO_FILE}") in notes

    broken = "playbooks_off: [sql-injection]\nenabled: maybe\n"
    await say(bot, "push", repo_push(bot, broken, "b" * 40))
    run = next(r for r in bot.github.check_runs(OWNER, REPO) if r["head_sha"] == "b" * 40)
    assert run["conclusion"] == "failure"
    [note] = run["output"]["annotations"]
    assert (note["path"], note["start_line"]) == (REPO_FILE, 2)
    assert "true or false" in note["message"]
    bot.clock.advance(days=40)
    await two_comments(bot, author="alice", pr=9)
    assert ours(bot.github, 9) == [], "the last good version stays in force"

    await say(bot, "push", repo_push(bot, "enabled: true\n", "c" * 40))
    bot.clock.advance(days=40)
    await two_comments(bot, author="alice", pr=11)
    assert len(ours(bot.github, 11)) == 1


async def test_a_repository_can_narrow_the_paths_read_from_the_default_branch(bot):
    bot.github.add_file(OWNER, REPO, REPO_FILE, b"paths: ['src/**']\n")
    await two_comments(bot, author="alice", pr=7)  # the stand-in's comments are on README.md
    assert ours(bot.github, 7) == []
    reasons = {r.note.reason for r in await bot.store.notes() if r.note.outcome == "repo_off"}
    assert any("outside the paths" in reason for reason in reasons)


# ------------------------------------------------------------------------- private co-sign

COSIGN_REPO = "learning-cosign"


async def test_a_private_co_sign_is_an_issue_assigned_to_the_lead_approved_by_a_thumbs_up(
    tmp_path, github, clock, rsa_key
):
    github.add_repo(OWNER, COSIGN_REPO, installation_id=INSTALLATION)
    org = OrgSettings(
        holdout_share=0.0,
        holdout_share_kept=0.0,
        leads={"carol": ("alice",)},
        cosign_repo=f"{OWNER}/{COSIGN_REPO}",
    )
    async with running_bot(tmp_path, github, clock, rsa_key, org=org) as bot:
        await two_comments(bot, author="alice", pr=7, bodies=(SECRET_1, SECRET_2))
        assert ours(bot.github, 7) == [] and ours(bot.github, 7, thread=False) == [], (
            "nothing on the PR"
        )
        [issue] = github.issues(OWNER, COSIGN_REPO)
        assert [a["login"] for a in issue["assignees"]] == ["carol"]
        assert "Secrets" in issue["title"] or "secret" in issue["title"].lower()
        assert "<details>" in issue["body"] and not MENTION.search(issue["body"])
        [nudge] = await bot.store.nudges()
        assert nudge.state == NudgeState.AWAITING_COSIGN

        github.add_reaction(
            "issue", OWNER, COSIGN_REPO, issue["number"], user="mallory", content="+1"
        )
        await bot.worker.tick()
        assert (await bot.store.nudge(nudge.key)).state == NudgeState.AWAITING_COSIGN, "not a lead"

        github.add_reaction(
            "issue", OWNER, COSIGN_REPO, issue["number"], user="carol", content="+1"
        )
        clock.advance(minutes=20)
        await bot.worker.tick()
        assert (await bot.store.nudge(nudge.key)).state == NudgeState.POSTED
        assert len(ours(bot.github, 7)) == 1, "the nudge goes to the review thread"
        [closed] = github.issues(OWNER, COSIGN_REPO)
        assert closed["state"] == "closed" and "Co-signed by carol" in closed["body"]
        counted = {(r.user, r.counted) for r in await bot.store.reactions() if r.target == "cosign"}
        assert counted == {("mallory", False), ("carol", True)}


async def test_a_muted_engineer_gets_no_follow_up_either(bot):
    from test_followup_flow import QUERY_PATCH, followup_comments, nudged, push

    await nudged(bot)
    [nudge] = ours(bot.github, 7)
    reply = bot.review_comment(
        pr=7,
        author="alice",
        reviewer="alice",
        body="/nudge mute sql-injection",
        in_reply_to=nudge["in_reply_to_id"],
    )
    await say(bot, "pull_request_review_comment", reply)
    bot.clock.advance(days=3)
    await push(bot, 8, {"src/db/orders.py": QUERY_PATCH})
    await bot.worker.tick()
    assert followup_comments(bot, 8) == []
    assert "followup_muted" in [r.note.outcome for r in await bot.store.notes()]


# ---------------------------------------------------------------------- pure rules, table-driven


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("enabled: maybe\n", 1, "true or false"),
        ("# settings\nplaybooks_off: missing-tests\n", 2, "a list"),
        ("paths:\n  - '/src/**'\n", 2, "relative to the repository's root"),
        ("enable: false\n", 1, "did you mean 'enabled'?"),
        ("paths: [src\n", 2, "check the indentation"),
    ],
)
def test_a_broken_repository_file_is_reported_at_its_line(text, line, words):
    from bot.core.repo_settings import parse_repo_settings

    settings, problems = parse_repo_settings(text)
    assert settings is None
    assert problems[0].file == REPO_FILE and problems[0].line == line, problems
    assert words in problems[0].message


def test_an_unknown_playbook_is_a_warning_and_the_file_still_loads():
    from bot.core.repo_settings import parse_repo_settings

    settings, [warning] = parse_repo_settings(
        "playbooks_off: [sql-injecton]\n", known_playbooks=["sql-injection"]
    )
    assert settings is not None and warning.warning and warning.line == 1


@pytest.mark.parametrize(
    ("patterns", "path", "matches"),
    [
        (["src/**"], "src/db/orders.py", True),
        (["src/**"], "lib/src/x.py", False),
        (["*.py"], "deep/in/here.py", True),
        (["docs/"], "docs/a/b.md", True),
        (["src/*.py"], "src/db/orders.py", False),
        (["**/migrations/**"], "app/migrations/0001.py", True),
    ],
)
def test_paths_are_globs(patterns, path, matches):
    from bot.core.repo_settings import path_matches

    assert path_matches(path, patterns) is matches


def test_a_playbook_past_the_thumbs_down_threshold_is_flagged_in_the_report_and_evidence():
    import datetime as dt

    from bot.core.evaluate import Evaluation, Verdict
    from bot.core.evidence import render_evidence
    from bot.core.feedback import feedback_shares, say_report
    from bot.store import ReactionRecord

    at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

    def evaluation():
        return Evaluation(
            77, "sql-injection", Verdict.NO_EFFECT, at - dt.timedelta(days=60), at, at, "why"
        )

    def votes(key, ups, downs):
        return [
            ReactionRecord(key, "nudge", f"u{i}", "+1", "engineer", True, at) for i in range(ups)
        ] + [
            ReactionRecord(key, "nudge", f"d{i}", "-1", "engineer", True, at) for i in range(downs)
        ]

    records = votes("k1", 8, 2) + votes("k2", 9, 1) + votes("k3", 1, 1)
    records.append(ReactionRecord("k1", "nudge", "lead", "-1", "lead", False, at))  # not counted
    shares = feedback_shares(records, {"k1": "a", "k2": "b", "k3": "c"})
    assert (shares["a"].flagged, shares["b"].flagged, shares["c"].flagged) == (True, False, False)
    assert shares["a"].total == 10  # the lead's uncounted 👎 is not in it
    assert feedback_shares(records, {"k1": "a"}, threshold=0.25)["a"].flagged is False

    class N:
        def __init__(self, key, pid):
            self.key, self.playbook_id = key, pid

    lines = "\n".join(say_report([N("k1", "a"), N("k2", "b")], records, [], OrgSettings()))
    assert "a: 8 👍 helped, 2 👎 did not help (20% 👎) — flagged" in lines
    assert "b: 9 👍 helped, 1 👎 did not help (10% 👎)\n" in lines + "\n"
    body = render_evidence("SQL injection", [evaluation()], "", feedback=shares["a"])
    assert "**Engineers' feedback.**" in body and "flagged" in body
    assert "Engineers' feedback" not in render_evidence(
        "SQL injection", [evaluation()], "", feedback=shares["b"]
    )


async def test_the_report_shows_the_mutes_in_force_and_the_refused_ones(bot):
    from bot.cli.report import build_report

    await say(
        bot,
        "issue_comment",
        pr_comment(bot, pr=7, author="alice", commenter="alice", body="/nudge mute sql-injection"),
    )
    await say(
        bot,
        "issue_comment",
        pr_comment(bot, pr=8, author="dana", commenter="bob", body="/nudge mute"),
    )
    report = await build_report(bot.store, NO_HOLDOUT)
    assert "  alice: sql-injection\n" in report
    assert "dana" not in report.split("Mutes asked with /nudge")[1].split("refused")[0]
    assert "  refused: 1\n" in report


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("cosign_repo: learning-cosign\n", 1, "write owner/name"),
        ("about_url: https://x.example\nfeedback: {threshold: 2}\n", 2, "between 0.01 and 0.9"),
        ("feedback:\n  min_reactions: 0\n", 2, "at least 1"),
    ],
)
def test_the_org_settings_for_private_co_sign_and_feedback_are_checked(text, line, words):
    from bot.core.org import parse_org_settings

    settings, problems = parse_org_settings(text, "org.yml")
    assert settings is None and problems[0].line == line and words in problems[0].message, problems


def test_the_org_settings_for_private_co_sign_and_feedback_load():
    from bot.core.org import parse_org_settings

    settings, problems = parse_org_settings(
        "cosign_repo: acme/learning-cosign\nfeedback: {threshold: 0.2, min_reactions: 20}\n",
        "org.yml",
    )
    assert problems == []
    assert (settings.cosign_repo, settings.feedback_threshold, settings.feedback_min_reactions) == (
        "acme/learning-cosign",
        0.2,
        20,
    )


def test_validate_checks_a_repository_settings_file(tmp_path):
    import io

    from bot.cli.validate import validate

    folder = tmp_path / ".github"
    folder.mkdir()
    path = folder / "learning-nudges.yml"
    path.write_text("enabled: true\npaths_ignore:\n  - 'vendor\\\\**'\n")
    out = io.StringIO()
    assert validate([path], out) == 1
    assert f"{path}:3: paths_ignore[0]: " in out.getvalue()
    path.write_text("playbooks_off: [sql-injection]\n")
    assert validate([path], io.StringIO()) == 0
