"""A strict, stateful fake of GitHub's REST API, for the test-suite and ``python -m bot demo``."""

from bot.testing.fakegithub.keys import app_keypair
from bot.testing.fakegithub.server import FakeGitHub, RecordedRequest
from bot.testing.fakegithub.spec import DESCRIPTION_FILE, description

__all__ = ["DESCRIPTION_FILE", "FakeGitHub", "RecordedRequest", "app_keypair", "description"]
