"""JSON Schemas of playbooks and org settings, generated from the checks that ``validate`` runs.

Editors with a YAML language server (VS Code's YAML extension, JetBrains IDEs) complete and check
a playbook while it is typed when pointed at ``playbooks/schema/playbook.schema.json``. The
schemas are made from :data:`bot.core.playbook.SCHEMA` and :data:`bot.core.org.SCHEMA`, so they
cannot say something else than ``python -m bot validate``; what only ``validate`` can check (that
a pattern is valid RE2, that the examples match) stays there. ``python -m bot schema`` rewrites
the committed files; a test fails when they differ from what this module makes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.core import org, playbook
from bot.core.yamlcheck import Field, https_url

# Plain-word help shown by the editor on hover, by dotted path; every field has one (a test
# keeps it so). ``*`` stands for a name the author chooses (a role, a lead).
PLAYBOOK_HELP: dict[str, str] = {
    "id": "The playbook's name: lower-case letters, digits and dashes, the same as the file name without .yml.",
    "title": "Shown at the top of the nudge, exactly as written.",
    "summary": "One sentence on why this matters, for the people who keep the playbooks; not shown in the nudge.",
    "significant": "true: a team lead must approve (👍) each nudge before the engineer sees it.",
    "paused": "true: recognise and count the comments, but send no nudge.",
    "match": "How to recognise this kind of review comment.",
    "match.patterns": "Patterns (RE2, case-insensitive); a comment matching any one of them is this playbook's kind. Quote each in single quotes.",
    "match.exclude": "A comment matching one of these is not this playbook's, even if a pattern matched.",
    "match.on_code": "Line comments only: rules of a `comment` pattern and a `code` pattern; a comment is this playbook's when its words match one and the code it is on (its line and the four above) the other.",
    "examples": "Comments that must and must not match; `validate` and the pull request check try them.",
    "examples.match": "Comments this playbook must recognise.",
    "examples.no_match": "Comments this playbook must leave alone.",
    "examples.match_on_code": "A `comment` and the `code` it is on that this playbook must recognise (tries `match.on_code`).",
    "trigger": "When a nudge is sent.",
    "trigger.comments": "How many matching review comments an engineer receives before the nudge (default 2).",
    "trigger.within_days": "Those comments must fall within this many days (1-365, default 30).",
    "trigger.cooldown_days": "After a nudge, stay quiet about this playbook for this many days (0-365, default 30).",
    "nudge": "What the engineer reads.",
    "nudge.minutes": "How long the play takes; counts against the engineer's minutes per sprint (default 2).",
    "nudge.play": "Two to four sentences: what to do differently, in plain words.",
    "nudge.checklist": "Short items the engineer can tick off.",
    "nudge.link": "One deeper link.",
    "nudge.link.title": "The link's text.",
    "nudge.link.url": "A plain https:// address.",
    "evaluation": "How the kill switch judges whether the nudges help.",
    "evaluation.window_days": "Days between the kill switch's looks at the evidence (7-365, default 60).",
    "evaluation.resumed_on": "A date on or after a pause (YYYY-MM-DD): lifts the kill switch's pause.",
    "evaluation.observe_days": "Days of history to record before the first nudge, as the baseline (default 30).",
    "evaluation.pre_days": "How far back each engineer's 'before' period reaches (at least 7, default 90).",
    "evaluation.stop_early": "true: the kill switch may pause a playbook halfway through its first window when it clearly does nothing.",
    "reinforcement": "Spaced follow-ups after a posted nudge, closer while the comments continue.",
    "reinforcement.enabled": "false: no follow-ups for this playbook.",
    "reinforcement.desired_retention": "0.7-0.97: a higher share brings follow-ups sooner (default 0.9).",
    "reinforcement.max_followups": "At most this many follow-ups per nudge (1-12, default 5).",
    "reinforcement.clean_reviews_to_end": "This many reviews in a row without the comment end the follow-ups (1-20, default 5).",
    "reinforcement.wait_days": "A due follow-up waits this many days for a fitting pull request, then is dropped (default 21).",
    "reinforcement.minutes": "What a follow-up costs of the sprint's minutes; less than the nudge (default 1).",
    "applies_to": "Which pull requests follow-ups go to (the nudge itself follows the review comment).",
    "applies_to.paths": "Only pull requests touching files like these (globs such as 'src/**/*.py').",
    "applies_to.exclude_paths": "Not files like these (globs such as 'tests/**').",
    "applies_to.languages": "Only pull requests touching files of these languages.",
    "applies_to.added_lines": "Only pull requests adding a line that matches one of these patterns.",
    "applies_to.code_scanning": "Only pull requests with one of these code-scanning alerts.",
    "applies_to.code_scanning.rules": "Code-scanning rule ids, like 'py/sql-injection'.",
    "applies_to.code_scanning.cwe": "CWE numbers, like 89 for CWE-89.",
    "rollout": "Who the playbook reaches: a pilot, and live or shadow mode. Without it: everyone, live.",
    "rollout.mode": "live (default): nudges are posted. shadow: every decision is made and recorded, nothing is posted.",
    "rollout.teams": "Pilot: only engineers in these GitHub teams (slugs, like backend).",
    "rollout.repos": "Pilot: only pull requests in these repositories (owner/name).",
}

ORG_HELP: dict[str, str] = {
    "cosign_repo": "A private repository of the organisation (owner/name): co-sign requests go "
    "there as issues assigned to the lead, instead of a comment on the engineer's pull request.",
    "feedback": "When a playbook's 👎 share on its nudges is flagged in the report and evidence issue.",
    "feedback.threshold": "Share of 👎 among 👍/👎 that flags a playbook (0.01-0.9, default 0.1).",
    "feedback.min_reactions": "Reactions a playbook needs before it can be flagged (default 10).",
    "sprint": "The sprint that budgets count in.",
    "sprint.days": "Length of a sprint in days (1-90, default 14).",
    "sprint.starts": "The first day of any sprint (YYYY-MM-DD).",
    "roles": "Attention budgets per role; each role names its members.",
    "roles.*": "One role: its budget and members.",
    "roles.*.nudges": "Nudges per sprint for this role.",
    "roles.*.minutes": "Minutes of plays per sprint for this role.",
    "roles.*.members": "GitHub logins (without @) or team:slug.",
    "default_role": "The role of engineers listed nowhere.",
    "leads": "Who may approve significant nudges for whom: lead login -> logins or team:slug.",
    "leads.*": "The engineers this lead may approve nudges for.",
    "holdout_share": "Share of engineers held out of a playbook while it is evaluated (0-0.9, default 0.4).",
    "holdout_share_kept": "Share held out once a playbook has proved itself (0-0.9, default 0.05).",
    "evaluation": "The kill switch's test.",
    "evaluation.level": "The chance of keeping a playbook that does nothing (0.001-0.5, default 0.05).",
    "evaluation.min_engineers": "Engineers needed in each group before deciding (at least 2, default 5).",
    "evaluation.min_prs": "Reviewed pull requests after the first nudge for an engineer to count (default 1).",
    "evaluation.monitor_p": "Once a playbook is kept: paused when nudged engineers get no fewer matching comments and the one-sided p of a reduction is at least this (0.5-0.999, default 0.95).",
    "holdout_seed": "Any text; changing it re-draws who is held out.",
    "cosign_expiry_days": "Days a lead has to answer a co-sign request (1-90, default 7).",
    "evidence_repo": "owner/name of the repository where the kill switch's evidence issues are written.",
    "playbooks_repo": "owner/name of a repository holding the playbooks and org.yml.",
    "playbooks_folder": "The folder of playbooks in that repository (default playbooks).",
    "about_url": "Your page about the nudges, linked from every nudge (https://).",
}

_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": "string", "minLength": 1},
    "int": {"type": "integer"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "list": {"type": "array"},
    "mapping": {"type": "object"},
    "date": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}"},
}


def _field(spec: Field, path: str, help_text: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if path in help_text:
        out["description"] = help_text[path]
    out.update(_TYPES[spec.kind])
    for check in spec.checks:
        if check is https_url:
            out["pattern"] = "^https://[^\\s\"'<>`\\\\]+$"
        out.update(getattr(check, "json_schema", {}))
    if spec.example and spec.kind not in ("mapping", "list"):
        example = spec.example.strip("'")
        out["examples"] = [_typed(spec.kind, example)]
    if spec.kind == "list" and spec.item is not None:
        out["items"] = _field(spec.item, path, {})
    if spec.kind == "mapping":
        if spec.free_keys and spec.item is not None:
            out["additionalProperties"] = _field(spec.item, f"{path}.*", help_text)
        elif spec.children is not None:
            out.update(_object(spec.children, path, help_text))
    return out


def _typed(kind: str, example: str) -> Any:
    if kind == "int":
        return int(example)
    if kind == "number":
        return float(example)
    if kind == "bool":
        return example == "true"
    return example


def _object(
    children: Mapping[str, Field], prefix: str, help_text: Mapping[str, str]
) -> dict[str, Any]:
    props = {
        key: _field(spec, f"{prefix}.{key}" if prefix else key, help_text)
        for key, spec in children.items()
    }
    required = [key for key, spec in children.items() if spec.required]
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a playbook (``kind="playbook"``) or of ``org.yml``."""
    if kind == "playbook":
        schema, help_text, title = playbook.SCHEMA, PLAYBOOK_HELP, "Learning Nudges playbook"
        about = "One recurring kind of review comment: how to recognise it, when to nudge, and what to send."
    elif kind == "org":
        schema, help_text, title = org.SCHEMA, ORG_HELP, "Learning Nudges org settings (org.yml)"
        about = "Budgets, roles, leads, holdout and kill-switch settings of the organisation."
    else:
        raise ValueError(kind)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://learning-nudges.invalid/schema/{kind}.schema.json",
        "title": title,
        "description": about + " Generated from the checks of `python -m bot validate`, which "
        "also checks what a schema cannot (patterns, examples).",
        **_object(schema, "", help_text),
    }


def undocumented(kind: str) -> list[str]:
    """Dotted paths of fields without help text (a test keeps this empty)."""
    schema, help_text = (
        (playbook.SCHEMA, PLAYBOOK_HELP) if kind == "playbook" else (org.SCHEMA, ORG_HELP)
    )
    missing = []

    def walk(children: Mapping[str, Field], prefix: str) -> None:
        for key, spec in children.items():
            path = f"{prefix}.{key}" if prefix else key
            if path not in help_text:
                missing.append(path)
            if spec.children:
                walk(spec.children, path)
            if spec.free_keys and spec.item is not None:
                if f"{path}.*" not in help_text:
                    missing.append(f"{path}.*")
                if spec.item.children:
                    walk(spec.item.children, f"{path}.*")

    walk(schema, "")
    return missing


def schema_text(kind: str) -> str:
    """The committed file's exact text."""
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


SCHEMA_FILES = {"playbook": "playbook.schema.json", "org": "org.schema.json"}
