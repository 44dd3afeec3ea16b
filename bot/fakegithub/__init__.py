"""A strict, stateful fake of GitHub's REST API, for the test-suite and ``python -m bot demo``."""

from .keys import app_keypair
from .server import FakeGitHub, RecordedRequest
from .spec import DESCRIPTION_FILE, description

__all__ = ["DESCRIPTION_FILE", "FakeGitHub", "RecordedRequest", "app_keypair", "description"]
