"""The evidence behind a kill-switch decision, written for the people who own the playbook.

One GitHub issue per playbook carries it (found again by its hidden marker and edited, never
duplicated), and ``python -m bot report`` and ``simulate`` print the same figures as text. The
figures are per group, never per person, and nothing in them can @-mention anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.evaluate import VERDICT_TEXT, Evaluation, GroupFigures, Verdict
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


def _estimate_sentence(e: Evaluation) -> str:
    if e.estimate is None:
        return "No estimate: too few engineers to compare."
    relative = f"; {_num(100 * e.relative, 0, sign=True)} % of the nudged group's rate before" if e.relative is not None else ""
    return (
        f"Compared with the holdout, the nudge changed the rate by {_num(e.estimate, sign=True)} "
        f"matching comments per reviewed PR ({e.rules.confidence:.0%} interval {_num(e.low, sign=True)} "
        f"to {_num(e.high, sign=True)}{relative}). One-sided Welch test: p {_p(e.p_value)}; the "
        f"nudge beats the holdout when p < {e.rules.alpha:g}."
    )


def _detail(e: Evaluation) -> str:
    return e.reason.removeprefix("too little data: ")


def _engineers(count: int) -> str:
    return f"{count} engineer{'' if count == 1 else 's'}"


def title(playbook_title: str, e: Evaluation) -> str:
    return f"Learning nudge evidence: {defuse(playbook_title)} ({VERDICT_TEXT[e.verdict]})"


def _table(nudged: GroupFigures, holdout: GroupFigures, min_prs: int) -> list[str]:
    rows = [
        ("engineers with a first (would-be) nudge", nudged.engineers, holdout.engineers),
        (f"counted ({min_prs}+ reviewed PRs before and after)", nudged.counted, holdout.counted),
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


def render_evidence(playbook_title: str, history: Sequence[Evaluation], source: str = "") -> str:
    """The issue body: the decision in force with its figures and chart, then the history."""
    ordered = sorted(history, key=lambda e: (e.at, e.window_end))
    latest = ordered[-1]
    figures = next((e for e in reversed(ordered) if e.nudged is not None), None)
    lines = [
        evidence_marker(latest.playbook_id),
        f"## {defuse(playbook_title)} (`{latest.playbook_id}`): {VERDICT_TEXT[latest.verdict]}",
        "",
        (
            f"**Decision** on {latest.at:%Y-%m-%d}: {VERDICT_TEXT[latest.verdict]}"
            + ("." if latest.estimate is not None else f" ({defuse(_detail(latest))}).")
        ),
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
            *_table(figures.nudged, figures.holdout, figures.rules.min_prs),
            "",
            (
                "Pull requests, comments and rates are those of the counted engineers; a rate is "
                "the mean of their own rates."
            ),
            "",
            _estimate_sentence(figures),
            "",
        ]
        if figures.nudged.counted or figures.holdout.counted:
            lines += [*chart(figures.nudged, figures.holdout), ""]
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
    lines += ["### History", "", "| decided | window | decision | estimate | interval | p |",
              "| --- | --- | --- | ---: | --- | ---: |"]
    for e in ordered:
        window = "–" if e.verdict == Verdict.RESUMED else _window(e)
        interval = "–" if e.low is None else f"{_num(e.low, sign=True)} to {_num(e.high, sign=True)}"
        lines.append(
            f"| {e.at:%Y-%m-%d} | {window} | {VERDICT_TEXT[e.verdict]} | {_num(e.estimate, sign=True)} "
            f"| {interval} | {_p(e.p_value).removeprefix('= ')} |"
        )
    lines += [
        "",
        (
            "<sub>Written by Learning Nudges. Rates are means of per-engineer rates of matching "
            "review comments per reviewed pull request; the estimate is the difference between the "
            "groups' changes (a difference in differences), tested with a one-sided Welch "
            "t-test.</sub>"
        ),
    ]
    return "\n".join(lines) + "\n"


def describe(e: Evaluation) -> list[str]:
    """The same figures as plain text lines, for the report and the simulation."""
    lines = [f"{e.playbook_id}: {VERDICT_TEXT[e.verdict]} (decided {e.at:%Y-%m-%d})"]
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
    if e.estimate is not None:
        lines.append(
            f"  estimate {_num(e.estimate, sign=True)} per reviewed PR ({e.rules.confidence:.0%} "
            f"interval {_num(e.low, sign=True)} to {_num(e.high, sign=True)}), one-sided p {_p(e.p_value)}"
        )
    lines.append(f"  why: {e.reason}")
    return lines
