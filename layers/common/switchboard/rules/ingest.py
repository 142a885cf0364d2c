"""Telemetry ingest: POST /api/v1/systems/{uid}/data puts a system's data points on the telemetry queue.

The queue is FIFO, grouped by system, so each system's data is evaluated in the order it arrived and
one message at a time (no two workers race on one system's state). The deduplication id is a hash of
the company, the system and the points, so a device that posts the same data twice (a retry) within
SQS's five-minute window is evaluated once; evaluation is idempotent beyond that window too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from switchboard import aws, ids
from switchboard.accounts.service import AccountService
from switchboard.errors import NotFound, PayloadTooLarge, Unavailable
from switchboard.rules.evaluation import TelemetryMessage, points_of
from switchboard.rules.models import System, parse_telemetry
from switchboard.tenancy import Caller


def message_id(company_id: str, system_id: str, points: list[Any]) -> str:
    canonical = json.dumps(
        [company_id, system_id, sorted((p.data_id, p.timestamp, repr(p.value)) for p in points)], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# SQS's message size limit: points that do not fit one message cannot be queued (413, not a 503 to retry).
MAX_MESSAGE_BYTES = 262_144


class IngestService:
    def __init__(
        self,
        accounts: AccountService,
        systems: Callable[[str, str], System | None],
        queue_url: str,
        clock: Callable[[], int],
    ) -> None:
        self._accounts = accounts
        self._systems = systems
        self._queue_url = queue_url
        self._clock = clock

    def ingest(self, caller: Caller, company: str | None, system_uid: str, data: Any) -> int:
        """Queue the points for evaluation; returns how many. 404 for a system the caller cannot see."""
        company_id = self._accounts.scope_for(caller, company, "company").id
        if not ids.is_hex_id(system_uid) or self._systems(company_id, system_uid) is None:
            raise NotFound(system_uid, "system")
        points = points_of(parse_telemetry(data))
        if not points:
            return 0  # nothing to evaluate (`[]`, `[{}]`): accepted, nothing queued
        message = TelemetryMessage(
            company_id=company_id,
            system_id=system_uid,
            message_id=message_id(company_id, system_uid, points),
            points=points,
            received_ms=self._clock(),
        )
        body = message.model_dump_json()
        if len(body.encode("utf-8")) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(MAX_MESSAGE_BYTES)
        try:
            aws.client("sqs").send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageGroupId=system_uid,
                MessageDeduplicationId=message.message_id,
            )
        except Exception as exc:  # any SQS failure: nothing was accepted, the device may retry as it is
            raise Unavailable(f"the data could not be queued ({type(exc).__name__}); send it again") from exc
        return len(points)
