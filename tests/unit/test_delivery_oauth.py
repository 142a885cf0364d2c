"""OAuth client-credentials tokens against a token endpoint on the loopback interface."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote_plus

import pytest
from switchboard.delivery.oauth import TokenCache, TokenError, basic_authorization
from switchboard.delivery.sender import Sender

from tests.unit.test_delivery_sender import Handler, LocalServer, reply

CLIENT_ID = "switchboard client"
CLIENT_SECRET = "s3cr3t:/+=&é"


@dataclass
class TokenEndpoint:
    """Issues tok-1, tok-2, … to the one client it knows; what it answers can be swapped per test."""

    expires_in: object = 3600
    status: int = 200
    raw_body: bytes | None = None
    delay_s: float = 0.0
    issued: int = 0
    forms: list[dict[str, list[str]]] = field(default_factory=list)

    def __call__(self, handler: Handler, body: bytes) -> None:
        form = parse_qs(body.decode("ascii"))
        self.forms.append(form)
        time.sleep(self.delay_s)
        if not self._client_authenticated(handler.headers.get("Authorization", "")):
            reply(handler, 401, b'{"error":"invalid_client","error_description":"who are you?"}')
            return
        if form.get("grant_type") != ["client_credentials"] or handler.headers["Accept"] != "application/json":
            reply(handler, 400, b'{"error":"unsupported_grant_type"}')
            return
        if self.raw_body is not None or self.status != 200:
            reply(handler, self.status, self.raw_body or b"")
            return
        self.issued += 1
        document: dict[str, object] = {"access_token": f"tok-{self.issued}", "token_type": "Bearer"}
        if self.expires_in is not None:
            document["expires_in"] = self.expires_in
        reply(handler, 200, json.dumps(document).encode(), {"Content-Type": "application/json"})

    @staticmethod
    def _client_authenticated(authorization: str) -> bool:
        """RFC 6749 §2.3.1: both parts are form-url-decoded after the Basic decoding."""
        scheme, _, encoded = authorization.partition(" ")
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return scheme == "Basic" and (unquote_plus(user), unquote_plus(password)) == (CLIENT_ID, CLIENT_SECRET)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def endpoint() -> Iterator[tuple[TokenEndpoint, LocalServer]]:
    behaviour = TokenEndpoint()
    server = LocalServer(behaviour)
    yield behaviour, server
    server.stop()


def test_basic_authorization_matches_rfc_7617():
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_a_token_is_fetched_once_and_cached(endpoint, sender):
    behaviour, server = endpoint
    cache = TokenCache(sender)
    tokens = [cache.token(server.url("/oauth/token"), CLIENT_ID, CLIENT_SECRET, "alerts:write", 2) for _ in range(2)]
    assert tokens == ["tok-1", "tok-1"]
    assert behaviour.forms == [{"grant_type": ["client_credentials"], "scope": ["alerts:write"]}]
    assert server.received[0].headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_no_scope_means_no_scope_parameter(endpoint, sender):
    behaviour, server = endpoint
    TokenCache(sender).token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2)
    assert behaviour.forms == [{"grant_type": ["client_credentials"]}]


@pytest.mark.parametrize(
    ("expires_in", "still_cached_at", "refreshed_at"),
    [(100, 69.9, 70.0), ("100", 69.9, 70.0), (None, 269.9, 270.0), (10**9, 86_369.9, 86_370.0), (40, 19.9, 20.0)],
)
def test_tokens_are_refreshed_30_seconds_before_expiry(endpoint, sender, expires_in, still_cached_at, refreshed_at):
    behaviour, server = endpoint
    behaviour.expires_in = expires_in
    clock = FakeClock()
    cache = TokenCache(sender, clock=clock)
    start = clock.now
    assert cache.token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2) == "tok-1"
    clock.now = start + still_cached_at
    assert cache.token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2) == "tok-1"
    clock.now = start + refreshed_at
    assert cache.token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2) == "tok-2"


def test_invalidate_forces_a_new_request(endpoint, sender):
    behaviour, server = endpoint
    cache = TokenCache(sender)
    assert cache.token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2) == "tok-1"
    cache.invalidate(server.url(), CLIENT_ID, CLIENT_SECRET, None)
    assert cache.token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2) == "tok-2"
    assert behaviour.issued == 2


def test_the_cache_key_covers_the_secret_without_holding_it(endpoint, sender):
    _, server = endpoint
    cache = TokenCache(sender)
    cache.token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2)
    with pytest.raises(TokenError):  # a rotated secret is not served the old secret's token
        cache.token(server.url(), CLIENT_ID, "rotated", None, 2)
    assert CLIENT_SECRET not in repr(cache.__dict__)


def test_a_rejected_client_gets_token_error_with_the_status(endpoint, sender):
    _, server = endpoint
    with pytest.raises(TokenError) as caught:
        TokenCache(sender).token(server.url(), CLIENT_ID, "wrong", None, 2)
    result = caught.value.result
    assert (result.status, result.error_class) == (401, "http")
    assert result.error == "token endpoint answered 401 (invalid_client)"
    assert "invalid_client" in result.body


@pytest.mark.parametrize(
    ("raw_body", "why"),
    [
        (b"<html>ok</html>", "body is not JSON"),
        (b"[]", "body is not a JSON object"),
        (b'{"token_type":"Bearer"}', "access_token is missing or not a string"),
        (b'{"access_token":42}', "access_token is missing or not a string"),
        (b'{"access_token":"a\\r\\nX-Injected: 1"}', "access_token has characters not allowed in an HTTP header"),
    ],
)
def test_an_unusable_token_response_is_a_token_error(endpoint, sender, raw_body, why):
    behaviour, server = endpoint
    behaviour.raw_body = raw_body
    with pytest.raises(TokenError) as caught:
        TokenCache(sender).token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2)
    result = caught.value.result
    assert (result.status, result.error_class, result.error) == (200, "http", f"unusable token response: {why}")
    assert result.body == ""  # a 2xx token response may hold credentials: kept out of the attempt log


def test_the_token_request_goes_through_the_ssrf_guard(endpoint):
    _, server = endpoint
    with pytest.raises(TokenError) as caught:
        TokenCache(Sender(allow_private=False)).token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2)
    assert (caught.value.result.status, caught.value.result.error_class) == (None, "blocked")
    assert server.connections == 0


def test_a_network_failure_keeps_its_class(sender):
    failing = Sender(allow_private=True, resolve=lambda host, port: [])
    with pytest.raises(TokenError) as caught:
        TokenCache(failing).token("https://auth.example.com/token", CLIENT_ID, CLIENT_SECRET, None, 2)
    assert caught.value.result.error_class == "dns"


def test_concurrent_callers_share_one_token_request(endpoint, sender):
    behaviour, server = endpoint
    behaviour.delay_s = 0.1
    cache = TokenCache(sender)
    tokens: list[str] = []
    callers = [
        threading.Thread(target=lambda: tokens.append(cache.token(server.url(), CLIENT_ID, CLIENT_SECRET, None, 2)))
        for _ in range(6)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert tokens == ["tok-1"] * 6
    assert behaviour.issued == 1


def test_a_rejected_token_is_forgotten_only_while_it_is_the_cached_one():
    from switchboard.delivery.oauth import TokenCache

    class Tokens:
        def __init__(self) -> None:
            self.issued = 0

        def post(self, url, body, headers, timeout_s, **_options):
            from switchboard.delivery.sender import HttpResult

            self.issued += 1
            return HttpResult(200, None, None, f'{{"access_token": "t{self.issued}", "expires_in": 3600}}', None, 1)

    sender = Tokens()
    cache = TokenCache(sender)  # type: ignore[arg-type]
    first = cache.token("https://auth.example.com/token", "id", "secret", None, 5)
    cache.invalidate("https://auth.example.com/token", "id", "secret", None, rejected=first)
    second = cache.token("https://auth.example.com/token", "id", "secret", None, 5)
    # A side-by-side attempt that used the first token reports it too: the new one stays.
    cache.invalidate("https://auth.example.com/token", "id", "secret", None, rejected=first)
    assert cache.token("https://auth.example.com/token", "id", "secret", None, 5) == second == "t2"
    assert sender.issued == 2
