"""Creating accounts, users and keys; resolving a presented key to a caller."""

from __future__ import annotations

import re

from switchboard import clock, ids
from switchboard.accounts.keys import TOKEN_PREFIX, hash_token, new_token
from switchboard.accounts.models import FEATURES, KEY_ID_LENGTH, Account, ApiKey, IssuedCredential, User
from switchboard.accounts.repository import AccountsRepository
from switchboard.errors import Forbidden, InvalidInput, NotFound
from switchboard.tenancy import OPERATOR_SCOPE, AccountScope, Caller, PrivLevel

KEY_ID = re.compile(f"[0-9a-f]{{{KEY_ID_LENGTH}}}")


class AccountService:
    def __init__(self, repository: AccountsRepository) -> None:
        self._repo = repository

    def get(self, account_id: str) -> Account:
        account = self._repo.get_account(account_id) if ids.is_hex_id(account_id) else None
        if account is None:
            raise NotFound(account_id, "account")
        return account

    def scope_for(self, caller: Caller, account_id: str | None, kind: str = "account") -> Account | AccountScope:
        """The account a request acts on (default: the caller's), or NotFound — exactly as for an
        account that does not exist — when the caller may not act on it."""
        if account_id is None or account_id == caller.account_id:
            return caller.own_account()  # the key's account exists and its ancestry came with the key
        account = self._repo.get_account(account_id) if ids.is_hex_id(account_id) else None
        if account is None or not caller.can_act_on(account.id, account.ancestry):
            raise NotFound(account_id, kind)
        return account

    def has_feature(self, account_id: str, feature: str) -> bool:
        """Whether an operator enabled `feature` for the account (one read of the account item)."""
        account = self._repo.get_account(account_id)
        return account is not None and feature in account.features

    def set_feature(self, account_id: str, feature: str, enabled: bool) -> Account:
        """Enable or disable a feature of an account (operators: `switchboard accounts features`)."""
        if feature not in FEATURES:
            raise InvalidInput.single("feature", "enum", f"unknown feature {feature}", feature, list(FEATURES))
        if not ids.is_hex_id(account_id) or not self._repo.set_feature(account_id, feature, enabled):
            raise NotFound(account_id, "account")
        return self.get(account_id)

    def create_account(
        self, name: str, parent_id: str | None = None, is_reseller: bool = False, operator: bool = False
    ) -> IssuedCredential:
        """A new account with its first admin user, and that user's key."""
        ancestry: tuple[str, ...] = ()
        if parent_id:
            parent = self._repo.get_account(parent_id) if ids.is_hex_id(parent_id) else None
            if parent is None:
                raise InvalidInput.single(
                    "parent", "not_found", f"parent account {parent_id} does not exist", parent_id
                )
            ancestry = (*parent.ancestry, parent.id)
        name = name.strip()
        if not name:
            raise InvalidInput.single("name", "required", "account name is required")
        account = Account(
            id=ids.new_hex_id(),
            name=name,
            parent_id=parent_id,
            ancestry=ancestry,
            is_reseller=is_reseller,
            created_ms=clock.now_ms(),
        )
        self._repo.put_account(account)
        return self.issue_token(account.id, admin=True, operator=operator)

    def issue_token(
        self, account_id: str, user_id: str | None = None, admin: bool = False, operator: bool = False
    ) -> IssuedCredential:
        """A key for an existing user, or for a new user (admin or plain) of the account."""
        account = self.get(account_id)
        if user_id:
            user = self._repo.get_user(user_id)
            if user is None or user.account_id != account.id:
                raise NotFound(user_id, "user")
        else:
            priv: PrivLevel = "admin" if admin else "user"
            user = User(id=ids.new_hex_id(), account_id=account.id, priv_level=priv, created_ms=clock.now_ms())
            self._repo.put_user(user)
        token = new_token()
        key = ApiKey(
            key_hash=hash_token(token),
            account_id=account.id,
            user_id=user.id,
            priv_level=user.priv_level,
            scopes=frozenset({OPERATOR_SCOPE}) if operator else frozenset(),
            ancestry=account.ancestry,
            created_ms=clock.now_ms(),
        )
        self._repo.put_api_key(key)
        return IssuedCredential(account_id=account.id, user_id=user.id, token=token, key_id=key.key_id)

    def resolve(self, token: str) -> Caller | None:
        """The caller a presented key stands for, or None for an unknown key."""
        key = self._repo.get_api_key(hash_token(token))
        if key is None:
            return None
        return Caller(
            account_id=key.account_id,
            user_id=key.user_id,
            priv_level=key.priv_level,
            scopes=key.scopes,
            ancestry=key.ancestry,
        )

    # ------------------------------------------------------------ revocation (docs/tenancy.md)
    def list_keys(self, caller: Caller, account_id: str) -> list[ApiKey]:
        """The account's keys (never the secrets): for an admin of the account, of a reseller above it, or an
        operator; NotFound for an account the caller cannot see, Forbidden for a plain user."""
        account = self._admin_scope(caller, account_id)
        return self._repo.account_api_keys(account.id)

    def revoke_key(self, caller: Caller, account_id: str, key_id: str) -> ApiKey:
        """Revoke one of the account's keys by its key id (as `list_keys` shows it)."""
        account = self._admin_scope(caller, account_id)
        key = next((key for key in self._repo.account_api_keys(account.id) if key.key_id == key_id), None)
        if key is None:
            raise NotFound(key_id, "api key")
        self._repo.delete_api_key(key)
        return key

    def revoke(self, key_or_id: str) -> ApiKey:
        """Operator revocation (`switchboard tokens revoke`): the key itself, or its key id."""
        key_or_id = key_or_id.strip()
        if key_or_id.startswith(TOKEN_PREFIX):
            key_hash: str | None = hash_token(key_or_id)
        elif KEY_ID.fullmatch(key_or_id):
            key_hash = self._repo.key_hash_for(key_or_id)
        else:
            raise InvalidInput.single("key", "invalid", f"neither a key ({TOKEN_PREFIX}...) nor a key id", key_or_id)
        key = self._repo.get_api_key(key_hash) if key_hash else None
        if key is None:
            raise NotFound(key_or_id, "api key")
        self._repo.delete_api_key(key)
        return key

    def _admin_scope(self, caller: Caller, account_id: str) -> Account | AccountScope:
        account = self.scope_for(caller, account_id)
        if not caller.is_admin_of(account.id, account.ancestry):
            raise Forbidden("only an admin of the account (or of its reseller) may manage its keys")
        return account
