"""Prometheus metrics, one registry per app instance (tests build many apps in one process).

Label values stay short and few (``bad_signature``, not the sentence a log line carries), so a
scrape never grows with the input. Each registry also carries the process's own metrics (CPU,
memory, open files, start time) and Python's (GC, version).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST  # text/plain; version=0.0.4; charset=utf-8

# Why a delivery was refused, as the web edge words it, to a short label value.
REFUSED = {
    "missing X-Hub-Signature-256": "no_signature",
    "bad signature": "bad_signature",
    "missing X-GitHub-Delivery or X-GitHub-Event": "missing_headers",
    "unreadable": "unreadable",
}
# Webhook acknowledgement: GitHub gives a delivery 10 s.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# From the review comment to the nudge in its thread: seconds to days (a co-sign waits for a lead).
NUDGE_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400)
UNPOSTED_AGES = (("lt_5m", 300), ("lt_1h", 3600), ("lt_1d", 86400), ("ge_1d", float("inf")))


def short_reason(reason: str) -> str:
    return REFUSED.get(reason, "other")


class _ShortLabels:
    """A labelled counter whose label value is mapped to a short one first."""

    def __init__(self, counter: Counter, shorten):
        self._counter = counter
        self._shorten = shorten

    def labels(self, value: str):
        return self._counter.labels(self._shorten(value))


@dataclass
class WorkerTrack:
    """The worker's recent outcomes, for readiness: failures since the last delivery done."""

    failures_in_a_row: int = 0
    last_done: float | None = None
    last_failure: float | None = None
    last_failure_reason: str = ""


class _Outcomes:
    """``deliveries_processed`` as the worker uses it, also noting failures in a row."""

    def __init__(self, counter: Counter, errors: Counter, track: WorkerTrack):
        self._counter, self._errors, self._track = counter, errors, track

    def labels(self, outcome: str):
        if outcome == "done":
            self._track.failures_in_a_row = 0
            self._track.last_done = time.time()
        elif outcome in ("retry", "failed"):
            self._track.failures_in_a_row += 1
            self._track.last_failure = time.time()
            self._track.last_failure_reason = f"a delivery {outcome}"
            self._errors.labels("delivery").inc()
        return self._counter.labels(outcome)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.deliveries_received = Counter(
            "learning_nudges_deliveries_received",
            "Webhook deliveries accepted, by event",
            ["event"],
            registry=self.registry,
        )
        self.deliveries_refused = _ShortLabels(
            Counter(
                "learning_nudges_deliveries_refused",
                "Webhook deliveries refused, by reason",
                ["reason"],
                registry=self.registry,
            ),
            short_reason,
        )
        self.worker = WorkerTrack()
        self.worker_errors = Counter(
            "learning_nudges_worker_errors",
            "Worker failures: a delivery to retry or failed for good, or an error of the loop itself",
            ["kind"],
            registry=self.registry,
        )
        self.deliveries_processed = _Outcomes(
            Counter(
                "learning_nudges_deliveries_processed",
                "Deliveries processed, by outcome",
                ["outcome"],
                registry=self.registry,
            ),
            self.worker_errors,
            self.worker,
        )
        self.queue_depth = Gauge(
            "learning_nudges_queue_depth", "Deliveries waiting in the inbox", registry=self.registry
        )
        self.queue_age = Gauge(
            "learning_nudges_queue_oldest_age_seconds",
            "Age of the oldest waiting delivery",
            registry=self.registry,
        )
        self.github_requests = Counter(
            "learning_nudges_github_requests",
            "GitHub API requests, by method and status",
            ["method", "status"],
            registry=self.registry,
        )
        self.nudges = Counter(
            "learning_nudges_nudges", "Nudge decisions, by state", ["state"], registry=self.registry
        )
        self.unposted = Gauge(
            "learning_nudges_unposted_nudges",
            "Nudges (and co-sign requests) that still owe GitHub a write, by age since the decision",
            ["age"],
            registry=self.registry,
        )
        self.unposted_oldest = Gauge(
            "learning_nudges_unposted_oldest_age_seconds",
            "Age of the oldest nudge that still owes GitHub a write",
            registry=self.registry,
        )
        self.webhook_ack = Histogram(
            "learning_nudges_webhook_ack_seconds",
            "Time from a webhook's arrival to its answer (202 means stored)",
            ["status"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.webhook_to_nudge = Histogram(
            "learning_nudges_webhook_to_nudge_seconds",
            "Time from the review comment that triggered a nudge to the nudge posted in its thread",
            ["path"],
            buckets=NUDGE_BUCKETS,
            registry=self.registry,
        )
        self.ready = Gauge(
            "learning_nudges_ready", "1 when every readiness check passes", registry=self.registry
        )

    def loop_error(self, reason: str) -> None:
        self.worker_errors.labels("loop").inc()
        self.worker.failures_in_a_row += 1
        self.worker.last_failure = time.time()
        self.worker.last_failure_reason = reason

    def render(self) -> bytes:
        return generate_latest(self.registry)
