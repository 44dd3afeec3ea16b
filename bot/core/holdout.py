"""The randomized holdout: who is kept from a playbook's nudge, so outcomes can be compared."""

from __future__ import annotations

import hmac

HOLDOUT = "holdout"
NUDGED = "nudged"


def assign_holdout(
    seed: str, installation_id: int, engineer: str, playbook_id: str, share: float
) -> str:
    """Randomized but reproducible: a keyed hash of who and what, compared with the share.

    The result is stored the first time, so changing the share later never moves anyone.
    """
    message = f"{installation_id}:{engineer.lower()}:{playbook_id}".encode()
    digest = hmac.digest(seed.encode(), message, "sha256")
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return HOLDOUT if draw < share else NUDGED
