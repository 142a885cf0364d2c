"""boto3 access in one place.

boto3 is imported on first use rather than at module import: it is the largest part of a
cold start and the authorizer's cache hits never need it. Endpoints come from the standard
AWS environment (AWS_ENDPOINT_URL points everything at the local emulator).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

_R = TypeVar("_R")
_lock = threading.RLock()


def cache(build: Callable[..., _R]) -> Callable[..., _R]:
    """functools.cache, made safe for first calls from several threads at once (the deliver function
    works a batch in threads): without the lock two threads could each build a session, and objects
    built from one would not recognise the other's exception classes."""
    cached = functools.cache(build)

    @functools.wraps(build)
    def once(*args: Any) -> _R:
        with _lock:
            return cached(*args)

    once.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return once


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
        cached.cache_clear()  # type: ignore[attr-defined]
