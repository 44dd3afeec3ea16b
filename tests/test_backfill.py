"""The backfill's core: past comments and reviews become signals and reviewed pull requests, never
nudges, and give every engineer a real period before their first nudge."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.core.backfill import BackfillProgress, backfill_since, baseline_from_history
from bot.core.classify import Classifier
from bot.core.decide import DecisionConfig, History, decide_comment
from bot.core.events import Actor, PullRequestRef, ReviewComment
from bot.core.holdout import NUDGED
from bot.core.nudges import Nudge, NudgeState
from bot.core.org import OrgSettings
from bot.core.outcome import Tally, measure_outcomes
from bot.core.playbook import load_playbooks

INSTALLED = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
SINCE = backfill_since(INSTALLED)
PLAYBOOKS = load_playbooks("playbooks").playbooks
CLASSIFIER = Classifier(PLAYBOOKS)


def past(
    n: int,
    body: str | None,
    *,
    days_ago: float,
    author: str = "ada",
    reviewer: str = "rita",
    source: str = "review_comment",
    pr: int = 7,
    reviewer_bot: bool = False,
) -> ReviewComment:
    pull = PullRequestRef(42, "acme/shop", pr, Actor(author, author.endswith("[bot]")))
    return ReviewComment(
        pull=pull,
        reviewer=Actor(reviewer, reviewer_bot),
        body=body or "",
        at=INSTALLED - dt.timedelta(days=days_ago),
        source=source,  # type: ignore[arg-type]
        comment_id=n,
        thread_id=n if source == "review_comment" else None,
        url=f"https://github.com/acme/shop/pull/{pr}#discussion_r{n}",
    )


HISTORY = [
    past(1, "Please use bind params here.", days_ago=80),
    past(2, "LGTM", days_ago=79, source="review", pr=8),
    past(3, None, days_ago=60, source="review", pr=9),  # an approval without a word
    past(
        4, "Concatenating user input into SQL again; use a parameterized query.", days_ago=30, pr=9
    ),
    past(5, "use bind params", days_ago=20, reviewer="ci[bot]", reviewer_bot=True),  # a bot
    past(6, "use bind params, I know", days_ago=19, reviewer="ada"),  # the author, to themself
    past(7, "use bind params", days_ago=120),  # before the period read
    past(8, "use bind params", days_ago=-1),  # after install: the webhooks' job
    past(1, "Please use bind params here.", days_ago=80),  # read twice (pages overlapped)
]


def test_history_becomes_reviewed_prs_and_signals_and_nothing_else():
    baseline = baseline_from_history(HISTORY, CLASSIFIER, since=SINCE, until=INSTALLED)
    assert [(r.review_id, r.pr_number, r.source) for r in baseline.reviews] == [
        (1, 7, "review_comment"),
        (2, 8, "review"),
        (3, 9, "review"),
        (4, 9, "review_comment"),
    ]
    assert [(s.comment_id, s.playbook_id) for s in baseline.signals] == [
        (1, "sql-injection"),
        (4, "sql-injection"),
    ]
    assert baseline.skipped == {
        "comment by a bot (ci[bot])": 1,
        "the author commenting on their own pull request": 1,
        "outside the period read": 2,
    }
    assert baseline.earliest == HISTORY[0].at
    assert not hasattr(baseline, "nudges"), "a backfill never plans a nudge"


def test_a_backfilled_signal_is_the_signal_the_live_decision_records():
    comment = HISTORY[3]
    [live] = decide_comment(
        comment,
        CLASSIFIER.matches(comment.body),
        History(),
        DecisionConfig({p.id: p for p in PLAYBOOKS}, OrgSettings()),
        comment.at,
    ).signals
    baseline = baseline_from_history([comment], CLASSIFIER, since=SINCE, until=INSTALLED)
    assert baseline.signals == (live,)


def test_the_backfill_gives_the_first_nudged_engineers_a_real_period_before():
    baseline = baseline_from_history(HISTORY, CLASSIFIER, since=SINCE, until=INSTALLED)
    reviews = list(baseline.reviews) + [
        dataclasses.replace(
            baseline.reviews[0], review_id=900, pr_number=20, at=INSTALLED + dt.timedelta(days=d)
        )
        for d in (2, 9)
    ]
    nudge = Nudge(
        key="k",
        installation_id=42,
        repo="acme/shop",
        pr_number=20,
        engineer="ada",
        playbook_id="sql-injection",
        state=NudgeState.POSTED,
        reason="",
        created_at=INSTALLED + dt.timedelta(hours=1),
        trigger_at=INSTALLED,
        thread_id=None,
    )
    [outcome] = measure_outcomes(
        "sql-injection",
        reviews=reviews,
        signals=baseline.signals,
        nudges=[nudge],
        assignments={("ada", "sql-injection"): NUDGED},
        since=INSTALLED,
        until=INSTALLED + dt.timedelta(days=60),
        lookback=dt.timedelta(days=90),
    )
    assert outcome.before == Tally(reviewed_prs=3, comments=2), "the 90 days before install"
    assert outcome.after == Tally(reviewed_prs=1, comments=0)


def test_the_progress_resumes_a_crashed_backfill_where_it_stopped():
    progress = BackfillProgress(SINCE, INSTALLED)
    repos = ["acme/shop", "acme/api"]
    assert progress.next_page(repos) == ("acme/api", "review_comments", 1)
    progress = progress.read("acme/api", "review_comments", 1, last=False)
    assert progress.next_page(repos) == ("acme/api", "review_comments", 2), (
        "after a crash: the next page"
    )
    progress = progress.read("acme/api", "review_comments", 2, last=True)
    assert progress.next_page(repos) == ("acme/api", "reviews", 1)
    for repo, listing in [
        ("acme/api", "reviews"),
        ("acme/shop", "review_comments"),
        ("acme/shop", "reviews"),
    ]:
        progress = progress.read(repo, listing, 1, last=True)
    assert progress.next_page(repos) is None
    assert SINCE == dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "90 days back, from midnight"
