"""Opaque paging cursors.

A cursor carries only positions inside partitions the server chooses (never a partition
key), so a forged cursor can at worst skip rows of the caller's own lists.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from switchboard.errors import InvalidInput


def encode(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str, parameter: str = "start_key") -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError):
        value = None
    if not isinstance(value, dict):
        raise InvalidInput.single(parameter, "invalid", "not a paging key this server issued", token)
    return value
