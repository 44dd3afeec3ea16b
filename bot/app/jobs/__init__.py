"""Scheduled work, each a function of its narrow dependencies and the injected time."""
