"""Org settings: sprints, roles and their budgets, who leads whom, the holdout share.

One YAML file (``org.yml``) beside the playbooks, validated with the same file:line messages.
Team slugs (``team:backend``) are resolved to logins at the edge; the core only sees logins.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bot.core.evaluate import Rules
from bot.core.yamlcheck import (
    Document,
    Field,
    Problem,
    at_least,
    between,
    check_fields,
    https_url,
    in_range,
    parse_yaml,
)

ORG_FILE = "org.yml"
TEAM_PREFIX = "team:"
DEFAULT_PLAYBOOKS_FOLDER = "playbooks"
_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# A GitHub login (managed users' logins carry an underscore and a suffix); only such a name is
# ever written after an '@' in a co-sign request.
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,99})$")
# Day counts go into date arithmetic: bounded well before it overflows.
MAX_SPRINT_DAYS = 90
MAX_COSIGN_DAYS = 90
FIRST_SPRINT_START = dt.date(2000, 1, 1)
LAST_SPRINT_START = dt.date(2100, 12, 31)


@dataclass(frozen=True)
class Role:
    name: str
    nudges: int | None = None  # per sprint; None means no count limit
    minutes: int | None = None  # minutes of reading per sprint; None means no limit
    members: tuple[str, ...] = ()  # logins and team:slug entries


DEFAULT_ROLE = Role("engineer", nudges=2, minutes=10)


@dataclass(frozen=True)
class OrgSettings:
    sprint_days: int = 14
    sprint_start: dt.date = dt.date(2026, 1, 5)
    roles: Mapping[str, Role] = field(default_factory=lambda: {DEFAULT_ROLE.name: DEFAULT_ROLE})
    default_role: str = DEFAULT_ROLE.name
    leads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lead -> logins/teams led
    holdout_share: float = 0.4  # held out of a playbook while it is evaluated
    holdout_share_kept: float = 0.05  # the long-running holdout once the kill switch kept it
    holdout_seed: str = "learning-nudges"
    evaluation_level: float = 0.05  # one-sided: the chance of keeping a playbook that does nothing
    evaluation_min_engineers: int = 5  # per group, with a reviewed PR after the first nudge
    evaluation_min_prs: int = (
        1  # reviewed PRs after the first (would-be) nudge for an engineer to count
    )
    # a kept playbook is paused when no reduction shows and the one-sided p of one is at least this
    evaluation_monitor_p: float = 0.95
    cosign_expiry_days: int = 7
    evidence_repo: str | None = None
    playbooks_repo: str | None = None  # owner/name: playbooks and org.yml are read from there
    playbooks_folder: str = DEFAULT_PLAYBOOKS_FOLDER
    about_url: str | None = None  # the org's page about the nudges, linked from every nudge
    cosign_repo: str | None = None  # owner/name: co-sign requests as issues there, not on the PR
    feedback_threshold: float = 0.10  # a playbook with more 👎 than this share is flagged ...
    feedback_min_reactions: int = 10  # ... once it has at least this many 👍/👎
    source: str = "(defaults)"

    @cached_property
    def _listed(self) -> dict[str, Role]:
        """Directly listed logins (lower-case) and their role: the first role listing them."""
        listed: dict[str, Role] = {}
        for role in self.roles.values():
            for member in role.members:
                listed.setdefault(member.lower(), role)
        return listed

    def role_of(self, login: str, teams: Mapping[str, frozenset[str]] = {}) -> Role:
        """The engineer's role: a direct listing wins over a team listing; else the default."""
        lowered = login.lower()
        direct = self._listed.get(lowered)
        if direct is not None:
            return direct
        for role in self.roles.values():
            for member in role.members:
                if member.startswith(TEAM_PREFIX) and lowered in teams.get(
                    member[len(TEAM_PREFIX) :], ()
                ):
                    return role
        return self.roles.get(self.default_role, DEFAULT_ROLE)

    def leads_of(self, login: str, teams: Mapping[str, frozenset[str]] = {}) -> tuple[str, ...]:
        """Who may co-sign for ``login`` (never ``login`` themself)."""
        lowered = login.lower()
        found = []
        for lead, led in self.leads.items():
            if lead.lower() == lowered:
                continue
            for entry in led:
                if entry.lower() == lowered or (
                    entry.startswith(TEAM_PREFIX)
                    and lowered in teams.get(entry[len(TEAM_PREFIX) :], ())
                ):
                    found.append(lead)
                    break
        return tuple(sorted(found))

    def evaluation_rules(self) -> Rules:
        """The kill switch's rules as this organisation set them."""
        return Rules(
            min_engineers=self.evaluation_min_engineers,
            min_prs=self.evaluation_min_prs,
            alpha=self.evaluation_level,
            monitor_p=self.evaluation_monitor_p,
        )

    def team_slugs(self) -> set[str]:
        entries = [m for r in self.roles.values() for m in r.members]
        entries += [e for led in self.leads.values() for e in led]
        return {e[len(TEAM_PREFIX) :] for e in entries if e.startswith(TEAM_PREFIX)}


def _is_entry(value: object) -> bool:
    """A login, or team:slug."""
    if not isinstance(value, str):
        return False
    if value.startswith(TEAM_PREFIX):
        return bool(LOGIN_RE.match(value[len(TEAM_PREFIX) :]))
    return bool(LOGIN_RE.match(value))


def _login_list_check(value: list[object]) -> str | None:
    bad = [v for v in value if not _is_entry(v)]
    if bad:
        return (
            f"{bad[0]!r} is not a GitHub login; write logins without '@' (alice) "
            "or a team as team:slug"
        )
    return None


_LOGINS = Field("list", example="[alice, team:backend]", checks=(_login_list_check,))


def _repo_check(value: str) -> str | None:
    if _REPO_RE.match(value.strip()):
        return None
    return f"{value!r} is not a repository; write owner/name, like my-org/learning-playbooks"


def _folder_check(value: str) -> str | None:
    parts = value.strip().strip("/").split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in value:
        return f"{value!r} is not a folder of the repository; write a path like playbooks or config/playbooks"
    return None


def _start_check(value: dt.date) -> str | None:
    day = value.date() if isinstance(value, dt.datetime) else value
    if FIRST_SPRINT_START <= day <= LAST_SPRINT_START:
        return None
    return (
        f"must be a day between {FIRST_SPRINT_START} and {LAST_SPRINT_START}, found {day}; write "
        "the first day of any recent sprint, like 2026-01-05"
    )


_ROLE = Field(
    "mapping",
    children={
        "nudges": Field("int", example="3", checks=(at_least(0),)),
        "minutes": Field("int", example="10", checks=(at_least(0),)),
        "members": _LOGINS,
    },
)

SCHEMA: dict[str, Field] = {
    "sprint": Field(
        "mapping",
        children={
            "days": Field("int", example="14", checks=(in_range(1, MAX_SPRINT_DAYS, "days", 14),)),
            "starts": Field("date", example="2026-01-05", checks=(_start_check,)),
        },
    ),
    "roles": Field("mapping", free_keys=True, item=_ROLE),
    "default_role": Field("text", example="engineer"),
    "leads": Field("mapping", free_keys=True, item=_LOGINS),
    "holdout_share": Field("number", example="0.4", checks=(between(0.0, 0.9),)),
    "holdout_share_kept": Field("number", example="0.05", checks=(between(0.0, 0.9),)),
    "evaluation": Field(
        "mapping",
        children={
            "level": Field("number", example="0.05", checks=(between(0.001, 0.5),)),
            "min_engineers": Field("int", example="5", checks=(at_least(2),)),
            "min_prs": Field("int", example="1", checks=(at_least(1),)),
            "monitor_p": Field("number", example="0.95", checks=(between(0.5, 0.999),)),
        },
    ),
    "holdout_seed": Field("text", example="our-org-2026"),
    "cosign_expiry_days": Field(
        "int", example="7", checks=(in_range(1, MAX_COSIGN_DAYS, "days", 7),)
    ),
    "evidence_repo": Field("text", example="my-org/learning-evidence"),
    "playbooks_repo": Field("text", example="my-org/learning-playbooks", checks=(_repo_check,)),
    "playbooks_folder": Field("text", example="playbooks", checks=(_folder_check,)),
    "about_url": Field(
        "text", example="https://wiki.my-org.example/learning-nudges", checks=(https_url,)
    ),
    "cosign_repo": Field("text", example="my-org/learning-cosign", checks=(_repo_check,)),
    "feedback": Field(
        "mapping",
        children={
            "threshold": Field("number", example="0.1", checks=(between(0.01, 0.9),)),
            "min_reactions": Field("int", example="10", checks=(at_least(1),)),
        },
    ),
}


def parse_org_settings(text: str, file: str) -> tuple[OrgSettings | None, list[Problem]]:
    """Parse and validate ``org.yml`` (pure)."""
    doc, problems = parse_yaml(text, file)
    if doc is None:
        return None, problems
    problems += check_fields(doc, SCHEMA)
    if problems:
        return None, problems
    data = doc.data or {}
    problems += _cross_checks(doc, data)
    if problems:
        return None, problems
    sprint = data.get("sprint") or {}
    evaluation = data.get("evaluation") or {}
    roles = {
        name: Role(
            name=name,
            nudges=spec.get("nudges"),
            minutes=spec.get("minutes"),
            members=tuple(spec.get("members") or ()),
        )
        for name, spec in (data.get("roles") or {}).items()
    } or {DEFAULT_ROLE.name: DEFAULT_ROLE}
    return (
        OrgSettings(
            sprint_days=sprint.get("days", 14),
            sprint_start=sprint.get("starts", dt.date(2026, 1, 5)),
            roles=roles,
            default_role=data.get("default_role") or next(iter(roles)),
            leads={lead: tuple(led) for lead, led in (data.get("leads") or {}).items()},
            holdout_share=float(data.get("holdout_share", 0.4)),
            holdout_share_kept=float(data.get("holdout_share_kept", 0.05)),
            evaluation_level=float(evaluation.get("level", 0.05)),
            evaluation_min_engineers=evaluation.get("min_engineers", 5),
            evaluation_min_prs=evaluation.get("min_prs", 1),
            evaluation_monitor_p=float(evaluation.get("monitor_p", 0.95)),
            holdout_seed=data.get("holdout_seed", "learning-nudges"),
            cosign_expiry_days=data.get("cosign_expiry_days", 7),
            evidence_repo=data.get("evidence_repo"),
            playbooks_repo=(data.get("playbooks_repo") or "").strip() or None,
            playbooks_folder=(data.get("playbooks_folder") or DEFAULT_PLAYBOOKS_FOLDER)
            .strip()
            .strip("/"),
            about_url=(data.get("about_url") or "").strip() or None,
            cosign_repo=(data.get("cosign_repo") or "").strip() or None,
            feedback_threshold=float((data.get("feedback") or {}).get("threshold", 0.10)),
            feedback_min_reactions=int((data.get("feedback") or {}).get("min_reactions", 10)),
            source=file,
        ),
        [],
    )


def _cross_checks(doc: Document, data: dict[str, Any]) -> list[Problem]:
    problems = []
    kept = data.get("holdout_share_kept")
    if kept is not None and kept > data.get("holdout_share", 0.4):
        problems.append(
            doc.problem(
                ("holdout_share_kept",),
                f"the holdout kept after a playbook proved itself ({kept}) cannot be larger than "
                f"holdout_share ({data.get('holdout_share', 0.4)}); write a share like 0.05",
            )
        )
    roles = data.get("roles") or {DEFAULT_ROLE.name: None}
    default = data.get("default_role")
    if default is not None and default not in roles:
        problems.append(
            doc.problem(
                ("default_role",),
                f"'{default}' is not one of the roles defined above ({', '.join(roles)}); "
                "use one of them",
            )
        )
    seen: dict[str, str] = {}
    for name, spec in roles.items():
        for index, member in enumerate((spec or {}).get("members") or ()):
            key = str(member).lower()
            if key in seen and seen[key] != name:
                problems.append(
                    doc.problem(
                        ("roles", name, "members", index),
                        f"{member} is already listed under role '{seen[key]}'; keep one",
                    )
                )
            seen[key] = name
    for lead, led in (data.get("leads") or {}).items():
        message = _login_list_check([lead])
        if message or str(lead).startswith(TEAM_PREFIX):
            problems.append(
                doc.problem(
                    ("leads", lead),
                    f"a lead must be one GitHub login without '@', like carol; found {lead!r}",
                )
            )
        for index, entry in enumerate(led or ()):
            if str(entry).lower() == str(lead).lower():
                problems.append(
                    doc.problem(
                        ("leads", lead, index),
                        f"{lead} cannot co-sign their own nudges; remove {entry} from this list "
                        "and name their own lead under leads",
                    )
                )
    return problems


def cosign_warnings(text: str, file: str, significant: Sequence[str]) -> list[Problem]:
    """Where significant playbooks can never be sent because nobody may co-sign (warnings).

    A significant nudge waits for a lead of the engineer; an engineer whom no lead covers never
    receives it. Team membership is only known at run time, so an entry counts as covered when
    a lead lists that same login or team.
    """
    if not significant:
        return []
    doc, problems = parse_yaml(text, file)
    settings, problems = parse_org_settings(text, file)
    if doc is None or settings is None or problems:
        return []  # the errors come first; they are reported by parse_org_settings
    data = doc.data if isinstance(doc.data, dict) else {}
    names = ", ".join(sorted(significant))
    several = len(significant) > 1
    playbooks = f"the significant playbook{'s' if several else ''} {names}"
    reach = "reach" if several else "reaches"

    def warn(path: tuple[str | int, ...], message: str) -> Problem:
        found = doc.problem(path, message)
        return Problem(found.file, found.line, found.field, found.message, warning=True)

    if not settings.leads:
        where = ("leads",) if "leads" in data else ()
        return [
            Problem(
                file,
                doc.line(where),
                "leads",
                f"nobody can co-sign, so {playbooks} {'are' if len(significant) > 1 else 'is'} never "
                "sent; name each lead with the logins or teams they co-sign for, like:  "
                "leads: {carol: [alice, team:backend]}",
                warning=True,
            )
        ]
    covered = {entry.lower() for led in settings.leads.values() for entry in led}
    warnings = []
    for name, role in settings.roles.items():
        for index, member in enumerate(role.members):
            if member.lower() in covered:
                continue
            hint = (
                ""
                if member.startswith(TEAM_PREFIX)
                else " (unless they are in a team a lead covers)"
            )
            warnings.append(
                warn(
                    ("roles", name, "members", index),
                    f"no lead co-signs for {member}, so {playbooks} never {reach} them{hint}; add "
                    f"{member} to a lead's list under leads, like:  carol: [{member}]",
                )
            )
    listed_elsewhere = {
        m.lower()
        for name, role in settings.roles.items()
        if name != settings.default_role
        for m in role.members
    }
    if covered <= listed_elsewhere:
        where = ("default_role",) if "default_role" in data else ("leads",)
        warnings.append(
            warn(
                where,
                f"no lead co-signs for anyone in the default role '{settings.default_role}' "
                f"(everyone not listed under another role), so {playbooks} never {reach} them; list "
                "their logins or teams under a lead, like:  carol: [team:backend]",
            )
        )
    return warnings
