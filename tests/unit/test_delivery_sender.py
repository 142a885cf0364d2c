"""The send-time HTTP client against real HTTP(S) servers on the loopback interface.

Classification contract checked here: a connection closed or reset before any byte of a response is a
"connect" failure; a response that cannot be parsed is an "http" failure; once a status line and headers
arrived, the result carries the status and no error class, even if the body was then cut short.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from switchboard.delivery.sender import MAX_RESPONSE_BODY, Patience, Sender

Responder = Callable[["Handler", bytes], None]


@dataclass(frozen=True)
class Received:
    path: str
    headers: Message
    body: bytes


class Handler(BaseHTTPRequestHandler):
    """Records each request, then lets the test's responder answer it."""

    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed
    server: LocalServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(Received(self.path, self.headers, body))
        self.server.respond(self, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class LocalServer(ThreadingHTTPServer):
    """A threaded HTTP(S) server on a free loopback port that counts the TCP connections it accepts.

    `stop()` unblocks every handler (the `release` event, then shutting down the accepted sockets) and
    joins all handler threads, so no thread outlives its test.
    """

    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, respond: Responder, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.respond = respond
        self.tls = tls
        self.received: list[Received] = []
        self.sni_names: list[str | None] = []
        self.connections = 0
        self.release = threading.Event()
        self._accepted: list[socket.socket] = []
        super().__init__((host, 0), Handler)
        self.port: int = self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def url(self, path: str = "/", host: str | None = None, scheme: str | None = None) -> str:
        scheme = scheme or ("https" if self.tls else "http")
        if host is None:
            host = f"[{self.server_address[0]}]" if self.address_family == socket.AF_INET6 else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        self.connections += 1
        self._accepted.append(connection)
        return connection, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:  # the handshake runs here, in the handler thread, not in the accept loop
            request = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self._accepted.append(request)
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients in these tests hang up on purpose

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self._thread.join()
        for connection in self._accepted:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()


def reply(handler: Handler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Responder:
    return lambda handler, _request_body: reply(handler, status, body, headers)


def echo(handler: Handler, request_body: bytes) -> None:
    reply(handler, 200, request_body, {"Content-Type": "application/octet-stream"})


@dataclass
class RecordingResolver:
    """Maps names to fixed addresses (or raises) and records every lookup."""

    answers: dict[str, list[str]]
    error: Exception | None = None
    calls: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if self.error is not None:
            raise self.error
        return self.answers[host]


@pytest.fixture
def serve() -> Iterator[Callable[..., LocalServer]]:
    servers: list[LocalServer] = []

    def start(respond: Responder = echo, **options: Any) -> LocalServer:
        server = LocalServer(respond, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_posts_the_body_and_headers_and_reads_the_answer(serve, sender):
    server = serve(echo)
    result = sender.post(
        server.url("/hooks/in?tenant=a"),
        b'{"event":"x"}',
        {"Content-Type": "application/json", "X-Switchboard-Id": "evt-1"},
        2,
    )
    assert (result.status, result.error_class, result.error) == (200, None, None)
    assert result.body == '{"event":"x"}'
    assert result.retry_after is None
    assert 0 <= result.duration_ms < 2000
    [request] = server.received
    assert request.path == "/hooks/in?tenant=a"
    assert request.body == b'{"event":"x"}'
    assert request.headers["Host"] == f"127.0.0.1:{server.port}"
    assert request.headers.get_all("User-Agent") == ["Switchboard-Webhooks/1.0"]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Switchboard-Id"] == "evt-1"


def test_the_callers_user_agent_wins_and_the_host_header_names_the_url_host(serve):
    server = serve(echo)
    resolver = RecordingResolver({"hooks.example.test": ["127.0.0.1"]})
    client = Sender(allow_private=True, resolve=resolver)
    try:
        result = client.post(
            f"http://hooks.example.test:{server.port}/in", b"", {"user-agent": "Custom/2", "Host": "evil.test"}, 2
        )
    finally:
        client.close()
    assert result.status == 200
    [request] = server.received
    assert request.headers.get_all("User-Agent") == ["Custom/2"]
    assert request.headers.get_all("Host") == [f"hooks.example.test:{server.port}"]
    assert resolver.calls == [("hooks.example.test", server.port)]


def test_an_international_host_name_is_resolved_and_sent_in_its_ascii_form(serve):
    server = serve(echo)
    resolver = RecordingResolver({"xn--bcher-kva.example": ["127.0.0.1"]})
    client = Sender(allow_private=True, resolve=resolver)
    try:
        result = client.post(f"http://bücher.example:{server.port}/", b"", {}, 2)
    finally:
        client.close()
    assert result.status == 200
    assert server.received[0].headers["Host"] == f"xn--bcher-kva.example:{server.port}"
    assert resolver.calls == [("xn--bcher-kva.example", server.port)]


def test_ipv6_literal(serve, sender):
    try:
        server = serve(echo, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    result = sender.post(server.url("/six"), b"6", {}, 2)
    assert (result.status, result.body) == (200, "6")
    assert server.received[0].headers["Host"] == f"[::1]:{server.port}"


def test_keeps_only_the_first_4_kib_and_reuses_the_connection_after_a_small_body(serve, sender):
    server = serve(answer(200, "é".encode() * 10_000))  # 20 000 bytes: small enough to drain
    first = sender.post(server.url(), b"", {}, 2)
    second = sender.post(server.url(), b"", {}, 2)
    assert len(first.body.encode()) <= MAX_RESPONSE_BODY
    assert first.body == "é" * (MAX_RESPONSE_BODY // 2)
    assert second.status == 200
    assert server.connections == 1


def test_a_huge_body_is_not_drained_the_connection_is_dropped(serve, sender):
    server = serve(answer(200, b"x" * 1_000_000))
    first = sender.post(server.url(), b"", {}, 2)
    second = sender.post(server.url(), b"", {}, 2)
    assert first.body == "x" * MAX_RESPONSE_BODY
    assert (first.error, second.status) == (None, 200)
    assert server.connections == 2


def test_redirects_are_returned_not_followed(serve, sender):
    server = serve(answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    result = sender.post(server.url("/moved"), b"{}", {}, 2)
    assert (result.status, result.error_class) == (302, None)
    assert len(server.received) == 1


def test_server_error_with_retry_after(serve, sender):
    server = serve(answer(503, b"busy", {"Retry-After": "120"}))
    result = sender.post(server.url(), b"{}", {}, 2)
    assert (result.status, result.error_class, result.body, result.retry_after) == (503, None, "busy", "120")


def test_a_server_slower_than_the_timeout_is_a_timeout(serve, sender):
    def too_slow(handler: Handler, _body: bytes) -> None:
        handler.server.release.wait(10)  # released when the test's server stops

    server = serve(too_slow)
    started = time.monotonic()
    result = sender.post(server.url(), b"{}", {}, 0.3)
    elapsed = time.monotonic() - started
    assert (result.status, result.error_class) == (None, "timeout")
    assert "timed out" in (result.error or "")
    assert 0.25 <= elapsed < 0.3 + 2
    assert 250 <= result.duration_ms < 2300


def test_a_body_that_drips_past_the_deadline_keeps_the_status(serve, sender):
    def drip(handler: Handler, _body: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"partial")
        handler.server.release.wait(10)

    server = serve(drip)
    result = sender.post(server.url(), b"{}", {}, 0.3)
    assert (result.status, result.error_class, result.body) == (200, None, "partial")
    assert result.error == "response body incomplete: timed out"
    assert result.duration_ms < 2300


def test_a_tls_handshake_that_never_completes_is_a_timeout():
    with socket.socket() as listener:  # the kernel accepts the TCP connection; nobody answers the ClientHello
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = Sender(allow_private=True)
        try:
            result = client.post(f"https://127.0.0.1:{listener.getsockname()[1]}/", b"{}", {}, 0.3)
        finally:
            client.close()
    assert (result.status, result.error_class) == (None, "timeout")
    assert result.duration_ms < 2300


def test_closed_without_a_response_is_a_connect_failure(serve, sender):
    def hang_up(handler: Handler, _body: bytes) -> None:
        handler.close_connection = True

    server = serve(hang_up)
    result = sender.post(server.url(), b"{}", {}, 2)
    assert (result.status, result.error_class) == (None, "connect")
    assert "before a response" in (result.error or "")


def test_reset_without_a_response_is_a_connect_failure(serve, sender):
    def reset(handler: Handler, _body: bytes) -> None:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()  # linger 0: the close sends RST
        handler.close_connection = True

    server = serve(reset)
    result = sender.post(server.url(), b"{}", {}, 2)
    assert (result.status, result.error_class) == (None, "connect")


def test_a_garbled_response_is_an_http_failure(serve, sender):
    def garbage(handler: Handler, _body: bytes) -> None:
        handler.wfile.write(b"SMTP ready\r\n\r\n")
        handler.close_connection = True

    server = serve(garbage)
    result = sender.post(server.url(), b"{}", {}, 2)
    assert (result.status, result.error_class) == (None, "http")
    assert "malformed response" in (result.error or "")


def test_a_response_cut_off_mid_body_keeps_the_status(serve, sender):
    def cut_off(handler: Handler, _body: bytes) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
        handler.close_connection = True

    server = serve(cut_off)
    result = sender.post(server.url(), b"{}", {}, 2)
    assert (result.status, result.error_class, result.body) == (200, None, "half")
    assert (result.error or "").startswith("response body incomplete")


def test_connection_refused(sender):
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = sender.post(f"http://127.0.0.1:{port}/", b"{}", {"Authorization": "Bearer SECRET-TOKEN"}, 2)
    assert (result.status, result.error_class) == (None, "connect")
    assert "SECRET" not in (result.error or "")
    assert result.duration_ms < 2000


def test_dns_failure_is_reported_after_one_lookup():
    resolver = RecordingResolver({}, error=socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    client = Sender(allow_private=False, resolve=resolver)
    result = client.post("https://no-such-host.example.com/hook", b"{}", {}, 2)
    assert (result.status, result.error_class) == (None, "dns")
    assert result.error == "could not resolve no-such-host.example.com: Name or service not known"
    assert resolver.calls == [("no-such-host.example.com", 443)]


def test_a_name_without_addresses_is_a_dns_failure():
    client = Sender(allow_private=False, resolve=RecordingResolver({"empty.example.com": []}))
    assert client.post("http://empty.example.com/", b"", {}, 2).error_class == "dns"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "[::1]", "[::ffff:127.0.0.1]", "localhost"],
)
def test_ssrf_refuses_forbidden_literal_targets_without_connecting(serve, host):
    server = serve(echo)
    resolver = RecordingResolver({"localhost": ["127.0.0.1"]})
    client = Sender(allow_private=False, resolve=resolver)
    result = client.post(f"http://{host}:{server.port}/latest/meta-data/", b"{}", {}, 2)
    assert (result.status, result.error_class) == (None, "blocked")
    assert (result.error or "").startswith("refused by the SSRF policy")
    assert resolver.calls == []
    assert server.connections == 0


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.1.2.3", "192.0.2.1"], ["::ffff:10.0.0.1"], ["fd00::1"], ["169.254.169.254"]],
)
def test_ssrf_checks_the_resolved_address_once(serve, addresses):
    server = serve(echo)
    resolver = RecordingResolver({"hooks.example.com": addresses})
    client = Sender(allow_private=False, resolve=resolver)
    result = client.post(f"http://hooks.example.com:{server.port}/in", b"{}", {}, 2)
    assert (result.status, result.error_class) == (None, "blocked")
    assert f"hooks.example.com resolves to {addresses[0]}" in (result.error or "")
    assert resolver.calls == [("hooks.example.com", server.port)]
    assert server.connections == 0


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/in", "must be an absolute http or https URL"),
        ("https://user:hunter2@hooks.example.com/in", "must not carry credentials"),
        ("http://metadata.google.internal/computeMetadata/v1/", "must not point at metadata.google.internal"),
    ],
)
def test_urls_the_policy_refuses(url, why):
    resolver = RecordingResolver({})
    result = Sender(allow_private=False, resolve=resolver).post(url, b"{}", {}, 2)
    assert result.error_class == "blocked"
    assert why in (result.error or "")
    assert "hunter2" not in (result.error or "")
    assert resolver.calls == []


def test_keep_alive_reuses_one_connection(serve, sender):
    server = serve(echo)
    results = [sender.post(server.url(), f"{n}".encode(), {}, 2) for n in range(3)]
    assert [r.body for r in results] == ["0", "1", "2"]
    assert server.connections == 1


def test_concurrent_posts_share_the_pool_safely(serve, sender):
    server = serve(echo)
    bodies: list[str] = []

    def post_five(worker: int) -> None:
        bodies.extend(sender.post(server.url(), f"{worker}-{n}".encode(), {}, 2).body for n in range(5))

    workers = [threading.Thread(target=post_five, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(bodies) == sorted(f"{w}-{n}" for w in range(8) for n in range(5))


@pytest.mark.parametrize(("max_pools", "connections_to_first"), [(1, 2), (2, 1)])
def test_the_pool_cache_is_bounded_and_closes_what_it_evicts(serve, max_pools, connections_to_first):
    first, second = serve(echo), serve(echo)
    client = Sender(allow_private=True, max_pools=max_pools)
    try:
        for server in (first, second, first):
            assert client.post(server.url(), b"", {}, 2).status == 200
    finally:
        client.close()
    assert (first.connections, second.connections) == (connections_to_first, 1)


def test_close_drops_idle_connections_and_the_sender_still_works(serve, sender):
    server = serve(echo)
    assert sender.post(server.url(), b"", {}, 2).status == 200
    sender.close()
    assert sender.post(server.url(), b"", {}, 2).status == 200
    assert server.connections == 2


# --- TLS: the connection goes to the checked IP, SNI and certificate checks use the URL's name ---


@dataclass(frozen=True)
class Pki:
    ca_file: str
    cert_file: str
    key_file: str


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA and a server certificate for hooks.example.com only."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Switchboard test CA")])
    usage = {name: False for name in ("content_commitment", "key_encipherment", "data_encipherment")}
    usage |= {"key_agreement": False, "encipher_only": False, "decipher_only": False}
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.com")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.com")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("pki")
    files = Pki(str(directory / "ca.pem"), str(directory / "server.pem"), str(directory / "server.key"))
    Path(files.ca_file).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    Path(files.cert_file).write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    Path(files.key_file).write_bytes(key_pem)
    return files


@pytest.fixture
def tls_server(serve, pki: Pki) -> LocalServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    server_ref: list[LocalServer] = []
    context.sni_callback = lambda _sock, name, _ctx: server_ref[0].sni_names.append(name)
    server = serve(echo, tls=context)
    server_ref.append(server)
    return server


TLS_NAMES = {name: ["127.0.0.1"] for name in ("hooks.example.com", "hooks.example.com.", "other.example.com")}


@pytest.mark.parametrize("name", ["hooks.example.com", "hooks.example.com."])
def test_https_connects_to_the_ip_but_verifies_the_name(tls_server, pki, name):
    resolver = RecordingResolver(TLS_NAMES)
    client = Sender(allow_private=True, resolve=resolver, ca_certs=pki.ca_file)
    try:
        result = client.post(tls_server.url("/secure", host=name), b"tls", {}, 2)
    finally:
        client.close()
    assert (result.status, result.body) == (200, "tls")
    assert tls_server.sni_names == ["hooks.example.com"]
    assert tls_server.received[0].headers["Host"] == f"{name}:{tls_server.port}"
    assert resolver.calls == [(name, tls_server.port)]


def test_a_certificate_for_another_name_is_a_tls_failure(tls_server, pki):
    client = Sender(allow_private=True, resolve=RecordingResolver(TLS_NAMES), ca_certs=pki.ca_file)
    try:
        result = client.post(tls_server.url(host="other.example.com"), b"", {}, 2)
    finally:
        client.close()
    assert (result.status, result.error_class) == (None, "tls")
    assert "other.example.com" in (result.error or "")
    assert tls_server.received == []


def test_an_untrusted_certificate_is_a_tls_failure(tls_server):
    client = Sender(allow_private=True, resolve=RecordingResolver(TLS_NAMES))  # system trust store only
    try:
        result = client.post(tls_server.url(host="hooks.example.com"), b"", {}, 2)
    finally:
        client.close()
    assert (result.status, result.error_class) == (None, "tls")
    assert "certificate verify failed" in (result.error or "")


def test_https_to_a_plain_http_server_is_a_tls_failure(serve, sender):
    server = serve(echo)
    result = sender.post(server.url(scheme="https"), b"", {}, 2)
    assert (result.status, result.error_class) == (None, "tls")


# --- patience: an attempt with no response after a while asks whether to go on waiting ---


def _stalled(handler: Handler, _body: bytes) -> None:
    handler.server.release.wait(10)  # released when the test's server stops


def test_an_impatient_attempt_is_cut_off_and_deferred(serve, sender):
    server = serve(_stalled)
    asked: list[float] = []
    started = time.monotonic()

    def refuse() -> bool:
        asked.append(time.monotonic() - started)
        return False

    result = sender.post(server.url(), b"{}", {}, 5, patience=Patience(0.3, refuse))
    elapsed = time.monotonic() - started
    assert (result.status, result.error_class) == (None, "deferred")
    assert len(asked) == 1 and 0.25 <= asked[0] < 2
    assert elapsed < 3  # not the 5 s timeout
    assert len(server.received) == 1  # the request went out: the endpoint may have seen it


def test_a_patient_attempt_waits_for_the_answer_or_its_timeout(serve, sender):
    def late(handler: Handler, _body: bytes) -> None:
        time.sleep(0.6)
        reply(handler, 202, b"late")

    asked: list[bool] = []
    server = serve(late)
    result = sender.post(server.url(), b"{}", {}, 5, patience=Patience(0.2, lambda: asked.append(True) or True))
    assert (result.status, result.body, asked) == (202, "late", [True])
    stalled = serve(_stalled)
    result = sender.post(stalled.url(), b"{}", {}, 0.8, patience=Patience(0.2, lambda: True))
    assert result.error_class == "timeout"


def test_a_quick_answer_never_asks(serve, sender):
    asked: list[bool] = []
    server = serve(answer(200, b"ok"))
    for _ in range(3):  # a reused keep-alive connection too
        result = sender.post(server.url(), b"{}", {}, 5, patience=Patience(0.5, lambda: asked.append(True) or False))
        assert result.status == 200
    time.sleep(0.7)
    assert asked == []


def test_an_impatient_tls_attempt_is_cut_off(tls_server, pki):
    release = threading.Event()

    def stall(handler: Handler, _body: bytes) -> None:
        release.wait(10)

    tls_server.respond = stall
    client = Sender(allow_private=True, resolve=RecordingResolver(TLS_NAMES), ca_certs=pki.ca_file)
    started = time.monotonic()
    result = client.post(
        tls_server.url("/secure", host="hooks.example.com"), b"{}", {}, 5, patience=Patience(0.3, lambda: False)
    )
    release.set()
    assert result.error_class == "deferred" and time.monotonic() - started < 3
