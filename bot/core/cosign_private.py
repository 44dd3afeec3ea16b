"""Co-sign requests kept out of the engineer's pull request: an issue in the org's private repository.

When the org settings name ``cosign_repo``, a significant nudge's co-sign request is an issue
there, assigned to the engineer's lead(s), with the evidence and the nudge exactly as it would
be posted. The lead answers with 👍 or 👎 on the issue, counted as on a request in the pull
request (:func:`bot.core.cosign.decide_cosign`); the issue is then edited into a record of the
outcome and closed. The issue mentions nobody: the assignment is what notifies the leads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.nudges import Nudge
from bot.core.org import LOGIN_RE, OrgSettings
from bot.core.playbook import Playbook
from bot.core.render import cosign_deadline, link_target, marker, nudge_text, plain, quote_text


def _pull(nudge: Nudge) -> str:
    return f"{plain(nudge.repo)}#{int(nudge.pr_number)}"


def cosign_issue_title(nudge: Nudge, playbook: Playbook) -> str:
    return f"Co-sign a learning nudge: {plain(playbook.title)} for {plain(nudge.engineer)} ({_pull(nudge)})"


def assignees(nudge: Nudge) -> list[str]:
    """The leads to assign (logins only; never the engineer)."""
    return [
        lead
        for lead in nudge.leads
        if LOGIN_RE.match(lead) and lead.lower() != nudge.engineer.lower()
    ]


def cosign_issue_body(nudge: Nudge, playbook: Playbook, org: OrgSettings, secret: bytes) -> str:
    deadline = cosign_deadline(nudge, org)
    deadline = deadline.astimezone(dt.UTC) if deadline.tzinfo else deadline
    evidence = [
        f"- {plain(s.reviewer)} on {plain(s.repo)}#{int(s.pr_number)}"
        + (f" ([comment]({link_target(s.url)}))" if link_target(s.url) else "")
        + f": “{quote_text(s.quote)}”"
        for s in nudge.evidence
    ]
    lines = [
        f"Learning Nudges proposes a short nudge on **{plain(playbook.title)}** for "
        f"{plain(nudge.engineer)} on {_pull(nudge)}, because {len(nudge.evidence)} review "
        f"comment{'s' if len(nudge.evidence) != 1 else ''} in the last {playbook.trigger.within_days} "
        "days pointed at it:",
        "",
        *evidence,
        "",
        "It is marked significant, so it waits for a lead. This request is kept here, not on the "
        "pull request, so that it is not a public mark. React 👍 on this issue to send the nudge "
        "in the review thread, 👎 to drop it. Without an answer it is dropped on "
        f"{deadline:%Y-%m-%d at %H:%M} UTC ({org.cosign_expiry_days} days after it was proposed).",
        "",
        "<details>",
        "<summary>The nudge, exactly as it would be posted</summary>",
        "",
        nudge_text(nudge, playbook, org),
        "",
        "</details>",
        marker(nudge.key, secret, cosign=True),
    ]
    return "\n".join(lines)


def cosign_issue_outcome(nudge: Nudge, playbook: Playbook, secret: bytes) -> dict[str, Any]:
    """The edit that records the outcome and closes the issue."""
    who = plain(nudge.resolved_by or "")
    outcome = {
        "cosigned": f"Co-signed by {who}; the nudge was posted in the review thread.",
        "posted": f"Co-signed by {who}; the nudge was posted in the review thread.",
        "vetoed": f"Declined by {who}; no nudge was sent.",
        "expired": "No lead answered within the co-sign period; no nudge was sent.",
    }.get(nudge.state.value, plain(nudge.reason))
    body = (
        f"Learning Nudges proposed a nudge on **{plain(playbook.title)}** for "
        f"{plain(nudge.engineer)} on {_pull(nudge)}. {outcome}\n"
        + marker(nudge.key, secret, cosign=True)
    )
    reason = "completed" if nudge.state.value in ("cosigned", "posted") else "not_planned"
    return {"body": body, "state": "closed", "state_reason": reason}
