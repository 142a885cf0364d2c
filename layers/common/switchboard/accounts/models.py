from __future__ import annotations

from typing import Literal

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


class Session(BaseModel):
    """A logged-in session: the caller it stands for until `expires_ms`, found by its token's SHA-256.

    Denormalised like `ApiKey`, so the authorizer resolves a session token in one read."""

    model_config = ConfigDict(frozen=True)

    token_hash: str
    account_id: str
    user_id: str | None = None
    priv_level: PrivLevel = "user"
    scopes: frozenset[str] = frozenset()
    ancestry: tuple[str, ...] = ()
    method: str  # how it was obtained: api_key, md5, sha, password, client_credentials, refresh_token
    created_ms: int
    expires_ms: int
    refresh_hash: str | None = None


class LoginCredential(BaseModel):
    """One argon2id hash of a user's client digest (md5 or sha1 of `username:password`)."""

    model_config = ConfigDict(frozen=True)

    method: str
    bucket: str
    hash: str


class IssuedSession(BaseModel):
    """What a login answers: the session token (shown once) and whom it stands for."""

    token: str
    session: Session
    account: Account
    refresh_token: str | None = None


class IssuedAccountKey(BaseModel):
    account_id: str
    api_key: str
    created_ms: int


class ApiAuthInput(BaseModel):
    """KAZOO `PUT /v2/api_auth` data."""

    model_config = ConfigDict(extra="ignore")

    api_key: str = Field(min_length=1, max_length=256)


class UserAuthInput(BaseModel):
    """KAZOO `PUT /v2/user_auth` data: `credentials` is the md5 (or sha1) hex of `username:password`."""

    model_config = ConfigDict(extra="ignore")

    credentials: str = Field(pattern=r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{40})$")
    account_name: str | None = Field(default=None, min_length=1, max_length=128)
    account_realm: str | None = Field(default=None, min_length=1, max_length=253)
    phone_number: str | None = Field(default=None, min_length=1, max_length=32)
    method: Literal["md5", "sha"] | None = None


class IssuedClient(BaseModel):
    """An OAuth API client of an account; the secret is shown once, kept as its SHA-256."""

    account_id: str
    client_id: str
    client_secret: str
