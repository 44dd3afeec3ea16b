"""The playbooks and org settings in force, behind a holder that a reload replaces at once.

Handlers and jobs read ``holder.current`` once per piece of work, so a reload (from the
deployment's folder at start-up, or from the organisation's repository on a push) never shows
them half of one version and half of another.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.core.classify import Classifier
from bot.core.org import ORG_FILE, OrgSettings, parse_org_settings
from bot.core.patterns import PatternSetTooLarge
from bot.core.playbook import Playbook, load_playbooks
from bot.core.yamlcheck import Problem

log = logging.getLogger(__name__)


def keep_out_of_collections(*, collect_first: bool = False) -> None:
    """Leave what is loaded now (modules, the compiled playbooks) out of later garbage collections.

    Python's cyclic collector walks every object it tracks in a full collection; with 300
    playbooks that is over 400,000 objects, about a third of a second each time, while webhooks
    wait. What is loaded at start-up and after a reload lives until the next reload; those
    objects hold no reference cycles, so reference counting still frees them once a reload
    replaces them. ``collect_first`` (at start-up, before serving) collects what is garbage
    already, so none of it is kept; :func:`collect_again` at shutdown hands everything back.
    """
    if collect_first:
        gc.collect()
    gc.freeze()


def collect_again() -> None:
    """Undo :func:`keep_out_of_collections`: the service is stopping."""
    gc.unfreeze()


@dataclass(frozen=True)
class PlaybookSet:
    """The playbooks in force, their classifier, and the problems of those that did not load."""

    playbooks: tuple[Playbook, ...]
    problems: tuple[Problem, ...] = ()
    classifier: Classifier = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        playbooks, problems = list(self.playbooks), list(self.problems)
        while True:
            try:
                classifier = Classifier(playbooks)
                break
            except PatternSetTooLarge as exc:  # never a crash: that playbook is left out, reported
                problems.append(
                    Problem(exc.source or exc.owner, 1, "match", f"not loaded: {exc.reason}")
                )
                playbooks = [p for p in playbooks if p.id != exc.owner]
        object.__setattr__(self, "playbooks", tuple(playbooks))
        object.__setattr__(self, "problems", tuple(problems))
        object.__setattr__(self, "classifier", classifier)

    def get(self, playbook_id: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.id == playbook_id), None)

    def by_id(self) -> dict[str, Playbook]:
        return {p.id: p for p in self.playbooks}


@dataclass(frozen=True)
class InForce:
    """One consistent version of the configuration."""

    playbooks: PlaybookSet
    org: OrgSettings = field(default_factory=OrgSettings)


class ConfigHolder:
    """Holds the :class:`InForce` version; ``replace`` swaps it whole."""

    def __init__(self, current: InForce):
        self._current = current

    @property
    def current(self) -> InForce:
        return self._current

    def replace(
        self, *, playbooks: PlaybookSet | None = None, org: OrgSettings | None = None
    ) -> InForce:
        self._current = replace(
            self._current,
            **({"playbooks": playbooks} if playbooks is not None else {}),
            **({"org": org} if org is not None else {}),
        )
        return self._current


def load_config(directory: Path) -> tuple[InForce, list[Problem]]:
    """Playbooks and org settings from a folder; problems are returned, good files still load."""
    result = load_playbooks(directory)
    problems = list(result.problems)
    org = OrgSettings()
    org_file = directory / ORG_FILE
    if org_file.exists():
        parsed, org_problems = parse_org_settings(
            org_file.read_text(encoding="utf-8"), str(org_file)
        )
        problems += org_problems
        if parsed is not None:
            org = parsed
    for problem in problems:
        log.error("configuration problem (this file is skipped, the others work): %s", problem)
    return InForce(PlaybookSet(tuple(result.playbooks), tuple(problems)), org), problems
