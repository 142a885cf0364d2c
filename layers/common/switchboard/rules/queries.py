"""The AirVantage alert read APIs: current states and alerts, and the three histories (seed 001).

Current states accept exactly the seed's five criteria combinations (by target; target and rule; state;
state and target type; state, target type and rule); anything else is refused, as the seed says "all
combinations of criteria are not possible". Histories take `targetId`, `ruleIds`, `from`/`to` with the
seed's brackets, `asc` and `size` (at most 500).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from switchboard.accounts.service import AccountService
from switchboard.errors import CodedError, NotFound
from switchboard.rules.models import AlertState
from switchboard.rules.states_repository import StatesRepository
from switchboard.tenancy import Caller

INVALID_CRITERIA = "alert.state.invalid.criteria"
ALLOWED_CRITERIA = (
    frozenset({"targetId"}),
    frozenset({"targetId", "ruleId"}),
    frozenset({"state"}),
    frozenset({"state", "targetType"}),
    frozenset({"state", "targetType", "ruleId"}),
)


class StateCriteria(BaseModel):
    model_config = ConfigDict(frozen=True)

    target_id: str | None = None
    rule_id: str | None = None
    state: bool | None = None
    target_type: str | None = None

    def given(self) -> frozenset[str]:
        names = {
            "targetId": self.target_id,
            "ruleId": self.rule_id,
            "state": self.state,
            "targetType": self.target_type,
        }
        return frozenset(name for name, value in names.items() if value is not None)


class HistoryQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    target_id: str | None = None
    rule_ids: list[str] = []
    from_ms: int
    to_ms: int
    ascending: bool = False
    size: int = 100


class AlertQueries:
    def __init__(self, store: StatesRepository, accounts: AccountService) -> None:
        self._store = store
        self._accounts = accounts

    def _company(self, caller: Caller, company: str | None) -> str:
        return self._accounts.scope_for(caller, company, "company").id

    def states(
        self, caller: Caller, company: str | None, criteria: StateCriteria, offset: int, size: int
    ) -> tuple[list[AlertState], int]:
        """Current states matching one allowed combination, by stateChangeTs (newest first), one page and
        the total."""
        company_id = self._company(caller, company)
        if criteria.target_type not in (None, "SYSTEM", "COMPANY"):
            raise CodedError("invalid.parameter", ["targetType", "must be SYSTEM or COMPANY"], 400)
        given = criteria.given()
        if given not in ALLOWED_CRITERIA:
            raise CodedError(
                INVALID_CRITERIA,
                [",".join(sorted(given)) or "none"],
                400,
                "use targetId[, ruleId] or state[, targetType[, ruleId]]",
            )
        if criteria.target_id is not None:
            found = self._store.states_of_target(company_id, criteria.target_id)
            found = [s for s in found if criteria.rule_id is None or s.rule_id == criteria.rule_id]
        else:
            assert criteria.state is not None
            prefix = ""
            if criteria.target_type is not None:
                prefix = f"{criteria.target_type}#" + (f"{criteria.rule_id}#" if criteria.rule_id else "")
            found = self._store.states_by_state(company_id, criteria.state, prefix)
        found.sort(key=lambda state: (-state.state_change_ts, state.target_id, state.rule_id))
        return found[offset : offset + size], len(found)

    def alerts(self, caller: Caller, company: str | None, query: HistoryQuery) -> list[Any]:
        return self._store.timeline(
            "ALERTS",
            self._company(caller, company),
            query.target_id,
            query.rule_ids,
            query.from_ms,
            query.to_ms,
            query.ascending,
            query.size,
        )

    def state_changes(self, caller: Caller, company: str | None, query: HistoryQuery) -> list[Any]:
        return self._store.timeline(
            "SHISTORY",
            self._company(caller, company),
            query.target_id,
            query.rule_ids,
            query.from_ms,
            query.to_ms,
            query.ascending,
            query.size,
        )

    def alert(self, caller: Caller, company: str | None, alert_id: str) -> Any:
        record = self._store.alert(self._company(caller, company), alert_id) if len(alert_id) <= 64 else None
        if record is None:
            raise NotFound(alert_id, "alert")
        return record
