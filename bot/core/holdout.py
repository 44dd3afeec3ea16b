"""The randomized holdout: who is kept from a playbook's nudge, so outcomes can be compared."""

from __future__ import annotations

import hmac
from functools import lru_cache

HOLDOUT = "holdout"
NUDGED = "nudged"


def assign_holdout(
    seed: str, installation_id: int, engineer: str, playbook_id: str, share: float
) -> str:
    """Randomized but reproducible: a keyed hash of who and what, compared with the share.

    The result is stored the first time, so changing the share later never moves anyone.
    """
    message = f"{installation_id}:{engineer.lower()}:{playbook_id}".encode()
    keyed = _keyed(seed).copy()
    keyed.update(message)
    digest = keyed.digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return HOLDOUT if draw < share else NUDGED


@lru_cache(maxsize=64)
def _keyed(seed: str) -> hmac.HMAC:
    """HMAC-SHA256 keyed with ``seed``, ready to copy: the key is prepared once per seed."""
    return hmac.new(seed.encode(), digestmod="sha256")
