"""OAuth 2.0 client-credentials tokens (RFC 6749 §4.4) for webhook endpoints that want a Bearer token.

Token requests go through the delivery Sender, so the token URL gets the same send-time SSRF guard as
the webhook URL. Tokens are cached per warm container until shortly before they expire; the engine
calls `invalidate` when an endpoint answers 401 and then asks once for a fresh token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote_plus, urlencode

from switchboard.delivery.sender import MAX_DRAIN, MAX_RESPONSE_BODY, HttpResult, Sender

DEFAULT_LIFETIME_S = 300.0
MAX_LIFETIME_S = 24 * 3600.0
REFRESH_EARLY_S = 30.0
MAX_CACHED_TOKENS = 1024

_TokenKey = tuple[str, str, str, str | None]


class TokenError(Exception):
    """The token endpoint gave no usable token; `result` is what it did, for the attempt log."""

    def __init__(self, message: str, result: HttpResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True, slots=True)
class _CachedToken:
    access_token: str
    refresh_at: float  # clock reading after which a new token is fetched


def basic_authorization(username: str, password: str) -> str:
    """An HTTP Basic `Authorization` value (RFC 7617), UTF-8 encoded."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def client_authorization(client_id: str, client_secret: str) -> str:
    """Client authentication for the token endpoint: RFC 6749 §2.3.1 form-encodes both parts first."""
    return basic_authorization(quote_plus(client_id), quote_plus(client_secret))


class TokenCache:
    """Client-credentials tokens, cached until 30 s before they expire. Thread-safe.

    One lock per token key means concurrent deliveries to the same endpoint wait for a single token
    request instead of each making their own.
    """

    def __init__(self, sender: Sender, clock: Callable[[], float] = time.monotonic) -> None:
        self._sender = sender
        self._clock = clock
        self._tokens: dict[_TokenKey, _CachedToken] = {}
        self._key_locks: dict[_TokenKey, threading.Lock] = {}
        self._lock = threading.Lock()
        # Keys carry a keyed hash of the secret: the secret is not kept, and a dump of the cache
        # does not allow guessing it offline.
        self._secret_key = os.urandom(32)

    def token(self, token_url: str, client_id: str, client_secret: str, scope: str | None, timeout_s: float) -> str:
        """A valid access token, from the cache or freshly requested; raises TokenError when none is had."""
        key = self._key(token_url, client_id, client_secret, scope)
        cached = self._valid(key)
        if cached is not None:
            return cached
        with self._lock_for(key):
            cached = self._valid(key)  # another caller may have fetched it while this one waited
            if cached is not None:
                return cached
            requested_at = self._clock()
            access_token, lifetime_s = self._request(token_url, client_id, client_secret, scope, timeout_s)
            # Measured from before the request, so network time never extends a token's use; short-lived
            # tokens are refreshed at half-life rather than never being cached at all.
            refresh_at = requested_at + lifetime_s - min(REFRESH_EARLY_S, lifetime_s / 2)
            with self._lock:
                self._tokens[key] = _CachedToken(access_token, refresh_at)
                self._prune()
            return access_token

    def invalidate(
        self, token_url: str, client_id: str, client_secret: str, scope: str | None, rejected: str | None = None
    ) -> None:
        """Forget the cached token (the endpoint rejected it), so the next call requests a new one. With
        `rejected`, only if that is still the cached token: attempts that ran side by side with the same
        token and all got a 401 lead to one new token, not one each."""
        key = self._key(token_url, client_id, client_secret, scope)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and (rejected is None or cached.access_token == rejected):
                del self._tokens[key]

    def _key(self, token_url: str, client_id: str, client_secret: str, scope: str | None) -> _TokenKey:
        secret_hash = hmac.new(self._secret_key, client_secret.encode(), hashlib.sha256).hexdigest()
        return (token_url, client_id, secret_hash, scope)

    def _valid(self, key: _TokenKey) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.access_token
        return None

    def _lock_for(self, key: _TokenKey) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _prune(self) -> None:
        """Bound memory when many configurations pass through one container: expired first, then oldest."""
        if len(self._tokens) <= MAX_CACHED_TOKENS:
            return
        now = self._clock()
        for key in [k for k, t in self._tokens.items() if t.refresh_at <= now]:
            del self._tokens[key]
        for key in sorted(self._tokens, key=lambda k: self._tokens[k].refresh_at)[:-MAX_CACHED_TOKENS]:
            del self._tokens[key]
        for key in [k for k in self._key_locks if k not in self._tokens]:
            del self._key_locks[key]

    def _request(
        self, token_url: str, client_id: str, client_secret: str, scope: str | None, timeout_s: float
    ) -> tuple[str, float]:
        """POST the client-credentials grant; returns the token and its lifetime in seconds."""
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        headers = {
            "Authorization": client_authorization(client_id, client_secret),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        result = self._sender.post(token_url, urlencode(form).encode("ascii"), headers, timeout_s, max_body=MAX_DRAIN)
        if result.status is None:
            raise TokenError(f"token request failed: {result.error}", result)
        if not 200 <= result.status < 300:
            error_code = _oauth_error_code(result.body)
            detail = f" ({error_code})" if error_code else ""
            failed = replace(
                result,
                error_class="http",
                error=f"token endpoint answered {result.status}{detail}",
                body=result.body[:MAX_RESPONSE_BODY],
            )
            raise TokenError(failed.error or "", failed)
        try:
            return _parse_token_response(result)
        except ValueError as exc:
            # The body of a 2xx token response may hold credentials: it never goes to the attempt log.
            unusable = replace(result, error_class="http", error=f"unusable token response: {exc}", body="")
            raise TokenError(unusable.error or "", unusable) from None


def _parse_token_response(result: HttpResult) -> tuple[str, float]:
    """`access_token` (required) and a lifetime from `expires_in`, clamped to what the cache allows."""
    if result.error:  # the body was cut short (a timeout or a dropped connection mid-body)
        raise ValueError(result.error)
    try:
        document: Any = json.loads(result.body)
    except ValueError:
        raise ValueError("body is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError("body is not a JSON object")
    access_token = document.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise ValueError("access_token is missing or not a string")
    # RFC 6749 A.12: VSCHAR only. Anything else could not go into an Authorization header safely.
    if not all(" " <= c <= "~" for c in access_token):
        raise ValueError("access_token has characters not allowed in an HTTP header")
    return access_token, _lifetime(document.get("expires_in"))


def _lifetime(expires_in: object) -> float:
    """Seconds the token may be used; absent or unreadable values get the default lifetime.

    Numeric strings are accepted because some providers send them ("3599").
    """
    if isinstance(expires_in, bool) or expires_in is None:
        return DEFAULT_LIFETIME_S
    try:
        seconds = float(expires_in) if isinstance(expires_in, (int, float, str)) else math.nan
    except ValueError:
        return DEFAULT_LIFETIME_S
    if not math.isfinite(seconds) or seconds < 0:
        return DEFAULT_LIFETIME_S
    return min(seconds, MAX_LIFETIME_S)


def _oauth_error_code(body: str) -> str | None:
    """The RFC 6749 §5.2 `error` code of an error response, when it is a short plain token."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    code = document.get("error") if isinstance(document, dict) else None
    if isinstance(code, str) and 0 < len(code) <= 64 and code.replace("_", "").isalnum() and code.isascii():
        return code
    return None
