"""The evidence behind a kill-switch decision, written for the people who own the playbook.

One GitHub issue per playbook carries it (found again by its hidden marker and edited, never
duplicated), and ``python -m bot report`` and ``simulate`` print the same figures as text. The
figures are per group, never per person, and nothing in them can @-mention anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.evaluate import (
    WELCH,
    Evaluation,
    GroupChange,
    GroupFigures,
    ReinforcementEffect,
    Verdict,
)
from bot.core.feedback import FeedbackShare
from bot.core.playbook import Rollout
from bot.core.render import defuse

EVIDENCE_MARKER = "<!-- learning-nudge-evidence:{playbook_id} -->"


def evidence_marker(playbook_id: str) -> str:
    return EVIDENCE_MARKER.format(playbook_id=playbook_id)


def _num(value: float | None, places: int = 3, sign: bool = False) -> str:
    if value is None:
        return "–"
    text = f"{value:+.{places}f}" if sign else f"{value:.{places}f}"
    return text.replace("-", "−")


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def _window(e: Evaluation) -> str:
    days = (e.window_end - e.window_start).days
    return f"{e.window_start:%Y-%m-%d} → {e.window_end:%Y-%m-%d} ({days} days)"


def _pct(value: float | None) -> str:
    """A relative change as people say it: "28 % fewer", "5 % more"."""
    if value is None:
        return "–"
    if abs(value) < 0.005:
        return "no change"
    return f"{abs(value):.0%} {'fewer' if value < 0 else 'more'}".replace("%", " %")


def _interval(e: Evaluation) -> str:
    if e.low is None:
        return "–"
    if e.rules.method == WELCH:
        return f"{_num(e.low, sign=True)} to {_num(e.high, sign=True)}"
    high = "any increase" if e.high is None else _pct(e.high)
    return f"{_pct(e.low)} to {high}"


def _estimate_sentence(e: Evaluation) -> str:
    if e.estimate is None:
        return "No estimate: too few engineers to compare."
    confidence = 1 - 2 * e.applied_level
    if e.rules.method == WELCH:
        relative = (
            f"; {_num(100 * e.relative, 0, sign=True)} % of the nudged group's rate before"
            if e.relative is not None
            else ""
        )
        return (
            f"Compared with the holdout, the nudge changed the rate by {_num(e.estimate, sign=True)} "
            f"matching comments per reviewed PR ({confidence:.0%} interval {_num(e.low, sign=True)} "
            f"to {_num(e.high, sign=True)}{relative}). One-sided Welch test: p {_p(e.p_value)}; the "
            f"nudge beats the holdout when p < {e.applied_level:g}."
        )
    exact = (
        "every reshuffle of the groups"
        if e.exact
        else f"{e.rules.resamples:,} random reshuffles of the groups"
    )
    rule = (
        f"since the playbook was kept it is paused only when the estimate shows no reduction and "
        f"p is at least {e.rules.monitor_p:g}"
        if e.monitoring
        else f"the nudge beats the holdout when p < {e.applied_level:g}"
    )
    return (
        f"Compared with the holdout, nudged engineers received **{_pct(e.estimate)}** matching comments "
        f"per reviewed PR ({confidence:.0%} interval: {_interval(e)}), taking into account how often "
        f"each engineer received them before. Randomization test over {exact}: one-sided "
        f"p {_p(e.p_value)}; {rule}."
    )


def _level_sentence(e: Evaluation) -> str | None:
    if not e.resumes:
        return None
    times = "once" if e.resumes == 1 else "twice" if e.resumes == 2 else f"{e.resumes} times"
    return (
        f"This playbook was paused and resumed {times}, so this test had to clear a stricter level: "
        f"p < {e.applied_level:g} instead of {e.rules.alpha:g}. Each resume halves it, so that "
        "resuming a playbook until it passes cannot make a useless one look useful: over any number "
        f"of resumes, a useless playbook is kept by chance at most {2 * e.rules.alpha:.0%} of the time."
    )


def plain_words(e: Evaluation) -> str:
    """The decision in words an L&D lead can repeat to an executive."""
    chance = f"{round(1 / e.applied_level)}"
    if e.monitoring:
        return _monitoring_words(e)
    if e.verdict == Verdict.NO_DATA:
        return (
            "Too few engineers have been through this playbook yet, on one side or the other, to "
            "tell whether the nudge makes a difference. It is paused rather than left to take "
            "engineers' attention on faith; resume it when more engineers receive this kind of comment."
        )
    if e.estimate is None:
        return ""
    if e.rules.method == WELCH:
        size = f"a change of {_num(e.estimate, sign=True)} matching comments per reviewed PR"
    else:
        size = f"{_pct(e.estimate)} review comments of this kind"
    if e.verdict == Verdict.EFFECTIVE:
        return (
            f"Engineers who were nudged went on to receive {size} than comparable engineers picked "
            f"at random not to be nudged. If the nudge did nothing, a difference this large would "
            f"turn up by chance less than 1 time in {chance}. So the nudge keeps going; most "
            "engineers who were held out now get it too, and a small share stays held out so the "
            "comparison can continue."
        )
    if e.verdict == Verdict.FUTILE:
        return (
            f"Halfway through its evaluation, engineers who were nudged received {size} than "
            "engineers picked at random not to be nudged: no sign that the nudge helps. Rather "
            "than take another month of engineers' attention, it is paused early."
        )
    if e.verdict == Verdict.INTERIM:
        return (
            f"Halfway through its evaluation, nudged engineers receive {size} than held-out ones. "
            "That is not yet evidence either way; the evaluation continues to the end of its window."
        )
    return (
        f"Engineers who were nudged received {size} than comparable engineers picked at random not "
        f"to be nudged. A difference like this turns up by chance often when a nudge does nothing "
        f"(more than 1 time in {chance}), so it cannot be told apart from no effect. The nudge is "
        "paused so that it stops taking engineers' attention."
    )


def _monitoring_words(e: Evaluation) -> str:
    """A kept playbook's later windows: watched for evidence against it, not re-tested from scratch."""
    rule = (
        "This playbook already beat the holdout, so it is not asked to prove itself again at every "
        "window (asked often enough, even a nudge that works fails once by chance). Instead it is "
        "watched: it is paused only if nudged engineers go on receiving as many of these comments "
        "as the engineers still held out, or more, by a margin chance rarely explains."
    )
    if e.estimate is None:
        return f"{rule} Too few engineers are still held out to tell this time, so it keeps going."
    size = f"{_pct(e.estimate)} review comments of this kind"
    if e.verdict == Verdict.NO_LONGER_EFFECTIVE:
        return (
            f"{rule} Since it was kept, nudged engineers have received {size} than held-out ones: "
            "the evidence is now against the nudge helping, so it is paused."
        )
    return (
        f"{rule} Nudged engineers have received {size} than held-out ones: no evidence against "
        "the nudge, so it keeps going."
    )


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _from_to(g: GroupChange) -> str:
    """ "from 0.67 to 0.25", or only the rate after when no PR of theirs was reviewed before."""
    if g.rate_before is None:
        return f"to {_rate(g.rate_after)} (no reviewed PR before the nudge)"
    return f"from {_rate(g.rate_before)} to {_rate(g.rate_after)}"


def _group_counts(g: GroupChange) -> str:
    prs = "reviewed PR" if g.prs_before == 1 else "reviewed PRs"
    return f"{_engineers(g.engineers)}, {g.prs_before} {prs} before and {g.prs_after} after"


NOT_CAUSAL = (
    "This describes what happened; it is not a randomized comparison: who gets a follow-up "
    "depends on the pull requests they open and how their reviews go, so it is not evidence that "
    "the follow-ups caused the difference. No decision rests on it."
)


def reinforcement_words(effect: ReinforcementEffect) -> str:
    """Follow-ups or the nudge alone, in words an L&D lead can repeat (with the counts)."""
    r, n = effect.reinforced, effect.nudge_only
    if not effect.comparable:
        need = max(1, effect.min_engineers)
        return (
            f"{_engineers(r.engineers)} also got follow-ups and {_engineers(n.engineers)} got only "
            f"the nudge (counted as for the decision): too few to compare; {need} of each are needed. With "
            "enough, this compares how their matching comments per reviewed PR changed. It will "
            "describe what happened, not a randomized comparison, so it will not be a causal claim."
        )
    return (
        f"Engineers who also got follow-ups went {_from_to(r)} matching comments per reviewed PR "
        f"({_group_counts(r)}); those who got only the nudge {_from_to(n)} "
        f"({_group_counts(n)}). {NOT_CAUSAL}"
    )


def _detail(e: Evaluation) -> str:
    return e.reason.removeprefix("too little data: ")


def _engineers(count: int) -> str:
    return f"{count} engineer{'' if count == 1 else 's'}"


def title(playbook_title: str, e: Evaluation) -> str:
    return f"Learning nudge evidence: {defuse(playbook_title)} ({e.headline})"


def _table(
    nudged: GroupFigures, holdout: GroupFigures, min_prs: int, method: str = ""
) -> list[str]:
    periods = "before and after" if method == WELCH else "after the first nudge"
    rows = [
        ("engineers with a first (would-be) nudge", nudged.engineers, holdout.engineers),
        (f"counted ({min_prs}+ reviewed PRs {periods})", nudged.counted, holdout.counted),
        ("reviewed PRs before", nudged.prs_before, holdout.prs_before),
        ("reviewed PRs after", nudged.prs_after, holdout.prs_after),
        ("matching comments before", nudged.comments_before, holdout.comments_before),
        ("matching comments after", nudged.comments_after, holdout.comments_after),
        ("comments per reviewed PR before", _num(nudged.rate_before), _num(holdout.rate_before)),
        ("comments per reviewed PR after", _num(nudged.rate_after), _num(holdout.rate_after)),
        ("change", _num(nudged.change, sign=True), _num(holdout.change, sign=True)),
    ]
    return ["| | nudged | holdout |", "| --- | ---: | ---: |"] + [
        f"| {label} | {a} | {b} |" for label, a, b in rows
    ]


def chart(nudged: GroupFigures, holdout: GroupFigures) -> list[str]:
    """A bar chart GitHub draws from the Markdown: rate before and after, per group."""
    values = [nudged.rate_before, nudged.rate_after, holdout.rate_before, holdout.rate_after]
    shown = [round(v, 3) if v is not None else 0 for v in values]
    top = max(max(shown) * 1.2, 0.1)
    return [
        "```mermaid",
        "xychart-beta",
        '    title "Matching comments per reviewed PR"',
        '    x-axis ["nudged, before", "nudged, after", "holdout, before", "holdout, after"]',
        f'    y-axis "comments per reviewed PR" 0 --> {top:.2f}',
        f"    bar [{', '.join(f'{v:g}' for v in shown)}]",
        "```",
    ]


def rollout_scope(rollout: Rollout) -> str:
    """Who the figures are about, when a playbook is not in full rollout ("" when it is)."""
    parts = []
    if rollout.teams:
        parts.append("team " + ", ".join(rollout.teams))
    if rollout.repos:
        parts.append("repositories " + ", ".join(rollout.repos))
    if rollout.shadow:
        return "shadow mode (decisions recorded, nothing posted)" + (
            f", pilot limited to {' and '.join(parts)}" if parts else ""
        )
    return f"pilot limited to {' and '.join(parts)}" if parts else ""


def render_evidence(
    playbook_title: str,
    history: Sequence[Evaluation],
    source: str = "",
    scope: str = "",
    feedback: FeedbackShare | None = None,
) -> str:
    """The issue body: the decision in force with its figures and chart, then the history.

    ``scope`` (see :func:`rollout_scope`) says the figures are of a pilot, apart from full rollout.
    """
    ordered = sorted(history, key=lambda e: (e.at, e.window_end))
    latest = ordered[-1]
    figures = next((e for e in reversed(ordered) if e.nudged is not None), None)
    lines = [
        evidence_marker(latest.playbook_id),
        f"## {defuse(playbook_title)} (`{latest.playbook_id}`): {latest.headline}",
        "",
        (
            f"**Decision** on {latest.at:%Y-%m-%d}: {latest.headline}"
            + ("." if latest.estimate is not None else f" ({defuse(_detail(latest))}).")
        ),
        "",
    ]
    if scope:
        lines += [
            f"**Rollout:** {defuse(scope)}. These figures are of the engineers in it only, not of "
            "a full rollout.",
            "",
        ]
    if figures is not None and figures.nudged is not None and figures.holdout is not None:
        lines += [
            (
                f"Evaluated on {figures.at:%Y-%m-%d} over the window {_window(figures)}: engineers "
                "randomized to the nudge or the holdout, each compared with themself before their "
                "first (would-be) nudge."
            ),
            "",
            *_table(figures.nudged, figures.holdout, figures.rules.min_prs, figures.rules.method),
            "",
            (
                "Pull requests, comments and rates are those of the counted engineers; a rate is "
                + (
                    "the mean of their own rates."
                    if figures.rules.method == WELCH
                    else "their matching comments divided by their reviewed PRs."
                )
            ),
            "",
            _estimate_sentence(figures),
            "",
        ]
        level = _level_sentence(figures)
        if level:
            lines += [level, ""]
        if figures.nudged.counted or figures.holdout.counted:
            lines += [*chart(figures.nudged, figures.holdout), ""]
    if feedback is not None and feedback.flagged:
        lines += [f"**Engineers' feedback.** {defuse(feedback.sentence())}.", ""]
    words = plain_words(latest if latest.verdict != Verdict.RESUMED or figures is None else figures)
    if words:
        lines += [f"**In plain words.** {words}", ""]
    if latest.pauses:
        where = f" in `{defuse(source.replace(chr(92), '/').rsplit('/', 1)[-1])}`" if source else ""
        lines += [
            (
                f"**To resume**, write `resumed_on: {latest.at:%Y-%m-%d}` (or a later date) under "
                f"`evaluation:`{where}. Engineers already held out stay held out; a new window "
                "opens with the next nudge."
            ),
            "",
        ]
    if figures is not None and figures.reinforcement is not None:
        lines += [
            "### Follow-ups or the nudge alone",
            "",
            defuse(reinforcement_words(figures.reinforcement)),
            "",
        ]
    lines += [
        "### History",
        "",
        "| decided | window | decision | estimate | interval | p |",
        "| --- | --- | --- | ---: | --- | ---: |",
    ]
    for e in ordered:
        window = "–" if e.verdict == Verdict.RESUMED else _window(e)
        estimate = _num(e.estimate, sign=True) if e.rules.method == WELCH else _pct(e.estimate)
        lines.append(
            f"| {e.at:%Y-%m-%d} | {window} | {e.headline} | {estimate} "
            f"| {_interval(e)} | {_p(e.p_value).removeprefix('= ')} |"
        )
    lines += [
        "",
        (
            "<sub>Written by Learning Nudges. Engineers are randomized to the nudge or the holdout "
            "when the playbook first fires for them. The estimate is a Poisson regression of each "
            "engineer's matching comments after their first (would-be) nudge, with their reviewed "
            "PRs as exposure, the group as treatment and their own rate before (from the history "
            "read at installation) as covariate, with robust errors; the decision is an exact "
            "randomization test of that regression's statistic. Decisions recorded with the "
            "earlier method compare means of per-engineer rates with a one-sided Welch "
            "t-test.</sub>"
        ),
    ]
    return "\n".join(lines) + "\n"


def describe(e: Evaluation) -> list[str]:
    """The same figures as plain text lines, for the report and the simulation."""
    lines = [f"{e.playbook_id}: {e.headline} (decided {e.at:%Y-%m-%d})"]
    if e.verdict == Verdict.RESUMED:
        return lines + [f"  {e.reason}"]
    lines[0] += f", window {_window(e)}"
    for f in (e.nudged, e.holdout):
        if f is None:
            continue
        lines.append(
            f"  {f.group:<7} {_engineers(f.engineers):>13} ({f.counted} counted), reviewed PRs "
            f"{f.prs_before} → {f.prs_after}, matching comments {f.comments_before} → "
            f"{f.comments_after}, per reviewed PR {_num(f.rate_before)} → {_num(f.rate_after)} "
            f"({_num(f.change, sign=True)})"
        )
    confidence = 1 - 2 * e.applied_level
    if e.estimate is not None and e.rules.method == WELCH:
        lines.append(
            f"  estimate {_num(e.estimate, sign=True)} per reviewed PR ({confidence:.0%} "
            f"interval {_num(e.low, sign=True)} to {_num(e.high, sign=True)}), one-sided p {_p(e.p_value)}"
        )
    elif e.estimate is not None:
        resumed = f", {e.resumes} resume{'' if e.resumes == 1 else 's'}" if e.resumes else ""
        lines.append(
            f"  estimate {_pct(e.estimate)} matching comments per reviewed PR ({confidence:.0%} "
            f"interval {_interval(e)}), one-sided randomization p {_p(e.p_value)} "
            f"(level {e.applied_level:g}{resumed})"
        )
    lines.append(f"  why: {e.reason}")
    if e.reinforcement is not None:
        lines.append(f"  follow-ups or the nudge alone: {reinforcement_words(e.reinforcement)}")
    return lines
