"""Prometheus metrics, one registry per app instance (tests build many apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries_received = Counter(
            "learning_nudges_deliveries_received", "Webhook deliveries accepted, by event",
            ["event"], registry=self.registry,
        )
        self.deliveries_refused = Counter(
            "learning_nudges_deliveries_refused", "Webhook deliveries refused, by reason",
            ["reason"], registry=self.registry,
        )
        self.deliveries_processed = Counter(
            "learning_nudges_deliveries_processed", "Deliveries processed, by outcome",
            ["outcome"], registry=self.registry,
        )
        self.queue_depth = Gauge(
            "learning_nudges_queue_depth", "Deliveries waiting in the inbox", registry=self.registry
        )
        self.queue_age = Gauge(
            "learning_nudges_queue_oldest_age_seconds", "Age of the oldest waiting delivery",
            registry=self.registry,
        )
        self.github_requests = Counter(
            "learning_nudges_github_requests", "GitHub API requests, by method and status",
            ["method", "status"], registry=self.registry,
        )
        self.nudges = Counter(
            "learning_nudges_nudges", "Nudge decisions, by state", ["state"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
