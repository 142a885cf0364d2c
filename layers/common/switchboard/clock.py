"""Time in the forms Switchboard stores (epoch ms, ISO-8601) and the dialects speak."""

from __future__ import annotations

import time
from datetime import UTC, datetime

# Seconds from 0000-01-01 (proleptic Gregorian) to 1970-01-01, as KAZOO counts them.
GREGORIAN_UNIX_OFFSET = 62_167_219_200


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def gregorian_from_ms(epoch_ms: int) -> int:
    return epoch_ms // 1000 + GREGORIAN_UNIX_OFFSET


def ms_from_gregorian(gregorian_seconds: int) -> int:
    return (gregorian_seconds - GREGORIAN_UNIX_OFFSET) * 1000


def iso_from_ms(epoch_ms: int) -> str:
    """ISO-8601 UTC with a `Z`, to the second (the Crossbar envelope's `timestamp`)."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
