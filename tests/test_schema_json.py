"""The JSON Schemas editors use: the committed files are what the code makes, and they fit."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import jsonschema
import pytest
import yaml
from conftest import ROOT

from bot.core.schema_json import SCHEMA_FILES, json_schema, schema_text, undocumented

FOLDER = ROOT / "playbooks" / "schema"


def as_an_editor_reads(data):
    """YAML dates are text to an editor's schema check."""
    if isinstance(data, dict):
        return {k: as_an_editor_reads(v) for k, v in data.items()}
    if isinstance(data, list):
        return [as_an_editor_reads(v) for v in data]
    return data.isoformat() if isinstance(data, dt.date) else data


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_the_committed_schema_is_the_generated_one(kind):
    assert (FOLDER / SCHEMA_FILES[kind]).read_text(encoding="utf-8") == schema_text(kind), (
        "run: python -m bot schema"
    )
    jsonschema.Draft202012Validator.check_schema(json_schema(kind))
    assert undocumented(kind) == [], "every field has help text for the editor and the guide"


def test_every_shipped_playbook_and_the_org_settings_fit_their_schema():
    files = sorted((ROOT / "playbooks").glob("*.yml"))
    assert len(files) >= 9
    for path in files:
        data = as_an_editor_reads(yaml.safe_load(path.read_text()))
        schema = json_schema("org") if path.name == "org.yml" else json_schema("playbook")
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker()
        )
        errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], path


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"trigger": {"within_days": 400}}, "400 is greater than the maximum of 365"),
        ({"rollout": {"mode": "shadw"}}, "'shadw' is not one of ['live', 'shadow']"),
        ({"titel": "x"}, "Additional properties are not allowed ('titel' was unexpected)"),
        (
            {"nudge": {"play": "x", "link": {"title": "t", "url": "http://x.example"}}},
            "does not match",
        ),
    ],
)
def test_the_schema_flags_what_validate_flags(change, complaint):
    data = as_an_editor_reads(
        yaml.safe_load((ROOT / "playbooks" / "sql-injection.yml").read_text())
    )
    data.update(change)
    messages = [
        e.message
        for e in jsonschema.Draft202012Validator(json_schema("playbook")).iter_errors(data)
    ]
    assert any(complaint in m for m in messages), messages


def test_schema_command_rewrites_stale_files(tmp_path):
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bot", "schema", "--out", str(tmp_path), *a],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run("--check").returncode == 1
    assert run().returncode == 0
    assert run("--check").returncode == 0
    assert (tmp_path / "playbook.schema.json").read_text() == schema_text("playbook")


def test_the_guides_complete_example_validates_and_fits_the_schema():
    from bot.core.playbook import parse_playbook

    guide = (ROOT / "playbooks" / "README.md").read_text()
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    playbook, problems = parse_playbook(example, "playbooks/magic-numbers.yml")
    assert problems == [] and playbook.rollout.shadow and playbook.rollout.teams == ("payments",)
    data = as_an_editor_reads(yaml.safe_load(example))
    assert list(jsonschema.Draft202012Validator(json_schema("playbook")).iter_errors(data)) == []
    for field in ("rollout.mode", "rollout.teams", "trigger.cooldown_days", "applies_to.paths"):
        assert f"`{field}`" in guide, f"the guide explains {field}"
