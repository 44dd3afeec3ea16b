"""The GitHub App manifest asks for exactly the events the app handles."""

from __future__ import annotations

import yaml

from bot.app.routers import build_router
from bot.app.routers.config_repo import router_for
from bot.app.settings import PACKAGE_ROOT


def test_app_manifest_subscribes_to_exactly_the_events_the_app_handles():
    manifest = yaml.safe_load((PACKAGE_ROOT / "app.yml").read_text())
    router = build_router([router_for(None)])  # as deployed with a playbooks repository
    handled = set(router._shallow_routes) | set(router._deep_routes)
    assert set(manifest["default_events"]) == handled


def test_procfile_migrates_on_release_then_runs_the_web_and_the_worker_processes():
    lines = (PACKAGE_ROOT / "Procfile").read_text().splitlines()
    assert lines == [
        "release: python -m bot migrate",
        "web: python -m bot serve",
        "worker: python -m bot worker",
    ]
    from bot.cli import COMMANDS

    commands = {name for name, _ in COMMANDS}
    assert {line.split()[-1] for line in lines} <= commands  # each runs a command that exists
