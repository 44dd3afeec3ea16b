"""From one review comment and an engineer's history to signals, nudges and reasons.

The order of the gates matters and is the product's policy:
``classify → signal → paused? → observing? → trigger? → cooldown? → holdout? → budget? → co-sign?
→ planned``. Holdout comes before budget so that engineers kept out of a playbook spend no
attention on it. While less than ``evaluation.observe_days`` of review history is on record for a
playbook (``DecisionConfig.recorded_since``), comments are recorded as its baseline and nothing
is nudged, so every engineer enters the evaluation with a real period before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.budget import check_budget, sprint_at
from bot.core.classify import Match
from bot.core.events import ReviewComment
from bot.core.holdout import HOLDOUT, assign_holdout
from bot.core.killswitch import released
from bot.core.nudges import RETRYABLE_STATES, Decision, Note, Nudge, NudgeState, Signal, nudge_key
from bot.core.org import OrgSettings
from bot.core.playbook import Playbook
from bot.core.repo_settings import RepoSettings, repo_gate


@dataclass(frozen=True)
class History:
    """What the store knows about one engineer, as much as the core needs."""

    signals: Sequence[Signal] = ()
    nudges: Sequence[Nudge] = ()
    assignments: Mapping[str, str] = field(default_factory=dict)  # playbook id -> group
    # Minutes the engineer's spaced follow-ups charged, per sprint index: they share the budget.
    followup_minutes: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DecisionConfig:
    playbooks: Mapping[str, Playbook]
    org: OrgSettings = field(default_factory=OrgSettings)
    teams: Mapping[str, frozenset[str]] = field(default_factory=dict)  # slug -> logins
    # Playbook id -> since when this installation's review comments are on record for it: the
    # earliest day the backfill read, or when the playbook first saw the installation (the
    # app's install time). A playbook not listed is not in an observe-only period.
    recorded_since: Mapping[str, dt.datetime] = field(default_factory=dict)
    # The repository's .github/learning-nudges.yml in force (None: no file, everything on).
    repo_settings: RepoSettings | None = None
    # The engineer's own mutes: every playbook, or these ones (see bot.core.commands).
    muted_all: bool = False
    muted: frozenset[str] = frozenset()


def observing_until(playbook: Playbook, ctx: DecisionConfig) -> dt.datetime | None:
    """The end of the playbook's observe-only period, if it has one."""
    since = ctx.recorded_since.get(playbook.id)
    if since is None or playbook.evaluation_observe_days <= 0:
        return None
    return since + dt.timedelta(days=playbook.evaluation_observe_days)


@dataclass
class CommentDecision(Decision):
    assignments: dict[str, str] = field(default_factory=dict)


def ignore_reason(comment: ReviewComment) -> str | None:
    """Comments we never learn from: bots (ourselves included), and authors talking to themselves."""
    if comment.reviewer.is_bot:
        return f"comment by a bot ({comment.reviewer.login})"
    if comment.engineer.is_bot:
        return f"pull request by a bot ({comment.engineer.login})"
    if comment.reviewer.login.lower() == comment.engineer.login.lower():
        return "the author commenting on their own pull request"
    if not comment.body.strip():
        return "empty review body"
    return None


def decide_comment(
    comment: ReviewComment,
    matches: Sequence[Match],
    history: History,
    ctx: DecisionConfig,
    now: dt.datetime,
) -> CommentDecision:
    engineer = comment.engineer.login
    decision = CommentDecision()
    reason = ignore_reason(comment)
    if reason:
        decision.notes.append(Note(engineer, None, "ignored", reason))
        return decision
    if not matches:
        decision.notes.append(Note(engineer, None, "no_match", "no playbook matched"))
        return decision
    off = repo_gate(ctx.repo_settings, None, comment.path)
    if off:
        decision.notes.append(Note(engineer, None, "repo_off", off))
        return decision
    nudges = list(history.nudges)
    for match in matches:
        playbook = ctx.playbooks.get(match.playbook_id)
        if playbook is None:
            continue
        off = repo_gate(ctx.repo_settings, playbook.id, comment.path)
        if off:
            decision.notes.append(Note(engineer, playbook.id, "repo_off", off))
            continue
        signal = Signal(
            installation_id=comment.pull.installation_id,
            repo=comment.pull.repo,
            pr_number=comment.pull.number,
            engineer=engineer,
            playbook_id=playbook.id,
            comment_id=comment.comment_id,
            source=comment.source,
            reviewer=comment.reviewer.login,
            at=comment.at,
            quote=match.quote,
            url=comment.url,
        )
        decision.signals.append(signal)
        nudge, note = _plan(comment, playbook, signal, history, nudges, decision, ctx, now)
        decision.notes.append(note)
        if nudge is not None:
            decision.nudges.append(nudge)
            nudges.append(nudge)
    return decision


def _plan(
    comment: ReviewComment,
    playbook: Playbook,
    signal: Signal,
    history: History,
    nudges: list[Nudge],
    decision: CommentDecision,
    ctx: DecisionConfig,
    now: dt.datetime,
) -> tuple[Nudge | None, Note]:
    nudge, note = _gates(comment, playbook, signal, history, nudges, decision, ctx, now)
    if nudge is None or not playbook.rollout.shadow:
        return nudge, note
    # Shadow mode: the decision stands as made, recorded under its own state, never posted.
    shadow = nudge.moved(
        NudgeState.SHADOW, f"shadow mode, would be {nudge.state.value}: {nudge.reason}", leads=()
    )
    return shadow, Note(note.engineer, note.playbook_id, NudgeState.SHADOW, shadow.reason)


def _gates(
    comment: ReviewComment,
    playbook: Playbook,
    signal: Signal,
    history: History,
    nudges: list[Nudge],
    decision: CommentDecision,
    ctx: DecisionConfig,
    now: dt.datetime,
) -> tuple[Nudge | None, Note]:
    engineer = signal.engineer
    pid = playbook.id

    def note(outcome: str, reason: str) -> Note:
        return Note(engineer, pid, outcome, reason)

    if playbook.paused:
        return None, note("paused", "playbook is paused; the comment is still counted for outcomes")
    outside = playbook.rollout.excludes(engineer, signal.repo, ctx.teams)
    if outside is not None:
        # Not in the pilot: no nudge, no holdout assignment, so not counted as held out either.
        return None, note("pilot", outside)
    if ctx.muted_all or pid in ctx.muted:
        return None, note(
            "muted", "the engineer muted this playbook (/nudge mute); the comment is still counted"
        )
    observed = observing_until(playbook, ctx)
    if observed is not None and now < observed:
        return None, note(
            "observing",
            f"observe-only until {observed:%Y-%m-%d}: less than {playbook.evaluation_observe_days} "
            "days of review history are on record, so the comment is recorded as the baseline "
            "the kill switch compares with, and nothing is nudged yet",
        )
    trigger = playbook.trigger
    since = signal.at - dt.timedelta(days=trigger.within_days)
    recent = {
        s.comment_id: s
        for s in (*history.signals, signal)
        if s.playbook_id == pid and since <= s.at <= signal.at
    }
    if len(recent) < trigger.comments:
        return None, note(
            "signal",
            f"{len(recent)} of {trigger.comments} matching comments within "
            f"{trigger.within_days} days; not yet",
        )
    quiet_since = signal.at - dt.timedelta(days=trigger.cooldown_days)
    earlier = [
        n
        for n in nudges
        if n.playbook_id == pid and n.trigger_at > quiet_since and n.state not in RETRYABLE_STATES
    ]
    if earlier:
        last = max(earlier, key=lambda n: n.trigger_at)
        return None, note(
            "cooldown",
            f"already decided on {last.trigger_at:%Y-%m-%d} ({last.state.value}); quiet for "
            f"{trigger.cooldown_days} days",
        )

    sprint = sprint_at(now, ctx.org)
    evidence = tuple(sorted(recent.values(), key=lambda s: s.at))

    def decided(state: NudgeState, reason: str, leads: tuple[str, ...] = ()) -> tuple[Nudge, Note]:
        nudge = Nudge(
            key=nudge_key(signal.installation_id, signal.repo, engineer, pid, signal.comment_id),
            installation_id=signal.installation_id,
            repo=signal.repo,
            pr_number=signal.pr_number,
            engineer=engineer,
            playbook_id=pid,
            state=state,
            reason=reason,
            created_at=now,
            trigger_at=signal.at,
            thread_id=comment.thread_id,
            minutes=playbook.nudge.minutes,
            evidence=evidence,
            leads=leads,
            sprint=sprint.index,
        )
        return nudge, note(state, reason)

    group = history.assignments.get(pid) or decision.assignments.get(pid)
    kept = playbook.kept_since is not None
    if group is None:
        # A kept playbook holds out only the long-running share of engineers it meets from now on.
        share = (
            min(ctx.org.holdout_share_kept, ctx.org.holdout_share)
            if kept
            else ctx.org.holdout_share
        )
        group = assign_holdout(ctx.org.holdout_seed, signal.installation_id, engineer, pid, share)
        decision.assignments[pid] = group
    if group == HOLDOUT and not (kept and released(ctx.org, signal.installation_id, engineer, pid)):
        reason = "in the randomized holdout for this playbook"
        if kept:
            reason += f" (the long-running {min(ctx.org.holdout_share_kept, ctx.org.holdout_share):.0%} kept after it proved itself)"
        return decided(NudgeState.HELD_OUT, reason)

    role = ctx.org.role_of(engineer, ctx.teams)
    budget = check_budget(
        role, sprint, playbook.nudge.minutes, nudges, history.followup_minutes.get(sprint.index, 0)
    )
    if not budget.allowed:
        return decided(NudgeState.SUPPRESSED_BUDGET, budget.reason)

    if playbook.significant:
        leads = ctx.org.leads_of(engineer, ctx.teams)
        if not leads:
            return decided(
                NudgeState.NO_LEAD,
                "significant playbook, but no lead is configured for this engineer",
            )
        return decided(
            NudgeState.AWAITING_COSIGN, f"waiting for a co-sign from {', '.join(leads)}", leads
        )

    return decided(NudgeState.PLANNED, f"{len(recent)} matching comments; {budget.reason}")
