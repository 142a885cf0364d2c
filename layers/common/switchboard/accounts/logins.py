"""Logging in: account API keys, usernames and passwords → short-lived, revocable sessions.

A session token is a random string given to the client once and stored only as its SHA-256; its
item carries the caller it stands for (account, user, privilege, ancestry), so the authorizer
resolves it in one read, exactly as it resolves an API key. Failed logins are counted per account
and per source address in fixed windows; past either limit a login is refused before any secret
is checked. Every login, refused or not, leaves one audit line. A wrong password, an unknown user
and an unknown account are the same error.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from switchboard import ids
from switchboard.accounts import credentials
from switchboard.accounts.login_repository import LoginRepository, OAuthRepository
from switchboard.accounts.models import (
    Account,
    IssuedAccountKey,
    IssuedClient,
    IssuedSession,
    LoginCredential,
    Session,
    User,
)
from switchboard.accounts.repository import AccountsRepository
from switchboard.errors import CodedError, Conflict, Forbidden, InvalidInput, NotFound
from switchboard.tenancy import Caller, PrivLevel

audit = Logger(child=True)

USERNAME_MAX = 128


class InvalidCredentials(CodedError):
    """Whatever was wrong (the account, the user, the secret, an expired session): one answer."""

    def __init__(self) -> None:
        super().__init__("invalid_credentials", status=401, message="invalid credentials")


class OAuthError(CodedError):
    """An OAuth 2 token-endpoint error (RFC 6749 section 5.2 codes); `of` builds one from a description."""

    @classmethod
    def of(cls, code: str, description: str, status: int = 400) -> OAuthError:
        return cls(code, [description], status=status, message=description)


class TooManyAttempts(CodedError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("too_many_requests", status=429, message="too many failed logins; try again later")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class LoginPolicy:
    session_ttl_s: int
    refresh_ttl_s: int
    failure_window_s: int
    max_failures_per_account: int
    max_failures_per_source: int


class LoginService:
    def __init__(
        self,
        accounts: AccountsRepository,
        logins: LoginRepository,
        policy: LoginPolicy,
        now_ms: Callable[[], int],
    ) -> None:
        self._accounts = accounts
        self._logins = logins
        self._policy = policy
        self._now_ms = now_ms

    # ------------------------------------------------------------ sessions

    def resolve(self, token: str) -> Caller | None:
        """The caller a live session token stands for (one read), else None."""
        session = self._logins.get_session(credentials.fingerprint(token))
        if session is None or session.expires_ms <= self._now_ms():
            return None
        return Caller(
            account_id=session.account_id,
            user_id=session.user_id,
            priv_level=session.priv_level,
            scopes=session.scopes,
            ancestry=session.ancestry,
        )

    def inspect(self, token: str) -> IssuedSession:
        session = self._logins.get_session(credentials.fingerprint(token))
        if session is None or session.expires_ms <= self._now_ms():
            raise InvalidCredentials()
        account = self._accounts.get_account(session.account_id)
        if account is None:
            raise InvalidCredentials()
        return IssuedSession(token=token, session=session, account=account)

    def revoke(self, token: str) -> bool:
        """Ends the session (its token stops working at once); False when there was none."""
        revoked = self._logins.delete_session(credentials.fingerprint(token))
        audit.info("session revoked" if revoked else "revoke of an unknown session", audit_event="logout")
        return revoked

    def _open(
        self,
        account: Account,
        user: User | None,
        method: str,
        with_refresh: bool = False,
        scopes: frozenset[str] = frozenset(),
    ) -> IssuedSession:
        now = self._now_ms()
        token = credentials.new_session_token()
        refresh = credentials.new_session_token() if with_refresh else None
        priv: PrivLevel = user.priv_level if user else "admin"
        session = Session(
            token_hash=credentials.fingerprint(token),
            account_id=account.id,
            user_id=user.id if user else None,
            priv_level=priv,
            scopes=scopes,
            ancestry=account.ancestry,
            method=method,
            created_ms=now,
            expires_ms=now + self._policy.session_ttl_s * 1000,
            refresh_hash=credentials.fingerprint(refresh) if refresh else None,
        )
        self._logins.put_session(session)
        return IssuedSession(token=token, session=session, account=account, refresh_token=refresh)

    @property
    def policy(self) -> LoginPolicy:
        return self._policy

    def now_ms(self) -> int:
        return self._now_ms()

    def open(self, account: Account, user: User | None, method: str, with_refresh: bool = False) -> IssuedSession:
        return self._open(account, user, method, with_refresh)

    def open_for_account(self, account: Account, method: str, source: str) -> IssuedSession:
        """An account-admin session for a caller authenticated otherwise (an OAuth client)."""
        return self._succeeded(self._open(account, None, method), source)

    def end_session(self, token_hash: str) -> None:
        self._logins.delete_session(token_hash)

    def guard(self, account_hint: str, source: str) -> list[str]:
        return self._guard(account_hint, source)

    def failed(self, scopes: list[str], method: str, account_hint: str, source: str) -> None:
        self._failed(scopes, method, account_hint, source)

    # ------------------------------------------------------------ failure accounting

    def _window(self) -> int:
        return self._now_ms() // (self._policy.failure_window_s * 1000)

    def _guard(self, account_hint: str, source: str) -> list[str]:
        scopes = [f"account#{account_hint.strip().lower()[:256]}", f"source#{source}"]
        account_failures = self._logins.failures(scopes[:1], self._window())
        source_failures = self._logins.failures(scopes[1:], self._window())
        if (
            account_failures >= self._policy.max_failures_per_account
            or source_failures >= self._policy.max_failures_per_source
        ):
            audit.warning(
                "login refused: too many failures",
                audit_event="login_throttled",
                account=account_hint[:256],
                source_ip=source,
                account_failures=account_failures,
                source_failures=source_failures,
            )
            raise TooManyAttempts(self._policy.failure_window_s)
        return scopes

    def _failed(self, scopes: list[str], method: str, account_hint: str, source: str) -> InvalidCredentials:
        window = self._window()
        expires_s = (window + 2) * self._policy.failure_window_s
        self._logins.count_failure(scopes, window, expires_s)
        audit.warning(
            "login failed", audit_event="login_failed", method=method, account=account_hint[:256], source_ip=source
        )
        return InvalidCredentials()

    def _succeeded(self, issued: IssuedSession, source: str) -> IssuedSession:
        audit.info(
            "login succeeded",
            audit_event="login_succeeded",
            method=issued.session.method,
            account_id=issued.account.id,
            user_id=issued.session.user_id,
            source_ip=source,
        )
        return issued

    # ------------------------------------------------------------ logins

    def login_with_account_key(self, api_key: str, source: str) -> IssuedSession:
        """KAZOO `PUT /v2/api_auth`: the account's API key opens an account-admin session."""
        key_hash = credentials.fingerprint(api_key)
        scopes = self._guard(f"key:{key_hash[:16]}", source)
        account_id = self._logins.get_account_key(key_hash)
        account = self._accounts.get_account(account_id) if account_id else None
        if account is None:
            raise self._failed(scopes, "api_key", f"key:{key_hash[:16]}", source)
        return self._succeeded(self._open(account, None, "api_key"), source)

    def login_with_digest(
        self, digest: str, method: credentials.LoginMethod, account_name: str, source: str, by_name: bool = True
    ) -> IssuedSession:
        """KAZOO `PUT /v2/user_auth`: the md5 or sha1 of `username:password`, and the account's name
        (`by_name`; a realm or a number names no Switchboard account, and fails the same way)."""
        scopes = self._guard(account_name, source)
        digest = digest.lower()
        named = self._logins.accounts_named(account_name) if by_name else []
        for account_id in named:
            for candidate in self._logins.credentials_in(account_id, method, credentials.bucket(digest)):
                if credentials.verify_secret(str(candidate["hash"]), digest):
                    account = self._accounts.get_account(account_id)
                    user = self._accounts.get_user(str(candidate["user_id"]))
                    if account is not None and user is not None:
                        return self._succeeded(self._open(account, user, method), source)
        credentials.spend_like_a_verify()
        raise self._failed(scopes, method, account_name, source)

    def login_with_password(
        self, account_id: str, username: str, password: str, method: str, source: str, with_refresh: bool
    ) -> IssuedSession:
        """A username and password within a known account (AirVantage's password grant)."""
        scopes = self._guard(f"id:{account_id}", source)
        digest = credentials.client_digest(username, password, "md5")
        account = self._accounts.get_account(account_id) if ids.is_hex_id(account_id) else None
        record = self._logins.get_username(account_id, username.strip().lower()) if account else None
        if account is not None and record is not None:
            for candidate in self._logins.credentials_in(account.id, "md5", credentials.bucket(digest)):
                if candidate["user_id"] == record["user_id"] and credentials.verify_secret(
                    str(candidate["hash"]), digest
                ):
                    user = self._accounts.get_user(str(record["user_id"]))
                    if user is not None:
                        return self._succeeded(self._open(account, user, method, with_refresh), source)
        credentials.spend_like_a_verify()
        raise self._failed(scopes, method, f"id:{account_id}", source)

    # ------------------------------------------------------------ administration

    def set_password(
        self, account_id: str, username: str, password: str, user_id: str | None = None, admin: bool = False
    ) -> User:
        """Gives a user (a new one unless `user_id`) a login name and password in the account."""
        account = self._accounts.get_account(account_id) if ids.is_hex_id(account_id) else None
        if account is None:
            raise NotFound(account_id, "account")
        username = username.strip().lower()
        if not username or len(username) > USERNAME_MAX or ":" in username:
            raise InvalidInput.single("username", "invalid", "username must be 1-128 characters without ':'")
        if len(password) < 8:
            raise InvalidInput.single("password", "minLength", "password must be at least 8 characters")
        existing = self._logins.get_username(account.id, username)
        if user_id:
            user = self._accounts.get_user(user_id)
            if user is None or user.account_id != account.id:
                raise NotFound(user_id, "user")
            if existing is not None and existing["user_id"] != user.id:
                raise Conflict(f"username {username} is taken in this account")
        else:
            if existing is not None:
                raise Conflict(f"username {username} is taken in this account")
            user = User(
                id=ids.new_hex_id(),
                account_id=account.id,
                priv_level="admin" if admin else "user",
                created_ms=self._now_ms(),
            )
            self._accounts.put_user(user)
        hashes = []
        for method in credentials.LOGIN_METHODS:
            digest = credentials.client_digest(username, password, method)
            hashes.append(
                LoginCredential(method=method, bucket=credentials.bucket(digest), hash=credentials.hash_secret(digest))
            )
        self._logins.put_credentials(account.id, username, user.id, hashes, replace=existing is not None)
        self._logins.put_account_name(account.name, account.id)
        return user

    def rotate_account_key(self, caller: Caller, account_id: str) -> IssuedAccountKey:
        """A new API key for the account (shown once); the previous one stops working."""
        account = self._administered(caller, account_id)
        key = credentials.new_account_key()
        now = self._now_ms()
        self._logins.replace_account_key(account.id, credentials.fingerprint(key), now)
        self._logins.put_account_name(account.name, account.id)
        audit.info("account API key rotated", audit_event="account_key_rotated", account_id=account.id)
        return IssuedAccountKey(account_id=account.id, api_key=key, created_ms=now)

    def account_key_created_ms(self, caller: Caller, account_id: str) -> int | None:
        """When the account's current API key was made (the key itself is not kept), or None."""
        account = self._administered(caller, account_id)
        current = self._logins.get_current_account_key(account.id)
        return int(current["created_ms"]) if current else None

    def _administered(self, caller: Caller, account_id: str) -> Account:
        account = self._accounts.get_account(account_id) if ids.is_hex_id(account_id) else None
        if account is None or not caller.can_act_on(account.id, account.ancestry):
            raise NotFound(account_id, "account")
        if not caller.is_admin_of(account.id, account.ancestry):
            raise Forbidden("only an account admin may manage its API key")
        return account


class OAuthService:
    """AirVantage's OAuth 2 token endpoint over the same sessions: API clients per account (the secret shown
    once, kept as its SHA-256), the password, client_credentials and refresh_token grants, revocation."""

    def __init__(self, logins: LoginService, accounts: AccountsRepository, oauth: OAuthRepository) -> None:
        self._logins = logins
        self._accounts = accounts
        self._oauth = oauth

    def register_client(self, account_id: str) -> IssuedClient:
        account = self._accounts.get_account(account_id) if ids.is_hex_id(account_id) else None
        if account is None:
            raise NotFound(account_id, "account")
        client_id = ids.new_hex_id()
        secret = credentials.new_account_key()
        self._oauth.put_client(client_id, account.id, credentials.fingerprint(secret), self._logins.now_ms())
        audit.info("API client registered", audit_event="oauth_client_registered", account_id=account.id)
        return IssuedClient(account_id=account.id, client_id=client_id, client_secret=secret)

    def _client_account(self, client_id: str, client_secret: str, source: str) -> Account:
        scopes = self._logins.guard(f"client:{client_id[:64]}", source)
        client = self._oauth.get_client(client_id) if ids.is_hex_id(client_id) else None
        if client is not None and secrets.compare_digest(
            str(client["secret_hash"]), credentials.fingerprint(client_secret)
        ):
            account = self._accounts.get_account(str(client["account_id"]))
            if account is not None:
                return account
        self._logins.failed(scopes, "client", f"client:{client_id[:64]}", source)
        raise OAuthError.of("invalid_client", "client authentication failed", status=401)

    def password_grant(
        self, client_id: str, client_secret: str, username: str, password: str, source: str
    ) -> IssuedSession:
        account = self._client_account(client_id, client_secret, source)
        try:
            issued = self._logins.login_with_password(account.id, username, password, "password", source, True)
        except InvalidCredentials:
            raise OAuthError.of("invalid_grant", "invalid username or password") from None
        self._remember_refresh(issued)
        return issued

    def client_credentials_grant(self, client_id: str, client_secret: str, source: str) -> IssuedSession:
        account = self._client_account(client_id, client_secret, source)
        return self._logins.open_for_account(account, "client_credentials", source)

    def refresh_grant(
        self, refresh_token: str, client_id: str | None, client_secret: str | None, source: str
    ) -> IssuedSession:
        client_account = self._client_account(client_id, client_secret or "", source) if client_id else None
        refresh_hash = credentials.fingerprint(refresh_token)
        taken = self._oauth.take_refresh(refresh_hash)
        invalid = OAuthError.of("invalid_grant", "the refresh token is unknown, used or expired")
        if taken is None or int(taken["expires_ms"]) <= self._logins.now_ms():
            raise invalid
        if client_account is not None and client_account.id != taken["account_id"]:
            raise invalid
        self._logins.end_session(str(taken["session_hash"]))
        account = self._accounts.get_account(str(taken["account_id"]))
        user = self._accounts.get_user(str(taken["user_id"])) if taken.get("user_id") else None
        if account is None or (taken.get("user_id") and user is None):
            raise invalid
        issued = self._logins.open(account, user, "refresh_token", with_refresh=True)
        self._remember_refresh(issued)
        return issued

    def expire(self, access_token: str) -> bool:
        return self._logins.revoke(access_token)

    def _remember_refresh(self, issued: IssuedSession) -> None:
        if issued.refresh_token:
            expires = self._logins.now_ms() + self._logins.policy.refresh_ttl_s * 1000
            self._oauth.put_refresh(credentials.fingerprint(issued.refresh_token), issued.session, expires)
