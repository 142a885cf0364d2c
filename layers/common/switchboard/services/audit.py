"""Audit entries: ids, who made a change, and the daily summary's shape."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from switchboard import clock
from switchboard.errors import NotFound
from switchboard.services.models import AUDIT_ID
from switchboard.tenancy import Caller


class RequestInfo(BaseModel):
    """The API request behind a change (what an audit entry records of it)."""

    model_config = ConfigDict(frozen=True)

    method: str
    path: str
    client_ip: str | None = None
    request_id: str
    idempotency_key: str | None = None  # the client's own X-Request-ID, when it sent one

    def audit_fields(self) -> dict[str, Any]:
        fields = {"method": self.method, "path": self.path, "client_ip": self.client_ip, "request_id": self.request_id}
        return {key: value for key, value in fields.items() if value is not None}


def new_audit_id(created_ms: int) -> str:
    """`YYYYMM-` + 32 hex: the creation time in ms (12 hex, so ids sort by time) and 20 random hex."""
    month = datetime.fromtimestamp(created_ms / 1000, tz=UTC).strftime("%Y%m")
    return f"{month}-{created_ms:012x}{secrets.token_hex(10)}"


def parse_audit_id(audit_id: str) -> str:
    """The 32 hex of a well-formed audit id whose month matches its time; NotFound otherwise."""
    match = AUDIT_ID.match(audit_id)
    if match is None:
        raise NotFound(audit_id, "audit entry")
    hex32 = match.group(3)
    created_ms = int(hex32[:12], 16)
    if datetime.fromtimestamp(created_ms / 1000, tz=UTC).strftime("%Y%m") != match.group(1) + match.group(2):
        raise NotFound(audit_id, "audit entry")
    return hex32


def day_of(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def who(caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`authentication`, `agent`) of an API change."""
    authentication = {"method": "api_key", "account_id": caller.account_id}
    agent: dict[str, Any] = {"type": "user", "account_id": caller.account_id}
    if caller.user_id:
        authentication["user_id"] = caller.user_id
        agent["user_id"] = caller.user_id
    if caller.is_operator:
        agent["type"] = "operator"
    return authentication, agent


def system_agent(source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"method": "system"}, {"type": "system", "source": source}


def summary_rows(items: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Day-counter items → {item: {day: {addition, last_timestamp, quantity, removal, sum_quantity}}}."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for row in items:
        _, day, item = row["sk"].split("#", 2)
        result.setdefault(item, {})[day] = {
            "addition": int(row.get("addition", 0)),
            "last_timestamp": int(row.get("last_timestamp", 0)),
            "quantity": int(row.get("quantity", 0)),
            "removal": int(row.get("removal", 0)),
            "sum_quantity": False,
        }
    return result


def gregorian_range(
    created_from: int | None, created_to: int | None, default_days: int, max_days: int
) -> tuple[int, int]:
    """[from, to] in epoch ms from Gregorian seconds (defaults: the last `default_days` days)."""
    from switchboard.errors import InvalidInput

    to_s = created_to if created_to is not None else clock.gregorian_from_ms(clock.now_ms())
    from_s = created_from if created_from is not None else to_s - default_days * 86_400
    if from_s > to_s:
        raise InvalidInput.single("created_from", "maximum", "created_from must not be after created_to", from_s, to_s)
    if to_s - from_s > max_days * 86_400:
        raise InvalidInput.single("created_to", "invalid", f"the range spans more than {max_days} days", to_s, max_days)
    return clock.ms_from_gregorian(from_s), clock.ms_from_gregorian(to_s) + 999
