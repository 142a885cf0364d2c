"""A DynamoDB endpoint that answers instantly from canned items, at the HTTP layer.

Both sides of a warm benchmark talk to it through a real botocore client (serialisation,
signing, parsing all run), so the figure is about the code on each side, not a network.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):
        yield self._body


class DynamoStub:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}  # (pk, sk) -> typed item
        self.calls: list[str] = []

    def put(self, item: dict[str, Any]) -> None:
        typed = {key: {"S": value} if isinstance(value, str) else {"N": str(value)} for key, value in item.items()}
        self.items[(item["pk"], item["sk"])] = typed

    def attach(self, session: Any) -> None:
        """Answer for every DynamoDB client `session` creates from now on."""
        session.events.register_first("before-send.dynamodb", self._answer)

    def answer(self, target: str, body: bytes) -> bytes:
        operation = target.split(".")[-1]
        self.calls.append(operation)
        if operation != "GetItem":
            raise NotImplementedError(operation)
        key = json.loads(body)["Key"]
        item = self.items.get((key["pk"]["S"], key["sk"]["S"]))
        return json.dumps({"Item": item} if item else {}).encode()

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        body = self.answer(request.headers["X-Amz-Target"].decode(), request.body)
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        """The same answers over HTTP on loopback, for handlers in other processes."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = stub.answer(self.headers["X-Amz-Target"], self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"
