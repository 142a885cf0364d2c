"""boto3 access in one place.

boto3 is imported on first use rather than at module import: it is the largest part of a
cold start and the authorizer's cache hits never need it. Endpoints come from the standard
AWS environment (AWS_ENDPOINT_URL points everything at the local emulator).
"""

from __future__ import annotations

from functools import cache
from typing import Any

_given_session: Any = None


@cache
def _session() -> Any:
    if _given_session is not None:
        return _given_session
    import boto3

    return boto3.session.Session()


@cache
def dynamodb() -> Any:
    return _session().resource("dynamodb")


@cache
def client(service: str) -> Any:
    return _session().client(service)


@cache
def table(name: str) -> Any:
    # Building a Table resource re-reads boto3's resource model: do it once per table.
    return dynamodb().Table(name)


def use_session(session: Any) -> None:
    """Draw every client from `session` (benchmarks attach stubs to it); None restores the default."""
    global _given_session
    _given_session = session
    reset()


def reset() -> None:
    """Forget cached sessions (tests switch endpoints and credentials between cases)."""
    for cached in (_session, dynamodb, client, table):
        cached.cache_clear()
