"""Identifier formats."""

from __future__ import annotations

import re
import uuid

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def new_hex_id() -> str:
    """32 lower-case hex characters: KAZOO's id format for accounts, users, alerts, requests."""
    return uuid.uuid4().hex


def is_hex_id(value: str) -> bool:
    return bool(_HEX32.match(value))
