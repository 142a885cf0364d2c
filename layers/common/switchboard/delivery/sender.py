"""One webhook POST, with the SSRF guard applied at send time; every outcome comes back as an HttpResult.

SSRF approach. A tenant chooses the URL, so the name in it may resolve to anything, and may resolve
differently each time it is asked (DNS rebinding). Checking a name and then letting the HTTP client
resolve it again would leave a window between check and use. So the sender:

1. checks the URL's shape with `netguard.url_problem` (scheme, credentials, literal addresses,
   localhost and metadata names), exactly as configuration-time validation does;
2. resolves the host once and takes the first address;
3. unless private targets are allowed (local runs, tests), refuses that address when
   `netguard.forbidden_address_reason` objects to it (loopback, private, link-local and cloud
   metadata, CGNAT, reserved, IPv4-mapped forms of those);
4. connects to that very address, never to the name: the urllib3 pool's host is the IP, while the
   `Host` header, TLS SNI and certificate verification use the URL's name.

No redirects are followed (a 3xx could point anywhere, including inside the VPC), nothing is retried
here (the delivery engine owns retries and their schedule), and only a bounded amount of the response
is read, so a hostile endpoint cannot make a worker buffer an unbounded body.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import ipaddress
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import NoReturn
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from urllib3 import HTTPConnectionPool, HTTPResponse, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from switchboard.netguard import forbidden_address_reason, url_problem

# A child of the function's Logger: its lines carry the request's correlation id.
logger = Logger(child=True)

ERROR_CLASSES = ("dns", "connect", "tls", "timeout", "http", "blocked")
MAX_RESPONSE_BODY = 4096
MAX_DRAIN = 64 * 1024  # bytes read at most; beyond this the connection is closed instead of drained
POOL_MAXSIZE = 4
DEFAULT_USER_AGENT = "Switchboard-Webhooks/1.0"

_READ_CHUNK = 16 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A pool evicted (and closed) by another thread between lookup and use is simply looked up again.
_CLOSED_POOL_ATTEMPTS = 3

Resolver = Callable[[str, int], list[str]]
_PoolKey = tuple[str, str, int, str]


@dataclass(frozen=True, slots=True)
class HttpResult:
    """What one attempt observed.

    `status` is set whenever a status line and headers arrived; `error_class` is then None, even if the
    body could not be read completely (`error` says so, for the attempt log). Without a response,
    `status` is None and `error_class` is one of ERROR_CLASSES.
    """

    status: int | None
    error_class: str | None
    error: str | None
    body: str
    retry_after: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Patience:
    """How long an attempt may wait for its response before `keep_waiting` decides whether it goes on
    waiting (True) or is abandoned (False: the connection is shut, and the result's error class is
    "deferred" — the endpoint may have seen the request, the attempt does not count)."""

    after_s: float
    keep_waiting: Callable[[], bool]


class _Watch:
    """One attempt's patience: when it runs out with no response started, `keep_waiting` is asked once,
    and the connection is shut down when it says no."""

    def __init__(self, patience: Patience) -> None:
        self._patience = patience
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        self._answered = False
        self.aborted = False

    def start(self) -> None:
        _watchdog.add(self, time.monotonic() + self._patience.after_s)

    def stop(self) -> None:
        _watchdog.remove(self)
        with self._lock:
            self._answered = True

    @property
    def stopped(self) -> bool:
        with self._lock:
            return self._answered

    def waiting_on(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            if self.aborted:
                self._shut(connection)

    def answered(self) -> None:
        with self._lock:
            self._answered = True

    def fire(self) -> None:
        with self._lock:
            if self._answered:
                return
        try:
            if self._patience.keep_waiting():
                return
        except Exception:  # the decision could not be made (the store unavailable): wait, as without patience
            logger.exception("could not decide whether a slow attempt may go on waiting")
            return
        with self._lock:
            if self._answered:
                return  # the answer came while deciding: the attempt counts as it is
            self.aborted = True
            if self._connection is not None:
                self._shut(self._connection)

    @staticmethod
    def _shut(connection: HTTPConnection) -> None:
        sock = getattr(connection, "sock", None)
        if sock is not None:
            # socket.socket's own shutdown, also for TLS: wakes the thread blocked reading the response.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread that notices attempts running out of patience. (A timer thread per attempt would
    cost more than a fast attempt itself.) It looks at the attempts in flight a few times a second —
    a handful per worker — while there are any, and sleeps while there are none; an attempt that ran
    out is decided in a thread of its own, so a slow decision (a store write) delays no other."""

    TICK_S = 0.1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[_Watch, float] = {}
        self._idle = threading.Event()  # set to wake the thread when the first attempt arrives
        self._sleeping = True
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch, at: float) -> None:
        with self._lock:
            self._in_flight[watch] = at
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="attempt-patience", daemon=True)
                self._thread.start()
            wake = self._sleeping
            self._sleeping = False
        if wake:
            self._idle.set()

    def remove(self, watch: _Watch) -> None:
        with self._lock:
            self._in_flight.pop(watch, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._in_flight:
                    self._sleeping = True
                    self._idle.clear()
            if self._sleeping:
                self._idle.wait()
                continue
            time.sleep(self.TICK_S)
            now = time.monotonic()
            with self._lock:
                expired = [watch for watch, at in self._in_flight.items() if at <= now]
                for watch in expired:
                    del self._in_flight[watch]
            for watch in expired:
                threading.Thread(target=watch.fire, name="attempt-patience-decision", daemon=True).start()


_watchdog = _Watchdog()
_watching = threading.local()  # the watch of the attempt this thread is sending, if any


def _watched_response(connection: HTTPConnection, get: Callable[[], HTTPResponse]) -> HTTPResponse:
    """The attempt's watch learns which connection waits for the response (urllib3 does not expose
    the connection of a request in progress), and when the response has started."""
    watch: _Watch | None = getattr(_watching, "watch", None)
    if watch is not None:
        watch.waiting_on(connection)
    try:
        return get()
    finally:
        if watch is not None:
            watch.answered()


# urllib3's connections narrow http.client's getresponse() to its own response type (and say so to mypy).
class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        return _watched_response(self, super().getresponse)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        return _watched_response(self, super().getresponse)


def resolve_with_getaddrinfo(host: str, port: int) -> list[str]:
    """The system resolver's addresses for `host`, best first (RFC 6724 order)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class _AttemptFailed(Exception):
    """Internal: ends an attempt without a response."""

    def __init__(self, error_class: str, error: str) -> None:
        super().__init__(error)
        self.error_class = error_class
        self.error = error


def _fail(error_class: str, error: str) -> NoReturn:
    raise _AttemptFailed(error_class, error)


@dataclass(frozen=True, slots=True)
class _Target:
    """The parts of a webhook URL the sender needs, once parsed."""

    scheme: str
    hostname: str  # ASCII (IDNA) form, lower case, as in the URL
    port: int
    host_header: str
    request_target: str
    literal_ip: str | None = None  # the host is an IP address that passed the policy: nothing to resolve

    @property
    def tls_name(self) -> str:
        """Name for SNI and certificate checks (a trailing root dot is not part of certificate names)."""
        return self.hostname.rstrip(".") or self.hostname

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        hostname = parts.hostname or ""
        if not hostname.isascii():
            try:
                hostname = hostname.encode("idna").decode("ascii")
            except UnicodeError:
                _fail("dns", f"host name {hostname!r} cannot be encoded for DNS")
        port = parts.port or _DEFAULT_PORTS[scheme]
        shown_host = f"[{hostname}]" if ":" in hostname else hostname
        host_header = shown_host if port == _DEFAULT_PORTS[scheme] else f"{shown_host}:{port}"
        request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(scheme, hostname, port, host_header, request_target)


@functools.lru_cache(maxsize=4096)
def _checked_target(url: str, allow_private: bool) -> _Target:
    """The URL's policy check and parse, once per URL (a worker sends to the same few endpoints again and
    again). Only literal addresses are settled here; names are resolved and checked on every attempt."""
    problem = url_problem(url, allow_private)
    if problem:
        _fail("blocked", f"refused by the SSRF policy: the URL {problem}")
    target = _Target.parse(url)
    try:
        address = ipaddress.ip_address(target.hostname)
    except ValueError:
        return target
    if not allow_private and forbidden_address_reason(address):
        return target  # let the per-attempt check refuse it, with its message
    return dataclasses.replace(target, literal_ip=target.hostname)


class Sender:
    """Sends webhook POSTs over cached keep-alive pools, one pool per checked (scheme, IP, port, name).

    Thread-safe. `resolve` replaces the system resolver (tests); `ca_certs` replaces the system trust
    store with a CA bundle file (tests, private deployments).
    """

    def __init__(
        self,
        allow_private: bool,
        *,
        resolve: Resolver | None = None,
        max_pools: int = 256,
        user_agent: str = DEFAULT_USER_AGENT,
        ca_certs: str | None = None,
    ) -> None:
        if max_pools < 1:
            raise ValueError("max_pools must be at least 1")
        self._allow_private = allow_private
        self._resolve = resolve or resolve_with_getaddrinfo
        self._max_pools = max_pools
        self._user_agent = user_agent
        self._ca_certs = ca_certs
        self._pools: OrderedDict[_PoolKey, HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout_s: float,
        *,
        max_body: int = MAX_RESPONSE_BODY,
        patience: Patience | None = None,
    ) -> HttpResult:
        """POST `body` to `url`; `timeout_s` bounds the attempt. Never raises for network or HTTP problems.

        `max_body` is how much of the response body to keep (the OAuth token client needs more than
        the attempt log does). `patience`: see Patience.
        """
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        started = time.monotonic()
        deadline = started + timeout_s

        def elapsed_ms() -> int:
            return round((time.monotonic() - started) * 1000)

        watch = _Watch(patience) if patience is not None and patience.after_s < timeout_s else None
        try:
            target = _checked_target(url, self._allow_private)
            ip = target.literal_ip or self._checked_address(target)
            if watch is not None:
                watch.start()
                _watching.watch = watch
            try:
                response = self._send(target, ip, body, headers, deadline, timeout_s)
            finally:
                if watch is not None:
                    _watching.watch = None
                    watch.stop()
        except _AttemptFailed as failure:
            if watch is not None and watch.aborted:
                waited = f"{patience.after_s:g} s" if patience is not None else "a while"
                return HttpResult(None, "deferred", f"no response after {waited}; deferred", "", None, elapsed_ms())
            return HttpResult(None, failure.error_class, failure.error, "", None, elapsed_ms())
        try:
            content, body_problem = _read_body(response, deadline, max_body)
            return HttpResult(
                status=response.status,
                error_class=None,
                error=body_problem,
                body=content[:max_body].decode("utf-8", errors="replace"),
                retry_after=response.headers.get("Retry-After"),
                duration_ms=elapsed_ms(),
            )
        finally:
            response.release_conn()

    def close(self) -> None:
        """Close every cached pool (and so every idle keep-alive connection)."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    def _checked_address(self, target: _Target) -> str:
        """Resolve once and apply the address policy; the returned IP is the one connected to."""
        try:
            ipaddress.ip_address(target.hostname)
            addresses = [target.hostname]  # a literal needs no resolution
        except ValueError:
            try:
                addresses = self._resolve(target.hostname, target.port)
            except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
                _fail("dns", f"could not resolve {target.hostname}: {_reason(exc)}")
        if not addresses:
            _fail("dns", f"could not resolve {target.hostname}: no addresses")
        ip = addresses[0]
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            _fail("dns", f"could not resolve {target.hostname}: resolver returned {ip!r}")
        if not self._allow_private:
            reason = forbidden_address_reason(address)
            if reason:
                _fail("blocked", f"refused by the SSRF policy: {target.hostname} resolves to {ip}, {reason}")
        return ip

    def _send(
        self,
        target: _Target,
        ip: str,
        body: bytes,
        caller_headers: Mapping[str, str],
        deadline: float,
        timeout_s: float,
    ) -> HTTPResponse:
        """Send the request to `ip` and return the response with its headers read and its body not."""
        headers = dict(caller_headers)
        names = {name.lower() for name in headers}
        if "user-agent" not in names:
            headers["User-Agent"] = self._user_agent  # the caller's User-Agent wins
        if "host" in names:
            headers = {name: value for name, value in headers.items() if name.lower() != "host"}
        headers["Host"] = target.host_header  # always the URL's: it is what was checked and resolved
        for _ in range(_CLOSED_POOL_ATTEMPTS):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _fail("timeout", f"timed out after {timeout_s:g} s (resolving {target.hostname})")
            pool = self._pool(target, ip)
            try:
                response = pool.urlopen(
                    "POST",
                    target.request_target,
                    body=body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    # Connect gets the whole remainder, each read what is left after connecting. (Status
                    # line and headers dripped in byte by byte could still stretch an attempt; the body
                    # cannot, see _read_body.)
                    timeout=Timeout(total=remaining),
                    preload_content=False,
                    release_conn=False,
                )
            except ClosedPoolError:
                continue  # evicted by another thread meanwhile; nothing was sent
            except (HTTPError, OSError, HTTPException) as exc:
                error_class, error = _classify(exc, target, ip, timeout_s)
                _fail(error_class, error)
            assert isinstance(response, HTTPResponse)
            return response
        _fail("connect", f"connection pool for {ip}:{target.port} kept closing")

    def _pool(self, target: _Target, ip: str) -> HTTPConnectionPool:
        """The cached pool for this checked address, creating it (and evicting the least recently used)."""
        key: _PoolKey = (target.scheme, ip, target.port, target.hostname)
        evicted: list[HTTPConnectionPool] = []
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = self._new_pool(target, ip)
            self._pools[key] = pool
            while len(self._pools) > self._max_pools:
                evicted.append(self._pools.popitem(last=False)[1])
        for old in evicted:
            old.close()
        return pool

    def _new_pool(self, target: _Target, ip: str) -> HTTPConnectionPool:
        pool: HTTPConnectionPool
        if target.scheme == "http":
            pool = HTTPConnectionPool(ip, target.port, maxsize=POOL_MAXSIZE, block=False, retries=False)
            pool.ConnectionCls = _WatchedHTTPConnection
            return pool
        pool = HTTPSConnectionPool(
            ip,
            target.port,
            maxsize=POOL_MAXSIZE,
            block=False,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=self._ca_certs,
            assert_hostname=target.tls_name,
            server_hostname=target.tls_name,
        )
        pool.ConnectionCls = _WatchedHTTPSConnection
        return pool


def _read_body(response: HTTPResponse, deadline: float, max_body: int) -> tuple[bytes, str | None]:
    """Keep the first `max_body` bytes; read on (to reuse the connection) only while that stays cheap.

    Returns the kept bytes and, when the body could not be read to its end, why. Each read is bounded by
    what is left of the attempt's deadline, so a slowly dripping body cannot stretch the attempt.
    """
    kept = bytearray()
    received = 0
    read_cap = max(max_body, MAX_DRAIN)
    try:
        announced = response.length_remaining
        if announced is not None and announced <= max_body:  # the usual short answer: one bounded read
            remaining = deadline - time.monotonic()
            if remaining > 0:
                # The socket still has the read timeout of the request (at most the attempt's); a short
                # body that is already there needs no new one.
                content = response.read1(announced) if announced else b""
                if len(content) == announced:
                    return content, None
                kept += content
                received = len(content)
        while True:
            if received >= max_body:
                announced = response.length_remaining
                if received >= read_cap or (announced is not None and received + announced > read_cap):
                    response.close()  # too much left to drain: discard the connection instead
                    return bytes(kept), None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                response.close()
                return bytes(kept), "response body incomplete: timed out"
            _set_read_timeout(response, remaining)
            chunk = response.read1(_READ_CHUNK)
            if not chunk:
                return bytes(kept), None
            received += len(chunk)
            if len(kept) < max_body:
                kept += chunk[: max_body - len(kept)]
    except (HTTPError, OSError, HTTPException) as exc:
        response.close()
        if isinstance(exc, (ReadTimeoutError, TimeoutError)):
            return bytes(kept), "response body incomplete: timed out"
        return bytes(kept), f"response body incomplete: {_reason(exc)}"


def _set_read_timeout(response: HTTPResponse, seconds: float) -> None:
    sock = getattr(response.connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _classify(exc: BaseException, target: _Target, ip: str, timeout_s: float) -> tuple[str, str]:
    """Map a urllib3 failure (retries disabled, so the original error) to an error class and log text.

    No response arrived when this is called. A connection that is closed or reset before any byte of a
    response is a "connect" failure (the endpoint is not taking requests); a response that starts and
    is then cut off or cannot be parsed is an "http" failure.
    """
    where = f"{ip}:{target.port}"
    if isinstance(exc, NewConnectionError):  # subclass of ConnectTimeoutError: test it first
        return "connect", f"could not connect to {where}: {_reason(exc)}"
    if isinstance(exc, ConnectTimeoutError):
        return "timeout", f"timed out after {timeout_s:g} s connecting to {where}"
    if isinstance(exc, (ReadTimeoutError, Urllib3TimeoutError, TimeoutError)):
        return "timeout", f"timed out after {timeout_s:g} s waiting for {where}"
    if isinstance(exc, SSLError):
        return "tls", f"TLS with {target.tls_name} ({where}) failed: {_reason(exc)}"
    if isinstance(exc, ProtocolError):
        inner = exc.args[1] if len(exc.args) > 1 else exc.__cause__
        if isinstance(inner, TimeoutError):
            return "timeout", f"timed out after {timeout_s:g} s sending to {where}"
        if isinstance(inner, ConnectionError):  # includes RemoteDisconnected (closed without a response)
            return "connect", f"connection to {where} lost before a response: {_reason(inner)}"
        if isinstance(inner, OSError) and inner.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "connect", f"could not reach {where}: {_reason(inner)}"
        if isinstance(inner, OSError):
            return "connect", f"connection to {where} failed: {_reason(inner)}"
        return "http", f"malformed response from {where}: {_reason(inner if inner is not None else exc)}"
    if isinstance(exc, OSError):
        return "connect", f"connection to {where} failed: {_reason(exc)}"
    return "http", f"request to {where} failed: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    """Short text for the attempt log: the innermost OS/SSL reason, without urllib3's object reprs."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nested = current.__cause__ or next((a for a in current.args if isinstance(a, BaseException)), None)
        if nested is None:
            break
        current = nested
    verify_message = getattr(current, "verify_message", None)
    if isinstance(current, ssl.SSLCertVerificationError) and verify_message:
        text = f"certificate verify failed: {verify_message}"
    elif isinstance(current, OSError) and current.strerror:
        text = current.strerror
    else:
        text = str(current) or type(current).__name__
    if not text.isprintable():
        text = repr(text)  # server-supplied bytes (a garbled status line) must not break the log line
    return text if len(text) <= 200 else text[:197] + "..."
