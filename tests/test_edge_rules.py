"""The rules the edges follow, as tables: the outbox's writes and retries, whose reaction counts,
where an evidence issue may be written, and what a folder of playbooks puts in force."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bot.core.config_folder import FileVersion, FolderState, apply_folder, check_run_report
from bot.core.cosign import (
    COSIGN_TARGET,
    NUDGE_TARGET,
    Reaction,
    judge_reactions,
    leads_for,
)
from bot.core.evaluate import Evaluation, Verdict
from bot.core.evidence import evidence_marker
from bot.core.evidence_issue import evidence_write, find_evidence_issue, may_publish
from bot.core.nudges import Nudge, NudgeState
from bot.core.org import OrgSettings
from bot.core.outbox import (
    MAX_ATTEMPTS,
    OUTBOX_STATES,
    GiveUp,
    RetryLater,
    after_failure,
    needs_cosign_request,
    needs_write,
    orphaned,
    posted,
)
from bot.core.yamlcheck import Problem

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def nudge(state: NudgeState = NudgeState.PLANNED, **changes) -> Nudge:
    base = Nudge(
        key="k1",
        installation_id=77,
        repo="acme/shop",
        pr_number=7,
        engineer="Alice",
        playbook_id="sql-injection",
        state=state,
        reason="2 matching comments",
        created_at=T0,
        trigger_at=T0,
        thread_id=11,
    )
    return base.moved(state, base.reason, **changes)


# the outbox -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, changes, owed, is_request",
    [
        (NudgeState.PLANNED, {}, True, False),
        (NudgeState.COSIGNED, {}, True, False),
        (NudgeState.AWAITING_COSIGN, {}, True, True),  # the request is not posted yet
        (NudgeState.AWAITING_COSIGN, {"cosign_comment_id": 5}, False, True),  # posted: polled only
        (NudgeState.POSTED, {}, False, False),
        (NudgeState.HELD_OUT, {}, False, False),
        (NudgeState.SUPPRESSED_BUDGET, {}, False, False),
        (NudgeState.NO_LEAD, {}, False, False),
        (NudgeState.VETOED, {}, False, False),
        (NudgeState.EXPIRED, {}, False, False),
        (NudgeState.FAILED, {}, False, False),
    ],
)
def test_which_nudges_owe_github_a_write(state, changes, owed, is_request):
    n = nudge(state, **changes)
    assert needs_write(n) is owed
    assert needs_cosign_request(n) is is_request
    assert (not owed) or n.state in OUTBOX_STATES, "the store lists every nudge that owes a write"


@pytest.mark.parametrize("attempts_before", range(MAX_ATTEMPTS - 1))
def test_a_failed_write_is_retried_later_from_the_moment_it_failed(attempts_before):
    seen = T0 + dt.timedelta(hours=3)
    outcome = after_failure(
        nudge(attempts=attempts_before), "502 Bad Gateway", seen, random.Random(1)
    )
    assert isinstance(outcome, RetryLater)
    assert outcome.at > seen, "never scheduled in the past, whatever clock reading came before"
    assert outcome.at == seen + dt.timedelta(seconds=outcome.wait_seconds)
    assert outcome.reason == "502 Bad Gateway"


def test_retries_back_off_and_then_the_nudge_fails_with_its_reason():
    waits = [
        after_failure(nudge(attempts=a), "502", T0, random.Random(7)).wait_seconds for a in range(4)
    ]
    assert waits == sorted(waits) and waits[-1] > waits[0]
    final = after_failure(nudge(attempts=MAX_ATTEMPTS - 1), "422 locked", T0, random.Random(1))
    assert isinstance(final, GiveUp)
    assert final.nudge.state == NudgeState.FAILED
    assert final.nudge.reason == f"GitHub refused it {MAX_ATTEMPTS} times; last: 422 locked"


def test_a_nudge_whose_playbook_is_gone_fails_and_a_posted_one_says_how():
    assert orphaned(nudge()).state == NudgeState.FAILED
    assert "no longer loaded" in orphaned(nudge()).reason
    done = posted(nudge(NudgeState.COSIGNED, resolved_by="carol"), 99, T0)
    assert (done.state, done.comment_id, done.posted_at) == (NudgeState.POSTED, 99, T0)
    assert done.reason == "posted (co-signed by carol)"
    assert posted(nudge(), 98, T0).reason == "posted (2 matching comments)"


# reactions ------------------------------------------------------------------------------------

ORG = OrgSettings(leads={"carol": ("alice",), "dave": ("team:backend",)})
TEAMS = {"backend": frozenset({"alice", "bob"})}


def reaction(user: str, content: str = "+1") -> Reaction:
    return Reaction(user=user, content=content, at=T0)


@pytest.mark.parametrize(
    "user, target, role, counted",
    [
        ("alice", NUDGE_TARGET, "engineer", True),  # the engineer's own feedback
        ("ALICE", NUDGE_TARGET, "engineer", True),
        ("carol", NUDGE_TARGET, "lead", False),  # a lead's 👍 on the nudge is not feedback
        ("dave", NUDGE_TARGET, "lead", False),  # a lead through a team is a lead, not "other"
        ("mallory", NUDGE_TARGET, "other", False),
        ("carol", COSIGN_TARGET, "lead", True),
        ("mallory", COSIGN_TARGET, "other", True),  # counted unless the co-sign rule ignored it
    ],
)
def test_who_reacted_and_whether_it_counts(user, target, role, counted):
    r = reaction(user)
    [verdict] = judge_reactions(nudge(), target, [r], leads_for(nudge(), ORG, TEAMS))
    assert (verdict.role, verdict.counted) == (role, counted)


def test_reactions_the_cosign_rule_ignored_do_not_count():
    r = reaction("mallory")
    [verdict] = judge_reactions(nudge(), COSIGN_TARGET, [r], frozenset(), ignored=[r])
    assert not verdict.counted


def test_leads_are_those_asked_or_else_the_orgs_with_teams_resolved():
    assert leads_for(nudge(leads=("Carol",)), ORG, TEAMS) == {"carol"}
    assert leads_for(nudge(), ORG, TEAMS) == {"carol", "dave"}
    assert leads_for(nudge(), ORG, {}) == {"carol"}, "an unread team names nobody"


# evidence issues ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "evidence_repo, repos, allowed",
    [
        ("acme/learning", ["acme/shop"], True),
        ("ACME/learning", ["acme/shop"], True),
        ("rival/learning", ["acme/shop"], False),  # never write to another organisation
        ("acme/learning", [], False),
        (None, ["acme/shop"], False),
        ("", ["acme/shop"], False),
        ("not-a-repo", ["acme/shop"], False),
    ],
)
def test_evidence_is_written_only_to_the_installations_own_org(evidence_repo, repos, allowed):
    assert may_publish(evidence_repo, repos) is allowed


def evaluation(verdict: Verdict, at: dt.datetime = T0) -> Evaluation:
    return Evaluation(77, "sql-injection", verdict, T0 - dt.timedelta(days=60), T0, at, "why")


@pytest.mark.parametrize(
    "verdict, existing_state, reopened",
    [
        (Verdict.NO_EFFECT, "closed", True),  # a pause asks for attention again
        (Verdict.NO_DATA, "closed", True),
        (Verdict.NO_EFFECT, "open", False),
        (Verdict.EFFECTIVE, "closed", False),  # people closed it; a keep leaves it so
        (Verdict.EFFECTIVE, None, False),
    ],
)
def test_an_evidence_issue_is_reopened_only_by_a_pause(verdict, existing_state, reopened):
    existing = None if existing_state is None else {"number": 3, "state": existing_state}
    data = evidence_write("SQL injection", [evaluation(verdict)], "playbooks/sql.yml", existing)
    assert (data.get("state") == "open") is reopened
    assert evidence_marker("sql-injection") in data["body"]


def test_the_evidence_issue_is_found_by_its_marker_and_never_a_pull_request():
    marker = evidence_marker("sql-injection")
    listed = [
        {"number": 1, "body": marker, "pull_request": {}},
        {"number": 2, "body": "unrelated"},
        {"number": 3, "body": f"figures\n{marker}"},
    ]
    assert find_evidence_issue("sql-injection", listed)["number"] == 3
    assert find_evidence_issue("missing-tests", listed) is None


# a folder of playbooks ------------------------------------------------------------------------

GOOD = """\
id: {id}
title: {title}
match:
  patterns: ['\\bbind param']
nudge:
  play: Use bind parameters.
  checklist: [Bind every value]
  link: {{title: OWASP, url: 'https://owasp.org/'}}
"""


def test_a_broken_file_keeps_its_last_good_version_and_a_removed_one_is_gone():
    first = apply_folder(
        FolderState(),
        {"p/aaa.yml": "1", "p/bbb.yml": "1"},
        {
            "p/aaa.yml": GOOD.format(id="aaa", title="A"),
            "p/bbb.yml": GOOD.format(id="bbb", title="B"),
        },
    )
    assert [p.id for p in first.playbook_list()] == ["aaa", "bbb"] and first.problems() == []
    broken = apply_folder(
        first, {"p/aaa.yml": "2", "p/bbb.yml": "1"}, {"p/aaa.yml": "id: [unclosed"}
    )
    assert [p.title for p in broken.playbook_list()] == ["A", "B"], "the last good a.yml stays"
    assert [p.file for p in broken.problems()] == ["p/aaa.yml"]
    assert broken.to_read({"p/aaa.yml": "2", "p/bbb.yml": "1"}) == ([], set()), (
        "nothing new to read"
    )
    removed = apply_folder(broken, {"p/bbb.yml": "1"}, {})
    assert [p.id for p in removed.playbook_list()] == ["bbb"] and removed.problems() == []


def test_a_duplicate_id_is_a_problem_of_the_changed_file():
    first = apply_folder(
        FolderState(), {"p/aaa.yml": "1"}, {"p/aaa.yml": GOOD.format(id="aaa", title="A")}
    )
    # another folder of the same repository: the file name matches, the id clashes
    clash = apply_folder(
        first, {"p/aaa.yml": "1", "q/aaa.yml": "1"}, {"q/aaa.yml": GOOD.format(id="aaa", title="C")}
    )
    assert [p.title for p in clash.playbook_list()] == ["A"]
    [problem] = clash.problems()
    assert (problem.file, problem.field) == (
        "q/aaa.yml",
        "id",
    ) and "already used by p/aaa.yml" in problem.message


def test_an_org_file_replaces_the_org_settings_and_removing_it_drops_them():
    state = apply_folder(
        FolderState(), {"p/org.yml": "1"}, {"p/org.yml": "cosign_expiry_days: 3\n"}
    )
    assert state.org is not None and state.org.cosign_expiry_days == 3
    assert apply_folder(state, {}, {}).org is None


def test_an_unreadable_file_is_reported_where_it_is():
    state = apply_folder(
        FolderState(),
        {"p/x.yml": "1"},
        {},
        {"p/x.yml": Problem("p/x.yml", 1, "(file)", "not UTF-8")},
    )
    assert state.seen["p/x.yml"] == FileVersion(
        "1", (Problem("p/x.yml", 1, "(file)", "not UTF-8"),)
    )


def test_the_check_run_says_success_or_lists_each_problem_in_batches_github_accepts():
    ok = check_run_report([], 9)
    assert (ok.conclusion, ok.title, ok.annotations) == ("success", "9 playbooks loaded", ((),))
    problems = [Problem(f"p/{i:02}.yml", i + 1, "match.patterns", "not RE2") for i in range(51)]
    bad = check_run_report(problems, 3)
    assert bad.conclusion == "failure" and bad.title == "51 problems in 51 files"
    assert [len(b) for b in bad.annotations] == [50, 1]
    first = bad.annotations[0][0]
    assert (first["path"], first["start_line"], first["message"]) == (
        "p/00.yml",
        1,
        "match.patterns: not RE2",
    )
    assert "`p/00.yml`" in bad.summary and "python -m bot validate" in bad.summary


def test_the_classifier_budget_counts_the_kept_playbooks_with_the_changed_ones():
    from bot.core.patterns import SetBudget, pattern_info

    one = pattern_info("\\bbind param").instructions
    budget = SetBudget(instructions=one * 2 - 1)  # room for one playbook, not two
    first = apply_folder(
        FolderState(),
        {"p/aaa.yml": "1"},
        {"p/aaa.yml": GOOD.format(id="aaa", title="A")},
        budget=budget,
    )
    assert [p.id for p in first.playbook_list()] == ["aaa"]
    second = apply_folder(
        first,
        {"p/aaa.yml": "1", "p/bbb.yml": "1"},
        {"p/bbb.yml": GOOD.format(id="bbb", title="B")},
        budget=budget,
    )
    assert [p.id for p in second.playbook_list()] == ["aaa"], "the new one does not fit beside it"
    [problem] = second.problems()
    assert (problem.file, problem.field) == ("p/bbb.yml", "match") and "budget" in problem.message


def test_a_set_of_playbooks_too_large_for_the_classifier_leaves_one_out_with_a_problem():
    from bot.app.config import PlaybookSet
    from bot.core.playbook import parse_playbook

    text = GOOD.replace("\\bbind param", "\\d\\dx?")  # no word every match contains
    parsed = [
        parse_playbook(text.format(id=f"p{i:02}", title=f"P{i}"), f"p{i:02}.yml")[0]
        for i in range(40)
    ]
    assert all(parsed)
    loaded = PlaybookSet(tuple(parsed))
    assert 0 < len(loaded.playbooks) < 40, "the set is still usable"
    left_out = {p.file for p in loaded.problems}
    assert len(left_out) == 40 - len(loaded.playbooks)
    assert all(p.field == "match" and "not loaded" in p.message for p in loaded.problems)
    assert loaded.classifier.classify("12x") == sorted(p.id for p in loaded.playbooks)
