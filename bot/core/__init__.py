"""The decision core of Learning Nudges: pure functions over events, history and an injected time.

Theory of operation
-------------------

Nothing in this package performs I/O. Every function takes what it needs as arguments — the
parsed event, what the store knows about an engineer, the configuration in force, and ``now`` —
and returns frozen dataclasses saying what should happen. The edges in ``bot.app`` read those
inputs, call the core, and write what it returns; they never decide.

A review comment goes through these steps, each a module:

1. ``events`` turns a webhook payload into a :class:`~bot.core.events.ReviewComment` (or raises
   :class:`~bot.core.events.PayloadError` naming the field that is wrong).
2. ``classify`` finds the playbooks (``playbook``: parsed and validated YAML, with ``yamlcheck``
   reporting problems at file and line) whose patterns the reviewer's words match.
3. ``decide`` turns the matches and the engineer's history into signals and, when a playbook's
   trigger fires, a nudge. The gates run in a fixed order — trigger, cooldown, the kill switch's
   pause, ``holdout``, ``budget``, the ``cosign`` requirement — and every gate that says no leaves
   a :class:`~bot.core.nudges.Note` with the reason. ``nudges`` holds the facts and the states a
   nudge moves through.
4. ``render`` writes what people read, mention-safe, with a hidden marker so the edge can tell
   whether a nudge is already posted. ``outbox`` says which nudges still owe GitHub a write and
   what a failed write leads to (``retry`` says when a GitHub request is tried again).
5. Later, ``cosign`` reads a lead's reactions, ``outcome`` measures what later reviews show,
   ``evaluate`` compares nudged and held-out engineers, ``killswitch`` pauses and resumes
   playbooks, and ``evidence`` / ``evidence_issue`` write the evidence where people work.
6. After a posted nudge, ``reinforce`` schedules spaced follow-ups with FSRS from what later
   reviews and code scanning alerts show, and ``relevance`` says which pull requests touch the
   code a playbook is about, so a follow-up goes where it applies.

``org`` parses the organisation's settings (roles and budgets, leads, sprints, the holdout
share); ``config_folder`` decides what a folder of playbooks read from a repository puts in
force. Because every input is explicit, each rule is tested as a table of inputs and expected
decisions, with no mocks and no clock but the one passed in.
"""
