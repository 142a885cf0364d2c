"""boto3 access in one place.

boto3 is imported on first use rather than at module import: it is the largest part of a
cold start and the authorizer's cache hits never need it. Endpoints come from the standard
AWS environment (AWS_ENDPOINT_URL points everything at the local emulator).
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session()


@cache
def dynamodb() -> Any:
    return _session().resource("dynamodb")


@cache
def client(service: str) -> Any:
    return _session().client(service)


def table(name: str) -> Any:
    return dynamodb().Table(name)


def reset() -> None:
    """Forget cached sessions (tests switch endpoints and credentials between cases)."""
    for cached in (_session, dynamodb, client):
        cached.cache_clear()
