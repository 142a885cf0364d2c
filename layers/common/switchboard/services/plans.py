"""A reseller's catalog of service plans: /v2/accounts/{RESELLER}/service_plans and `switchboard plans import`."""

from __future__ import annotations

from typing import Any

from switchboard import ids
from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.dialects import validation
from switchboard.errors import Conflict, Forbidden, InvalidInput, NotFound
from switchboard.services.models import Plan, PlanInput
from switchboard.services.repository import ServicesRepository
from switchboard.tenancy import Caller

_PLAN_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


def parse_plan(data: Any) -> PlanInput:
    if not isinstance(data, dict):
        raise InvalidInput.single("data", "type", "Value did not match type(s): object", None, "object")
    return validation.parse(PlanInput, data)


class PlanCatalog:
    def __init__(self, repository: ServicesRepository, accounts: AccountsRepository) -> None:
        self._repo = repository
        self._accounts = accounts

    def _reseller(self, caller: Caller, reseller_id: str) -> str:
        account = AccountService(self._accounts).scope_for(caller, reseller_id)
        if not caller.is_admin_of(account.id, account.ancestry):
            raise Forbidden("only an admin of the reseller (or an operator) manages its service plans")
        return account.id

    def list(self, caller: Caller, reseller_id: str) -> list[dict[str, Any]]:
        reseller = self._reseller(caller, reseller_id)
        return [plan.listing() for plan in sorted(self._repo.list_plans(reseller), key=lambda p: (p.spec.name, p.id))]

    def get(self, caller: Caller, reseller_id: str, plan_id: str) -> Plan:
        reseller = self._reseller(caller, reseller_id)
        plan = self._repo.get_plan(reseller, plan_id) if _valid_id(plan_id) else None
        if plan is None:
            raise NotFound(plan_id, "plan")
        return plan

    def create(self, caller: Caller, reseller_id: str, spec: PlanInput) -> Plan:
        return self.import_plan(self._reseller(caller, reseller_id), spec)

    def import_plan(self, reseller_id: str, spec: PlanInput) -> Plan:
        """A new plan in the reseller's catalog (the CLI calls this with an account it has checked)."""
        if self._accounts.get_account(reseller_id) is None:
            raise NotFound(reseller_id, "account")
        plan = Plan(id=ids.new_hex_id(), reseller_id=reseller_id, spec=spec)
        if not self._repo.put_plan(plan, create=True):
            raise Conflict(f"plan {plan.id} exists already; send the request again")
        return plan

    def replace(self, caller: Caller, reseller_id: str, plan_id: str, spec: PlanInput) -> Plan:
        current = self.get(caller, reseller_id, plan_id)
        plan = current.model_copy(update={"spec": spec, "revision": current.revision + 1})
        if not self._repo.put_plan(plan, create=False):
            raise NotFound(plan_id, "plan")
        return plan

    def delete(self, caller: Caller, reseller_id: str, plan_id: str) -> Plan:
        plan = self.get(caller, reseller_id, plan_id)
        if not self._repo.delete_plan(plan.reseller_id, plan.id):
            raise NotFound(plan_id, "plan")
        return plan


def _valid_id(plan_id: str) -> bool:
    import re

    return bool(re.match(_PLAN_ID, plan_id))
