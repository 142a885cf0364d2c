"""Fault injection: 1,000 events through publish → fanout → deliver against a receiver that answers
500, times out, resets connections and is slow at random, with one worker killed mid-batch.

The functions run in-process in four worker threads that poll the queues like Lambda's SQS pollers
(batches of up to 5, partial batch responses, a 5 s visibility timeout), each thread with its own
copy of the function modules and its own engine (own lease owner, own HTTP pools), as separate
Lambda containers would have; the sweeper runs every 10 s. One worker dies once between claiming a
delivery and sending it; Lambda's replacement container takes over, and the claimed attempt must
go out once, after its lease ran out.

AWS is moto in server mode on 127.0.0.1, in a process of its own. moto's backends are not
thread-safe (a conditional write is a read, a check and a write; a transaction snapshots and
restores the table), so the server applies one request at a time: that gives what DynamoDB and
SQS guarantee (atomic conditional writes and transactions, no lost messages) while the workers
call it concurrently. To keep it fast enough for 1,000 events it also skips two costs that grow
with the table (`_cheap_transactions`, `_quick_queries`); results are unchanged.

The receiver's answer to attempt n of a delivery is a function of (seed, delivery id, n), so a
failing run is replayed with `SWITCHBOARD_FAULT_SEED=<seed>` (printed, and in every assertion).
At the end every (event, configuration) must be final as its retry schedule says, the attempt
log must match what the receiver saw attempt by attempt, no success may have been sent twice, and
the summary counters must add up.

Run it with `python -m pytest -q tests/integration/test_delivery_faults.py -s` (about three minutes
on two cores; -s prints the totals). `SWITCHBOARD_FAULT_EVENTS=<n>` runs fewer events, for
working on the test itself.
"""

from __future__ import annotations

import contextvars
import json
import logging
import multiprocessing
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from switchboard import aws as aws_access
from switchboard import wiring
from switchboard.delivery.models import Attempt, Delivery, Status
from switchboard.delivery.sender import Sender

from tests.conftest import _clear_service_caches
from tests.receivers import Received, Receiver, Reply
from tests.support import WorkerContext, call, create_template_resources, load_function, rest_event, sqs_records

EVENTS = int(os.environ.get("SWITCHBOARD_FAULT_EVENTS") or 1_000)
WORKERS = 4
BATCH = 5
VISIBILITY_TIMEOUT_S = 5
TIMEOUT_S = 1  # every configuration's timeout-seconds
LEASE_S = TIMEOUT_S * 2 + 15  # the engine's lease for a claimed attempt
KILL_AFTER_REQUESTS = max(10, EVENTS // 8)  # the victim dies once the receiver has seen this many requests
SWEEP_EVERY_S = 10.0  # production: every minute
DEADLINE_S = 360.0
SEED = int(os.environ.get("SWITCHBOARD_FAULT_SEED") or random.SystemRandom().randrange(1 << 32))

# What the receiver does, with its share of requests: 200, 500, 200 after 0.2 s, an answer after
# the client's 1 s timeout, a connection reset (RST) instead of an answer.
KINDS: list[tuple[str, float, Reply]] = [
    ("ok", 0.60, Reply(200, "ok")),
    ("error", 0.15, Reply(500, "boom")),
    ("slow", 0.10, Reply(200, "slow but ok", delay_s=0.2)),
    ("timeout", 0.08, Reply(200, "too late", delay_s=1.5)),
    ("reset", 0.07, Reply(reset=True)),
]
ANSWERED_2XX = {"ok", "slow"}
# (response-status, error-class) the attempt log must show for each
RECORDED_AS = {
    "ok": (200, None),
    "slow": (200, None),
    "error": (500, None),
    "timeout": (None, "timeout"),
    "reset": (None, "connect"),
}


@dataclass(frozen=True)
class ConfigSpec:
    path: str
    schedule: tuple[int, ...]
    subscriptions: tuple[frozenset[str], ...]  # carrier_id values each subscription matches
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def carriers(self) -> frozenset[str]:
        return frozenset().union(*self.subscriptions)


# Events carry carrier_id = i % 6: "1", "2" and "4" reach two configurations, "3" matches both
# subscriptions of /c (still one delivery), "5" matches nothing.
CONFIGS = [
    ConfigSpec("/a", (0, 0, 1), (frozenset({"0", "1"}),)),
    ConfigSpec("/b", (0, 1), (frozenset({"1", "2"}),)),
    ConfigSpec("/c", (1,), (frozenset({"3"}), frozenset({"2", "3", "4"}))),
    ConfigSpec("/d", (0, 0), (frozenset({"4"}),), {"throttling": 600, "throttling-unit": "MINUTE"}),
]


def reply_kind(wire_id: str, attempt: int) -> str:
    """What the receiver answers to attempt `attempt` of delivery `wire_id` in this run."""
    roll = random.Random(f"{SEED}:{wire_id}:{attempt}").random()
    for kind, share, _ in KINDS:
        roll -= share
        if roll < 0:
            return kind
    return KINDS[-1][0]


REPLIES = {kind: reply for kind, _, reply in KINDS}


# The worker (container) an invocation runs in. The deliver function works a batch's records in threads
# of its own (asyncio.to_thread), which carry the invocation's context but are not the worker thread.
CURRENT_WORKER: contextvars.ContextVar[Any] = contextvars.ContextVar("current_worker", default=None)


class KillWorker(BaseException):
    """Ends a worker thread where it stands, like a Lambda container killed mid-invocation."""


class _DiscardedMetrics(dict):
    """A metric set that keeps nothing: the workers' metrics neither interleave nor print."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def load_quietly(name: str):
    """A fresh copy of a function module whose powertools Metrics keep nothing (their metric set
    is otherwise shared by every instance in the process, and these copies run concurrently)."""
    from aws_lambda_powertools.metrics import Metrics

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Metrics, "_metrics", _DiscardedMetrics())
        return load_function(name)


# ---------------------------------------------------------------- AWS: moto server


class _OneRequestAtATime:
    """WSGI middleware: moto applies one request at a time (its backends are not thread-safe)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.busy: Counter[str] = Counter()  # seconds spent per operation (reported)
        self.calls: Counter[str] = Counter()

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1] or environ.get("PATH_INFO", "")
        with self.lock:
            started = time.perf_counter()
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()
                self.busy[operation] += time.perf_counter() - started
                self.calls[operation] += 1


def _cheap_transactions(patch: pytest.MonkeyPatch, unsafe: Counter[str]) -> None:
    """moto backs up every table a transaction touches with a deep copy, once per operation, which
    makes each transaction cost O(table) and the run quadratic. With requests applied one at a time,
    a transaction whose conditions all hold (and that touches no item twice) is not cancelled, so it
    needs no backup: check that first (as DynamoDB does, against the state before the transaction)
    and let moto skip the copies then; anything else takes moto's own path (back up, cancel, report).
    Should a transaction fail anyway without its backup, `unsafe` counts it (the test then errors)."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    class NoTableCopies:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def conditions_hold(backend: Any, transact_items: list[dict[str, Any]]) -> bool:
        try:
            touched = set()
            for entry in transact_items:
                ((_, op),) = entry.items()
                table = backend.get_table(op["TableName"])
                key = op.get("Key") or {
                    name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
                }
                identity = (op["TableName"], json.dumps(key, sort_keys=True))
                if identity in touched:
                    return False
                touched.add(identity)
                if op.get("ConditionExpression") is None:
                    continue
                current = backend.get_item(op["TableName"], key)
                condition = get_filter_expression(
                    op["ConditionExpression"], op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not condition.expr(current):
                    return False
        except Exception:
            return False
        return True

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if not conditions_hold(self, transact_items):
            return original(self, transact_items)
        models.copy = NoTableCopies  # type: ignore[assignment]
        try:
            return original(self, transact_items)
        except Exception:
            unsafe["transactions failed without a backup"] += 1
            raise
        finally:
            models.copy = copy

    patch.setattr(models.DynamoDBBackend, "transact_write_items", transact_write_items)


def _quick_queries(patch: pytest.MonkeyPatch) -> None:
    """moto's Table.query starts from all_items(), every item of the table sorted (O(n log n) Python
    comparisons), keeps those of the queried partition and sorts them by the table's or the index's
    full key. Within a query, all_items() here gives only the queried partition for a table query,
    and every item unsorted for an index query: the same results, without the per-call sort."""
    from moto.dynamodb.models.table import Table

    all_items, query = Table.all_items, Table.query

    def all_items_for_queries(self: Any) -> list[Any]:
        scope = getattr(self, "_query_scope", None)
        if scope is None:
            return all_items(self)
        if scope:  # a table query, (hash key,): only its partition can match
            partition = self.items.get(scope[0])
            if partition is None:
                return []
            return list(partition.values()) if self.range_key_attr else [partition]
        if self.range_key_attr:
            return [item for partition in self.items.values() for item in partition.values()]
        return list(self.items.values())

    def quick_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        self._query_scope = () if index_name is not None or hash_key is None else (hash_key,)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            self._query_scope = None

    patch.setattr(Table, "all_items", all_items_for_queries)
    patch.setattr(Table, "query", quick_query)


def serve_moto(connection: Any) -> None:
    """The moto server process: ThreadedMotoServer on 127.0.0.1, one request at a time, cheap
    transactions and queries. Sends (host, port), serves until told to stop, then sends its
    statistics (seconds busy per operation, transactions that failed without a backup)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    from moto.server import ThreadedMotoServer

    unsafe: Counter[str] = Counter()
    with pytest.MonkeyPatch.context() as patch:
        _cheap_transactions(patch, unsafe)
        _quick_queries(patch)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        wsgi = server._server
        if wsgi is None or not hasattr(wsgi, "app"):
            connection.send(RuntimeError("moto's ThreadedMotoServer changed: cannot wrap its application"))
            return
        middleware = wsgi.app = _OneRequestAtATime(wsgi.app)
        connection.send(server.get_host_and_port())
        try:
            connection.recv()
            connection.send(
                (
                    {
                        operation: (middleware.calls[operation], seconds)
                        for operation, seconds in middleware.busy.most_common()
                    },
                    dict(unsafe),
                )
            )
        except (EOFError, OSError):  # the test process went away
            pass
        server.stop()


@pytest.fixture
def moto_server() -> Iterator[dict[str, Any]]:
    """moto in server mode on 127.0.0.1, in a process of its own (it gets the second core, and its
    state never mixes with the in-process mocks of other tests), with the template's tables, queues
    and key; the functions' environment points at it. Everything is put back afterwards."""
    load_function("delivery_sweeper")  # powertools sets its service logger's level on the first Logger()
    service_logger = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", ""))
    level = service_logger.level
    service_logger.setLevel(logging.ERROR)  # no INFO lines from 1,000 fanouts
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    connection, child_end = context.Pipe()
    process = context.Process(target=serve_moto, args=(child_end,), name="moto-server", daemon=True)
    process.start()
    stopped = False
    try:
        assert connection.poll(60), "the moto server process did not start"
        address = connection.recv()
        if isinstance(address, BaseException):
            raise address
        endpoint = f"http://{address[0]}:{address[1]}"
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ENDPOINT_URL", endpoint)
            aws_access.reset()
            names = create_template_resources()
            for key, value in names.items():
                env.setenv(key, value)
            env.setenv("ALLOW_PRIVATE_TARGETS", "true")
            env.setenv("WAKE_GRACE_SECONDS", "60")  # the sweeper re-sends an open delivery idle this long
            wiring.reset()
            _clear_service_caches()
            try:
                yield {**names, "endpoint": endpoint}
            finally:
                connection.send("stop")
                stopped = True
                assert connection.poll(20), "the moto server process did not answer"
                busy, unsafe = connection.recv()
                print(
                    "  moto busy: "
                    + ", ".join(f"{op} {calls}x {seconds:.1f} s" for op, (calls, seconds) in list(busy.items())[:10])
                )
                assert not unsafe, f"moto may have applied a transaction in part: {unsafe}"
    finally:
        if not stopped and process.is_alive():
            connection.send("stop")
        process.join(20)
        if process.is_alive():
            process.terminate()
            process.join(5)
        connection.close()
        wiring.reset()
        _clear_service_caches()
        aws_access.reset()
        service_logger.setLevel(level)


# ---------------------------------------------------------------- what the receiver saw


@dataclass(frozen=True)
class Seen:
    wire_id: str
    attempt: int
    kind: str
    path: str
    at: float


class Log:
    """Every request the receiver got, by delivery id, and what it answered."""

    def __init__(self) -> None:
        self.by_delivery: dict[str, list[Seen]] = defaultdict(list)
        self.malformed: list[str] = []
        self.count = 0
        self._lock = threading.Lock()

    def decide(self, request: Received) -> Reply:
        try:
            wire_id = request.headers["webhook-id"]
            attempt = int(request.json()["attempt"])
        except (KeyError, ValueError, TypeError) as exc:
            with self._lock:
                self.malformed.append(f"{request.path}: {exc!r}")
            return Reply(400, "malformed")
        kind = reply_kind(wire_id, attempt)
        with self._lock:
            self.by_delivery[wire_id].append(Seen(wire_id, attempt, kind, request.path, time.monotonic()))
            self.count += 1
        return REPLIES[kind]


def _quiet_broken_pipes(receiver: Receiver) -> None:
    """An answer written after the client gave up (the timeouts) fails with a broken pipe: expected here."""
    server = receiver._server
    report = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            report(request, client_address)

    server.handle_error = handle_error


# ---------------------------------------------------------------- the run


@dataclass
class Kill:
    worker: str
    wire_id: str
    attempt: int
    at: float
    batch_size: int


class Run:
    """Shared state of the workers, the publisher and the monitor."""

    def __init__(self, names: dict[str, str], log: Log) -> None:
        self.names = names
        self.log = log
        self.stop = threading.Event()
        self.kill: Kill | None = None
        self.victim: Worker | None = None
        self.lock = threading.Lock()
        self.handler_errors: list[str] = []
        self.record_failures: list[str] = []
        self.engines: list[Any] = []
        self.invocations = Counter()
        self.published = 0
        self.publish_errors: list[str] = []

    def note(self, bucket: list[str], text: str) -> None:
        with self.lock:
            bucket.append(text)


class Worker(threading.Thread):
    """One warm Lambda container of each queue's function, polling like the SQS event source."""

    def __init__(self, run: Run, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.run_state = run
        self.functions = {"EVENTS_QUEUE_URL": load_quietly("fanout"), "DELIVERY_QUEUE_URL": load_quietly("deliver")}
        self.sqs = boto3.session.Session().client("sqs")
        self.batch_size = 0
        self.posts_in_batch = 0
        self.killed = False
        self.crashed: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.run_state.stop.is_set():
                moved = self._poll("EVENTS_QUEUE_URL") + self._poll("DELIVERY_QUEUE_URL")
                if not moved:
                    time.sleep(0.2)
        except KillWorker:
            self.killed = True  # gone mid-batch: nothing deleted, the lease stays until it runs out
        except BaseException as exc:  # a harness failure: reported by the test
            self.crashed = exc

    def _poll(self, queue: str) -> int:
        url = self.run_state.names[queue]
        messages = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=0,
            VisibilityTimeout=VISIBILITY_TIMEOUT_S,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        records = sqs_records(url, messages)
        function = self.functions[queue]
        self.batch_size, self.posts_in_batch = len(records), 0
        with self.run_state.lock:
            self.run_state.invocations[queue] += 1
        token = CURRENT_WORKER.set(self)
        try:
            response = function.lambda_handler({"Records": records}, WorkerContext())
        except Exception as exc:  # the invocation failed: Lambda leaves the whole batch on the queue
            causes = [info[1] for info in getattr(exc, "child_exceptions", None) or []]
            self.run_state.note(self.run_state.handler_errors, f"{self.name} {queue}: {exc!r} {causes!r}")
            return len(messages)
        finally:
            CURRENT_WORKER.reset(token)
        failed = {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])}
        for info in function.processor.exceptions:
            self.run_state.note(self.run_state.record_failures, f"{self.name} {queue}: {info[1]!r}")
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m["MessageId"] not in failed
        ]
        if done:
            self.sqs.delete_message_batch(QueueUrl=url, Entries=done)
        return len(messages)


def _per_worker_engines(run: Run, patch: pytest.MonkeyPatch) -> None:
    """wiring.engine() gives each worker thread an engine of its own, built as the function builds it."""
    build = wiring.engine.__wrapped__
    engines: dict[Any, Any] = {}

    def engine():
        owner = CURRENT_WORKER.get() or threading.current_thread()
        with run.lock:
            if owner not in engines:
                engines[owner] = build()
                run.engines.append(engines[owner])
            return engines[owner]

    engine.cache_clear = lambda: None  # wiring.reset() clears it
    patch.setattr(wiring, "engine", engine)


def _kill_switch(run: Run, patch: pytest.MonkeyPatch) -> None:
    """The victim worker dies once: after its engine has claimed a delivery (Sender.post is called
    between the claim and recording the attempt), on a later record of a batch, before sending."""
    real_post = Sender.post

    def post(self, url, body, headers, timeout_s, **kwargs):
        worker = CURRENT_WORKER.get()
        if isinstance(worker, Worker):
            with run.lock:
                worker.posts_in_batch += 1
            if (
                worker is run.victim
                and run.kill is None
                and run.log.count >= KILL_AFTER_REQUESTS
                and worker.posts_in_batch >= 2
                and worker.batch_size >= 2
            ):
                run.kill = Kill(
                    worker.name,
                    headers["webhook-id"],
                    int(json.loads(body)["attempt"]),
                    time.monotonic(),
                    worker.batch_size,
                )
                raise KillWorker
        return real_post(self, url, body, headers, timeout_s, **kwargs)

    patch.setattr(Sender, "post", post)


def _publisher(run: Run, context: dict[str, str]) -> None:
    publish = load_quietly("publish")
    for i in range(EVENTS):
        if run.stop.is_set():
            return
        body = {
            "topic": "NIS-Events",
            "evt-tp": "porting_event",
            "event-id": event_id(i),
            "fld-val-list": {
                "number": f"+1555{i:07d}",
                "porting_date": "2026-11-23T10:00:00Z",
                "carrier_id": carrier(i),
            },
        }
        try:
            status, reply, _ = call(publish, rest_event("POST", "/ess/v1/events", context, body=body))
        except Exception as exc:
            run.note(run.publish_errors, f"event {i}: {exc!r}")
            continue
        if status != 202:
            run.note(run.publish_errors, f"event {i}: {status} {reply}")
            continue
        with run.lock:
            run.published += 1


def _depth(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed) messages of a queue."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    visible, in_flight, delayed = (
        int(attributes[f"ApproximateNumberOf{kind}"]) for kind in ("Messages", "MessagesNotVisible", "MessagesDelayed")
    )
    return visible, in_flight, delayed


def event_id(i: int) -> str:
    return f"fault-{SEED:08x}-{i:04d}"


def carrier(i: int) -> str:
    return str(i % 6)


# ---------------------------------------------------------------- the test


@pytest.mark.slow  # about three minutes: `make test-quick` leaves it out
def test_a_thousand_events_through_a_faulty_receiver_and_a_killed_worker(moto_server):
    from switchboard.accounts.repository import AccountsRepository
    from switchboard.accounts.service import AccountService

    names = moto_server
    seed = f"seed={SEED} (replay: SWITCHBOARD_FAULT_SEED={SEED})"
    accounts = AccountService(AccountsRepository(names["ACCOUNTS_TABLE"]))
    issued = accounts.create_account("Faulty Receivers Inc")
    caller = accounts.resolve(issued.token)
    assert caller is not None
    context = caller.to_context()
    account_id = issued.account_id

    log = Log()
    receiver = Receiver()
    _quiet_broken_pipes(receiver)
    run = Run(names, log)
    workers: list[Worker] = []
    started = time.monotonic()
    try:
        configs_fn, subscriptions_fn = load_quietly("delivery_configurations"), load_quietly("subscriptions")
        config_ids: dict[str, str] = {}
        for spec in CONFIGS:
            address = receiver.decide(spec.path, log.decide)
            body = {
                "del-cfg-nm": f"faults{spec.path.replace('/', '-')}",
                "addr": address,
                "del-fmt-cd": "JSON",
                "is-active": True,
                "retry-schedule": list(spec.schedule),
                "timeout-seconds": TIMEOUT_S,
                **spec.extra,
            }
            status, created, _ = call(
                configs_fn, rest_event("POST", "/ess/v1/delivery-configurations", context, body=body)
            )
            assert status == 201, created
            config_ids[spec.path] = created["id"]
            for carriers in spec.subscriptions:
                criteria = "carrier_id IN (" + ", ".join(f"'{c}'" for c in sorted(carriers)) + ")"
                status, sub, _ = call(
                    subscriptions_fn,
                    rest_event(
                        "POST",
                        "/ess/v1/topics/NIS-Events/subscriptions",
                        context,
                        body={"del-cfg-id": created["id"], "evt-tp": "porting_event", "match-crt": criteria},
                    ),
                )
                assert status == 201, sub
        spec_of = {config_ids[spec.path]: spec for spec in CONFIGS}
        expected = {
            (event_id(i), config_ids[spec.path])
            for i in range(EVENTS)
            for spec in CONFIGS
            if carrier(i) in spec.carriers
        }

        sweeper = load_quietly("delivery_sweeper")
        store = wiring.deliveries_repository()
        sqs = boto3.client("sqs")
        swept = 0
        with pytest.MonkeyPatch.context() as patch:
            _per_worker_engines(run, patch)
            _kill_switch(run, patch)
            workers = [Worker(run, f"worker-{n}") for n in range(1, WORKERS + 1)]
            run.victim = workers[0]
            for worker in workers:
                worker.start()
            publisher = threading.Thread(target=_publisher, args=(run, context), name="publisher", daemon=True)
            publisher.start()

            deadline = started + DEADLINE_S
            last_sweep = last_report = time.monotonic()
            finished = False
            crashed: list[str] = []
            while time.monotonic() < deadline:
                time.sleep(1.0)
                crashed = [f"{w.name}: {w.crashed!r}" for w in workers if w.crashed is not None]
                if crashed or run.handler_errors or run.record_failures:
                    break  # a failing function or harness: stop here and say why
                for n, worker in enumerate(workers):
                    if worker.killed and not worker.is_alive():  # Lambda starts a fresh container
                        workers[n] = Worker(run, f"{worker.name}-after-kill")
                        workers[n].start()
                if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                    swept += sweeper.lambda_handler({}, WorkerContext())["requeued"]
                    last_sweep = time.monotonic()
                assert not run.publish_errors, f"{seed}: publishing failed: {run.publish_errors[:3]}"
                depth = {queue: _depth(sqs, names[queue]) for queue in ("EVENTS_QUEUE_URL", "DELIVERY_QUEUE_URL")}
                if time.monotonic() - last_report >= 15:
                    print(
                        f"  {time.monotonic() - started:5.0f} s: {run.published} published, {log.count} requests, "
                        f"queued {depth['DELIVERY_QUEUE_URL']}"
                    )
                    last_report = time.monotonic()
                if publisher.is_alive() or sum(depth["EVENTS_QUEUE_URL"]) or depth["DELIVERY_QUEUE_URL"][0] > 20:
                    continue  # far from done: spare the table a scan
                if not any(
                    store.list(account_id, None, status, None, None, None, None, 0, 1)[0]
                    for status in (Status.PENDING, Status.RETRY)
                ):
                    finished = True
                    break
            run.stop.set()
            for worker in [*workers, publisher]:
                worker.join(10)
            assert not [t.name for t in [*workers, publisher] if t.is_alive()], f"{seed}: threads did not stop"
        wall = time.monotonic() - started
        errors = crashed + run.handler_errors + run.record_failures
        assert not errors, f"{seed}: the functions failed ({len(errors)}x), e.g.:\n" + "\n".join(errors[:10])
        assert finished, (
            f"{seed}: not every delivery was final after {DEADLINE_S:.0f} s "
            f"(published {run.published}, {log.count} requests, kill {run.kill}, invocations "
            f"{dict(run.invocations)})"
        )

        checking = time.monotonic()
        deliveries, more = store.list(account_id, None, None, None, None, None, None, 0, 100_000)
        assert not more
        with ThreadPoolExecutor(WORKERS) as pool:  # the tracking view of every delivery
            recorded = dict(
                zip(
                    [d.wire_id for d in deliveries],
                    pool.map(lambda d: store.attempts(d.account_id, d.event_id, d.config_id), deliveries),
                    strict=True,
                )
            )
        attempt_log, more = store.attempt_log(account_id, None, None, 0, 1_000_000)  # the account's log
        assert not more
        counters = list(store.summary_counters(account_id, 0, int(time.time() * 1000) + 7_200_000))
        problems, totals = _check(deliveries, recorded, attempt_log, counters, expected, spec_of, log, run)
        checking = time.monotonic() - checking
    finally:
        run.stop.set()
        for worker in workers:
            worker.join(10)
        receiver.close()

    print(f"\nfault injection, {seed}: {wall:.1f} s wall time (then {checking:.1f} s reading and checking)")
    for key, value in totals.items():
        print(f"  {key}: {value}")
    print(f"  sweeper re-queued: {swept}")
    assert not problems, f"{seed}: {len(problems)} problem(s):\n" + "\n".join(problems[:40])


def _check(
    deliveries: list[Delivery],
    recorded_of: dict[str, list[Attempt]],
    attempt_log: list[Attempt],
    counters: list[dict[str, Any]],
    expected: set[tuple[str, str]],
    spec_of: dict[str, ConfigSpec],
    log: Log,
    run: Run,
) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    problems += [f"publishing: {p}" for p in run.publish_errors]
    problems += [f"receiver got a request without webhook-id/attempt: {m}" for m in log.malformed]
    problems += [f"invocation failed: {e}" for e in run.handler_errors]
    problems += [f"record failed: {e}" for e in run.record_failures]

    # every (event, configuration) exactly once, and final
    keys = [(d.event_id, d.config_id) for d in deliveries]
    duplicates = [key for key, n in Counter(keys).items() if n > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} (event, configuration) pairs have several deliveries: {duplicates[:5]}")
    missing, unexpected = expected - set(keys), set(keys) - expected
    if missing:
        problems.append(f"{len(missing)} expected deliveries missing, e.g. {sorted(missing)[:5]}")
    if unexpected:
        problems.append(f"{len(unexpected)} deliveries nobody subscribed to, e.g. {sorted(unexpected)[:5]}")

    # the account's attempt log lists exactly the attempts of the deliveries' tracking
    logged = Counter(
        (f"{a.event_id}:{a.config_id}", a.number, a.result, a.status_code, a.error_class) for a in attempt_log
    )
    tracked = Counter(
        (wire, a.number, a.result, a.status_code, a.error_class)
        for wire, attempts in recorded_of.items()
        for a in attempts
    )
    if logged != tracked:
        problems.append(
            f"the attempt log and the deliveries' attempts differ: only in the log "
            f"{sorted(logged - tracked)[:3]}, only tracked {sorted(tracked - logged)[:3]}"
        )
    late = 0  # in-time answers the engine saw as timeouts (a starved worker); reported, not failures
    answered_twice = 0  # deliveries whose receiver answered 2xx more than once, late answers included
    kinds_seen: Counter[str] = Counter()
    for delivery in deliveries:
        wire = delivery.wire_id
        spec = spec_of.get(delivery.config_id)
        if spec is None:
            problems.append(f"{wire}: unknown configuration")
            continue
        limit = len(spec.schedule) + 1
        recorded = sorted(recorded_of.get(wire, []), key=lambda a: a.number)
        seen = sorted(log.by_delivery.get(wire, []), key=lambda s: (s.attempt, s.at))
        kinds_seen.update(s.kind for s in seen)
        where = f"{wire} ({spec.path}, {delivery.status}, {delivery.attempts} attempts)"
        numbers = [a.number for a in recorded]
        if delivery.status not in (Status.SUCCESS, Status.FAILED) or delivery.handled or delivery.parked:
            problems.append(f"{where}: not final (handled={delivery.handled}, parked={delivery.parked})")
        if numbers != list(range(1, delivery.attempts + 1)):
            problems.append(f"{where}: recorded attempt numbers {numbers}")
        if [s.attempt for s in seen] != list(range(1, len(seen) + 1)):
            problems.append(f"{where}: the receiver saw attempts {[s.attempt for s in seen]}")
        if len(seen) != len(recorded):
            problems.append(f"{where}: the receiver saw {len(seen)} requests, {len(recorded)} attempts recorded")
        if any(s.path != spec.path for s in seen):
            problems.append(f"{where}: requests went to {sorted({s.path for s in seen})}")
        if len(recorded) > limit:
            problems.append(f"{where}: {len(recorded)} attempts, the schedule allows {limit}")
        results = [a.result for a in recorded]
        if delivery.status is Status.SUCCESS and results != [Status.RETRY] * (len(results) - 1) + [Status.SUCCESS]:
            problems.append(f"{where}: attempt results {[str(r) for r in results]}")
        if delivery.status is Status.FAILED and results != [Status.RETRY] * (limit - 1) + [Status.FAILED]:
            problems.append(f"{where}: FAILED with attempt results {[str(r) for r in results]}, schedule {limit}")
        # attempt by attempt: what was recorded is what the receiver did
        delivered_2xx = 0
        for attempt, s in zip(recorded, seen, strict=False):
            if attempt.number != s.attempt:
                continue  # reported above
            got = (attempt.status_code, attempt.error_class)
            late_answer = (
                s.kind in ANSWERED_2XX and got == (None, "timeout") and attempt.duration_ms >= TIMEOUT_S * 1000
            )
            late += late_answer
            failed = s.kind not in ANSWERED_2XX or late_answer
            want = (None, "timeout") if late_answer else RECORDED_AS[s.kind]
            want_result = (Status.FAILED if attempt.number == limit else Status.RETRY) if failed else Status.SUCCESS
            if got != want or attempt.result is not want_result:
                problems.append(
                    f"{where}: attempt {attempt.number} got '{s.kind}' from the receiver, recorded "
                    f"{attempt.result} {got}, expected {want_result} {want}"
                )
            elif not failed:
                delivered_2xx += 1
        if delivered_2xx > 1:
            problems.append(f"{where}: success sent {delivered_2xx} times")
        if sum(s.kind in ANSWERED_2XX or s.kind == "timeout" for s in seen) > 1:
            answered_twice += 1
        # as the seed says: the first attempt answered 2xx wins, else the schedule runs out
        kinds = [reply_kind(wire, n) for n in range(1, limit + 1)]
        first_ok = next((n for n, kind in enumerate(kinds, 1) if kind in ANSWERED_2XX), None)
        predicted = (Status.SUCCESS, first_ok) if first_ok else (Status.FAILED, limit)
        if (delivery.status, delivery.attempts) != predicted and not any(
            a.error_class == "timeout" and reply_kind(wire, a.number) in ANSWERED_2XX for a in recorded
        ):
            problems.append(f"{where}: the seed says {predicted[0]} after {predicted[1]} attempts")
    strangers = set(log.by_delivery) - {d.wire_id for d in deliveries}
    if strangers:
        problems.append(f"the receiver got requests for unknown deliveries: {sorted(strangers)[:5]}")

    # the summary counts what is open or failed: nothing open, every failure once
    sums = {name: sum(int(item.get(name, 0)) for item in counters) for name in ("pending", "retry", "failed")}
    failed = sum(d.status is Status.FAILED for d in deliveries)
    if sums != {"pending": 0, "retry": 0, "failed": failed}:
        problems.append(f"summary counters {sums}, expected pending 0, retry 0, failed {failed}")

    # the killed worker's claimed attempt went out once, after its lease ran out
    kill = run.kill
    if kill is None:
        problems.append("the victim worker was never killed")
    else:
        redone = [a for a in recorded_of.get(kill.wire_id, []) if a.number == kill.attempt]
        if len(redone) != 1:
            problems.append(f"killed delivery {kill.wire_id}: attempt {kill.attempt} recorded {len(redone)} times")
        sent = [s for s in log.by_delivery.get(kill.wire_id, []) if s.attempt == kill.attempt]
        if len(sent) != 1 or sent[0].at - kill.at < LEASE_S - 1:
            problems.append(
                f"killed delivery {kill.wire_id}: attempt {kill.attempt} sent "
                f"{[round(s.at - kill.at, 1) for s in sent]} s after the kill (lease {LEASE_S} s)"
            )

    outcomes: Counter[str] = Counter()
    for engine in run.engines:
        outcomes.update(engine.outcomes.counts)
    statuses = Counter(f"{spec_of[d.config_id].path} {d.status}" for d in deliveries)
    totals = {
        "events published": run.published,
        "deliveries": len(deliveries),
        "deliveries by configuration and status": dict(sorted(statuses.items())),
        "attempts recorded": len(attempt_log),
        "receiver requests by answer": dict(kinds_seen),
        "in-time answers recorded as timeouts (late)": late,
        "deliveries answered 2xx more than once (timed-out answers included)": answered_twice,
        "engine outcomes": dict(sorted(outcomes.items())),
        "invocations": dict(run.invocations),
        "killed": kill,
    }
    return problems, totals
