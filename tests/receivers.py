"""Real webhook receivers on 127.0.0.1 for delivery tests: each path answers from a script of
responses (status, headers, body, delay, or a dropped connection) and records what arrived."""

from __future__ import annotations

import base64
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "OK"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    reset: bool = False  # drop the connection (RST) instead of answering


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    # Workers send a batch's attempts side by side: a backlog of 5 would refuse connections under load.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout, an attempt cut off for being slow) is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """`script(path, replies)` sets what a path answers, in order (the last one repeats);
    `decide(path, fn)` answers with fn(request) instead. Unknown paths answer 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._deciders: dict[str, Callable[[Received], Reply]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, the second waits ~40 ms for a delayed ACK.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # http.server names handlers after the method
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    time.monotonic(),
                )
                reply = receiver._reply(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                with receiver._lock:
                    receiver.received.append(request)
                data = reply.body.encode()
                self.send_response(reply.status)
                for name, value in {"Content-Type": "text/plain", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, path: str, *replies: Reply) -> str:
        with self._lock:
            self._scripts[path] = list(replies)
        return self.url + path

    def decide(self, path: str, decider: Callable[[Received], Reply]) -> str:
        with self._lock:
            self._deciders[path] = decider
        return self.url + path

    def _reply(self, request: Received) -> Reply:
        path = request.path.split("?")[0]
        with self._lock:
            if path in self._deciders:
                return self._deciders[path](request)
            script = self._scripts.get(path)
            if not script:
                return Reply()
            return script.pop(0) if len(script) > 1 else script[0]

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.split("?")[0] == path]

    def wait_for(self, path: str, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.at(path)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def token_endpoint(
    client_id: str, client_secret: str, token: str = "tok-1", expires_in: int = 3600
) -> Callable[[Received], Reply]:
    """An OAuth 2.0 client-credentials token endpoint checking the client's Basic credentials."""
    issued = {"count": 0}

    def decide(request: Received) -> Reply:
        expected = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        if request.headers.get("authorization") != expected or b"grant_type=client_credentials" not in request.body:
            return Reply(401, json.dumps({"error": "invalid_client"}), {"Content-Type": "application/json"})
        issued["count"] += 1
        body = {"access_token": f"{token}-{issued['count']}", "token_type": "Bearer", "expires_in": expires_in}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})

    return decide
