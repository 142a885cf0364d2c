"""`switchboard local` killed with SIGKILL comes back with everything (docs/local-runtime.md).

State is created through the API, 20 deliveries are left pending against a receiver that fails,
the runtime is killed with SIGKILL (its workers must go with it), started again on the same ports
and data directory, the receiver recovers: every pending delivery arrives exactly once and every
resource reads back. A clean stop (SIGTERM) and a third start close the loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.process import ROOT, RuntimeProcess, wait_until_gone
from tests.receivers import Receiver, Reply

pytestmark = pytest.mark.e2e

PENDING = 20
# The kill lands between attempts, when no delivery task is in flight (a task taken off the queue just
# before the kill is only seen again after the queue's visibility timeout, as on SQS: longer than this
# test waits). The retries' delay leaves that moment room on a loaded machine.
RETRY_DELAY_S = 45
EVENT = {
    "topic": "NIS-Events",
    "evt-tp": "porting_event",
    "fld-val-list": {"number": "+12345678901", "porting_date": "2026-11-23T10:00:00Z"},
}


def sample_body(name: str) -> dict[str, Any]:
    return json.loads(json.loads((ROOT / "events" / f"{name}.json").read_text())["body"])


class Api:
    def __init__(self, rt: RuntimeProcess, token: str) -> None:
        self.base = rt.api_url
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = requests.request(method, self.base + path, headers=self.headers, timeout=30, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


class FlakyEndpoint:
    """Answers 503 until `recover()`, then 200; counts what it accepted per delivery (webhook-id)."""

    def __init__(self, receiver: Receiver) -> None:
        self.up = False
        self.failed: set[str] = set()
        self.accepted: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.url = receiver.decide("/hook", self._answer)

    def _answer(self, request: Any) -> Reply:
        delivery = request.headers.get("webhook-id", "")
        with self._lock:
            if not self.up:
                self.failed.add(delivery)
                return Reply(503)
            self.accepted[delivery] += 1
            return Reply(200)

    def recover(self) -> None:
        with self._lock:
            self.up = True

    def wait(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(self):
                    return True
            time.sleep(0.2)
        return False


def delivery_tasks_at_rest(rt: RuntimeProcess, timeout: float = 60.0) -> bool:
    """Whether the delivery queue comes to hold no task in flight or due (only delayed ones)."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=rt.emulator_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.get_queue_url(QueueName="switchboard-local-DeliveryQueue")["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if not any(int(attributes[name]) for name in names):
            return True
        time.sleep(0.2)
    return False


def test_sigkill_and_restart_lose_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    receiver = Receiver()
    endpoint = FlakyEndpoint(receiver)
    first = RuntimeProcess("--data-dir", str(data_dir))
    try:
        api = Api(first, first.token)
        config = api.call(
            "POST",
            "/ess/v1/delivery-configurations",
            201,
            json={"del-cfg-nm": "restart", "addr": endpoint.url, "retry-schedule": [RETRY_DELAY_S] * 10},
        )
        subscription = api.call(
            "POST",
            "/ess/v1/topics/NIS-Events/subscriptions",
            201,
            json={"del-cfg-id": config["id"], "evt-tp": "porting_event", "match-crt": "number = '+12345678901'"},
        )
        rule = api.call("POST", "/api/v2/alertrules", 200, json=sample_body("alert_rules_create"))
        system = api.call("POST", "/api/v1/systems", 200, json=sample_body("systems_create"))
        alert_body = sample_body("alerts_create")
        alert_body["data"]["from"] = [{"type": "account", "value": first.account}]
        alert_body["data"]["to"] = [{"type": "admins", "value": first.account}]
        alert = requests.put(
            f"{first.api_url}/v2/accounts/{first.account}/alerts",
            headers={"X-Auth-Token": first.token},
            json=alert_body,
            timeout=30,
        )
        assert alert.status_code == 201, alert.text
        alert_id = alert.json()["data"]["id"]

        events = [api.call("POST", "/ess/v1/events", 202, json=EVENT)["event-id"] for _ in range(PENDING)]
        assert endpoint.wait(lambda e: len(e.failed) == PENDING, 180), first.tail()
        # every attempt recorded and its task done: only the retries, queued with a delay, remain
        assert delivery_tasks_at_rest(first), first.tail()
        workers = first.children()
        assert workers, "the runtime runs its functions in worker processes"
    finally:
        first.kill()
    assert wait_until_gone(workers) == [], "worker processes outlived the killed runtime"

    endpoint.recover()
    second = RuntimeProcess("--data-dir", str(data_dir), port=first.api_port, emulator_port=first.emulator_port)
    try:
        assert second.token == first.token and second.account == first.account
        expected = {f"{event}:{config['id']}" for event in events}
        assert endpoint.wait(lambda e: set(e.accepted) >= expected, RETRY_DELAY_S + 60), second.tail()
        time.sleep(3.0)  # a duplicate would come right behind
        assert endpoint.accepted == Counter(dict.fromkeys(expected, 1))

        api = Api(second, first.token)
        assert api.call("GET", f"/ess/v1/delivery-configurations/{config['id']}", 200)["addr"] == endpoint.url
        listed = api.call("GET", "/ess/v1/topic-subscriptions", 200)
        assert subscription["id"] in json.dumps(listed)
        assert api.call("GET", f"/api/v2/alertrules/{rule['id']}", 200)["id"] == rule["id"]
        assert system["uid"] in json.dumps(api.call("GET", "/api/v1/systems", 200))
        fetched = requests.get(
            f"{second.api_url}/v2/accounts/{first.account}/alerts/{alert_id}",
            headers={"X-Auth-Token": first.token},
            timeout=30,
        )
        assert fetched.status_code == 200, fetched.text
        for event in events:  # each delivery's attempt log: the failures before the kill, the success after
            api.call("GET", f"/ess/v1/event-deliveries/{event}:{config['id']}/tracking", 200)
        health = requests.get(f"{second.api_url}/_health", timeout=10).json()
        assert health["status"] == "ok" and health["emulator"]["restored"] is True
        workers = second.children()
        assert second.stop() == 0
    finally:
        second.kill()
        receiver.close()
    assert wait_until_gone(workers) == []

    third = RuntimeProcess("--data-dir", str(data_dir))  # after a clean stop, on any ports
    try:
        assert Api(third, first.token).call("GET", f"/ess/v1/delivery-configurations/{config['id']}", 200)
    finally:
        third.stop()
