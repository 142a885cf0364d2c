from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from switchboard.tenancy import PrivLevel


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=128)
    parent_id: str | None = None
    # Root first, parent last; fixed at creation (accounts are never re-parented).
    ancestry: tuple[str, ...] = ()
    is_reseller: bool = False
    created_ms: int
    # Features an operator enabled for the account (FEATURES); every other one is off.
    features: frozenset[str] = frozenset()


# Features that are off until an operator enables them per account.
FEATURES = ("usage-notifications",)


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    priv_level: PrivLevel
    created_ms: int


class ApiKey(BaseModel):
    """What a key resolves to. Denormalised so the authorizer needs one read per key."""

    model_config = ConfigDict(frozen=True)

    key_hash: str
    account_id: str
    user_id: str | None = None
    priv_level: PrivLevel = "user"
    scopes: frozenset[str] = frozenset()
    ancestry: tuple[str, ...] = ()
    created_ms: int

    @property
    def key_id(self) -> str:
        """The key's public name (listing, revoking): the first KEY_ID_LENGTH hex digits of its hash."""
        return self.key_hash[:KEY_ID_LENGTH]


KEY_ID_LENGTH = 16


class IssuedCredential(BaseModel):
    """Printed once by the CLI; the token itself is never stored."""

    account_id: str
    user_id: str | None
    token: str
    key_id: str | None = None
