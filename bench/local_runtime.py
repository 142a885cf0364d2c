"""`switchboard local` under load, side by side in one run:

1. accepted events/s (POST /ess/v1/events answered 202, 4 clients, every event fanned out and
   delivered to a loopback receiver) against the emulator's raw DynamoDB `PutItem` rate measured the
   same way (4 clients, same process, same emulator): the ratio is what the whole publish path
   (API emulation, authorizer, publish function, its writes and queueing) costs over one write;
2. the same events/s after 5,000 more events are stored, as a ratio of the fresh figure (moto's
   transactions used to copy whole tables, so every stored item slowed every publish). The stored
   events match no subscription (they are published, stored and fanned out to nobody), so the
   aged window does not also compete with a backlog of deliveries the fresh one did not have;
3. publish latency p50/p99, fresh and after 5,000.

The machine may be shared: the raw PutItem rate (on a new, empty table, so stored data cannot
affect it) is measured again right before the aged window, and the aged/fresh ratio is also given
relative to it, which cancels a change in the machine's load between the two windows.

The runtime runs as a child process on a temporary data directory (durable, as `make run` is).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
SAMPLE = 500  # events per measured window
STORED = 5_000
PUT_ITEMS = 2_000
EVENT = {
    "topic": "NIS-Events",
    "evt-tp": "porting_event",
    "fld-val-list": {"number": "+12345678901", "porting_date": "2026-11-23T10:00:00Z"},
}
UNSUBSCRIBED = {**EVENT, "fld-val-list": {"number": "+19999999999", "porting_date": "2026-11-23T10:00:00Z"}}


class LocalProcess:
    """`switchboard local` in a child process; ready once its banner is printed."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHBOARD_"))}
        command = [str(Path(sys.executable).parent / "switchboard"), "local", "--port", "0", "--emulator-port", "0"]
        self.process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: deque[str] = deque(maxlen=200)
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                if line.startswith("Ctrl-C stops it."):
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(180) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError("switchboard local did not start:\n" + "".join(self.lines))
        banner = "".join(self.lines)
        self.api_url = re.search(r"API\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
        self.emulator_url = re.search(r"Emulator\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
        self.token = re.search(r"Demo token\s+(\S+)", banner).group(1)  # type: ignore[union-attr]

    def rss_kib(self, peak: bool = False) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        field = "VmHWM" if peak else "VmRSS"
        return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def subscribe(api_url: str, token: str, address: str) -> str:
    """A delivery configuration to `address` and a subscription matching every benchmark event."""
    import requests

    headers = {"Authorization": f"Bearer {token}"}
    config = requests.post(
        f"{api_url}/ess/v1/delivery-configurations",
        headers=headers,
        json={"del-cfg-nm": f"bench-{time.monotonic_ns()}", "addr": address},
        timeout=30,
    )
    config.raise_for_status()
    config_id = str(config.json()["id"])
    subscription = requests.post(
        f"{api_url}/ess/v1/topics/NIS-Events/subscriptions",
        headers=headers,
        json={"del-cfg-id": config_id, "evt-tp": "porting_event", "match-crt": "number = '+12345678901'"},
        timeout=30,
    )
    subscription.raise_for_status()
    return config_id


def publish(
    api_url: str,
    token: str,
    count: int,
    clients: int = CLIENTS,
    event: dict[str, Any] = EVENT,
    retry_authorizer_failures: bool = False,
) -> tuple[float, list[float], list[str]]:
    """`count` events from `clients` threads; returns (accepted/s, latencies in s, event ids).

    With `retry_authorizer_failures`, a 500 (the authorizer failed, e.g. its first init timed out
    on a busy machine: the request never reached the publish function) is sent again, as a client
    would; anything else but 202 is a failure.
    """
    import requests

    latencies: list[float] = []
    ids: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_client = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]

    def client(share: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(share):
            started = time.perf_counter()
            response = session.post(f"{api_url}/ess/v1/events", headers=headers, json=event, timeout=60)
            for _ in range(5 if retry_authorizer_failures else 0):
                if response.status_code != 500:
                    break
                time.sleep(1.0)
                response = session.post(f"{api_url}/ess/v1/events", headers=headers, json=event, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                if response.status_code == 202:
                    latencies.append(elapsed)
                    ids.append(response.json()["event-id"])
                else:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(share,)) for share in per_client]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} publishes failed, e.g. {failures[0]}")
    return len(latencies) / wall, latencies, ids


def put_items(emulator_url: str, count: int, clients: int = CLIENTS) -> float:
    """Raw DynamoDB PutItem requests/s against the emulator, `clients` threads, one boto3 client each."""
    import boto3
    from botocore.config import Config

    def client() -> Any:
        return boto3.session.Session().client(
            "dynamodb",
            endpoint_url=emulator_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, max_pool_connections=clients),
        )

    table = f"bench-{time.monotonic_ns()}"
    admin = client()
    admin.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    payload = {"topic": {"S": "NIS-Events"}, "body": {"S": "x" * 400}}

    def run(index: int, share: int) -> None:
        ddb = client()
        for n in range(share):
            ddb.put_item(TableName=table, Item={"pk": {"S": f"{index}-{n}"}, **payload})

    share = count // clients
    threads = [threading.Thread(target=run, args=(i, share)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = share * clients / (time.perf_counter() - started)
    admin.delete_table(TableName=table)
    return rate


def wait_fanned_out(emulator_url: str, timeout: float, queue: str = "switchboard-local-EventsQueue") -> None:
    """Until fanout has taken every published event off the events queue (so a measured window
    does not compete with an earlier window's backlog)."""
    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=emulator_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if not any(int(value) for value in attributes.values()):
            return
        time.sleep(1.0)


def wait_delivered(receiver: Any, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len({w for _, w in receiver.arrivals}) >= expected:
            break
        time.sleep(0.5)
    return len({w for _, w in receiver.arrivals})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def warm(runtime: LocalProcess, attempts: int = 10) -> None:
    """Start every worker the path uses (not measured; on a busy machine a first init may time out)."""
    for attempt in range(attempts):
        try:
            publish(runtime.api_url, runtime.token, 40)
            return
        except RuntimeError:
            if attempt == attempts - 1:
                raise RuntimeError("warm-up failed:\n" + "".join(runtime.lines)) from None
            time.sleep(2.0)


def report() -> list[str]:
    from bench.delivery import FastReceiver

    lines = ["", "switchboard local under load (4 clients; publish -> fanout -> delivery to a loopback receiver)"]
    receiver = FastReceiver(record=True)
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        runtime = LocalProcess(Path(tmp) / "state")
        try:
            subscribe(runtime.api_url, runtime.token, receiver.url + "/hook")
            warm(runtime)
            wait_delivered(receiver, 40, 300)

            put_rate = put_items(runtime.emulator_url, PUT_ITEMS)
            fresh_rate, fresh_latencies, _ = publish(runtime.api_url, runtime.token, SAMPLE)
            delivered = wait_delivered(receiver, 40 + SAMPLE, 900)
            stored = 0
            while stored < STORED:
                _, _, ids = publish(runtime.api_url, runtime.token, min(1_000, STORED - stored), event=UNSUBSCRIBED)
                stored += len(ids)
            wait_fanned_out(runtime.emulator_url, 1800)
            put_rate_aged = put_items(runtime.emulator_url, PUT_ITEMS)
            aged_rate, aged_latencies, _ = publish(runtime.api_url, runtime.token, SAMPLE)
            total = 40 + 2 * SAMPLE
            delivered = wait_delivered(receiver, total, 900)
            arrivals = len(receiver.arrivals)
            peak_mib = runtime.rss_kib(peak=True) / 1024
        finally:
            runtime.stop()
            receiver.close()
    ms = 1000.0
    lines += [
        f"  emulator PutItem (raw, 4 clients):          {put_rate:8.1f} requests/s",
        f"  publish accepted, fresh (4 clients):         {fresh_rate:8.1f} events/s"
        f"  = {fresh_rate / put_rate:.3f}x the raw PutItem rate",
        f"  publish accepted, after {STORED:,} events stored: {aged_rate:8.1f} events/s"
        f"  = {aged_rate / fresh_rate:.2f}x fresh (must stay >= 0.8x)",
        f"    (raw PutItem then {put_rate_aged:.1f}/s = {put_rate_aged / put_rate:.2f}x; aged/fresh relative to it:"
        f" {(aged_rate / put_rate_aged) / (fresh_rate / put_rate):.2f}x)",
        f"  publish latency fresh:  p50 {statistics.median(fresh_latencies) * ms:6.1f} ms"
        f"  p99 {percentile(fresh_latencies, 0.99) * ms:6.1f} ms",
        f"  publish latency aged:   p50 {statistics.median(aged_latencies) * ms:6.1f} ms"
        f"  p99 {percentile(aged_latencies, 0.99) * ms:6.1f} ms",
        f"  delivered {delivered:,} of {total:,} subscribed events ({arrivals - delivered} duplicate POSTs),"
        f" {stored:,} more stored;"
        f" runtime peak RSS {peak_mib:.0f} MiB",
    ]
    return lines


if __name__ == "__main__":
    for line in report():
        print(line, flush=True)
