"""Who is calling, and which accounts they may act on.

The authorizer resolves the API key once and passes the caller's identity in the request
context; every domain call takes a `Caller` and checks it against the target account here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

OPERATOR_SCOPE = "operator"

PrivLevel = Literal["admin", "user"]


class AccountScope(BaseModel):
    """The part of an account tenancy checks need: its id and its ancestry."""

    model_config = ConfigDict(frozen=True)

    id: str
    ancestry: tuple[str, ...] = ()


class Caller(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    user_id: str | None = None
    priv_level: PrivLevel = "user"
    scopes: frozenset[str] = frozenset()
    # Root first, parent last; the caller's own account is not in it.
    ancestry: tuple[str, ...] = ()

    @property
    def is_operator(self) -> bool:
        return OPERATOR_SCOPE in self.scopes

    @property
    def is_admin(self) -> bool:
        return self.priv_level == "admin"

    def can_act_on(self, account_id: str, account_ancestry: tuple[str, ...] | list[str]) -> bool:
        """Own account, or (for admins) any descendant; operators everywhere; never an ancestor
        or a sibling. Plain users stay inside their own account, as in KAZOO."""
        if self.is_operator or account_id == self.account_id:
            return True
        return self.is_admin and self.account_id in account_ancestry

    def is_admin_of(self, account_id: str, account_ancestry: tuple[str, ...] | list[str]) -> bool:
        """Admin rights on an account: its own admins, admins of an ancestor, operators."""
        if account_id == self.account_id:
            return self.is_admin or self.is_operator
        return self.can_act_on(account_id, account_ancestry)

    def own_account(self) -> AccountScope:
        return AccountScope(id=self.account_id, ancestry=self.ancestry)

    def to_context(self) -> dict[str, str]:
        """The authorizer context API Gateway forwards (string values only)."""
        return {
            "account_id": self.account_id,
            "user_id": self.user_id or "",
            "priv_level": self.priv_level,
            "scopes": ",".join(sorted(self.scopes)),
            "ancestry": ",".join(self.ancestry),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Caller:
        def split(value: Any) -> list[str]:
            return [part for part in str(value or "").split(",") if part]

        return cls(
            account_id=str(context["account_id"]),
            user_id=str(context.get("user_id") or "") or None,
            priv_level=context.get("priv_level") or "user",
            scopes=frozenset(split(context.get("scopes"))),
            ancestry=tuple(split(context.get("ancestry"))),
        )
