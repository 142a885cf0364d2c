"""Shared test setup: fake AWS credentials for every test, moto for the handler tests, webhook receivers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.receivers import Receiver

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "SwitchboardTests",
        "POWERTOOLS_SERVICE_NAME": "switchboard-tests",
        "PYDANTIC_DISABLE_PLUGINS": "1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`), every end-to-end test runs in the same worker: one local runtime at a
    time, started once, as in a run without -n."""
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture
def aws():
    """moto in-process with every table of template.yaml, and the functions' table variables set."""
    from moto import mock_aws
    from switchboard import aws as aws_access

    from tests.support import create_template_resources

    with mock_aws():
        aws_access.reset()
        names = create_template_resources()
        previous = {key: os.environ.get(key) for key in names}
        os.environ.update(names)
        _clear_service_caches()
        yield names
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _clear_service_caches()
        aws_access.reset()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (tests/receivers.py) for one test."""
    server = Receiver()
    yield server
    server.close()


def _clear_service_caches() -> None:
    from switchboard import wiring

    wiring.reset()
