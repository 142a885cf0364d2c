"""Fixtures shared by unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from switchboard.delivery.sender import Sender


@pytest.fixture
def sender() -> Iterator[Sender]:
    """The delivery engine's HTTP client, allowed to reach loopback servers."""
    client = Sender(allow_private=True)
    yield client
    client.close()
