"""Expeto usage notifications end to end: real HTTP against `switchboard local`, accounts and the feature
flag from the real CLI.

A subscriber with a 1 GiB monthly limit; usage posted (X-API-KEY) in several batches crossing 50, 80, 90 and
100 % → the FIFO usage queue → EvaluateUsageFunction → four notifications, listed and found by every search,
one marked consumed; each also published as an ESS `threshold_reached` event and delivered as a signed
webhook through an ESS subscription on the IMSI (fanout → deliver) to a receiver on 127.0.0.1.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import requests
from standardwebhooks.webhooks import Webhook
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import Principal, RuntimeLog, create_account, run_cli
from tests.receivers import Receiver

pytestmark = pytest.mark.e2e

HTTP_TIMEOUT = 30
WAIT = 30.0
GIB = 1 << 30
IMSI = "208150000000042"
OTHER_IMSI = "208150000000043"
SEARCH = "/v1/notifications/search"
T = TypeVar("T")


class Expeto:
    """An Expeto client of the runtime (X-API-KEY), plus the ESS calls the push needs (Bearer)."""

    def __init__(self, rt: LocalRuntime, log: RuntimeLog) -> None:
        self.base = rt.api_url
        self.log = log
        self.http = requests.Session()

    def request(self, method: str, path: str, who: Principal, bearer: bool = False, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {who.token}"} if bearer else {"X-API-KEY": who.token}
        response = self.http.request(method, self.base + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs)
        if response.status_code >= 500:
            pytest.fail(f"{method} {path} -> {response.status_code} {response.text}\n{self.log.tail()}")
        return response

    def ok(self, method: str, path: str, who: Principal, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, who, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def hashes(self, who: Principal, path: str, **params: str) -> list[str]:
        body = self.ok("GET", path, who, params=params)
        assert body["page"]["totalElements"] == len(body["_embedded"]["notifications"]), body
        return [note["hash"] for note in body["_embedded"]["notifications"]]

    def settled(self, who: Principal, path: str, count: int, **params: str) -> bool:
        """Whether the search lists `count` notifications (and counts them: index reads are eventually consistent)."""
        body = self.ok("GET", path, who, params=params)
        return len(body["_embedded"]["notifications"]) == body["page"]["totalElements"] == count

    def eventually(self, probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"gave up after {timeout:g} s waiting for {what} (last: {value!r})\n{self.log.tail()}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def expeto(runtime: LocalRuntime, runtime_log: RuntimeLog) -> Iterator[Expeto]:
    client = Expeto(runtime, runtime_log)
    yield client
    client.http.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def enabled_account(rt: LocalRuntime, name: str) -> Principal:
    who = create_account(rt, name)
    printed = run_cli(rt, "accounts", "features", who.account_id, "--enable", "usage-notifications")
    assert printed == {"account_id": who.account_id, "features": ["usage-notifications"]}
    return who


def usage(record_id: str, used: int, imsi: str = IMSI) -> dict[str, Any]:
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"recordId": record_id, "imsi": imsi, "bytes": used, "timestamp": stamp}


def test_thresholds_are_notified_found_consumed_and_pushed(
    runtime: LocalRuntime, expeto: Expeto, receiver: Receiver
) -> None:
    who = enabled_account(runtime, f"Fleet {time.monotonic_ns()}")
    # the push: an ESS delivery configuration and a subscription on the IMSI
    config = expeto.ok(
        "POST",
        "/ess/v1/delivery-configurations",
        who,
        201,
        bearer=True,
        json={"del-cfg-nm": "usage", "addr": receiver.script("/usage"), "del-fmt-cd": "JSON", "is-active": True},
    )
    subscription = {"del-cfg-id": config["id"], "evt-tp": "threshold_reached", "match-crt": f"imsi = '{IMSI}'"}
    expeto.ok("POST", "/ess/v1/topics/Usage-Events/subscriptions", who, 201, bearer=True, json=subscription)

    limit = {"system": "fleet-7", "dataLimit": GIB, "dataLimitPeriod": "monthly", "dataLimitCustomDate": 1}
    created = expeto.ok("PUT", f"/v1/subscribers/{IMSI}", who, 201, json=limit)
    assert created["thresholds"] == [50, 80, 90, 100]
    expeto.ok("PUT", f"/v1/subscribers/{OTHER_IMSI}", who, 201, json={**limit, "system": "fleet-8"})

    batches = [
        [usage("b1-1", GIB // 4), usage("b1-2", GIB // 4 + 1), usage("o-1", GIB, OTHER_IMSI)],  # 50 % (+ other: 100 %)
        [usage("b2-1", GIB * 31 // 100)],  # 81 %
        [usage("b3-1", GIB // 10), usage("b3-2", GIB // 10)],  # 101 %: 90 and 100 in one update
    ]
    expected_counts = (1, 2, 4)
    for batch, count in zip(batches, expected_counts, strict=True):
        assert expeto.ok("POST", "/v1/usage", who, 202, json={"records": batch}) == {"accepted": len(batch)}
        expeto.eventually(
            lambda count=count: expeto.settled(who, f"{SEARCH}/findBySubscriber", count, subscriber=IMSI),
            f"{count} notifications",
        )
    # a re-posted batch counts nothing again
    expeto.ok("POST", "/v1/usage", who, 202, json={"records": batches[1]})

    body = expeto.ok("GET", "/v1/notifications/search/findBySubscriber", who, params={"subscriber": IMSI})
    notes = body["_embedded"]["notifications"]
    assert [n["payload"]["thresholdValue"] for n in notes] == [50, 80, 90, 100]
    assert body["page"] == {"size": 20, "totalElements": 4, "totalPages": 1, "number": 0}
    for note in notes:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", note["issued"])
        assert re.fullmatch(r"[0-9A-F]{64}", note["hash"]) and note["type"] == "ThresholdReached"
        assert note["payload"]["imsi"] == IMSI and note["payload"]["dataLimit"] == GIB
        assert note["payload"]["dataLimitPeriod"] == "monthly" and note["payload"]["dataLimitCustomDate"] == 1
        assert note["consumed"] is False
    assert (
        notes[2]["payload"]["totalUsage"]
        == notes[3]["payload"]["totalUsage"]
        == GIB // 2 + 1 + GIB * 31 // 100 + 2 * (GIB // 10)
    )
    hashes = [n["hash"] for n in notes]

    # every search finds them
    consumed = hashes[1]
    patched = expeto.ok("PATCH", f"/v1/notifications/{consumed}", who, json={"consumed": True})
    assert patched["consumed"] is True
    assert expeto.ok("GET", f"/v1/notifications/{consumed}", who)["consumed"] is True
    rest = [h for h in hashes if h != consumed]
    search = SEARCH
    all_mine = expeto.hashes(who, "/v1/notifications")
    assert set(hashes) < set(all_mine) and len(all_mine) == 8  # and the other subscriber's four
    assert expeto.hashes(who, f"{search}/findByHash", hash=hashes[0]) == [hashes[0]]
    assert expeto.hashes(who, f"{search}/findByConsumed", consumed="true") == [consumed]
    assert set(rest) <= set(expeto.hashes(who, f"{search}/findByConsumed", consumed="false"))
    assert expeto.hashes(who, f"{search}/findBySystem", system="fleet-7") == hashes
    assert expeto.hashes(who, f"{search}/findBySystemAndConsumed", system="fleet-7", consumed="false") == rest
    assert expeto.hashes(who, f"{search}/findBySubscriber", subscriber=IMSI, sort="issued,desc") == hashes[::-1]
    assert expeto.hashes(who, f"{search}/findBySubscriberAndConsumed", subscriber=IMSI, consumed="true") == [consumed]
    assert expeto.hashes(who, f"{search}/findByDeepSearch", query=IMSI) == hashes
    assert expeto.hashes(who, f"{search}/findByDeepSearch", query=hashes[3][:12]) == [hashes[3]]
    searches = expeto.ok("GET", search, who)["_links"]
    assert len([name for name in searches if name.startswith("findBy")]) == 7

    # a webhook for each, through the ESS subscription on the IMSI (not for the other subscriber)
    expeto.eventually(lambda: len(receiver.at("/usage")) >= 4, "four webhooks")
    time.sleep(0.5)  # and no more
    got = receiver.at("/usage")
    assert len(got) == 4
    delivered = sorted((Webhook(config["signing-secret"]).verify(r.body, dict(r.headers)) for r in got), key=str)
    by_hash = {d["event"]["fld-val-list"]["hash"]: d for d in delivered}
    assert set(by_hash) == set(hashes)
    for note in notes:
        webhook = by_hash[note["hash"]]
        assert webhook["topic"] == "Usage-Events" and webhook["event"]["evt-tp"] == "threshold_reached"
        fields = webhook["event"]["fld-val-list"]
        assert fields["imsi"] == IMSI and fields["system"] == "fleet-7"
        assert fields["thresholdValue"] == note["payload"]["thresholdValue"]
        assert fields["totalUsage"] == note["payload"]["totalUsage"] and fields["issued"] == note["issued"]


def test_disabled_accounts_get_403_and_strangers_404(runtime: LocalRuntime, expeto: Expeto) -> None:
    owner = enabled_account(runtime, f"Owner {time.monotonic_ns()}")
    stranger = enabled_account(runtime, f"Stranger {time.monotonic_ns()}")
    disabled = create_account(runtime, f"Disabled {time.monotonic_ns()}")
    limit = {"system": "s", "dataLimit": 100, "dataLimitPeriod": "absolute"}
    expeto.ok("PUT", f"/v1/subscribers/{IMSI}", owner, 201, json=limit)
    response = expeto.request("GET", "/v1/notifications", disabled)
    assert response.status_code == 403 and "usage-notifications" in response.json()["message"]
    assert response.json()["path"] == "/v1/notifications"
    assert expeto.request("PUT", f"/v1/subscribers/{IMSI}", disabled, json=limit).status_code == 403
    assert expeto.request("GET", f"/v1/subscribers/{IMSI}", stranger).status_code == 404
    params = {"account": owner.account_id}
    assert expeto.request("GET", "/v1/notifications", stranger, params=params).status_code == 404
    # the flag off again: 403 for the owner too
    run_cli(runtime, "accounts", "features", owner.account_id, "--disable", "usage-notifications")
    assert expeto.request("GET", f"/v1/subscribers/{IMSI}", owner).status_code == 403
