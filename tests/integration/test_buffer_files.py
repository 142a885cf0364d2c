"""Scheduled delivery on moto, in-process: cron ticks close buffer files, each delivered as one
signed, retried, tracked request; /event-buffer-files; moving between modes loses and repeats nothing."""

from __future__ import annotations

import random
import time

import boto3
import pytest
from standardwebhooks import Webhook
from switchboard import clock, wiring

from tests.integration.test_delivery import EVENT, Pipeline
from tests.receivers import Receiver, Reply

EVERY_2S = "*/2 * * * * *"


class BufferPipeline(Pipeline):
    def __init__(self, names: dict[str, str]) -> None:
        super().__init__(names)
        from tests.support import load_function

        self.fns["flush_buffers"] = load_function("flush_buffers")
        self.fns["event_buffer_files"] = load_function("event_buffer_files")

    def run(self, until=None, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        idle_since = None
        while time.monotonic() < deadline:
            moved = (
                self._poll("EVENTS_QUEUE_URL", "fanout")
                + self._poll("DELIVERY_QUEUE_URL", "deliver")
                + self._poll("BUFFER_QUEUE_URL", "flush_buffers")
            )
            if until is not None and until():
                return
            if moved:
                idle_since = None
            elif until is None:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 0.6:
                    return
            time.sleep(0.02 if moved else 0.1)
        if until is not None:
            raise AssertionError("the pipeline did not reach the expected state in time")

    def fan_out(self) -> None:
        """Fan out everything published so far, and nothing else (no delivery, no tick)."""
        while self._poll("EVENTS_QUEUE_URL", "fanout"):
            pass

    def files(self, principal, **query) -> list[dict]:
        status, body, _ = self.api("event_buffer_files", principal, "GET", "/ess/v1/event-buffer-files", query=query)
        assert status == 200, body
        return body["files"]

    def put_config(self, principal, config: dict, **changes) -> dict:
        spec = {k: v for k, v in config.items() if k not in ("id", "signing-secret")}
        spec.update(changes)
        spec = {k: v for k, v in spec.items() if v is not None}
        status, body, _ = self.api(
            "delivery_configurations", principal, "PUT", f"/ess/v1/delivery-configurations/{config['id']}", spec
        )
        assert status == 200, body
        return body


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


class HeldClock:
    """The wall clock, or one instant while held: events fanned out while it is held are parked at
    the same millisecond, so one tick takes all of them however slowly a busy machine fans out."""

    def __init__(self, real) -> None:
        self._real = real
        self.held: int | None = None

    def __call__(self) -> int:
        return self.held if self.held is not None else self._real()


@pytest.fixture
def held_clock(monkeypatch):
    held = HeldClock(clock.now_ms)
    monkeypatch.setattr(clock, "now_ms", held)
    wiring.reset()  # objects built from here on read the held clock
    return held


@pytest.fixture
def pipeline(aws, monkeypatch):
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    monkeypatch.setenv("CONFIGURATION_CACHE_SECONDS", "0")
    wiring.reset()
    return BufferPipeline(aws)


def _event(number: str, timestamp: str, tracking: str) -> dict:
    return {
        "topic": "NIS-Events",
        "evt-tp": "porting_event",
        "fld-val-list": {"number": number, "porting_date": "2026-11-23T10:00:00Z", "tracking_id": tracking},
        "timestamp": timestamp,
    }


# ---------------------------------------------------------------- bad input

BAD_SCHEDULES = [
    ({"cron-expression": "0 15 * * *"}, "cron-expression", "six fields"),
    ({"cron-expression": "0 15 * * * * 2026"}, "cron-expression", "year"),
    ({"cron-expression": "0 61 * * * *"}, "cron-expression", "minute (field 2)"),
    ({"cron-expression": "0 0 25 * * *"}, "cron-expression", "hour (field 3)"),
    ({"cron-expression": "0 0 0 * * 5L"}, "cron-expression", "day-of-week (field 6)"),
    ({"cron-expression": "0 0 0 31 2 *"}, "cron-expression", "never fires"),
    ({"cron-expression": "a b c d e f"}, "cron-expression", "second (field 1)"),
    ({"latest-event-only": True}, "latest-event-only", "cron-expression"),
    ({"cron-expression": "0 15 * * * *", "cron-time-zone": "Mars/Olympus"}, "cron-time-zone", "IANA"),
    ({"cron-time-zone": "Europe/Paris"}, "cron-time-zone", "cron-expression"),
    ({"cron-expression": None, "latest-event-only": None}, None, None),
]


@pytest.mark.parametrize("change, field, words", BAD_SCHEDULES[:-1], ids=[str(b[0]) for b in BAD_SCHEDULES[:-1]])
def test_bad_schedules_name_the_field_and_write_nothing(pipeline, world, change, field, words):
    who = world.child_admin
    body = {"del-cfg-nm": "sched", "addr": "https://example.com/hook", "del-fmt-cd": "JSON", **change}
    status, answer, _ = pipeline.api("delivery_configurations", who, "POST", "/ess/v1/delivery-configurations", body)
    assert status == 400, answer
    (detail,) = [d for d in answer["error"]["details"] if d["field"] == field]
    assert words in detail["reason"]
    _, listed, _ = pipeline.api("delivery_configurations", who, "GET", "/ess/v1/delivery-configurations")
    assert listed["delivery-configurations"] == []
    assert (
        boto3.client("sqs").get_queue_attributes(
            QueueUrl=pipeline.names["BUFFER_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_quartz_extras_and_a_time_zone_are_accepted(pipeline, world):
    who = world.child_admin
    for name, cron, zone in (("last", "0 0 0 L * ?", None), ("second-monday", "0 30 9 ? * MON#2", "Europe/Paris")):
        extra = {"cron-expression": cron, **({"cron-time-zone": zone} if zone else {})}
        config = pipeline.config(who, "https://example.com/hook", name=name, **extra)
        assert config["cron-expression"] == cron and config.get("cron-time-zone") == zone


# ---------------------------------------------------------------- one request per tick


def test_latest_event_only_file_holds_the_newest_event_per_key_and_is_tracked(pipeline, receiver, world, held_clock):
    who = world.child_admin
    address = receiver.script("/files", Reply(200, "got it"))
    config = pipeline.config(who, address, **{"cron-expression": EVERY_2S, "latest-event-only": True})
    pipeline.subscribe(who, config["id"], criteria="", **{"start-date": "2020-01-01T00:00:00Z"})
    numbers = [f"+1555000000{k}" for k in range(4)]
    events = [(n, f"2026-11-23T10:00:{second:02d}Z", f"t{n[-1]}-{second}") for n in numbers for second in range(5)]
    random.Random(7).shuffle(events)  # arrival order is not event-time order
    published = {}
    for number, timestamp, tracking in events:
        published[pipeline.publish(who, _event(number, timestamp, tracking))] = (number, timestamp)
    held_clock.held = clock.now_ms()
    pipeline.fan_out()
    held_clock.held = None
    pipeline.run(until=lambda: receiver.at("/files"))
    pipeline.run()
    files = receiver.at("/files")
    assert len(files) == 1, [(f.headers.get("webhook-id"), f.headers.get("x-ess-event-count")) for f in files]
    (got,) = files
    body = got.json()
    assert isinstance(body, list) and len(body) == 4
    assert sorted(n["event"]["fld-val-list"]["number"] for n in body) == numbers
    assert {n["event"]["timestamp"] for n in body} == {"2026-11-23T10:00:04Z"}
    assert all(published[n["event-id"]][1] == "2026-11-23T10:00:04Z" for n in body)
    file_id = int(got.headers["x-ess-file-id"])
    assert got.headers["x-ess-event-count"] == "4" and got.headers["x-ess-attempt"] == "1"
    assert got.headers["webhook-id"] == f"buffer-file-{file_id}:{config['id']}"
    assert Webhook(config["signing-secret"]).verify(got.body, {k: v for k, v in got.headers.items()}) == body
    (listed,) = [f for f in pipeline.files(who) if f["file-id"] == file_id]
    assert listed["file-status"] == "DELIVERED" and listed["events"] == 4
    assert listed["del-cfg-id"] == config["id"] and listed["del-cfg-nm"] == config["del-cfg-nm"]
    assert listed["opened"] < listed["closed"] or listed["opened"] == listed["closed"]
    tracking = pipeline.tracking(who, f"buffer-file-{file_id}", config["id"])
    assert tracking["delivery-status"] == "SUCCESS" and len(tracking["delivery-attempts"]) == 1
    status, content, _ = pipeline.api("event_buffer_files", who, "GET", f"/ess/v1/event-buffer-files/{file_id}/content")
    assert status == 200 and content == body
    # Every event of the period took the file's outcome, superseded ones included.
    for event_id in published:
        assert pipeline.status_of(who, event_id, config["id"]) == "SUCCESS"
    _, summary, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries/summary")
    assert all(c["pending"] == 0 for c in summary["delivery-configurations"])


def test_a_failing_endpoint_retries_the_same_file(pipeline, receiver, world):
    who = world.child_admin
    address = receiver.script("/flaky", Reply(503, "busy"), Reply(200, "ok"))
    config = pipeline.config(who, address, **{"cron-expression": EVERY_2S, "del-fmt-cd": "XML"})
    pipeline.subscribe(who, config["id"])
    event_ids = {pipeline.publish(who) for _ in range(3)}
    pipeline.run(until=lambda: len(receiver.at("/flaky")) >= 2)
    pipeline.run()
    first, second = receiver.at("/flaky")
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"]
    assert (first.headers["x-ess-attempt"], second.headers["x-ess-attempt"]) == ("1", "2")
    assert first.headers["content-type"] == "application/xml; charset=UTF-8"
    assert first.body.count(b"<event-notification>") == 3 and b"<event-file" in first.body
    file_id = first.headers["x-ess-file-id"]
    tracking = pipeline.tracking(who, f"buffer-file-{file_id}", config["id"])
    assert [a["status"] for a in tracking["delivery-attempts"]] == ["RETRY", "SUCCESS"]
    assert tracking["delivery-attempts"][0]["response-status"] == 503
    assert {e: pipeline.status_of(who, e, config["id"]) for e in event_ids} == dict.fromkeys(event_ids, "SUCCESS")
    status, one, _ = pipeline.api("event_buffer_files", who, "GET", f"/ess/v1/event-buffer-files/{file_id}")
    assert status == 200 and one["file-status"] == "DELIVERED" and one["del-fmt-cd"] == "XML"


def test_an_empty_period_sends_nothing_and_files_are_tenant_private(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/quiet"), **{"cron-expression": EVERY_2S})
    pipeline.subscribe(who, config["id"])
    pipeline.run(timeout=5)
    time.sleep(2.5)
    pipeline.run()
    assert receiver.at("/quiet") == []
    (open_file,) = pipeline.files(who)
    assert open_file["file-status"] == "OPEN" and "closed" not in open_file
    file_id = open_file["file-id"]
    status, body, _ = pipeline.api("event_buffer_files", who, "GET", f"/ess/v1/event-buffer-files/{file_id}/content")
    assert status == 409, body
    for stranger in (world.stranger_admin,):
        assert pipeline.files(stranger) == []
        for path in (f"/ess/v1/event-buffer-files/{file_id}", f"/ess/v1/event-buffer-files/{file_id}/content"):
            status, body, _ = pipeline.api("event_buffer_files", stranger, "GET", path)
            assert status == 404, body
    status, body, _ = pipeline.api("event_buffer_files", who, "GET", "/ess/v1/event-buffer-files/abc")
    assert status == 404
    for query in (
        {"del-cfg-id": "x"},
        {"from": "yesterday"},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    ):
        status, body, _ = pipeline.api("event_buffer_files", who, "GET", "/ess/v1/event-buffer-files", query=query)
        assert status == 400, body
    assert pipeline.files(who, **{"del-cfg-id": config["id"]})[0]["file-id"] == file_id
    assert pipeline.files(who, **{"del-cfg-id": "999999"}) == []


# ---------------------------------------------------------------- moving between modes


def test_switching_the_schedule_off_and_on_loses_and_repeats_nothing(pipeline, receiver, world):
    who = world.child_admin
    address = receiver.script("/switch", Reply(200))
    # Built before the schedule: these wait as PENDING for it and must go out in the first file.
    config = pipeline.config(who, address, **{"cron-expression": "0 0 0 1 1 *"})
    pipeline.subscribe(who, config["id"])
    published = [pipeline.publish(who) for _ in range(3)]
    pipeline.run()
    assert receiver.at("/switch") == []
    pipeline.put_config(who, config, **{"cron-expression": EVERY_2S})
    published += [pipeline.publish(who) for _ in range(2)]
    pipeline.run(until=lambda: receiver.at("/switch"))
    pipeline.run()
    # Off: what waits goes out one by one, and later events too.
    published += [pipeline.publish(who) for _ in range(2)]
    pipeline.put_config(who, config, **{"cron-expression": None})
    published += [pipeline.publish(who) for _ in range(2)]
    pipeline.run()
    # On again: the next events collect in a file.
    pipeline.put_config(who, config, **{"cron-expression": EVERY_2S})
    pipeline.run()
    published += [pipeline.publish(who) for _ in range(3)]
    pipeline.run(until=lambda: sum(1 for r in receiver.at("/switch") if r.headers.get("x-ess-file-id")) >= 2)
    pipeline.run()
    seen: list[str] = []
    for request in receiver.at("/switch"):
        body = request.json()
        seen += [n["event-id"] for n in body] if isinstance(body, list) else [body["event-id"]]
    assert sorted(seen) == sorted(published)  # every event exactly once
    files = [r.json() for r in receiver.at("/switch") if r.headers.get("x-ess-file-id")]
    assert {n["event-id"] for n in files[0]} == set(published[:5])
    assert {n["event-id"] for n in files[-1]} == set(published[-3:])
    for event_id in published:
        assert pipeline.status_of(who, event_id, config["id"]) == "SUCCESS"


def test_release_and_flush_racing_over_the_same_deliveries_send_each_once(pipeline, receiver, world):
    """The schedule removed while a tick closes the file: each waiting delivery goes one way only."""
    from switchboard.delivery.models import DeliverTask

    who = world.child_admin
    config = pipeline.config(who, receiver.script("/race"), **{"cron-expression": "0 0 0 1 1 *"})
    pipeline.subscribe(who, config["id"])
    published = [pipeline.publish(who) for _ in range(6)]
    pipeline.run()
    account, deliveries = who.account_id, wiring.deliveries_repository()
    wiring.buffer_files().arm(account, config["id"])
    page, _ = deliveries.scheduled(account, config["id"], 10**13 - 1, None)
    assert len(page) == 6
    now = int(time.time() * 1000)
    released = [d for d in page[:3] if deliveries.unpark(d, now, now + 300_000)]  # the release got these first
    schedule = wiring.buffer_repository().schedule(account, config["id"])
    assert schedule is not None
    stored = wiring.cached_configurations().get(account, config["id"])
    assert stored is not None and wiring.buffer_files().flush(stored, schedule, now)
    assert not any(deliveries.unpark(d, now, now + 300_000) for d in page[3:])  # filed: the release loses
    pipeline.put_config(who, config, **{"cron-expression": None})
    wiring.delivery_tasks().send_many(
        [DeliverTask(account_id=account, event_id=d.event_id, config_id=config["id"], attempt=1) for d in released]
    )
    pipeline.run(until=lambda: len(receiver.at("/race")) >= 4)
    pipeline.run()
    seen: list[str] = []
    for request in receiver.at("/race"):
        body = request.json()
        seen += [n["event-id"] for n in body] if isinstance(body, list) else [body["event-id"]]
    assert sorted(seen) == sorted(published)


# ---------------------------------------------------------------- the safety net


def test_a_lost_tick_chain_is_rearmed_by_the_minute_sweep(pipeline, receiver, world, monkeypatch):
    monkeypatch.setenv("SCHEDULE_GRACE_SECONDS", "1")
    wiring.reset()
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/lost"), **{"cron-expression": EVERY_2S})
    pipeline.subscribe(who, config["id"])
    pipeline.run(timeout=3)
    boto3.client("sqs").purge_queue(QueueUrl=pipeline.names["BUFFER_QUEUE_URL"])  # the chain is lost
    event_id = pipeline.publish(who)
    pipeline.run()
    time.sleep(3.5)
    counts = pipeline.fns["flush_buffers"].lambda_handler({"source": "aws.events"}, _Context())
    assert counts["rearmed"] == 1
    pipeline.run(until=lambda: receiver.at("/lost"))
    (got,) = receiver.at("/lost")
    assert [n["event-id"] for n in got.json()] == [event_id]


class _Context:
    function_name = "flush-buffers"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:flush-buffers"
    aws_request_id = "00000000-0000-0000-0000-000000000002"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def test_publishers_cannot_take_a_buffer_file_event_id(pipeline, world):
    status, body, _ = pipeline.api(
        "publish", world.child_admin, "POST", "/ess/v1/events", {**EVENT, "event-id": "buffer-file-1"}
    )
    assert status == 400 and body["error"]["details"][0]["field"] == "event-id"


def test_fanout_with_a_stale_configuration_never_parks_after_the_schedule_is_removed(
    pipeline, receiver, world, monkeypatch
):
    """Fanout reads configurations through a cache; parking for a schedule the PUT just removed would
    wait for a release that already ran. The park's version check makes it read again."""
    monkeypatch.setenv("CONFIGURATION_CACHE_SECONDS", "600")
    wiring.reset()
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/stale"), **{"cron-expression": "0 0 0 1 1 *"})
    pipeline.subscribe(who, config["id"])
    first = pipeline.publish(who)
    pipeline.run()  # fanout has cached the configuration with its schedule
    pipeline.put_config(who, config, **{"cron-expression": None})
    second = pipeline.publish(who)
    pipeline.run(until=lambda: len(receiver.at("/stale")) >= 2)
    pipeline.run()
    assert sorted(r.json()["event-id"] for r in receiver.at("/stale")) == sorted([first, second])


# ---------------------------------------------------------------- the list over time


def test_files_are_listed_newest_first_filtered_by_opening_time_and_archived_past_retention(
    pipeline, receiver, world, held_clock
):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/listed"), **{"cron-expression": EVERY_2S})
    pipeline.subscribe(who, config["id"])
    for count in (1, 2):  # two periods with an event each: two files closed, a third one open
        pipeline.publish(who)
        pipeline.run(until=lambda count=count: len(receiver.at("/listed")) >= count)
    pipeline.run(until=lambda: [f["file-status"] for f in pipeline.files(who)] == ["OPEN", "DELIVERED", "DELIVERED"])
    third, second, first = pipeline.files(who)
    assert third["file-id"] > second["file-id"] > first["file-id"]
    assert second["opened"] == first["closed"] and third["opened"] == second["closed"]
    window = {"from": second["opened"], "to": third["opened"]}
    assert [f["file-id"] for f in pipeline.files(who, **window)] == [second["file-id"]]
    assert [f["file-id"] for f in pipeline.files(who, **{"from": second["opened"]})] == [
        third["file-id"],
        second["file-id"],
    ]
    assert [f["file-id"] for f in pipeline.files(who, to=second["opened"])] == [first["file-id"]]
    assert [f["file-id"] for f in pipeline.files(who, limit="1", offset="1")] == [second["file-id"]]
    # Past the retention (30 days) after closing, a closed file is ARCHIVED and its content gone.
    held_clock.held = clock.now_ms() + 31 * 86_400_000
    assert [f["file-status"] for f in pipeline.files(who)] == ["OPEN", "ARCHIVED", "ARCHIVED"]
    status, body, _ = pipeline.api(
        "event_buffer_files", who, "GET", f"/ess/v1/event-buffer-files/{first['file-id']}/content"
    )
    assert status == 409 and "archived" in body["error"]["message"], body


def test_a_file_request_carries_the_endpoint_authentication(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/basic-files"), **{"cron-expression": EVERY_2S})
    status, body, _ = pipeline.api(
        "delivery_configurations",
        who,
        "PUT",
        f"/ess/v1/delivery-configurations/{config['id']}/authentication",
        {"type": "BASIC", "settings": {"username": "ess", "password": "s3cret"}},
    )
    assert status == 200, body
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run(until=lambda: receiver.at("/basic-files"))
    (got,) = receiver.at("/basic-files")
    assert got.headers.get("x-ess-file-id") and [n["event-id"] for n in got.json()] == [event_id]
    assert got.headers["authorization"] == "Basic ZXNzOnMzY3JldA=="
