"""Durable emulator state: a snapshot of moto's backends plus a write-ahead journal.

The emulator (moto) keeps everything in memory. `Persistence` wraps its WSGI application:

- every request that changes DynamoDB items, SQS messages or S3 objects is applied under one
  lock, then the resulting state of what it touched (the items, the messages, the object
  versions: redo records, not the request) is appended to `journal.<generation>` before
  the lock is released, and the response leaves only once an `fsync` covers that record
  (group commit: one fsync serves every request waiting for it);
- every other mutating request (creating tables and queues, KMS keys, secrets, stacks…) is
  rare: it is applied under the lock and followed by a full snapshot;
- a snapshot (`snapshot.pickle`) pickles the backends of PERSISTED_SERVICES under the lock,
  starts the next journal generation, and only then deletes the previous journal. It is
  taken on a clean stop, after a restore, and when the journal passes SNAPSHOT_JOURNAL_BYTES.

A restart loads the snapshot and replays the journal of its generation (a torn last record,
from a crash in the middle of a write, is ignored: its request was never answered). What a
client was told succeeded is therefore on disk; see docs/local-runtime.md.

The same lock serialises every DynamoDB request, so reads never iterate a table that another
thread is changing. SQS long polls wait outside the lock (`ReceiveMessage` is retried with no
wait until a message arrives or the wait is over).

`Maintenance` runs beside it: DynamoDB TTL expiry (items whose TTL attribute is in the past
are deleted, and journaled, like DynamoDB's own sweeper does), trimming of records that
only grow (mail sent through SES, SNS notifications), and the size-triggered snapshots.
"""

from __future__ import annotations

import contextlib
import copy
import html
import io
import json
import logging
import os
import pickle
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from . import motopatch

log = logging.getLogger(__name__)

PERSISTED_SERVICES = (
    "cloudformation",
    "dynamodb",
    "events",
    "kms",
    "s3",
    "scheduler",
    "secretsmanager",
    "ses",
    "sns",
    "sqs",
    "ssm",
)
SNAPSHOT_FILE = "snapshot.pickle"
SNAPSHOT_JOURNAL_BYTES = 64 * 1024 * 1024
SENT_RECORDS_KEPT = 1000
STREAM_RECORDS_KEPT = 1000  # per shard of a stream no local poller follows
_FRAME = struct.Struct(">II")  # length, crc32

# Operation names that change nothing (anything else, in a service not journaled item by
# item, is followed by a snapshot).
_READ_PREFIXES = (
    "Get",
    "Describe",
    "List",
    "Head",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Decrypt",
    "Encrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateRandom",
    "GenerateMac",
    "Verify",
    "Sign",
    "Validate",
    "Estimate",
    "Test",
)
# Records of things sent out, not state: not worth a snapshot each.
_UNPERSISTED_OPERATIONS = {
    "SendEmail",
    "SendRawEmail",
    "SendTemplatedEmail",
    "SendBulkTemplatedEmail",
    "Publish",
    "PublishBatch",
    "PutEvents",
}
_DYNAMODB_ITEM_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


# --------------------------------------------------------------------------- pickling


def _load_private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_der_private_key(der, password=None)


def _load_public_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_der_public_key(der)


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class _Pickler(pickle.Pickler):
    """Pickles moto's objects: locks and conditions come back new, keys as DER."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type):
            return NotImplemented
        if isinstance(obj, _LOCK_TYPES):
            return type(obj), ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, threading.Event):
            return threading.Event, ()
        module = type(obj).__module__
        if module.startswith("cryptography."):
            from cryptography.hazmat.primitives import serialization

            if hasattr(obj, "private_bytes"):
                der = obj.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                return _load_private_key, (der,)
            if hasattr(obj, "public_bytes") and hasattr(obj, "verify"):
                der = obj.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
                return _load_public_key, (der,)
        return NotImplemented


def dumps(obj: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _write_snapshot(file: Any, header: dict[str, Any]) -> None:
    """The backends without their DynamoDB items, then each item as a pickle of its own, then None.

    Streaming the items one by one (with the pickler's memo cleared after each) keeps the memory a
    snapshot needs to one item, not a second copy of every table. The caller holds the lock.
    """
    from moto.backends import get_backend

    detached = []
    for account, regions in get_backend("dynamodb").items():
        for region, backend in regions.items():
            for name, table in backend.tables.items():
                detached.append((account, region, name, table, table.items))
                empty = copy.copy(table.items)
                empty.clear()
                table.items = empty
    try:
        pickler = _Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dump(header)
        for account, region, name, _, items in detached:
            for value in items.values():
                for item in value.values() if isinstance(value, dict) else (value,):
                    pickler.clear_memo()
                    pickler.dump(("ddb", account, region, name, item.hash_key, item.range_key, item))
        pickler.clear_memo()
        pickler.dump(None)
    finally:
        for _, _, _, table, items in detached:
            table.items = items


# --------------------------------------------------------------------------- the journal


class Journal:
    """Append-only file of framed pickled records; `sync(seq)` makes records up to seq durable."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self.written = 0
        self.synced = 0
        self.bytes = os.fstat(self._fd).st_size

    def append(self, records: Iterable[Any]) -> int:
        """Write records (in order); returns the sequence number to pass to sync()."""
        data = b"".join(_frame(dumps(record)) for record in records)
        with self._write_lock:
            if data:
                os.write(self._fd, data)
                self.bytes += len(data)
            self.written += 1
            return self.written

    def sync(self, seq: int) -> None:
        if not self.fsync:
            return
        with self._sync_lock:
            if self.synced >= seq or self._fd < 0:  # closed: close() synced everything
                return  # another request's fsync covered this record
            target = self.written
            os.fsync(self._fd)
            self.synced = target

    def close(self) -> None:
        with self._sync_lock, self._write_lock:
            if self._fd >= 0:
                if self.fsync:
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1

    @staticmethod
    def read(path: Path) -> Iterator[Any]:
        """The records of a journal file; stops at a torn or corrupt tail."""
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as file:
            data = file.read()
            offset = 0
            while offset + _FRAME.size <= len(data):
                length, crc = _FRAME.unpack_from(data, offset)
                body = data[offset + _FRAME.size : offset + _FRAME.size + length]
                if len(body) < length or zlib.crc32(body) != crc:
                    log.warning("journal %s: ignoring a torn record at byte %d", path.name, offset)
                    return
                yield pickle.loads(body)
                offset += _FRAME.size + length


def _frame(body: bytes) -> bytes:
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- moto access


def _backend(service: str, account: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)[account][region]  # type: ignore[call-overload]


def _default_account() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return str(DEFAULT_ACCOUNT_ID)


def _place_item(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """Set (or, with item None, remove) one item of a moto table, without side effects (no stream
    record); the query groupings of motopatch follow."""
    _set_item(table, hash_key, range_key, item)
    motopatch.item_changed(table, hash_key, range_key)


def _set_item(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is not None:
        if item is None:
            bucket = table.items.get(hash_key)
            if bucket is not None:
                bucket.pop(range_key, None)
                if not bucket:
                    table.items.pop(hash_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item


def _apply(record: tuple[Any, ...]) -> None:
    """Replays one journal record into moto's backends."""
    kind = record[0]
    if kind == "ddb":
        _, account, region, table_name, hash_key, range_key, item = record
        tables = _backend("dynamodb", account, region).tables
        if table_name in tables:
            _place_item(tables[table_name], hash_key, range_key, item)
    elif kind == "sqs_msg":
        _, account, region, queue_name, message = record
        queue = _backend("sqs", account, region).queues.get(queue_name)
        if queue is None:
            return
        kept = [m for m in queue._messages if m.id != message.id]
        queue._pending_messages = {m for m in queue._pending_messages if m.id != message.id}
        kept.append(message)
        queue._messages = kept
        if not message.visible:
            queue._pending_messages.add(message)
    elif kind == "sqs_del":
        _, account, region, queue_name, handle = record
        queue = _backend("sqs", account, region).queues.get(queue_name)
        if queue is not None:
            with contextlib.suppress(Exception):
                queue.delete_message(handle)
    elif kind == "s3":
        _, account, bucket_name, key_name, versions = record
        bucket = _backend("s3", account, "aws").buckets.get(bucket_name)
        if bucket is None:
            return
        if versions:
            bucket.keys.setlist(key_name, versions)
        else:
            bucket.keys.pop(key_name, None)


# --------------------------------------------------------------------------- the WSGI wrapper


class _Request:
    """What the wrapper needs to know about one emulator request."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            self.body = environ["wsgi.input"].read(length)
        elif environ.get("wsgi.input_terminated"):
            self.body = environ["wsgi.input"].read()
        else:
            self.body = b""
        self.path = environ.get("PATH_INFO", "")
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.query = environ.get("QUERY_STRING", "")
        self.service, self.region = _signing_scope(environ.get("HTTP_AUTHORIZATION", ""))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        self.json_protocol = bool(target)
        if target:
            self.operation = target.rsplit(".", 1)[-1]
        else:
            action = parse_qs(self.body.decode("latin-1")).get("Action") if self._is_form() else None
            action = action or parse_qs(self.query).get("Action")
            self.operation = action[0] if action else ""
        self._json: Any = None

    def _is_form(self) -> bool:
        return "x-www-form-urlencoded" in self.environ.get("CONTENT_TYPE", "")

    @property
    def json(self) -> dict[str, Any]:
        if self._json is None:
            try:
                self._json = json.loads(self.body or b"{}")
            except ValueError:
                self._json = {}
        return self._json

    def replace_body(self, body: bytes) -> None:
        self.body = body
        self._json = None

    def wsgi_environ(self) -> dict[str, Any]:
        environ = dict(self.environ)
        environ["wsgi.input"] = io.BytesIO(self.body)
        environ["CONTENT_LENGTH"] = str(len(self.body))
        return environ


def _signing_scope(authorization: str) -> tuple[str, str]:
    match = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", authorization)
    if not match:
        return "", "us-east-1"
    return match.group(2).lower(), match.group(1)


class _Response:
    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.body = b""

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")

    def json(self) -> dict[str, Any]:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return {}


class Persistence:
    """The durable emulator state under one data directory (see the module docstring).

    Without a data directory nothing is written, but requests are still serialised the same
    way (moto's DynamoDB is not safe under concurrent writes and reads).
    """

    def __init__(
        self, data_dir: Path | None, *, fsync: bool = True, snapshot_bytes: int = SNAPSHOT_JOURNAL_BYTES
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.durable = data_dir is not None
        self.active = False
        self.fsync = fsync
        self.snapshot_bytes = snapshot_bytes
        self.lock = threading.RLock()
        self.generation = 0
        self.journal: Journal | None = None
        self.restored = False
        self.replayed = 0
        self.snapshots = 0
        self.last_snapshot: float | None = None
        self._deferred = 0
        self._dirty = False
        # one per queue: a send wakes the long polls of its own queue only
        self._arrivals: dict[tuple[str, str], threading.Condition] = {}
        self._arrivals_lock = threading.Lock()
        self._app: Callable[..., Any] | None = None

    # -- lifecycle

    def restore(self) -> bool:
        """Load the snapshot and replay its journal into moto; True when there was state."""
        if self.data_dir is None:
            self.active = True
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        snapshot_path = self.data_dir / SNAPSHOT_FILE
        with self.lock:
            if snapshot_path.exists():
                with open(snapshot_path, "rb") as file:
                    snapshot = pickle.load(file)
                    self.generation = int(snapshot["generation"])
                    self._install(snapshot["backends"])
                    # then the DynamoDB items, one pickle each (memo of its own), up to a None
                    while (record := pickle.load(file)) is not None:
                        _apply(record)
                self.restored = True
            for record in Journal.read(self._journal_path(self.generation)):
                _apply(record)
                self.replayed += 1
                self.restored = True
            for queue in self._queues():
                motopatch.bound_deleted_handles(queue)
            self._open_journal()
            if self.restored:
                self.snapshot()  # fold the replayed journal into a fresh snapshot
            self.active = True
        return self.restored

    def close(self) -> None:
        """A clean stop: everything goes into one snapshot."""
        with self.lock:
            self.active = False
            if self.journal is not None:
                self.snapshot()
                self.journal.close()
                self.journal = None

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Requests that would each take a snapshot (provisioning) share one at the end."""
        with self.lock:
            self._deferred += 1
        try:
            yield
        finally:
            with self.lock:
                self._deferred -= 1
                if self._deferred == 0 and self._dirty:
                    self.snapshot()

    def _journal_path(self, generation: int) -> Path:
        assert self.data_dir is not None
        return self.data_dir / f"journal.{generation}"

    def _open_journal(self) -> None:
        self.journal = Journal(self._journal_path(self.generation), fsync=self.fsync)

    # -- snapshots

    def snapshot(self) -> None:
        """Pickle the backends and start the next journal generation (takes the lock)."""
        from moto.backends import get_backend

        if self.data_dir is None:
            self._dirty = False
            return
        with self.lock:
            started = time.monotonic()
            backends = {}
            for service in PERSISTED_SERVICES:
                backend_dict = get_backend(service)  # type: ignore[call-overload]
                backends[service] = {account: dict(regions) for account, regions in backend_dict.items()}
            next_generation = self.generation + 1
            old_journal, old_generation = self.journal, self.generation
            self.generation = next_generation
            self._open_journal()  # the new generation exists before the snapshot names it
            tmp = self.data_dir / (SNAPSHOT_FILE + ".tmp")
            with open(tmp, "wb") as file:
                _write_snapshot(file, {"generation": next_generation, "backends": backends, "taken": time.time()})
                file.flush()
                if self.fsync:
                    os.fsync(file.fileno())
                size = file.tell()
            os.replace(tmp, self.data_dir / SNAPSHOT_FILE)
            if self.fsync:
                _fsync_dir(self.data_dir)
            if old_journal is not None:
                old_journal.close()
            for path in self.data_dir.glob("journal.*"):
                with contextlib.suppress(ValueError, FileNotFoundError):
                    if int(path.suffix[1:]) <= old_generation:
                        path.unlink()
            self._dirty = False
            self.snapshots += 1
            self.last_snapshot = time.time()
            log.debug("snapshot %d: %d bytes in %.2f s", self.generation, size, time.monotonic() - started)

    def maybe_snapshot(self) -> None:
        if self.journal is not None and self.journal.bytes >= self.snapshot_bytes:
            self.snapshot()

    @staticmethod
    def _install(backends: dict[str, dict[str, dict[str, Any]]]) -> None:
        from moto.backends import get_backend

        for service, accounts in backends.items():
            backend_dict = get_backend(service)  # type: ignore[call-overload]
            for account, regions in accounts.items():
                for region, backend in regions.items():
                    backend_dict[account][region] = backend
        motopatch.forget_indexes()  # new table objects; their groupings are built on first query

    @staticmethod
    def _queues() -> list[Any]:
        from moto.backends import get_backend

        return [
            queue
            for regions in get_backend("sqs").values()
            for backend in regions.values()
            for queue in backend.queues.values()
        ]

    # -- journaling

    def record(self, records: list[tuple[Any, ...]]) -> int:
        """Journal records (the caller holds the lock); returns the sequence to sync (0: none)."""
        if self.journal is None:
            return 0
        return self.journal.append(records)

    def sync(self, seq: int) -> None:
        if self.journal is not None:
            self.journal.sync(seq)

    # -- the WSGI application

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        self._app = app
        return self

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = _Request(environ)
        if not self.active or request.path.startswith("/moto-api"):
            response = self._call(request)
        elif request.service == "dynamodb":
            response = self._dynamodb(request)
        elif request.service == "sqs":
            response = self._sqs(request)
        elif request.service == "s3":
            response = self._s3(request)
        else:
            response = self._other(request)
        start_response(response.status, response.headers)
        return [response.body]

    def _call(self, request: _Request) -> _Response:
        assert self._app is not None
        response = _Response()

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            response.status, response.headers = status, list(headers)

        chunks = self._app(request.wsgi_environ(), start_response)
        try:
            response.body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return response

    def _snapshotting(self, request: _Request) -> _Response:
        with self.lock:
            response = self._call(request)
            if response.ok:
                if self._deferred:
                    self._dirty = True
                else:
                    self.snapshot()
        return response

    @staticmethod
    def _is_read(operation: str) -> bool:
        return operation.startswith(_READ_PREFIXES)

    def _other(self, request: _Request) -> _Response:
        if request.service not in PERSISTED_SERVICES and request.service not in ("email", "ses"):
            return self._call(request)
        if not request.operation or self._is_read(request.operation) or request.operation in _UNPERSISTED_OPERATIONS:
            return self._call(request)
        return self._snapshotting(request)

    # DynamoDB: every request under the lock; item writes journal the items they touched.

    def _dynamodb(self, request: _Request) -> _Response:
        operation = request.operation
        if operation in _DYNAMODB_ITEM_WRITES:
            with self.lock:
                response = self._call(request)
                records = self._dynamodb_records(request) if response.ok else []
                seq = self.record(records) if records else 0
            if seq:
                self.sync(seq)
            return response
        if self._is_read(operation):
            with self.lock:
                return self._call(request)
        return self._snapshotting(request)

    def _dynamodb_records(self, request: _Request) -> list[tuple[Any, ...]]:
        from moto.dynamodb.models.dynamo_type import DynamoType

        account, region = _default_account(), request.region
        backend = _backend("dynamodb", account, region)
        body = request.json
        keys: list[tuple[str, dict[str, Any]]] = []  # (table, key or whole item)
        operation = request.operation
        if operation == "PutItem":
            keys.append((body["TableName"], body["Item"]))
        elif operation in ("UpdateItem", "DeleteItem"):
            keys.append((body["TableName"], body["Key"]))
        elif operation == "BatchWriteItem":
            for table_name, writes in (body.get("RequestItems") or {}).items():
                for write in writes:
                    if "PutRequest" in write:
                        keys.append((table_name, write["PutRequest"]["Item"]))
                    elif "DeleteRequest" in write:
                        keys.append((table_name, write["DeleteRequest"]["Key"]))
        elif operation == "TransactWriteItems":
            for entry in body.get("TransactItems") or []:
                for op_type, op in entry.items():
                    if op_type == "Put":
                        keys.append((op["TableName"], op["Item"]))
                    elif op_type in ("Update", "Delete"):
                        keys.append((op["TableName"], op["Key"]))
        records: list[tuple[Any, ...]] = []
        for table_name, key in keys:
            table = backend.tables.get(table_name)
            if table is None or table.hash_key_attr not in key:
                continue
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in key:
                    continue
                range_key = DynamoType(key[table.range_key_attr])
            item = table.get_item(hash_key, range_key)
            records.append(("ddb", account, region, table_name, hash_key, range_key, item))
        return records

    # SQS: messages journaled as they are after the request; long polls wait outside the lock.

    def _sqs(self, request: _Request) -> _Response:
        operation = request.operation
        if not request.json_protocol:
            # The query protocol (older clients): applied as is; only queue changes snapshot.
            if operation in ("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage"):
                return self._call(request)
            return self._other(request)
        if operation == "ReceiveMessage":
            return self._sqs_receive(request)
        if operation in ("SendMessage", "SendMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"):
            with self.lock:
                response = self._call(request)
                seq = self._journal_messages(request, response) if response.ok else 0
            if seq:
                self.sync(seq)
            arrival = self._arrival(request.json.get("QueueUrl", ""))
            with arrival:
                arrival.notify_all()
            return response
        if operation in ("DeleteMessage", "DeleteMessageBatch"):
            body = request.json
            handles = (
                [body.get("ReceiptHandle")]
                if operation == "DeleteMessage"
                else [entry.get("ReceiptHandle") for entry in body.get("Entries") or []]
            )
            account, name = _queue_of(body.get("QueueUrl", ""))
            with self.lock:
                response = self._call(request)
                seq = (
                    self.record([("sqs_del", account, request.region, name, h) for h in handles if h])
                    if response.ok
                    else 0
                )
            if seq:
                self.sync(seq)
            return response
        if self._is_read(operation):
            return self._call(request)
        return self._snapshotting(request)

    def _sqs_receive(self, request: _Request) -> _Response:
        body = dict(request.json)
        wait = float(body.pop("WaitTimeSeconds", 0) or 0)
        deadline = time.monotonic() + min(wait, 20.0)
        body["WaitTimeSeconds"] = 0
        request.replace_body(json.dumps(body).encode())
        arrival = self._arrival(body.get("QueueUrl", ""))
        while True:
            # Looked at and waited on under the queue's condition: a send between the two still wakes it.
            with arrival:
                with self.lock:
                    response = self._call(request)
                    seq = self._journal_messages(request, response) if response.ok else 0
                remaining = deadline - time.monotonic()
                done = not response.ok or bool(response.json().get("Messages")) or remaining <= 0
                if not done and not seq:
                    # Woken by a send; a message whose visibility ends is seen within a second.
                    arrival.wait(min(remaining, 1.0))
            if seq:
                self.sync(seq)
            if done:
                return response

    def _arrival(self, queue_url: str) -> threading.Condition:
        key = _queue_of(queue_url)
        with self._arrivals_lock:
            return self._arrivals.setdefault(key, threading.Condition())

    def _journal_messages(self, request: _Request, response: _Response) -> int:
        body, answer = request.json, response.json()
        account, name = _queue_of(body.get("QueueUrl", ""))
        ids: set[str] = set()
        if "MessageId" in answer:
            ids.add(answer["MessageId"])
        for entry in answer.get("Successful") or []:
            if "MessageId" in entry:
                ids.add(entry["MessageId"])
        for message in answer.get("Messages") or []:
            ids.add(message["MessageId"])
        handles = set()
        if request.operation.startswith("ChangeMessageVisibility"):
            entries = body.get("Entries") or [body]
            handles = {entry.get("ReceiptHandle") for entry in entries}
        if not ids and not handles:
            return 0
        queue = _backend("sqs", account, request.region).queues.get(name)
        if queue is None:
            return 0
        records = [
            ("sqs_msg", account, request.region, name, message)
            for message in queue._messages
            if message.id in ids or (handles and any(message.had_receipt_handle(h) for h in handles))
        ]
        return self.record(records) if records else 0

    # S3: an object's versions journaled after each change of that object.

    def _s3(self, request: _Request) -> _Response:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self._call(request)
        parts = unquote(request.path).lstrip("/").split("/", 1)
        bucket_name = parts[0]
        key_name = parts[1] if len(parts) > 1 else ""
        query = parse_qs(request.query, keep_blank_values=True)
        if not key_name and request.method == "POST" and "delete" in query:
            names = [html.unescape(k.decode()) for k in re.findall(rb"<Key>(.*?)</Key>", request.body)]
            return self._s3_objects(request, bucket_name, names)
        if not key_name:
            return self._snapshotting(request)
        if ("uploadId" in query and request.method != "POST") or "uploads" in query:
            return self._call(request)  # parts of a multipart upload: the object appears on completion
        return self._s3_objects(request, bucket_name, [key_name])

    def _s3_objects(self, request: _Request, bucket_name: str, key_names: list[str]) -> _Response:
        account = _default_account()
        with self.lock:
            response = self._call(request)
            records: list[tuple[Any, ...]] = []
            if response.ok:
                bucket = _backend("s3", account, "aws").buckets.get(bucket_name)
                if bucket is not None:
                    records = [("s3", account, bucket_name, k, list(bucket.keys.getlist(k, []))) for k in key_names]
            seq = self.record(records) if records else 0
        if seq:
            self.sync(seq)
        return response

    # -- status

    def status(self) -> dict[str, Any]:
        journal = self.journal
        return {
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "generation": self.generation,
            "journal_bytes": journal.bytes if journal else 0,
            "restored": self.restored,
            "replayed_records": self.replayed,
            "snapshots": self.snapshots,
            "last_snapshot": self.last_snapshot,
        }


def _queue_of(queue_url: str) -> tuple[str, str]:
    parts = queue_url.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2].isdigit():
        return parts[-2], parts[-1]
    return _default_account(), parts[-1]


# --------------------------------------------------------------------------- maintenance


class Maintenance:
    """A thread applying DynamoDB TTL, trimming sent-record lists and taking snapshots."""

    def __init__(
        self,
        persistence: Persistence | None,
        *,
        interval: float = 30.0,
        clock: Callable[[], float] = time.time,
        lock: threading.RLock | None = None,
        streams_consumed: Callable[[], dict[str, int | None]] | None = None,
    ) -> None:
        self.persistence = persistence
        # per followed table: the stream position every local reader is done with (streams.StreamPollers)
        self.streams_consumed = streams_consumed
        self.trimmed = 0
        self.packed = 0
        self.interval = interval
        self.clock = clock
        self.lock = persistence.lock if persistence is not None else (lock or threading.RLock())
        self.expired = 0
        self.runs = 0
        self.last_run: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="emulator-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception("emulator maintenance failed")

    def run_once(self) -> int:
        """One pass: expire TTL'd items, trim sent records, snapshot if the journal is large."""
        expired = self.expire_items()
        self.trim_sent_records()
        self.trim_streams()
        self.pack_items()
        if self.persistence is not None:
            self.persistence.maybe_snapshot()
        self.runs += 1
        self.last_run = self.clock()
        return expired

    def expire_items(self, batch: int = 500) -> int:
        """Delete items whose TTL attribute (epoch seconds) is in the past; returns how many."""
        from moto.backends import get_backend

        now = self.clock()
        total = 0
        for account, regions in list(get_backend("dynamodb").items()):
            for region, backend in list(regions.items()):
                for table_name, table in list(backend.tables.items()):
                    ttl = getattr(table, "ttl", None) or {}
                    if ttl.get("TimeToLiveStatus") != "ENABLED" or not ttl.get("AttributeName"):
                        continue
                    attribute = ttl["AttributeName"]
                    with self.lock:
                        doomed = [
                            (item.hash_key, item.range_key)
                            for item in motopatch.items_of(table)
                            if _expired(motopatch.peek(item, attribute), now)
                        ]
                    for start in range(0, len(doomed), batch):
                        with self.lock:
                            records = []
                            for hash_key, range_key in doomed[start : start + batch]:
                                item = table.get_item(hash_key, range_key)
                                if item is None or not _expired(item.attrs.get(attribute), now):
                                    continue
                                table.delete_item(hash_key, range_key)
                                records.append(("ddb", account, region, table_name, hash_key, range_key, None))
                            seq = self.persistence.record(records) if self.persistence and records else 0
                        if seq and self.persistence is not None:
                            self.persistence.sync(seq)
                        total += len(records)
        self.expired += total
        return total

    def pack_items(self) -> int:
        """Pack the items written or read since the last pass (motopatch.pack_item); returns how many."""
        from moto.backends import get_backend

        total = 0
        with self.lock:
            for regions in list(get_backend("dynamodb").values()):
                for backend in list(regions.values()):
                    for table in list(backend.tables.values()):
                        ttl = getattr(table, "ttl", None) or {}
                        keep = ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None
                        total += sum(motopatch.pack_item(item, keep) for item in motopatch.items_of(table))
        self.packed += total
        return total

    def trim_streams(self, keep_unfollowed: int = STREAM_RECORDS_KEPT) -> int:
        """Drop the stream records every local reader is done with (moto keeps them all); a stream
        no local poller follows keeps its newest `keep_unfollowed`. Returns how many went."""
        from moto.backends import get_backend

        consumed = self.streams_consumed() if self.streams_consumed is not None else {}
        total = 0
        with self.lock:
            for regions in list(get_backend("dynamodb").values()):
                for backend in list(regions.values()):
                    for table_name, table in list(backend.tables.items()):
                        shard = table.stream_shard
                        if shard is None:
                            continue
                        if table_name not in consumed:
                            through = shard.starting_sequence_number + len(shard.items) - keep_unfollowed - 1
                        elif consumed[table_name] is None:
                            continue  # a reader has not started: it may still need the oldest record
                        else:
                            through = int(consumed[table_name])  # type: ignore[arg-type]
                        total += motopatch.trim_stream(shard, through)
        self.trimmed += total
        return total

    def trim_sent_records(self, keep: int = SENT_RECORDS_KEPT) -> None:
        from moto.backends import get_backend

        with self.lock:
            for regions in get_backend("ses").values():
                for backend in regions.values():
                    sent = getattr(backend, "sent_messages", None)
                    if isinstance(sent, list) and len(sent) > keep:
                        del sent[: len(sent) - keep]
            for sns_regions in get_backend("sns").values():
                for sns_backend in sns_regions.values():
                    for topic in list(getattr(sns_backend, "topics", {}).values()):
                        sent = getattr(topic, "sent_notifications", None)
                        if isinstance(sent, list) and len(sent) > keep:
                            del sent[: len(sent) - keep]


def _expired(value: Any, now: float) -> bool:
    # DynamoDB expires an item whose TTL attribute is a Number of epoch seconds in the past
    # (and not more than five years in the past, which it ignores as a likely mistake).
    if value is None or value.type != "N":
        return False
    try:
        expires = float(value.value)
    except (TypeError, ValueError):
        return False
    return now - 5 * 365 * 86400 < expires < now
