"""The kill switch as the decisions see it: each installation's playbooks with pauses applied."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from bot.core.evaluate import Evaluation
from bot.core.killswitch import in_force
from bot.core.playbook import Playbook
from bot.store import Store


async def histories(store: Store, installation_id: int) -> dict[str, list[Evaluation]]:
    """Each playbook's decisions on record for one installation, oldest first."""
    found: dict[str, list[Evaluation]] = defaultdict(list)
    for record in await store.evaluations(installation_id):
        found[record.evaluation.playbook_id].append(record.evaluation)
    return found


async def playbooks_in_force(
    store: Store, playbooks: Sequence[Playbook], installation_id: int, now: dt.datetime
) -> dict[str, Playbook]:
    """The playbooks as one installation's decisions must see them, kill-switch pauses included.

    A pause lifted in the YAML takes effect at once, before the daily job records the resume.
    """
    return in_force({p.id: p for p in playbooks}, await histories(store, installation_id), now)
