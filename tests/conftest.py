"""Shared test setup: fake AWS credentials for every test, moto for the handler tests."""

from __future__ import annotations

import os

import pytest

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


def _clear_service_caches() -> None:
    from switchboard import wiring

    wiring.reset()
