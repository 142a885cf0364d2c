"""The ESS webhook delivery pipeline end to end: real HTTP against `switchboard local`.

publish (POST /ess/v1/events) → EventsQueue → FanoutFunction → DeliveryQueue → DeliverFunction → a real
receiver on 127.0.0.1 (tests/receivers.py), then the read APIs of EventDeliveriesFunction and the KAZOO
alerts the engine raises. The same scenarios run in-process on moto in tests/integration/test_delivery.py;
here the SQS pollers, worker processes, API Gateway emulation and the authorizer are the real ones.

Each test that publishes works in an account of its own (created with the real CLI), so one test's
subscriptions never receive another's events and alert lists can be asserted exactly.
"""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import requests
from standardwebhooks import Webhook, WebhookVerificationError
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import ROOT, Principal, RuntimeLog, World, create_account, wait_until
from tests.receivers import Received, Receiver, Reply, token_endpoint
from tests.seed_bodies import PORTING_EVENT as EVENT

pytestmark = pytest.mark.e2e

HTTP_TIMEOUT = 30  # one API request
WAIT = 30.0  # a pipeline state to be reached (a delivery normally takes well under a second)
EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")  # 16 random bytes, URL-safe base64, no padding
EVENT_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DISABLED = "delivery_configuration_disabled"
# A second runtime (deployed SSRF policy) is only worth it if it starts quickly.
GUARDED_STARTUP_BUDGET_S = 20.0

T = TypeVar("T")


# ---------------------------------------------------------------- helpers


class Ess:
    """An ESS client of one running runtime (Bearer keys), with the pipeline's waits."""

    def __init__(self, rt: LocalRuntime, log: RuntimeLog) -> None:
        self.base = rt.api_url
        self.log = log
        self.http = requests.Session()

    def request(
        self, method: str, path: str, who: Principal, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {who.token}", **(headers or {})}
        response = self.http.request(method, self.base + path, headers=sent, timeout=HTTP_TIMEOUT, **kwargs)
        if response.status_code >= 500:  # never expected: show what the runtime said
            pytest.fail(f"{method} {path} -> {response.status_code} {response.text}\n{self.log.tail()}")
        return response

    def ok(self, method: str, path: str, who: Principal, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, who, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    # -- setting up

    def config(self, who: Principal, address: str, **extra: Any) -> dict[str, Any]:
        body = {
            "del-cfg-nm": f"cfg-{time.monotonic_ns()}",
            "addr": address,
            "del-fmt-cd": "JSON",
            "is-active": True,
            "retry-schedule": [0, 0],
            **extra,
        }
        response = self.request("POST", "/ess/v1/delivery-configurations", who, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["Location"] == f"/ess/v1/delivery-configurations/{created['id']}"
        assert created["signing-secret"].startswith("whsec_")
        return created

    def get_config(self, who: Principal, config_id: str) -> dict[str, Any]:
        return self.ok("GET", f"/ess/v1/delivery-configurations/{config_id}", who)

    def replace_config(self, who: Principal, config: dict[str, Any], **changes: Any) -> dict[str, Any]:
        spec = {k: v for k, v in config.items() if k not in ("id", "signing-secret")}
        return self.ok("PUT", f"/ess/v1/delivery-configurations/{config['id']}", who, json={**spec, **changes})

    def authenticate(self, who: Principal, config_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.ok("PUT", f"/ess/v1/delivery-configurations/{config_id}/authentication", who, json=body)

    def subscribe(self, who: Principal, config_id: str, criteria: str = "number = '+12345678901'") -> dict[str, Any]:
        body = {"del-cfg-id": config_id, "evt-tp": "porting_event", "match-crt": criteria}
        return self.ok("POST", "/ess/v1/topics/NIS-Events/subscriptions", who, 201, json=body)

    def publish(self, who: Principal, **changes: Any) -> str:
        event_id = self.ok("POST", "/ess/v1/events", who, 202, json={**EVENT, **changes})["event-id"]
        assert EVENT_ID.match(event_id), event_id
        return event_id

    # -- reading

    def tracking(self, who: Principal, event_id: str, config_id: str, **params: str) -> requests.Response:
        return self.request("GET", f"/ess/v1/event-deliveries/{event_id}:{config_id}/tracking", who, params=params)

    def deliveries(self, who: Principal, **params: str) -> list[dict[str, Any]]:
        return self.ok("GET", "/ess/v1/event-deliveries", who, params=params)["event-deliveries"]

    def alerts(self, who: Principal) -> requests.Response:
        """The account's KAZOO alerts, with the account's key in X-Auth-Token as Crossbar clients send it."""
        return self.http.get(
            f"{self.base}/v2/accounts/{who.account_id}/alerts",
            headers={"X-Auth-Token": who.token},
            timeout=HTTP_TIMEOUT,
        )

    # -- waiting

    def eventually(self, probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
        return wait_until(probe, what, timeout, self.log, interval=0.1)

    def wait_status(
        self, who: Principal, event_id: str, config_id: str, *statuses: str, timeout: float = WAIT
    ) -> dict[str, Any]:
        """The delivery's tracking once its status is one of `statuses` (404 until fanout created it)."""

        def probe() -> dict[str, Any] | None:
            response = self.tracking(who, event_id, config_id)
            if response.status_code == 404:
                return None
            assert response.status_code == 200, response.text
            body = response.json()
            return body if body["delivery-status"] in statuses else None

        return self.eventually(probe, f"delivery {event_id}:{config_id} to reach {'/'.join(statuses)}", timeout)

    def wait_received(self, receiver: Receiver, path: str, count: int, timeout: float = WAIT) -> list[Received]:
        return self.eventually(
            lambda: got if len(got := receiver.at(path)) >= count else None, f"{count} request(s) at {path}", timeout
        )


def verify_json(received: Received, secret: str) -> Any:
    """The standardwebhooks library's own verification (it json-decodes the body)."""
    headers = {k: v for k, v in received.headers.items() if k.startswith("webhook-")}
    return Webhook(secret).verify(received.body, headers)


def signature_matches(received: Received, secret: str) -> bool:
    """The library's signature of a body it cannot json-decode (XML), compared with the header."""
    expected = Webhook(secret).sign(
        received.headers["webhook-id"],
        datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), tz=UTC),
        received.body.decode(),
    )
    return expected in received.headers["webhook-signature"].split(" ")


def assert_ess_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def loopback_alias() -> str | None:
    """A host name other than localhost that resolves to a loopback address here (/etc/hosts), or None."""
    candidates = [socket.gethostname()]
    try:
        with open("/etc/hosts", encoding="utf-8") as hosts:
            for line in hosts:
                fields = line.split("#", 1)[0].split()
                if len(fields) >= 2 and fields[0].startswith("127."):
                    candidates += fields[1:]
    except OSError:
        pass
    for name in dict.fromkeys(candidates):
        low = name.rstrip(".").lower()
        if not low or low == "localhost" or low.endswith(".localhost") or low in ("metadata", "instance-data"):
            continue
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
        except OSError:
            continue
        if addresses and all(a.startswith("127.") or a == "::1" for a in addresses):
            return name
    return None


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ess(runtime: LocalRuntime, runtime_log: RuntimeLog) -> Iterator[Ess]:
    client = Ess(runtime, runtime_log)
    yield client
    client.http.close()


# ---------------------------------------------------------------- what a receiver gets


def test_json_body_headers_and_signature(ess: Ess, receiver: Receiver, tenant: Principal) -> None:
    config = ess.config(tenant, receiver.script("/hook", Reply(200, "Hello World")))
    secret = config["signing-secret"]
    # The secret is shown once: reading the configuration back does not reveal it.
    assert "signing-secret" not in ess.get_config(tenant, config["id"])
    ess.subscribe(tenant, config["id"])
    event_id = ess.publish(tenant)

    (got,) = ess.wait_received(receiver, "/hook", 1)
    body = got.json()
    assert set(body) == {"topic", "attempt", "event-id", "event"}
    assert body["topic"] == "NIS-Events" and body["attempt"] == 1 and body["event-id"] == event_id
    assert set(body["event"]) == {"evt-tp", "timestamp", "fld-val-list"}
    assert body["event"]["evt-tp"] == "porting_event"
    assert body["event"]["fld-val-list"] == EVENT["fld-val-list"]
    assert EVENT_TIMESTAMP.match(body["event"]["timestamp"]), body["event"]["timestamp"]

    assert got.headers["content-type"] == "application/json; charset=UTF-8"
    assert got.headers["x-ess-event-key"] == "+12345678901,"
    assert got.headers["x-ess-event-timestamp"] == body["event"]["timestamp"]
    assert got.headers["webhook-id"] == f"{event_id}:{config['id']}"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert verify_json(got, secret) == body
    # The signature really covers the body, and only this configuration's secret verifies it.
    headers = {k: v for k, v in got.headers.items() if k.startswith("webhook-")}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(got.body.replace(b'"attempt":1', b'"attempt":2'), headers)
    other = ess.config(tenant, receiver.script("/unused"))["signing-secret"]
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(got.body, headers)

    tracking = ess.wait_status(tenant, event_id, config["id"], "SUCCESS")
    assert tracking["event-id"] == event_id and tracking["del-cfg-id"] == int(config["id"])
    (attempt,) = tracking["delivery-attempts"]
    assert attempt["attempt-number"] == 1 and attempt["status"] == "SUCCESS"
    assert attempt["response-status"] == 200 and attempt["response-details"] == "Hello World"
    (row,) = ess.deliveries(tenant)
    assert row["event-id"] == event_id and row["del-cfg-id"] == int(config["id"])
    assert row["delivery-status"] == "SUCCESS" and row["delivery-point"] == config["addr"]
    assert row["del-cfg-nm"] == config["del-cfg-nm"] and row["topic"] == "NIS-Events"
    assert len(receiver.at("/hook")) == 1


def test_xml_body_and_signature(ess: Ess, receiver: Receiver, tenant: Principal) -> None:
    config = ess.config(tenant, receiver.script("/xml"), **{"del-fmt-cd": "XML"})
    ess.subscribe(tenant, config["id"])
    event_id = ess.publish(tenant)

    (got,) = ess.wait_received(receiver, "/xml", 1)
    assert got.headers["content-type"] == "application/xml; charset=UTF-8"
    assert got.body.startswith(b"<?xml")
    root = ET.fromstring(got.body)
    assert root.tag == "event-notification"
    assert root.findtext("topic") == "NIS-Events" and root.findtext("attempt") == "1"
    assert root.findtext("event-id") == event_id
    assert root.findtext("event/evt-tp") == "porting_event"
    fields = {child.tag: child.text for child in root.find("event/fld-val-list")}
    assert fields == EVENT["fld-val-list"]
    assert got.headers["x-ess-event-key"] == "+12345678901,"
    assert got.headers["x-ess-event-timestamp"] == root.findtext("event/timestamp")
    assert got.headers["webhook-id"] == f"{event_id}:{config['id']}"
    assert signature_matches(got, config["signing-secret"])
    assert ess.wait_status(tenant, event_id, config["id"], "SUCCESS")["delivery-attempts"][0]["status"] == "SUCCESS"


# ---------------------------------------------------------------- endpoint authentication


def test_basic_authentication(ess: Ess, receiver: Receiver, tenant: Principal) -> None:
    config = ess.config(tenant, receiver.script("/basic"))
    shown = ess.authenticate(
        tenant, config["id"], {"type": "BASIC", "settings": {"username": "ess", "password": "s3cret"}}
    )
    assert shown["type"] == "BASIC" and shown["settings"]["username"] == "ess"
    assert shown["settings"]["password"] != "s3cret"  # masked
    read = ess.ok("GET", f"/ess/v1/delivery-configurations/{config['id']}/authentication", tenant)
    assert "s3cret" not in str(read)
    ess.subscribe(tenant, config["id"])
    event_id = ess.publish(tenant)

    (got,) = ess.wait_received(receiver, "/basic", 1)
    assert got.headers["authorization"] == "Basic ZXNzOnMzY3JldA=="  # ess:s3cret
    assert verify_json(got, config["signing-secret"])["event-id"] == event_id
    ess.wait_status(tenant, event_id, config["id"], "SUCCESS")


def test_oauth_token_is_reused_and_refreshed_once_on_401(ess: Ess, receiver: Receiver, tenant: Principal) -> None:
    token_url = receiver.decide("/token", token_endpoint("client", "secret", token="tok"))
    revoked: set[str] = set()

    def protected(request: Received) -> Reply:
        authorization = request.headers.get("authorization", "")
        ok = authorization.startswith("Bearer tok-") and authorization.removeprefix("Bearer ") not in revoked
        return Reply(200, "fine") if ok else Reply(401, "expired token")

    config = ess.config(tenant, receiver.decide("/protected", protected))
    shown = ess.authenticate(
        tenant,
        config["id"],
        {"type": "OAUTH", "settings": {"token-url": token_url, "client-id": "client", "client-secret": "secret"}},
    )
    assert shown["type"] == "OAUTH" and shown["settings"]["client-secret"] != "secret"
    ess.subscribe(tenant, config["id"])

    def authorizations() -> list[str]:
        return [r.headers.get("authorization", "") for r in receiver.at("/protected")]

    # Two events, one after the other: one token request, the token reused for the second event.
    first = ess.publish(tenant)
    ess.wait_status(tenant, first, config["id"], "SUCCESS")
    second = ess.publish(tenant)
    ess.wait_status(tenant, second, config["id"], "SUCCESS")
    assert authorizations() == ["Bearer tok-1", "Bearer tok-1"]
    assert len(receiver.at("/token")) == 1

    # The endpoint revokes the token early: its 401 makes the engine fetch exactly one new token and
    # resend once, within the same attempt.
    revoked.add("tok-1")
    third = ess.publish(tenant)
    tracking = ess.wait_status(tenant, third, config["id"], "SUCCESS", "FAILED", "RETRY")
    assert tracking["delivery-status"] == "SUCCESS", tracking
    assert authorizations() == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert len(receiver.at("/token")) == 2
    (attempt,) = tracking["delivery-attempts"]
    assert attempt["attempt-number"] == 1 and attempt["status"] == "SUCCESS" and attempt["response-status"] == 200
    resent = receiver.at("/protected")[-2:]
    assert [r.json()["attempt"] for r in resent] == [1, 1] and {r.json()["event-id"] for r in resent} == {third}
    for event_id in (first, second):
        assert len(ess.tracking(tenant, event_id, config["id"]).json()["delivery-attempts"]) == 1


# ---------------------------------------------------------------- retries and failures


def test_retry_then_success(ess: Ess, receiver: Receiver, tenant: Principal) -> None:
    url = receiver.script("/flaky", Reply(500, "boom"), Reply(200, "fine"))
    config = ess.config(tenant, url, **{"retry-schedule": [1]})
    ess.subscribe(tenant, config["id"])
    event_id = ess.publish(tenant)

    tracking = ess.wait_status(tenant, event_id, config["id"], "SUCCESS", "FAILED")
    assert tracking["delivery-status"] == "SUCCESS", tracking
    attempts = tracking["delivery-attempts"]
    assert [(a["attempt-number"], a["status"], a["response-status"]) for a in attempts] == [
        (1, "RETRY", 500),
        (2, "SUCCESS", 200),
    ]
    assert attempts[0]["response-details"] == "boom" and "next-attempt-timestamp" in attempts[0]
    first, second = receiver.at("/flaky")
    assert [first.json()["attempt"], second.json()["attempt"]] == [1, 2]
    assert first.json()["event-id"] == second.json()["event-id"] == event_id
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"{event_id}:{config['id']}"
    assert second.at - first.at >= 0.7  # the schedule's 1 s (±20 % jitter), not at once
    for got in (first, second):
        assert verify_json(got, config["signing-secret"]) == got.json()
    # The attempt log shows both, newest delivery state on each row.
    rows = ess.ok("GET", "/ess/v1/event-delivery-attempts", tenant)["attempts"]
    assert [(r["attempt-number"], r["attempt-result"], r["attempt-http-response-status"]) for r in rows] == [
        (1, "RETRY", 500),
        (2, "SUCCESS", 200),
    ]
    assert all(r["event-id"] == event_id and r["delivery-status"] == "SUCCESS" for r in rows)


def test_gone_fails_deactivates_and_raises_a_system_alert(ess: Ess, receiver: Receiver, tenant: Principal) -> None:
    config = ess.config(tenant, receiver.script("/gone", Reply(410, "gone")))
    ess.subscribe(tenant, config["id"])
    event_id = ess.publish(tenant)

    tracking = ess.wait_status(tenant, event_id, config["id"], "FAILED", "SUCCESS")
    assert tracking["delivery-status"] == "FAILED"
    (attempt,) = tracking["delivery-attempts"]
    assert attempt["status"] == "FAILED" and attempt["response-status"] == 410
    # The attempt is recorded first, the configuration switched off right after: wait for both.
    ess.eventually(lambda: ess.get_config(tenant, config["id"])["is-active"] is False, "the deactivation")
    assert len(receiver.at("/gone")) == 1  # a 410 is never retried

    def alert_ids() -> list[str] | None:
        response = ess.alerts(tenant)
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["data"]] or None

    (alert_id,) = ess.eventually(alert_ids, "the deactivation alert")
    one = ess.http.get(
        f"{ess.base}/v2/accounts/{tenant.account_id}/alerts/{alert_id}",
        headers={"X-Auth-Token": tenant.token},
        timeout=HTTP_TIMEOUT,
    )
    assert one.status_code == 200, one.text
    alert = one.json()["data"]
    assert alert["category"] == DISABLED and alert["clearable"] is False
    assert alert["to"] == [{"type": "admins", "value": tenant.account_id}]
    assert alert["metadata"][0]["del-cfg-id"] == config["id"] and "410" in alert["metadata"][0]["reason"]
    # A system alert: the admin cannot clear it (it goes when the configuration is reactivated).
    deleted = ess.http.delete(
        f"{ess.base}/v2/accounts/{tenant.account_id}/alerts/{alert_id}",
        headers={"X-Auth-Token": tenant.token},
        timeout=HTTP_TIMEOUT,
    )
    assert deleted.status_code == 403, deleted.text
    assert alert_ids() == [alert_id]


def test_inactive_configuration_holds_deliveries_until_reactivated(
    ess: Ess, receiver: Receiver, tenant: Principal
) -> None:
    config = ess.config(tenant, receiver.script("/later"), **{"is-active": False})
    ess.subscribe(tenant, config["id"])
    events = {ess.publish(tenant), ess.publish(tenant)}

    def parked() -> list[dict[str, Any]] | None:
        rows = ess.deliveries(tenant, **{"delivery-status": "PENDING"})
        waiting = [r for r in rows if r.get("waiting-for") == "reactivation"]
        return waiting if len(waiting) == 2 else None

    rows = ess.eventually(parked, "both deliveries to wait for reactivation")
    assert {r["event-id"] for r in rows} == events
    assert all(r["delivery-status"] == "PENDING" and r["attempts"] == 0 for r in rows)
    assert receiver.at("/later") == []

    assert ess.replace_config(tenant, config, **{"is-active": True})["is-active"] is True
    received = ess.wait_received(receiver, "/later", 2)
    assert {r.json()["event-id"] for r in received} == events
    assert [r.json()["attempt"] for r in received] == [1, 1]
    for event_id in events:
        tracking = ess.wait_status(tenant, event_id, config["id"], "SUCCESS")
        assert [a["attempt-number"] for a in tracking["delivery-attempts"]] == [1]
    assert ess.deliveries(tenant, **{"delivery-status": "PENDING"}) == []
    assert len(receiver.at("/later")) == 2


def test_failing_endpoint_is_deactivated_after_the_failure_window(
    runtime: LocalRuntime, ess: Ess, receiver: Receiver, tenant: Principal
) -> None:
    assert runtime.template is not None
    window = int(runtime.template.parameters["EndpointFailureWindowSeconds"])
    if window > 10:
        pytest.skip(
            f"the session runtime's EndpointFailureWindowSeconds is {window} s (tests/e2e/conftest.py "
            "sets 3 s for this test)"
        )
    config = ess.config(tenant, receiver.script("/broken", Reply(500, "down")), **{"retry-schedule": [2, 2, 2, 2]})
    ess.subscribe(tenant, config["id"])
    event_id = ess.publish(tenant)

    # The first failure alone does not deactivate it: the window has not passed yet.
    ess.wait_status(tenant, event_id, config["id"], "RETRY")
    assert ess.get_config(tenant, config["id"])["is-active"] is True

    ess.eventually(
        lambda: ess.get_config(tenant, config["id"])["is-active"] is False, "the configuration to be deactivated"
    )
    # The attempt that deactivated it (the last one sent) came once the window had passed since the
    # first failure, and the one before it did not.
    sent = receiver.at("/broken")
    assert len(sent) >= 2 and {r.json()["event-id"] for r in sent} == {event_id}
    assert [r.json()["attempt"] for r in sent] == list(range(1, len(sent) + 1))
    assert sent[-1].at - sent[0].at >= window - 0.3
    assert sent[-2].at - sent[0].at < window + 0.3

    # The engine raises the alert just after it switches the configuration off: wait for it too.
    def alerted() -> list[dict[str, Any]] | None:
        response = ess.alerts(tenant)
        assert response.status_code == 200, response.text
        return response.json()["data"] or None

    (row,) = ess.eventually(alerted, "the deactivation alert")
    assert row["key"] == ["admins", tenant.account_id] and row["clearable"] is False
    assert row["value"]["category"] == DISABLED and row["value"]["metadata"][0]["del-cfg-id"] == config["id"]
    assert f"{window} seconds" in row["value"]["metadata"][0]["reason"]

    # The delivery is not burnt through its remaining attempts: it waits for reactivation.
    def waiting() -> dict[str, Any] | None:
        rows = [r for r in ess.deliveries(tenant) if r["event-id"] == event_id]
        return rows[0] if rows and rows[0].get("waiting-for") == "reactivation" else None

    row = ess.eventually(waiting, "the delivery to wait for reactivation")
    assert row["delivery-status"] in ("RETRY", "PENDING")
    count = len(receiver.at("/broken"))
    time.sleep(1.0)
    assert len(receiver.at("/broken")) == count
    assert len(ess.alerts(tenant).json()["data"]) == 1  # alerted once


# ---------------------------------------------------------------- tenancy


def test_tenancy_over_http(ess: Ess, receiver: Receiver, world: World) -> None:
    child, stranger, reseller = world.child, world.stranger, world.reseller
    config = ess.config(child, receiver.script("/tenant"))
    ess.subscribe(child, config["id"])
    event_id = ess.publish(child)
    ess.wait_status(child, event_id, config["id"], "SUCCESS")
    wire_id = f"{event_id}:{config['id']}"

    # A stranger: another company's delivery does not exist for it, and its own lists are empty.
    assert_ess_error(ess.tracking(stranger, event_id, config["id"]), 404, "NOT_FOUND")
    assert_ess_error(ess.request("POST", f"/ess/v1/event-deliveries/{wire_id}/redeliver", stranger), 404, "NOT_FOUND")
    assert ess.deliveries(stranger) == []
    assert ess.ok("GET", "/ess/v1/event-delivery-attempts", stranger)["attempts"] == []
    assert_ess_error(
        ess.request("GET", "/ess/v1/event-deliveries", stranger, params={"company": child.account_id}), 404, "NOT_FOUND"
    )
    assert_ess_error(ess.tracking(stranger, event_id, config["id"], company=child.account_id), 404, "NOT_FOUND")

    # The reseller reaches its customer's deliveries with ?company=, and only with it.
    rows = ess.deliveries(reseller, company=child.account_id)
    assert event_id in [r["event-id"] for r in rows]
    assert event_id not in [r["event-id"] for r in ess.deliveries(reseller)]
    tracking = ess.tracking(reseller, event_id, config["id"], company=child.account_id)
    assert tracking.status_code == 200 and tracking.json()["delivery-status"] == "SUCCESS"
    assert_ess_error(ess.tracking(reseller, event_id, config["id"]), 404, "NOT_FOUND")

    # Never upwards; a plain user of the customer reads its own account's deliveries.
    assert_ess_error(
        ess.request("GET", "/ess/v1/event-deliveries", child, params={"company": reseller.account_id}), 404, "NOT_FOUND"
    )
    assert ess.tracking(world.child_user, event_id, config["id"]).status_code == 200


# ---------------------------------------------------------------- SSRF


@pytest.mark.parametrize(
    "address",
    [
        "ftp://127.0.0.1/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_stats",
        "127.0.0.1:8080/hook",
        "http://user:pass@127.0.0.1:8080/hook",
        "https://token@example.com/hook",
    ],
)
def test_configuration_refuses_other_schemes_and_credentials(ess: Ess, world: World, address: str) -> None:
    who = world.stranger
    body = {"del-cfg-nm": "refused", "addr": address, "del-fmt-cd": "JSON"}
    error = assert_ess_error(
        ess.request("POST", "/ess/v1/delivery-configurations", who, json=body), 400, "VALIDATION_ERROR"
    )
    assert [d["field"] for d in error["details"]] == ["addr"]


def test_oauth_token_url_with_credentials_is_refused(ess: Ess, receiver: Receiver, world: World) -> None:
    who = world.stranger
    config = ess.config(who, receiver.script("/never"))
    try:
        response = ess.request(
            "PUT",
            f"/ess/v1/delivery-configurations/{config['id']}/authentication",
            who,
            json={
                "type": "OAUTH",
                "settings": {"token-url": "http://a:b@127.0.0.1:1/token", "client-id": "c", "client-secret": "s"},
            },
        )
        error = assert_ess_error(response, 400, "VALIDATION_ERROR")
        assert [d["field"] for d in error["details"]] == ["settings.token-url"]
    finally:
        ess.ok("DELETE", f"/ess/v1/delivery-configurations/{config['id']}", who, 204)


@pytest.fixture(scope="module")
def guarded() -> Iterator[tuple[LocalRuntime, RuntimeLog]]:
    """A second runtime with the deployed SSRF policy (AllowPrivateTargets=false), if it starts quickly."""
    log = RuntimeLog()
    # moto's state is process-wide and shared with the session runtime: a stack name of its own keeps
    # the two stacks' resources (tables, queues, the KMS alias) apart.
    rt = LocalRuntime(
        ROOT / "template.yaml",
        port=0,
        emulator_port=0,
        stack_name="switchboard-guarded",
        demo_account=False,
        echo=log,
        parameter_overrides={"AllowPrivateTargets": "false"},
    )
    started = time.monotonic()
    rt.start()
    elapsed = time.monotonic() - started
    try:
        if elapsed > GUARDED_STARTUP_BUDGET_S:
            pytest.skip(
                f"a second runtime took {elapsed:.1f} s to start (budget {GUARDED_STARTUP_BUDGET_S:g} s); "
                "tests/integration/test_delivery.py covers the send-time refusal"
            )
        yield rt, log
    finally:
        rt.stop()


def test_private_targets_are_refused_with_the_deployed_policy(
    guarded: tuple[LocalRuntime, RuntimeLog], receiver: Receiver
) -> None:
    rt, log = guarded
    alias = loopback_alias()
    client = Ess(rt, log)
    try:
        who = create_account(rt, "Guarded Tenant")
        port = receiver.url.rsplit(":", 1)[1]
        # Configuration time: literal private addresses and local names are refused outright.
        for address in (
            receiver.url + "/internal",
            f"http://localhost.:{port}/internal",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/x",
            "http://10.0.0.1/x",
        ):
            body = {"del-cfg-nm": "private", "addr": address}
            response = client.request("POST", "/ess/v1/delivery-configurations", who, json=body)
            assert_ess_error(response, 400, "VALIDATION_ERROR")
        if alias is None:
            pytest.skip(
                "no host name other than localhost resolves to 127.0.0.1 here (/etc/hosts), so the "
                "send-time refusal cannot be reached without external DNS"
            )
        # Send time: a name is accepted when configured, then resolved and refused before connecting.
        config = client.config(who, f"http://{alias}:{port}/internal")
        client.subscribe(who, config["id"])
        event_id = client.publish(who)
        tracking = client.wait_status(who, event_id, config["id"], "FAILED", "SUCCESS", "RETRY")
        (attempt,) = tracking["delivery-attempts"]
        assert tracking["delivery-status"] == "FAILED", tracking
        assert attempt["status"] == "FAILED" and attempt["error-class"] == "blocked", attempt
        assert "loopback" in attempt["response-details"] and "response-status" not in attempt
        time.sleep(0.3)
        assert receiver.at("/internal") == []
    finally:
        client.http.close()


# ---------------------------------------------------------------- a slow neighbour


def test_a_stalled_neighbour_does_not_hold_up_another_tenant(
    ess: Ess, receiver: Receiver, runtime: LocalRuntime, tenant: Principal
) -> None:
    """Tenant T's endpoint stalls past its 30 s timeout with 40 events queued; tenant C's delivery still
    arrives within seconds, T's waits show as deferrals, and once T's endpoint answers again every one
    of T's deliveries ends delivered (docs/delivery.md, "Slow endpoints")."""
    noisy, calm = tenant, create_account(runtime, "Calm")
    started: list[float] = []

    def stalling(_request: Received) -> Reply:
        started.append(time.monotonic())
        return Reply(200, "late", delay_s=35)

    stall = receiver.decide("/stall", stalling)
    noisy_config = ess.config(noisy, stall, **{"timeout-seconds": 30, "retry-schedule": [5, 5, 5, 5, 5]})
    calm_config = ess.config(calm, receiver.script("/calm", Reply(200, "ok")))
    ess.subscribe(noisy, noisy_config["id"])
    ess.subscribe(calm, calm_config["id"])
    noisy_events = [ess.publish(noisy) for _ in range(40)]
    ess.eventually(lambda: started or None, "T's attempts going out (and stalling)")
    published = time.monotonic()
    calm_event = ess.publish(calm)
    ess.wait_received(receiver, "/calm", 1, timeout=60)
    latency = time.monotonic() - published
    print(f"\nC's delivery behind a stalled neighbour: {latency:.1f} s")
    assert latency < 10, f"C's delivery took {latency:.1f} s behind a stalled neighbour"
    ess.wait_status(calm, calm_event, calm_config["id"], "SUCCESS")

    def deferred() -> dict[str, Any] | None:
        for event_id in noisy_events:
            body = ess.tracking(noisy, event_id, noisy_config["id"]).json()
            if body.get("deferrals"):
                return body
        return None

    waiting = ess.eventually(deferred, "a deferred delivery of T in the tracking API")
    assert "slow attempt(s)" in waiting["deferred-reason"] and waiting["delivery-status"] in ("PENDING", "RETRY")
    receiver.decide("/stall", lambda _request: Reply(200, "ok"))  # T's endpoint answers again

    def all_delivered() -> bool | None:
        statuses = [ess.tracking(noisy, e, noisy_config["id"]).json() for e in noisy_events]
        unfinished = [s for s in statuses if s["delivery-status"] != "SUCCESS"]
        return True if not unfinished else None

    ess.eventually(all_delivered, "every delivery of T delivered", timeout=180)
