"""The GitHub edge: app authentication, an installation client with retries, pacing and ETags."""

from bot.github.client import GitHubApp, Installation
from bot.github.retry import RetryPolicy, retry_delay

__all__ = ["GitHubApp", "Installation", "RetryPolicy", "retry_delay"]
