"""``python -m bot report``: what the bot decided, per playbook, role and team, and what failed."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.app.config import load_config
from bot.cli.series import followup_report
from bot.core.evidence import describe
from bot.core.feedback import say_report
from bot.core.nudges import Nudge, NudgeState
from bot.core.org import OrgSettings
from bot.store import ReactionRecord, Store, open_store
from bot.store.base import EvaluationRecord

COLUMNS = [
    ("planned", None),
    ("held out", NudgeState.HELD_OUT),
    ("over budget", NudgeState.SUPPRESSED_BUDGET),
    ("no lead", NudgeState.NO_LEAD),
    ("awaiting co-sign", NudgeState.AWAITING_COSIGN),
    ("vetoed", NudgeState.VETOED),
    ("expired", NudgeState.EXPIRED),
    ("posted", NudgeState.POSTED),
    ("failed", NudgeState.FAILED),
]


def _rows(groups: dict[str, list[Nudge]], feedback: dict[str, Counter]) -> list[list[str]]:
    rows = []
    for name in sorted(groups):
        nudges = groups[name]
        states = Counter(n.state for n in nudges)
        row = [name]
        for _label, state in COLUMNS:
            row.append(str(len(nudges) if state is None else states.get(state, 0)))
        fb = feedback.get(name, Counter())
        row += [str(fb["engineer:+1"]), str(fb["engineer:-1"]), str(fb["lead"]), str(fb["ignored"])]
        rows.append(row)
    return rows


def _table(title: str, rows: list[list[str]]) -> str:
    header = [title] + [label for label, _ in COLUMNS] + ["👍 engineer", "👎 engineer", "lead reactions", "not counted"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows] or ["(nothing yet)"]
    return "\n".join(out)


def _feedback(nudges: Iterable[Nudge], reactions: list[ReactionRecord], group_of) -> dict[str, Counter]:
    by_key = {n.key: n for n in nudges}
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in reactions:
        nudge = by_key.get(r.nudge_key)
        if nudge is None:
            continue
        c = counts[group_of(nudge)]
        if not r.counted:
            c["ignored"] += 1
        elif r.role == "engineer":
            c[f"engineer:{r.content}"] += 1
        elif r.role == "lead":
            c["lead"] += 1
    return counts


async def build_report(store: Store, org: OrgSettings | None = None) -> str:
    org = org or OrgSettings()
    nudges = await store.nudges()
    reactions = await store.reactions()
    by_playbook: dict[str, list[Nudge]] = defaultdict(list)
    by_role: dict[str, list[Nudge]] = defaultdict(list)
    by_team: dict[str, list[Nudge]] = defaultdict(list)

    def team_of(nudge: Nudge) -> str:
        """A team is the people one lead co-signs for (from the org settings)."""
        leads = org.leads_of(nudge.engineer)
        return "led by " + " & ".join(leads) if leads else "(no lead)"

    for n in nudges:
        by_playbook[n.playbook_id].append(n)
        by_role[org.role_of(n.engineer).name].append(n)
        by_team[team_of(n)].append(n)
    parts = [
        "Nudge decisions per playbook",
        _table("playbook", _rows(by_playbook, _feedback(nudges, reactions, lambda n: n.playbook_id))),
        "",
        "Nudge decisions per role",
        _table("role", _rows(by_role, _feedback(nudges, reactions, lambda n: org.role_of(n.engineer).name))),
        "",
        "Nudge decisions per team",
        _table("team", _rows(by_team, _feedback(nudges, reactions, team_of))),
        "",
    ]
    parts += say_report(nudges, reactions, await store.mutes(), org)  # type: ignore[attr-defined]
    parts += await kill_switch_report(store)
    parts += await followup_report(store)
    deliveries = await store.deliveries()
    status = Counter(d.status for d in deliveries)
    parts.append(
        "Deliveries: "
        + ", ".join(f"{status.get(s, 0)} {s}" for s in ("done", "pending", "processing", "failed"))
    )
    for d in deliveries:
        if d.status == "failed":
            parts.append(f"  failed {d.id} ({d.event}, {d.attempts} attempts): {d.error}")
    return "\n".join(parts) + "\n"


async def _report(database_url: str, playbooks_dir: Path, out: TextIO) -> None:

    in_force, _problems = load_config(playbooks_dir)
    org = in_force.org
    store = await open_store(database_url)
    try:
        out.write(await build_report(store, org))
    finally:
        await store.close()


async def kill_switch_report(store: Store) -> list[str]:
    """The kill switch's part of ``python -m bot report``: the figures the evidence issues show."""
    grouped: dict[tuple[int, str], list[EvaluationRecord]] = defaultdict(list)
    for record in await store.evaluations():
        grouped[(record.evaluation.installation_id, record.evaluation.playbook_id)].append(record)
    lines = ["Kill switch: nudged vs held-out engineers, per playbook"]
    if not grouped:
        lines.append("(no evaluation window has closed yet)")
    several = len({installation for installation, _ in grouped}) > 1
    for (installation, _playbook_id), records in sorted(grouped.items()):
        head, *figures = describe(records[-1].evaluation)
        lines.append(f"{head}" + (f" [installation {installation}]" if several else ""))
        lines += figures
        issue = next((r.issue_number for r in reversed(records) if r.issue_number), None)
        history = ", ".join(f"{r.evaluation.at:%Y-%m-%d} {r.evaluation.verdict.value}" for r in records)
        lines.append(f"  history: {history}" + (f"; evidence issue #{issue}" if issue else ""))
    return lines + [""]
