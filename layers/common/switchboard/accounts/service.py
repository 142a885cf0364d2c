"""Creating accounts, users and keys; resolving a presented key to a caller."""

from __future__ import annotations

from switchboard import clock, ids
from switchboard.accounts.keys import hash_token, new_token
from switchboard.accounts.models import FEATURES, Account, ApiKey, IssuedCredential, User
from switchboard.accounts.repository import AccountsRepository
from switchboard.errors import InvalidInput, NotFound
from switchboard.tenancy import OPERATOR_SCOPE, AccountScope, Caller, PrivLevel


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
        self._repo.put_api_key(
            ApiKey(
                key_hash=hash_token(token),
                account_id=account.id,
                user_id=user.id,
                priv_level=user.priv_level,
                scopes=frozenset({OPERATOR_SCOPE}) if operator else frozenset(),
                ancestry=account.ancestry,
                created_ms=clock.now_ms(),
            )
        )
        return IssuedCredential(account_id=account.id, user_id=user.id, token=token)

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
