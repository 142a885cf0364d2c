from __future__ import annotations

from dataclasses import dataclass

import pytest
from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.tenancy import Caller

from tests.support import load_function


@dataclass
class Principal:
    account_id: str
    user_id: str
    token: str
    caller: Caller

    @property
    def context(self) -> dict[str, str]:
        return self.caller.to_context()


@dataclass
class World:
    """A reseller with a sub-account, a stranger tenant, and an operator."""

    reseller_admin: Principal
    child_admin: Principal
    child_user: Principal
    child_user2: Principal
    stranger_admin: Principal
    operator: Principal
    accounts: AccountService


@pytest.fixture
def accounts(aws) -> AccountService:
    return AccountService(AccountsRepository(aws["ACCOUNTS_TABLE"]))


def _principal(service: AccountService, issued) -> Principal:
    caller = service.resolve(issued.token)
    assert caller is not None
    return Principal(issued.account_id, issued.user_id, issued.token, caller)


@pytest.fixture
def world(accounts: AccountService) -> World:
    reseller = accounts.create_account("Reseller", is_reseller=True)
    child = accounts.create_account("Child", parent_id=reseller.account_id)
    stranger = accounts.create_account("Stranger")
    operator = accounts.create_account("Operator", operator=True)
    return World(
        reseller_admin=_principal(accounts, reseller),
        child_admin=_principal(accounts, child),
        child_user=_principal(accounts, accounts.issue_token(child.account_id)),
        child_user2=_principal(accounts, accounts.issue_token(child.account_id)),
        stranger_admin=_principal(accounts, stranger),
        operator=_principal(accounts, operator),
        accounts=accounts,
    )


@pytest.fixture
def alerts_fn(aws):
    return load_function("alerts")


@pytest.fixture
def authorizer_fn(aws):
    return load_function("authorizer")


@pytest.fixture
def emulator():
    """moto in server mode on a free port, with the local runtime's patches (no persistence)."""
    from switchboard_local.emulator import Emulator

    server = Emulator(0)
    server.start()
    yield server
    server.stop()
