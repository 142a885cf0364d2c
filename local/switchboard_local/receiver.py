"""`switchboard receive`: a webhook receiver on loopback that prints what arrives.

For trying the delivery pipeline by hand: point a delivery configuration's `addr` at it,
publish an event, and watch the request (and whether its signature verifies)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SHOWN_HEADERS = (
    "content-type",
    "x-ess-event-key",
    "x-ess-event-timestamp",
    "webhook-id",
    "webhook-timestamp",
    "authorization",
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "receive",
        help="a webhook receiver on 127.0.0.1 that prints every request",
        description="Listen on 127.0.0.1 and print each webhook request (headers and body); answer with --status.",
    )
    parser.add_argument("--port", type=int, default=9000, help="port on 127.0.0.1 (default: %(default)s)")
    parser.add_argument("--status", type=int, default=200, help="HTTP status to answer (default: %(default)s)")
    parser.add_argument("--secret", help="the configuration's whsec_ signing secret: verify every signature")
    parser.set_defaults(func=run_receive)


def _verified(secret: str, body: bytes, headers: dict[str, str]) -> str:
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    try:
        expected = Webhook(secret).sign(
            headers["webhook-id"],
            datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC),
            body.decode("utf-8"),
        )
    except (KeyError, ValueError) as exc:
        return f"signature: cannot check ({exc})"
    return "signature: valid" if expected in headers.get("webhook-signature", "").split(" ") else "signature: INVALID"


def make_server(port: int, status: int, secret: str | None, out: Any = sys.stdout) -> ThreadingHTTPServer:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, the second waits ~40 ms for a delayed ACK.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # http.server names handlers after the method
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            lines = [f"POST {self.path}"]
            lines += [f"  {name}: {headers[name]}" for name in SHOWN_HEADERS if name in headers]
            if secret:
                lines.append("  " + _verified(secret, body, headers))
            try:
                lines.append(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
            except ValueError:
                lines.append(body.decode("utf-8", "replace"))
            with lock:
                print("\n".join(lines), file=out, flush=True)
            reply = b"OK"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def run_receive(args: argparse.Namespace) -> int:
    server = make_server(args.port, args.status, args.secret)
    print(f"Receiving webhooks on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
