"""The GitHub edge: app authentication, an installation client with retries, pacing and ETags."""

from bot.core.retry import RetryPolicy, retry_delay
from bot.github.client import GitHubApp, Installation

__all__ = ["GitHubApp", "Installation", "RetryPolicy", "retry_delay"]
