"""A DynamoDB endpoint that answers instantly from memory, at the HTTP layer.

Both sides of a benchmark talk to it through a real botocore client (serialisation, signing,
parsing all run), so the figure is about the code on each side, not a network. Items are kept
per partition, sorted by sort key, so a Query costs what it costs DynamoDB: the partition it
reads, not the table (moto's in-memory query looks at every item of the table).
It serves GetItem, BatchGetItem, Query (`pk = :v [AND begins_with(sk, :p) | sk BETWEEN :a AND :b]`, Limit,
ExclusiveStartKey), BatchWriteItem puts and UpdateItem `ADD` — what the benchmarked paths use.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
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
        self.partitions: dict[str, dict[str, dict[str, Any]]] = {}  # pk -> sk -> typed item
        self.sorted_keys: dict[str, list[str]] = {}
        self.calls: list[str] = []

    def put(self, item: dict[str, Any]) -> None:
        self._store({key: {"S": value} if isinstance(value, str) else {"N": str(value)} for key, value in item.items()})

    def _store(self, typed: dict[str, Any]) -> None:
        pk, sk = typed["pk"]["S"], typed["sk"]["S"]
        partition = self.partitions.setdefault(pk, {})
        if sk not in partition:
            bisect.insort(self.sorted_keys.setdefault(pk, []), sk)
        partition[sk] = typed

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.partitions.get(key["pk"]["S"], {}).get(key["sk"]["S"])

    def _query(self, payload: dict[str, Any]) -> dict[str, Any]:
        expression, values = payload["KeyConditionExpression"], payload["ExpressionAttributeValues"]
        pk = values[re.search(r"= (:\w+)", expression).group(1)]["S"]
        prefix_match = re.search(r"begins_with\([^,]+, (:\w+)\)", expression)
        prefix = values[prefix_match.group(1)]["S"] if prefix_match else ""
        between = re.search(r"BETWEEN (:\w+) AND (:\w+)", expression)
        low, high = (values[between.group(1)]["S"], values[between.group(2)]["S"]) if between else (prefix, None)
        keys = self.sorted_keys.get(pk, [])
        start = bisect.bisect_left(keys, low)
        if "ExclusiveStartKey" in payload:
            start = max(start, bisect.bisect_right(keys, payload["ExclusiveStartKey"]["sk"]["S"]))
        limit = payload.get("Limit", len(keys))
        items, last = [], None
        for sk in itertools.islice(keys, start, None):
            if not sk.startswith(prefix) or (high is not None and sk > high):
                break
            if len(items) == limit:
                last = {"pk": {"S": pk}, "sk": items[-1]["sk"]}
                break
            items.append(self.partitions[pk][sk])
        reply: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if last:
            reply["LastEvaluatedKey"] = last
        return reply

    def _update(self, payload: dict[str, Any]) -> dict[str, Any]:
        match = re.fullmatch(r"ADD (#?\w+) (:\w+)", payload["UpdateExpression"].strip())
        if not match:
            raise NotImplementedError(payload["UpdateExpression"])
        name = payload.get("ExpressionAttributeNames", {}).get(match.group(1), match.group(1))
        item = self._get(payload["Key"]) or dict(payload["Key"])
        total = int(item.get(name, {"N": "0"})["N"]) + int(payload["ExpressionAttributeValues"][match.group(2)]["N"])
        item[name] = {"N": str(total)}
        self._store(item)
        return {"Attributes": {name: item[name]}}

    def attach(self, session: Any) -> None:
        """Answer for every DynamoDB client `session` creates from now on."""
        session.events.register_first("before-send.dynamodb", self._answer)

    def answer(self, target: str, body: bytes) -> bytes:
        operation = target.split(".")[-1]
        self.calls.append(operation)
        payload = json.loads(body)
        if operation == "GetItem":
            item = self._get(payload["Key"])
            reply: dict[str, Any] = {"Item": item} if item else {}
        elif operation == "Query":
            reply = self._query(payload)
        elif operation == "UpdateItem":
            reply = self._update(payload)
        elif operation == "BatchGetItem":
            reply = {
                "Responses": {
                    table: [item for key in request["Keys"] if (item := self._get(key)) is not None]
                    for table, request in payload["RequestItems"].items()
                },
                "UnprocessedKeys": {},
            }
        elif operation == "BatchWriteItem":
            for requests in payload["RequestItems"].values():
                for request in requests:
                    self._store(request["PutRequest"]["Item"])
            reply = {"UnprocessedItems": {}}
        else:
            raise NotImplementedError(operation)
        return json.dumps(reply).encode()

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
