"""Request bodies taken from the API contracts' own examples, shared by unit, integration and e2e tests.

Tests never change these in place (copy first: `{**RULE_POST, "name": ...}` or `copy.deepcopy`).
"""

from __future__ import annotations

from typing import Any


# ---------------------------------------------------------------- KAZOO Crossbar alerts (seed 000)
def crossbar_alert(account_id: str, to: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    """The create request (`PUT /v2/accounts/{ACCOUNT_ID}/alerts`) of the seed, addressed to the account's
    admins unless `to` is given; `extra` adds fields of `data`."""
    return {
        "data": {
            "title": "Provisioning Error",
            "message": "Error trying to provision device",
            "from": [{"type": "account", "value": account_id}],
            "to": to or [{"type": "admins", "value": account_id}],
            **extra,
        }
    }


# ---------------------------------------------------------------- AirVantage alert rules (seed 001)
# The POST example (AGG._DATA_BYTES_TOTAL_DELTA is platform-generated data) and the PUT example.
RULE_POST: dict[str, Any] = {
    "targetType": "SYSTEM",
    "name": "Daily usage exceeded",
    "message": "Daily usage exceeded",
    "active": True,
    "emails": ["machin@truc.com"],
    "conditions": [
        {
            "operator": "GREATER_THAN",
            "operands": [
                {"attributeId": {"name": "AGG._DATA_BYTES_TOTAL_DELTA/D"}, "function": "SUM"},
                {"valueNum": 1024},
            ],
        }
    ],
}
RULE_PUT: dict[str, Any] = {
    "targetType": "SYSTEM",
    "name": "Temperature exceeded",
    "message": "Temperature exceeded",
    "active": True,
    "emails": ["machin@truc.com"],
    "conditions": [
        {"operator": "GREATER_THAN", "operands": [{"attributeId": {"name": "DATA.room.temp"}}, {"valueNum": 38}]}
    ],
}

# ---------------------------------------------------------------- Syniverse ESS (seed 003)
# A porting_event of the seed's subscriber (+12345678901, carrier 15799), matched by the seed's
# criteria `number = '+12345678901'`; the porting date is one of this era.
PORTING_EVENT: dict[str, Any] = {
    "topic": "NIS-Events",
    "evt-tp": "porting_event",
    "fld-val-list": {"number": "+12345678901", "porting_date": "2026-11-23T10:00:00Z", "carrier_id": "15799"},
}
