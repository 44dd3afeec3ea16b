"""The test data we keep in the repository is still what GitHub publishes."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, SHARED

from bot.testing.fakegithub import DESCRIPTION_FILE


def test_every_vendored_payload_is_a_webhook_example():
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert "pull_request_review_comment.created.json" in names and len(names) >= 30
    for path in FIXTURES.glob("*.json"):
        assert isinstance(json.loads(path.read_text()), dict), path.name


@pytest.mark.skipif(not SHARED.exists(), reason="shared fixtures not beside this clone")
def test_vendored_copies_equal_the_shared_fixtures():
    for path in FIXTURES.glob("*.json"):
        assert path.read_bytes() == (SHARED / "github-webhooks" / path.name).read_bytes(), path.name
    assert (
        DESCRIPTION_FILE.read_bytes() == (SHARED / "github-rest-openapi-extended.json").read_bytes()
    )
