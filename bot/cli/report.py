"""``python -m bot report``: what the bot decided, per playbook, role and team, and what failed."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from tabulate import tabulate

from bot.app.config import load_config
from bot.cli.series import followup_report
from bot.core.evidence import describe, rollout_scope
from bot.core.feedback import say_report
from bot.core.nudges import Nudge, NudgeState
from bot.core.org import OrgSettings
from bot.core.playbook import Playbook
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


WIDTH = 80
NAME_WIDTH = 22
RED, BOLD, RESET = "\033[31m", "\033[1m", "\033[0m"
# Two tables per grouping, each within 80 columns: what was decided, then what was not sent and
# the feedback. Indexes are into a row of _rows: name, the COLUMNS, then the four feedback counts.
DECIDED = [
    ("all", 1),
    ("posted", 8),
    ("awaiting\nco-sign", 5),
    ("vetoed", 6),
    ("expired", 7),
    ("failed", 9),
]
NOT_SENT = [
    ("held\nout", 2),
    ("over\nbudget", 3),
    ("no\nlead", 4),
    ("helped", 10),
    ("did not\nhelp", 11),
    ("lead\nreact.", 12),
    ("not\ncounted", 13),
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


def _clip(name: str, width: int = NAME_WIDTH) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _tabulate(rows: list[list[str]], headers: list[str]) -> str:
    import tabulate as module

    padding, module.MIN_PADDING = module.MIN_PADDING, 0  # two spaces between columns are enough
    try:
        return tabulate(
            rows,
            headers=headers,
            tablefmt="simple",
            disable_numparse=True,
            colalign=("left",) + ("right",) * (len(headers) - 1),
        )
    finally:
        module.MIN_PADDING = padding


def _table(title: str, rows: list[list[str]], color: bool = False) -> str:
    """What was decided, then what was not sent and the feedback; each fits in 80 columns."""
    if not rows:
        return "(nothing yet)"
    parts = []
    for columns in (DECIDED, NOT_SENT):
        body = []
        for row in rows:
            cells = [_clip(row[0])] + [row[i] for _, i in columns]
            if color and columns is DECIDED and row[9] != "0":
                cells[-1] = f"{RED}{cells[-1]}{RESET}"
            body.append(cells)
        parts.append(_tabulate(body, [title] + [label for label, _ in columns]))
    return "\n\n".join(parts)


def _feedback(
    nudges: Iterable[Nudge], reactions: list[ReactionRecord], group_of
) -> dict[str, Counter]:
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


def rollout_report(
    shadow: list[Nudge], live: list[Nudge], playbooks: Mapping[str, Playbook]
) -> list[str]:
    """Pilots and shadow mode, apart from the tables above (which hold no shadow decision)."""
    lines = ["Pilots and shadow mode (shadow: decided and recorded, nothing posted)"]
    ids = sorted(
        {n.playbook_id for n in shadow}
        | {p.id for p in playbooks.values() if p.rollout.shadow or p.rollout.pilot}
    )
    if not ids:
        return lines + ["(every playbook in full rollout)", ""]
    for pid in ids:
        playbook = playbooks.get(pid)
        scope = rollout_scope(playbook.rollout) if playbook else "(no longer loaded)"
        would = Counter(
            n.reason.split(":", 1)[0].removeprefix("shadow mode, would be ")
            for n in shadow
            if n.playbook_id == pid
        )
        engineers = len({n.engineer.lower() for n in shadow if n.playbook_id == pid})
        lines.append(f"  {pid}: {scope or 'full rollout'}")
        if would:
            lines.append(
                f"    shadow decisions: {sum(would.values())} for {engineers} engineers; would be "
                + ", ".join(f"{count} {state}" for state, count in sorted(would.items()))
            )
        pilot = [n for n in live if n.playbook_id == pid]
        if pilot:
            states = Counter(n.state.value for n in pilot)
            lines.append(
                f"    pilot decisions: {len(pilot)}; "
                + ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
            )
    return lines + [""]


async def build_report(
    store: Store,
    org: OrgSettings | None = None,
    playbooks: Mapping[str, Playbook] | None = None,
    *,
    color: bool = False,
    wrap: bool = False,
) -> str:
    """The report's text. Tables always fit 80 columns; ``wrap`` also wraps the long lines of
    figures and errors (on a terminal; piped, each stays one line for grep). ``playbooks`` (the
    ones in force) name the pilots and shadow playbooks."""
    org = org or OrgSettings()
    head = (lambda text: f"{BOLD}{text}{RESET}") if color else (lambda text: text)
    nudges = await store.nudges()
    reactions = await store.reactions()
    by_playbook: dict[str, list[Nudge]] = defaultdict(list)
    by_role: dict[str, list[Nudge]] = defaultdict(list)
    by_team: dict[str, list[Nudge]] = defaultdict(list)

    def team_of(nudge: Nudge) -> str:
        """A team is the people one lead co-signs for (from the org settings)."""
        leads = org.leads_of(nudge.engineer)
        return "led by " + " & ".join(leads) if leads else "(no lead)"

    shadow = [n for n in nudges if n.state == NudgeState.SHADOW]
    nudges = [n for n in nudges if n.state != NudgeState.SHADOW]  # full rollout and pilots
    for n in nudges:
        by_playbook[n.playbook_id].append(n)
        by_role[org.role_of(n.engineer).name].append(n)
        by_team[team_of(n)].append(n)
    parts = [
        head("Nudge decisions per playbook"),
        _table(
            "playbook",
            _rows(by_playbook, _feedback(nudges, reactions, lambda n: n.playbook_id)),
            color,
        ),
        "",
        head("Nudge decisions per role"),
        _table(
            "role",
            _rows(by_role, _feedback(nudges, reactions, lambda n: org.role_of(n.engineer).name)),
            color,
        ),
        "",
        head("Nudge decisions per team"),
        _table("team", _rows(by_team, _feedback(nudges, reactions, team_of)), color),
        "",
    ]
    parts += rollout_report(shadow, nudges, playbooks or {})
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
    lines = [line for part in parts for line in part.split("\n")]
    return "\n".join(_fit(line) if wrap else line for line in lines) + "\n"


def _fit(line: str, width: int = WIDTH) -> str:
    """A long line of figures or an error, wrapped to the terminal with a hanging indent."""
    if len(line) <= width or "\033[" in line:
        return line
    indent = " " * (len(line) - len(line.lstrip()))
    return textwrap.fill(
        line,
        width,
        subsequent_indent=indent + "    ",
        break_long_words=True,
        break_on_hyphens=False,
    )


async def _report(
    database_url: str, playbooks_dir: Path, out: TextIO, *, color: bool = False
) -> None:
    in_force, _problems = load_config(playbooks_dir)
    org = in_force.org
    store = await open_store(database_url)
    try:
        in_force_ids = {p.id: p for p in in_force.playbooks.playbooks}
        out.write(await build_report(store, org, in_force_ids, color=color))
    finally:
        await store.close()


def sqlite_path(database_url: str) -> Path | None:
    if database_url.startswith("sqlite:///"):
        return Path(database_url.removeprefix("sqlite:///"))
    return None


def main(database_url: str | None, color: str = "auto", out: TextIO = sys.stdout) -> int:
    """``python -m bot report``: read-only; 1 when there is no database to read."""
    import logging

    from bot.app.settings import DEFAULT_DATABASE_URL, SHIPPED_PLAYBOOKS, SettingsError
    from bot.cli.serve import open_checked

    logging.getLogger("bot").addHandler(logging.NullHandler())
    logging.getLogger("bot").propagate = False  # configuration problems are validate's to print
    url = database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    path = sqlite_path(url)
    if url == "sqlite://" or (path is not None and not path.is_file()):
        print(
            f"learning-nudges: no database at {path or 'memory'} ({url}); nothing to report; "
            "point --database-url or DATABASE_URL at the deployment's database",
            file=sys.stderr,
        )
        return 1
    playbooks = Path(os.environ.get("PLAYBOOKS_DIR") or SHIPPED_PLAYBOOKS)
    colored = color == "always" or (
        color == "auto"
        and out.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
    )

    async def run() -> None:
        in_force, _problems = (
            await asyncio.to_thread(load_config, playbooks) if playbooks.is_dir() else (None, [])  # noqa: ASYNC240  (a CLI command; no webhook waits on this loop)
        )
        store = await open_checked(url)
        try:
            org = in_force.org if in_force else None
            in_force_ids = {p.id: p for p in in_force.playbooks.playbooks} if in_force else {}
            out.write(
                await build_report(store, org, in_force_ids, color=colored, wrap=out.isatty())
            )
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except SettingsError as exc:
        print(f"learning-nudges: cannot report: {exc}", file=sys.stderr)
        return 1
    return 0


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
        history = ", ".join(
            f"{r.evaluation.at:%Y-%m-%d} {r.evaluation.verdict.value}" for r in records
        )
        lines.append(f"  history: {history}" + (f"; evidence issue #{issue}" if issue else ""))
    return lines + [""]
