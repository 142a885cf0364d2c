"""The AirVantage alert pipeline on moto, in-process: POST .../data → the FIFO telemetry queue →
evaluate_rules → the delivery queue → deliver (real HTTP receivers on 127.0.0.1, SES in moto), and the
read APIs of seed 001 (current alerts and states, the three histories, one alert) with their tenancy."""

from __future__ import annotations

import time

import boto3
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from switchboard import config, wiring
from switchboard.rules import evaluation
from switchboard.rules.repository import HookRecord

from tests.receivers import Reply
from tests.seed_bodies import RULE_PUT
from tests.support import WorkerContext, call, handle_batch, load_function, rest_event, sqs_records

DAY = 86_400_000
TEMP_RULE = {**RULE_PUT, "emails": ["ops@example.com"]}
SYSTEM = {"name": "Boiler 12", "labels": ["north"], "commStatus": "OK"}
HISTORIES = ("/api/v3/alerts/history", "/api/v2/alerts/history", "/api/v2/alertstates/history")
CURRENT = ("/api/v3/alerts/current", "/api/v2/alertstates")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def temps(*samples: tuple[int, float]) -> list[dict]:
    """The seed's device message: `[{"room.temp": [{"timestamp": T, "value": 45}]}]`."""
    return [{"room.temp": [{"timestamp": ts, "value": value} for ts, value in samples]}]


class Alerts:
    """The functions of the alert pipeline, driven the way API Gateway and Lambda's SQS pollers drive them."""

    FUNCTIONS = (
        "telemetry",
        "evaluate_rules",
        "deliver",
        "alert_history",
        "alert_rules",
        "systems",
        "alert_hooks",
        "delivery_configurations",
        "event_deliveries",
    )

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.fns = {name: load_function(name) for name in self.FUNCTIONS}
        self.sqs = boto3.client("sqs")

    # ------------------------------------------------------------ HTTP
    def api(self, fn: str, principal, method: str, path: str, body=None, query=None, raw=None):
        return call(self.fns[fn], rest_event(method, path, principal.context, body=body, query=query, raw_body=raw))

    def system(self, principal, query=None, **overrides) -> str:
        status, body, _ = self.api("systems", principal, "POST", "/api/v1/systems", {**SYSTEM, **overrides}, query)
        assert status == 200, body
        return body["uid"]

    def rule(self, principal, query=None, **overrides) -> str:
        status, body, _ = self.api(
            "alert_rules", principal, "POST", "/api/v2/alertrules", {**TEMP_RULE, **overrides}, query
        )
        assert status == 200, body
        return body["id"]

    def hook(self, principal, rule_id: str, callback: str, query=None) -> str:
        status, body, _ = self.api(
            "alert_hooks", principal, "POST", f"/api/v1/alerts/rules/{rule_id}/hooks", {"callback": callback}, query
        )
        assert status == 200, body
        return body["uid"]

    def post(self, principal, uid: str, data=None, query=None, raw=None):
        return self.api("telemetry", principal, "POST", f"/api/v1/systems/{uid}/data", data, query, raw)

    def send(self, principal, uid: str, data, query=None) -> None:
        status, body, _ = self.post(principal, uid, data, query)
        assert status == 202, body

    def read(self, principal, path: str, **query):
        return self.api("alert_history", principal, "GET", path, query={k: str(v) for k, v in query.items()})

    def ok(self, principal, path: str, **query):
        status, body, _ = self.read(principal, path, **query)
        assert status == 200, body
        return body

    def configurations(self, principal) -> dict[str, dict]:
        status, body, _ = self.api(
            "delivery_configurations", principal, "GET", "/ess/v1/delivery-configurations", query={"limit": "100"}
        )
        assert status == 200, body
        return {config["del-cfg-nm"]: config for config in body["delivery-configurations"]}

    def tracking(self, principal, event_id: str, config_id: str) -> dict:
        status, body, _ = self.api(
            "event_deliveries", principal, "GET", f"/ess/v1/event-deliveries/{event_id}:{config_id}/tracking"
        )
        assert status == 200, body
        return body

    # ------------------------------------------------------------ queues
    def queued(self, variable: str = "TELEMETRY_QUEUE_URL") -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.names[variable],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def receive(self, variable: str) -> list[dict]:
        return self.sqs.receive_message(
            QueueUrl=self.names[variable],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=30,
            AttributeNames=["All"],
        ).get("Messages", [])

    def _poll(self, variable: str, fn: str) -> int:
        url = self.names[variable]
        messages = self.receive(variable)
        if not messages:
            return 0
        handle_batch(self.fns[fn], url, messages)
        return len(messages)

    def evaluate_failing(self) -> None:
        """One telemetry batch whose evaluation fails: Lambda hands it back to the queue (visible at once here)."""
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        url = self.names["TELEMETRY_QUEUE_URL"]
        messages = self.receive("TELEMETRY_QUEUE_URL")
        assert messages
        with pytest.raises(BatchProcessingError):
            self.fns["evaluate_rules"].lambda_handler({"Records": sqs_records(url, messages)}, WorkerContext())
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    def run(self, timeout: float = 15.0) -> None:
        """Pump the telemetry queue into evaluate_rules and the delivery queue into deliver until both are empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            moved = self._poll("TELEMETRY_QUEUE_URL", "evaluate_rules") + self._poll("DELIVERY_QUEUE_URL", "deliver")
            if not moved and not self.queued() and not self.queued("DELIVERY_QUEUE_URL"):
                return
            if not moved:
                time.sleep(0.05)
        raise AssertionError("the queues did not drain in time")


@pytest.fixture
def av(aws, monkeypatch):
    # Rules change between messages here: the evaluator reads the rules version on every message instead of
    # trusting its index for a second (test_a_rule_deleted_while_the_rules_index_is_cached covers that).
    monkeypatch.setattr(evaluation, "RULE_INDEX_CHECK_S", 0.0)
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    wiring.reset()
    wiring.reset()
    return Alerts(aws)


@pytest.fixture
def ses(av):
    client = boto3.client("ses")
    client.verify_email_identity(EmailAddress=config.load(config.EngineSettings).alert_email_sender)
    return client


def sent_emails(ses) -> int:
    return int(ses.get_send_quota()["SentLast24Hours"])


def rule_items(aws, prefix: str) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]


# ---------------------------------------------------------------- 1. the whole path


def test_data_to_alert_callback_email_and_every_read(av, receiver, ses, world):
    who = world.child_admin
    company = who.account_id
    system = av.system(who)
    rule = av.rule(who)
    hook = av.hook(who, rule, receiver.script("/callback", Reply(302, "moved", {"Location": "http://127.0.0.1:1/"})))
    before = sent_emails(ses)
    ts = now_ms() - 60_000
    status, body, _ = av.post(who, system, temps((ts, 45)))
    assert status == 202 and body == {"accepted": 1}
    assert av.queued() == 1
    av.run()

    # the hook got the seed's callback, exactly once; a 302 counts as delivered
    (got,) = receiver.at("/callback")
    callback = got.json()
    assert set(callback) == {"name", "date", "content"}
    assert callback["name"] == "event.alert.rule.triggered" and callback["date"] == ts
    alert_id = callback["content"]["alert.uid"]
    assert callback["content"] == {"alert.uid": alert_id, "rule.uid": rule, "target.uid": system}
    assert got.headers["content-type"].startswith("application/json")
    configs = av.configurations(who)
    hook_config = configs[f"airvantage-hook-{hook}"]
    assert hook_config["del-fmt-cd"] == "AIRVANTAGE" and hook_config["is-active"] is True
    assert av.tracking(who, alert_id, hook_config["id"])["delivery-status"] == "SUCCESS"
    # and SES sent one email to the rule's address
    assert sent_emails(ses) == before + 1
    email_config = configs[f"airvantage-rule-{rule}-emails"]
    assert email_config["del-prtcl-cd"] == "EMAIL"
    assert av.tracking(who, alert_id, email_config["id"])["delivery-status"] == "SUCCESS"

    attribute = {"id": {"name": "DATA.room.temp"}, "value": {"valueNum": 45}, "refTime": ts}
    head = {"companyId": company, "targetId": system, "targetType": "SYSTEM", "ruleId": rule}
    current = av.ok(who, "/api/v3/alerts/current", targetId=system)
    assert current == {"items": [{**head, "state": True, "stateChangeTs": ts, "attributes": [attribute]}], "count": 1}
    states = av.ok(who, "/api/v2/alertstates", targetId=system)
    assert states == {
        "items": [{**head, "state": True, "stateChangeTs": ts, "firstAlertId": alert_id, "lastAlertId": alert_id}],
        "count": 1,
    }

    history = av.ok(who, "/api/v3/alerts/history", company=company, targetId=system)
    assert history == {"items": [{**head, "ts": ts, "state": True, "attributes": [attribute]}]}
    v2_attribute = {**attribute, "id": {"targetId": system, "name": "DATA.room.temp"}}
    v2 = {"id": alert_id, **head, "ts": ts, "attributes": [v2_attribute]}
    assert av.ok(who, "/api/v2/alerts/history", company=company, targetId=system) == {"items": [v2]}
    changes = av.ok(who, "/api/v2/alertstates/history", company=company, targetId=system, ruleIds=rule)
    (change,) = changes["items"]
    assert len(change["id"]) == 32 and change["id"] != alert_id
    assert changes == {"items": [{"id": change["id"], **head, "state": True, "ts": ts, "firstAlertId": alert_id}]}
    assert "count" not in history and "count" not in changes
    assert av.ok(who, f"/api/v2/alerts/{alert_id}", company=company) == [v2]
    status, body, _ = av.read(who, f"/api/v2/alerts/{'0' * 32}", company=company)
    assert status == 404 and body == {"error": "not.found", "errorParameters": ["0" * 32]}

    # back to normal: a false state, a second history row, a second alert; WHEN_STATE_CHANGES notifies it
    av.send(who, system, temps((ts + 1000, 20)))
    av.run()
    assert len(receiver.at("/callback")) == 2 and sent_emails(ses) == before + 2
    back = receiver.at("/callback")[1].json()
    assert back["date"] == ts + 1000 and back["content"]["alert.uid"] != alert_id
    (state,) = av.ok(who, "/api/v2/alertstates", targetId=system)["items"]
    assert state["state"] is False and state["stateChangeTs"] == ts + 1000
    assert state["lastAlertId"] == back["content"]["alert.uid"]
    rows = av.ok(who, "/api/v2/alertstates/history", company=company)["items"]
    assert [(row["state"], row["ts"]) for row in rows] == [(False, ts + 1000), (True, ts)]  # ts desc by default
    alerts = av.ok(who, "/api/v3/alerts/history", company=company)["items"]
    assert [(row["state"], row["ts"]) for row in alerts] == [(False, ts + 1000), (True, ts)]


def test_stateless_rule_alerts_on_every_point_and_shows_a_null_state(av, receiver, world):
    who = world.child_admin
    system = av.system(who)
    rule = av.rule(who, name="stateless", emails=[], stateful=False, notifMode="EVERY_TIME")
    av.hook(who, rule, receiver.script("/stateless"))
    ts = now_ms() - 60_000
    av.send(who, system, temps((ts, 45), (ts + 1, 50), (ts + 2, 10)))
    av.run()
    assert sorted(r.json()["date"] for r in receiver.at("/stateless")) == [ts, ts + 1]
    items = av.ok(who, "/api/v3/alerts/history", company=who.account_id, asc="true")["items"]
    assert [(item["ts"], item["state"], item["attributes"][0]["value"]) for item in items] == [
        (ts, None, {"valueNum": 45}),
        (ts + 1, None, {"valueNum": 50}),
    ]
    assert av.ok(who, "/api/v3/alerts/current", targetId=system) == {"items": [], "count": 0}
    assert av.ok(who, "/api/v2/alertstates/history", company=who.account_id) == {"items": []}


# ---------------------------------------------------------------- 2. redelivered telemetry


def _recorded(aws) -> tuple[int, int, int]:
    """(alerts, state rows, state-history rows) in the rules table."""
    return len(rule_items(aws, "ALERT#")), len(rule_items(aws, "STATE#")), len(rule_items(aws, "SHIST#"))


@pytest.mark.parametrize("mode", ["WHEN_STATE_CHANGES", "EVERY_TIME"])
def test_redelivered_telemetry_records_and_notifies_once(av, receiver, ses, world, aws, mode):
    who = world.child_admin
    system = av.system(who)
    rule = av.rule(who, notifMode=mode)
    # counts the day's points: a point applied twice would make it true
    av.rule(
        who,
        name="twice",
        emails=[],
        conditions=[
            {
                "operator": "GREATER_THAN",
                "operands": [{"attributeId": {"name": "AGG.room.temp/D"}, "function": "CNT"}, {"valueNum": 1}],
            }
        ],
    )
    av.hook(who, rule, receiver.script("/once"))
    before = sent_emails(ses)
    ts = now_ms() - 60_000
    payload = temps((ts, 45))
    # the device posts the same data twice: one message (the FIFO deduplication id is the points' hash)
    av.send(who, system, payload)
    av.send(who, system, payload)
    (message,) = av.receive("TELEMETRY_QUEUE_URL")
    assert message["Attributes"]["MessageGroupId"] == system
    av.sqs.change_message_visibility(
        QueueUrl=av.names["TELEMETRY_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    av.run()
    assert len(receiver.at("/once")) == 1 and sent_emails(ses) == before + 1
    assert _recorded(aws) == (1, 1, 1)

    # the queue hands the same body over again (at-least-once, or a post after the deduplication window)
    av.sqs.send_message(
        QueueUrl=av.names["TELEMETRY_QUEUE_URL"],
        MessageBody=message["Body"],
        MessageGroupId=system,
        MessageDeduplicationId="redelivery-1",
    )
    av.run()
    assert len(receiver.at("/once")) == 1 and sent_emails(ses) == before + 1
    assert _recorded(aws) == (1, 1, 1)

    # ... even after the system sent other data in between
    av.send(who, system, [{"room.humidity": [{"timestamp": ts + 10, "value": 30}]}])
    av.run()
    av.sqs.send_message(
        QueueUrl=av.names["TELEMETRY_QUEUE_URL"],
        MessageBody=message["Body"],
        MessageGroupId=system,
        MessageDeduplicationId="redelivery-2",
    )
    av.run()
    assert len(receiver.at("/once")) == 1 and sent_emails(ses) == before + 1
    assert _recorded(aws) == (1, 1, 1)
    (state,) = av.ok(who, "/api/v2/alertstates", targetId=system)["items"]
    assert state["firstAlertId"] == state["lastAlertId"] == receiver.at("/once")[0].json()["content"]["alert.uid"]
    assert len(av.ok(who, "/api/v2/alerts/history", company=who.account_id)["items"]) == 1


def _fail_once(monkeypatch, owner, name: str) -> list[int]:
    """`owner.name` raises on its first call, then works; returns the call counter."""
    real, calls = getattr(owner, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("injected failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, flaky)
    return calls


def test_a_retry_after_a_failure_past_the_state_write_notifies_once(av, receiver, ses, world, aws, monkeypatch):
    from switchboard import wiring

    who = world.child_admin
    system = av.system(who)
    changes = av.rule(who)  # WHEN_STATE_CHANGES, with an email
    true_only = av.rule(who, name="true only", emails=[], notifMode="WHEN_STATE_TRUE")
    av.hook(who, changes, receiver.script("/changes"))
    av.hook(who, true_only, receiver.script("/true-only"))
    before = sent_emails(ses)
    ts = now_ms() - 60_000
    # the alert is recorded, then queueing its notifications fails: the retry must still notify
    calls = _fail_once(monkeypatch, wiring.notifier(), "alert")
    av.send(who, system, temps((ts, 45)))
    av.evaluate_failing()
    assert _recorded(aws)[1] >= 1 and av.queued("DELIVERY_QUEUE_URL") == 0
    av.run()
    assert len(calls) >= 2
    assert len(receiver.at("/changes")) == 1 and len(receiver.at("/true-only")) == 1
    assert sent_emails(ses) == before + 1
    # back to normal; the message fails after its notifications went out: the retry sends nothing again, and
    # nothing that the rule's notifMode did not want the first time (WHEN_STATE_TRUE: no true → false)
    _fail_once(monkeypatch, wiring.alert_states(), "apply_message")
    av.send(who, system, temps((ts + 1000, 20)))
    av.evaluate_failing()
    av.run()
    assert len(receiver.at("/changes")) == 2 and len(receiver.at("/true-only")) == 1
    assert sent_emails(ses) == before + 2
    assert _recorded(aws) == (4, 2, 4)
    assert [item["state"] for item in av.ok(who, "/api/v2/alertstates", targetId=system)["items"]] == [False, False]


# ---------------------------------------------------------------- 3. read API semantics


@pytest.fixture
def states(av, world):
    """Two systems, two stateful SYSTEM rules and a COMPANY one: s1 true on r1 and r2; s2 true on r1, true
    then false on r2; the company true on rc (its daily maximum)."""
    who = world.child_admin
    s1, s2 = av.system(who, name="s1"), av.system(who, name="s2")
    r1 = av.rule(who, name="r1", emails=[])
    r2 = av.rule(
        who,
        name="r2",
        emails=[],
        conditions=[
            {"operator": "GREATER_THAN", "operands": [{"attributeId": {"name": "DATA.room.temp"}}, {"valueNum": 40}]}
        ],
    )
    rc = av.rule(
        who,
        name="rc",
        emails=[],
        targetType="COMPANY",
        conditions=[
            {
                "operator": "GREATER_THAN",
                "operands": [{"attributeId": {"name": "AGG.room.temp/D"}, "function": "MAX"}, {"valueNum": 44}],
            }
        ],
    )
    t = now_ms() // DAY * DAY - DAY // 2  # yesterday noon UTC: every point in one daily bucket
    av.send(who, s1, temps((t, 45)))
    av.send(who, s2, temps((t + 1000, 45), (t + 2000, 39)))
    av.run()
    names = {"s1": s1, "s2": s2, "r1": r1, "r2": r2, "rc": rc, "co": who.account_id}
    return who, names, t


ALLOWED = [
    ({"targetId": "s1"}, [("s1", "r1"), ("s1", "r2")]),
    ({"targetId": "co"}, [("co", "rc")]),
    ({"targetId": "s2", "ruleId": "r2"}, [("s2", "r2")]),
    ({"targetId": "s2", "ruleId": "rc"}, []),
    ({"state": "true"}, [("s2", "r1"), ("s1", "r1"), ("s1", "r2"), ("co", "rc")]),
    ({"state": "false"}, [("s2", "r2")]),
    ({"state": "true", "targetType": "SYSTEM"}, [("s2", "r1"), ("s1", "r1"), ("s1", "r2")]),
    ({"state": "true", "targetType": "COMPANY"}, [("co", "rc")]),
    ({"state": "false", "targetType": "COMPANY"}, []),
    ({"state": "true", "targetType": "SYSTEM", "ruleId": "r1"}, [("s2", "r1"), ("s1", "r1")]),
    ({"state": "true", "targetType": "COMPANY", "ruleId": "rc"}, [("co", "rc")]),
    ({"state": "true", "targetType": "SYSTEM", "ruleId": "rc"}, []),
    ({"state": "false", "targetType": "SYSTEM", "ruleId": "r1"}, []),
]
REFUSED = [
    {},
    {"ruleId": "r1"},
    {"targetType": "SYSTEM"},
    {"targetId": "s1", "state": "true"},
    {"targetId": "s1", "targetType": "SYSTEM"},
    {"state": "true", "ruleId": "r1"},
    {"targetType": "SYSTEM", "ruleId": "r1"},
    {"targetId": "s1", "ruleId": "r1", "state": "true"},
    {"targetId": "s1", "ruleId": "r1", "state": "true", "targetType": "SYSTEM"},
]


def test_current_states_accept_exactly_the_five_criteria_combinations(av, states):
    who, names, t = states
    label = {value: key for key, value in names.items()}
    for path in CURRENT:
        for criteria, expected in ALLOWED:
            query = {key: names.get(value, value) for key, value in criteria.items()}
            body = av.ok(who, path, **query)
            found = [(label[item["targetId"]], label[item["ruleId"]]) for item in body["items"]]
            # newest stateChangeTs first; equal times by target then rule
            assert sorted(found) == sorted(expected) and body["count"] == len(expected), (path, criteria)
            times = [item["stateChangeTs"] for item in body["items"]]
            assert times == sorted(times, reverse=True), (path, criteria)
        for criteria in REFUSED:
            query = {key: names.get(value, value) for key, value in criteria.items()}
            status, body, _ = av.read(who, path, **query)
            assert status == 400 and body == {
                "error": "alert.state.invalid.criteria",
                "errorParameters": [",".join(sorted(criteria)) or "none"],
            }, criteria
        status, body, _ = av.read(who, path, state="maybe")
        assert status == 400 and body["error"] == "invalid.parameter" and body["errorParameters"][0] == "state"
    (false,) = av.ok(who, "/api/v2/alertstates", state="false")["items"]
    assert false == {
        "companyId": who.account_id,
        "targetId": names["s2"],
        "targetType": "SYSTEM",
        "ruleId": names["r2"],
        "state": False,
        "stateChangeTs": t + 2000,
        "firstAlertId": false["firstAlertId"],
        "lastAlertId": false["lastAlertId"],
    }
    assert false["firstAlertId"] != false["lastAlertId"]
    (current,) = av.ok(who, "/api/v3/alerts/current", state="false")["items"]
    assert current["attributes"] == [{"id": {"name": "DATA.room.temp"}, "value": {"valueNum": 39}, "refTime": t + 2000}]


def test_current_states_are_paged_with_the_total_count(av, states):
    who, names, t = states
    for path in CURRENT:
        everything = av.ok(who, path, state="true")["items"]
        assert [item["stateChangeTs"] for item in everything] == [t + 1000, t, t, t]
        pages = [av.ok(who, path, state="true", offset=offset, size=1) for offset in range(5)]
        assert [page["count"] for page in pages] == [4, 4, 4, 4, 4]
        assert [item for page in pages for item in page["items"]] == everything
        assert pages[4]["items"] == []
        assert av.ok(who, path, state="true", offset=1, size=2) == {"items": everything[1:3], "count": 4}
        assert av.ok(who, path, state="true", offset=3, size=100) == {"items": everything[3:], "count": 4}
        assert av.ok(who, path, targetId=names["s1"], size=1)["count"] == 2
        for bad in ({"size": "0"}, {"size": "501"}, {"offset": "-1"}, {"size": "ten"}):
            status, body, _ = av.read(who, path, state="true", **bad)
            assert status == 400 and body["error"] == "invalid.parameter", bad
        assert av.ok(who, path, state="true", size=500)["count"] == 4


@pytest.fixture
def timeline(av, world):
    """Alerts and state changes at known times: a stateful rule (true, false, true at t1, t2, t3), a stateless
    one (alerts at t1 and t3), and an alert 91 days old on another system."""
    who = world.child_admin
    system, old_system = av.system(who, name="timeline"), av.system(who, name="old")
    stateful = av.rule(who, name="stateful", emails=[])
    stateless = av.rule(who, name="stateless", emails=[], stateful=False)
    now = now_ms()
    t1, t2, t3 = now - 30_000, now - 20_000, now - 10_000
    old = now - 91 * DAY
    av.send(who, old_system, temps((old, 45)))
    av.send(who, system, temps((t1, 45), (t2, 20), (t3, 45)))
    av.run()
    return who, system, old_system, stateful, stateless, (t1, t2, t3), old


def test_history_brackets_order_defaults_and_filters(av, timeline):
    who, system, old_system, stateful, stateless, (t1, t2, t3), old = timeline
    company = who.account_id

    def times(path, **query):
        """The ts of the stateful rule's rows (the stateless rule's alerts are checked below)."""
        query = {"ruleIds": stateful, **query}
        return [item["ts"] for item in av.ok(who, path, company=company, **query)["items"]]

    for path in HISTORIES:
        # asc=true: [from, to); asc=false (the default): (from, to]
        assert times(path, **{"from": t1, "to": t3, "asc": "true"}) == [t1, t2], path
        assert times(path, **{"from": t1, "to": t3, "asc": "false"}) == [t3, t2], path
        assert times(path, **{"from": t1, "to": t3}) == [t3, t2], path
        assert times(path, **{"from": t1 - 1, "to": t3 + 1, "asc": "true"}) == [t1, t2, t3], path
        assert times(path, **{"from": t1 - 1, "to": t3 - 1}) == [t2, t1], path
        # defaults: to = now, from = to - 90 days (the 91-day-old alert is out)
        assert times(path) == [t3, t2, t1], path
        assert times(path, **{"from": t2}) == [t3], path
        assert times(path, **{"from": old - 1}) == [t3, t2, t1, old], path
        assert times(path, to=old + 1) == [old], path  # from = to - 90 days
        assert times(path, to=t2) == [t2, t1], path
        assert times(path, **{"from": old - 1}, targetId=old_system) == [old], path
        assert times(path, **{"from": old - 1, "asc": "true"}, targetId=system) == [t1, t2, t3], path
        # size: default 100, at most 500, newest (or oldest with asc) first
        assert times(path, size=1) == [t3] and times(path, size=1, asc="true") == [t1], path
        assert times(path, size=500) == [t3, t2, t1], path
        for bad in ({"size": "501"}, {"size": "0"}, {"from": "yesterday"}, {"to": "-5"}, {"asc": "yes"}):
            status, body, _ = av.read(who, path, company=company, **bad)
            assert status == 400 and body["error"] == "invalid.parameter", (path, bad)
        # from must be lower than to
        for window in ({"from": t3, "to": t1}, {"from": t2, "to": t2}, {"from": now_ms() + DAY}):
            status, body, _ = av.read(who, path, company=company, **window)
            assert status == 400 and body["error"] == "system.invalid.timerange", (path, window)
            assert len(body["errorParameters"]) == 2
        # company is mandatory
        status, body, _ = av.read(who, path, targetId=system)
        assert status == 400 and body == {"error": "missing.company", "errorParameters": []}, path

    # rule filters (comma list); the stateless rule's alerts have a null state in v3 and no state in v2
    assert times("/api/v3/alerts/history", ruleIds=stateless) == [t3, t1]
    assert times("/api/v3/alerts/history", ruleIds=f"{stateless},{stateful}") == [t3, t3, t2, t1, t1]
    assert times("/api/v2/alerts/history", ruleIds=f" {stateless} ,,") == [t3, t1]
    assert times("/api/v3/alerts/history", ruleIds="0" * 32) == []
    assert times("/api/v2/alertstates/history", ruleIds=stateless) == []
    assert len(av.ok(who, "/api/v3/alerts/history", company=company, **{"from": old - 1})["items"]) == 7
    assert {
        item["state"] for item in av.ok(who, "/api/v3/alerts/history", company=company, ruleIds=stateless)["items"]
    } == {None}
    assert all("state" not in item for item in av.ok(who, "/api/v2/alerts/history", company=company)["items"])
    rows = av.ok(who, "/api/v2/alertstates/history", company=company, targetId=system, asc="true")["items"]
    assert [row["state"] for row in rows] == [True, False, True]
    # firstAlertId: the alert that opened the episode (the true state's alert)
    alerts = av.ok(who, "/api/v2/alerts/history", company=company, ruleIds=stateful, targetId=system, asc="true")[
        "items"
    ]
    assert rows[0]["firstAlertId"] == alerts[0]["id"] and rows[2]["firstAlertId"] == alerts[2]["id"]
    for alert in alerts:
        assert av.ok(who, f"/api/v2/alerts/{alert['id']}", company=company) == [alert]
    status, body, _ = av.read(who, f"/api/v2/alerts/{alerts[0]['id']}")
    assert status == 400 and body == {"error": "missing.company", "errorParameters": []}
    for unknown in ("0" * 32, "nope", "x" * 100):
        status, body, _ = av.read(who, f"/api/v2/alerts/{unknown}", company=company)
        assert status == 404 and body == {"error": "not.found", "errorParameters": [unknown]}, unknown


def test_history_times_sort_as_numbers_and_size_defaults_to_100(av, world):
    who = world.child_admin
    system = av.system(who)
    av.rule(who, emails=[], stateful=False)
    recent, far, last = now_ms() - 5000, 10**13 + 5, 253_402_300_799_999  # 2026, 2286, 9999-12-31
    av.send(who, system, temps((recent, 45), (far, 45), (last, 45)))
    av.run()

    def times(**query):
        return [item["ts"] for item in av.ok(who, "/api/v3/alerts/history", company=who.account_id, **query)["items"]]

    assert times(**{"from": 0, "to": last}) == [last, far, recent]
    assert times(**{"from": 0, "to": last, "asc": "true"}) == [recent, far]
    assert times(**{"from": far - 1, "to": last}) == [last, far]
    assert times(**{"from": far, "to": 2 * 10**13}) == []
    assert times(**{"from": recent, "to": 2 * 10**13, "asc": "true"}) == [recent, far]
    assert times(to=10**13) == [] and times() == [recent]
    # 100 items unless size says otherwise
    av.send(who, system, temps(*((recent - 200_000 + i, 45) for i in range(101))))
    av.run()
    assert len(times()) == 100 and times()[0] == recent
    assert len(times(size=500)) == 102 and times(size=500, asc="true")[0] == recent - 200_000


# ---------------------------------------------------------------- 4. ingest errors

T0 = 1_795_428_000_000  # 2026-11-23T10:00:00Z
BAD_PAYLOADS = [
    ({"room.temp": [{"timestamp": T0, "value": 45}]}, "not a list"),
    ([{"room.temp": {"timestamp": T0, "value": 45}}], "samples not a list"),
    (["room.temp"], "entry not an object"),
    ([{"room.temp": [{"timestamp": "2026-11-23T10:00:00Z", "value": 45}]}], "timestamp text"),
    ([{"room.temp": [{"timestamp": -1, "value": 45}]}], "negative timestamp"),
    ([{"room.temp": [{"timestamp": 1.5, "value": 45}]}], "fractional timestamp"),
    ([{"room.temp": [{"timestamp": 10**15, "value": 45}]}], "timestamp after 9999"),
    ([{"room.temp": [{"value": 45}]}], "no timestamp"),
    ([{"room.temp": [{"timestamp": T0}]}], "no value"),
    ([{"room.temp": [{"timestamp": T0, "value": {"celsius": 45}}]}], "value an object"),
    ([{"room.temp": [{"timestamp": T0, "value": [45]}]}], "value a list"),
    ([{"room.temp": [{"timestamp": T0, "value": None}]}], "value null"),
    ([{"room.temp": [{"timestamp": T0, "value": 45, "unit": "C"}]}], "unknown field"),
    ([{"room temp": [{"timestamp": T0, "value": 45}]}], "bad data id"),
    ([{"a/b": [{"timestamp": T0, "value": 45}]}], "slash in data id"),
    ([{"_LON_LAT": [{"timestamp": T0, "value": "POINT(200 45)"}]}], "longitude out of range"),
    ([{"_LON_LAT": [{"timestamp": T0, "value": "POINT(2.35)"}]}], "one coordinate"),
    ([{"_LON_LAT": [{"timestamp": T0, "value": "POLYGON((0 0, 1 0, 1 1, 0 0))"}]}], "not a point"),
    ([{"_LON_LAT": [{"timestamp": T0, "value": 2.35}]}], "position a number"),
    ([{"room.temp": [{"timestamp": T0 + i, "value": i} for i in range(1001)]}], "1001 points"),
    ([{f"d{i}": [{"timestamp": T0, "value": i}]} for i in range(501)] * 2, "1002 points in many entries"),
    (None, "no body"),
]


def test_bad_telemetry_is_a_400_and_queues_nothing(av, world):
    who = world.child_admin
    system = av.system(who)
    for payload, reason in BAD_PAYLOADS:
        status, body, _ = av.post(who, system, payload)
        assert status == 400 and body["error"] == "invalid.parameter", (reason, body)
        assert set(body) == {"error", "errorParameters"} and len(body["errorParameters"]) == 2, reason
    for raw in ('[{"room.temp": [', "not json", '[{"room.temp": [{"timestamp": 1, "value": NaN}]}]'):
        status, body, _ = av.post(who, system, raw=raw)
        assert status == 400 and body["error"] in ("invalid.json", "invalid.parameter"), raw
    status, body, _ = av.post(who, system, raw='[{"room.temp": [{"timestamp": 1795428000000, "value": 1e400}]}]')
    assert status == 400, body  # an infinite number
    assert av.queued() == 0
    # the limit itself, and every kind of value, are accepted
    samples = [{"timestamp": T0 + i, "value": i} for i in range(998)]
    good = [
        {"room.temp": samples},
        {"door.open": [{"timestamp": T0, "value": True}]},
        {"_LON_LAT": [{"timestamp": T0, "value": "POINT(2.3522 48.8566)"}]},
    ]
    status, body, _ = av.post(who, system, good)
    assert status == 202 and body == {"accepted": 1000}
    assert av.queued() == 1


def test_unknown_systems_are_404_and_queue_nothing(av, world):
    who = world.child_admin
    system = av.system(who)
    for uid in ("0" * 32, "nope", "Z" * 32):
        status, body, _ = av.post(who, uid, temps((T0, 45)))
        assert status == 404 and body == {"error": "not.found", "errorParameters": [uid]}, uid
    # an unknown system is 404 even with a bad payload (the caller learns nothing about the body's checks)
    status, body, _ = av.post(who, "0" * 32, {"bad": True})
    assert status == 404
    status, _, _ = av.api("systems", who, "DELETE", f"/api/v1/systems/{system}")
    assert status == 200
    status, body, _ = av.post(who, system, temps((T0, 45)))
    assert status == 404 and body == {"error": "not.found", "errorParameters": [system]}
    status, body, _ = av.post(who, system, temps((T0, 45)), query={"company": "nope"})
    assert status == 404 and body == {"error": "not.found", "errorParameters": ["nope"]}
    assert av.queued() == 0


# ---------------------------------------------------------------- 5. tenancy


def test_tenancy_of_ingest_and_every_read(av, world):
    mine, stranger, reseller = world.child_admin, world.stranger_admin, world.reseller_admin
    child, parent = mine.account_id, reseller.account_id
    system, rule = av.system(mine), av.rule(mine, emails=[])
    parent_system, parent_rule = av.system(reseller, name="reseller's"), av.rule(reseller, emails=[])
    ts = now_ms() - 60_000
    av.send(mine, system, temps((ts, 45)))
    av.send(reseller, parent_system, temps((ts, 46)))
    av.run()
    (alert,) = av.ok(mine, "/api/v2/alerts/history", company=child)["items"]
    (parent_alert,) = av.ok(reseller, "/api/v2/alerts/history", company=parent)["items"]
    assert alert["ruleId"] == rule and parent_alert["ruleId"] == parent_rule

    def denied(company):
        return {"error": "not.found", "errorParameters": [company]}

    # ---- a stranger: 404 for the system and the company, empty answers in its own company
    status, body, _ = av.post(stranger, system, temps((ts + 1, 50)))
    assert status == 404 and body == {"error": "not.found", "errorParameters": [system]}
    status, body, _ = av.post(stranger, system, temps((ts + 1, 50)), query={"company": child})
    assert status == 404 and body == denied(child)
    assert av.queued() == 0
    for path in CURRENT:
        assert av.ok(stranger, path, targetId=system) == {"items": [], "count": 0}
        assert av.ok(stranger, path, state="true") == {"items": [], "count": 0}
        for query in ({"targetId": system}, {"state": "true"}, {"state": "true", "targetType": "SYSTEM"}):
            status, body, _ = av.read(stranger, path, company=child, **query)
            assert status == 404 and body == denied(child), (path, query)
    for path in HISTORIES:
        assert av.ok(stranger, path, company=stranger.account_id) == {"items": []}
        assert av.ok(stranger, path, company=stranger.account_id, targetId=system) == {"items": []}
        for company in (child, parent, "0" * 32):
            status, body, _ = av.read(stranger, path, company=company, targetId=system)
            assert status == 404 and body == denied(company), (path, company)
        # a bad query is refused before the company is looked up: the same 400 for any company (no oracle)
        first, second = (av.read(stranger, path, company=company, size="501")[:2] for company in (child, "0" * 32))
        assert first == second and first[0] == 400, path
    status, body, _ = av.read(stranger, f"/api/v2/alerts/{alert['id']}", company=stranger.account_id)
    assert status == 404 and body == {"error": "not.found", "errorParameters": [alert["id"]]}
    status, body, _ = av.read(stranger, f"/api/v2/alerts/{alert['id']}", company=child)
    assert status == 404 and body == denied(child)

    # ---- the reseller: its own scope holds none of the customer's data; ?company= reaches the customer
    assert av.ok(reseller, "/api/v3/alerts/current", targetId=system) == {"items": [], "count": 0}
    assert [item["targetId"] for item in av.ok(reseller, "/api/v2/alertstates", state="true")["items"]] == [
        parent_system
    ]
    assert av.ok(reseller, "/api/v2/alerts/history", company=parent)["items"] == [parent_alert]
    status, _, _ = av.read(reseller, f"/api/v2/alerts/{alert['id']}", company=parent)
    assert status == 404
    status, _, _ = av.post(reseller, system, temps((ts + 1, 50)))
    assert status == 404
    for path in CURRENT:
        assert av.ok(reseller, path, company=child, targetId=system) == av.ok(mine, path, targetId=system)
    for path in HISTORIES:
        assert av.ok(reseller, path, company=child) == av.ok(mine, path, company=child)
    assert av.ok(reseller, f"/api/v2/alerts/{alert['id']}", company=child) == [alert]
    av.send(reseller, system, temps((ts + 1000, 20)), query={"company": child})  # back to normal, for the child
    av.run()
    (state,) = av.ok(mine, "/api/v2/alertstates", targetId=system)["items"]
    assert state["state"] is False and state["companyId"] == child and state["stateChangeTs"] == ts + 1000
    assert len(av.ok(mine, "/api/v2/alerts/history", company=child)["items"]) == 2
    assert len(av.ok(reseller, "/api/v2/alerts/history", company=parent)["items"]) == 1
    # an operator reaches everyone
    assert (
        av.ok(world.operator, "/api/v2/alerts/history", company=child)["items"]
        == av.ok(mine, "/api/v2/alerts/history", company=child)["items"]
    )

    # ---- the customer cannot reach its reseller
    status, body, _ = av.post(mine, parent_system, temps((ts + 1, 50)), query={"company": parent})
    assert status == 404 and body == denied(parent)
    status, body, _ = av.post(mine, parent_system, temps((ts + 1, 50)))
    assert status == 404 and body == {"error": "not.found", "errorParameters": [parent_system]}
    for path in CURRENT:
        status, body, _ = av.read(mine, path, company=parent, state="true")
        assert status == 404 and body == denied(parent), path
        assert av.ok(mine, path, targetId=parent_system) == {"items": [], "count": 0}
    for path in HISTORIES:
        status, body, _ = av.read(mine, path, company=parent)
        assert status == 404 and body == denied(parent), path
    status, body, _ = av.read(mine, f"/api/v2/alerts/{parent_alert['id']}", company=parent)
    assert status == 404 and body == denied(parent)
    status, body, _ = av.read(mine, f"/api/v2/alerts/{parent_alert['id']}", company=child)
    assert status == 404 and body == {"error": "not.found", "errorParameters": [parent_alert["id"]]}
    # a plain user of the customer reads its own company, not its reseller's
    user = world.child_user
    assert len(av.ok(user, "/api/v3/alerts/history", company=child)["items"]) == 2
    assert av.read(user, "/api/v3/alerts/history", company=parent)[0] == 404
    assert av.queued() == 0


# ---------------------------------------------------------------- 6. the delivery configurations of hooks and rules


def test_deleting_hooks_and_rules_removes_their_delivery_configurations(av, receiver, ses, world):
    who = world.child_admin
    system = av.system(who)
    rule, other = av.rule(who), av.rule(who, name="other", emails=["noc@example.com"])
    port = receiver.url.rsplit(":", 1)[1]
    hook = av.hook(who, rule, f"http://bob:s3cr%40t@127.0.0.1:{port}/a")
    kept = av.hook(who, other, receiver.script("/b"))
    ts = now_ms() - 60_000
    av.send(who, system, temps((ts, 45)))
    av.run()
    (got,) = receiver.at("/a")
    assert got.headers["authorization"] == "Basic Ym9iOnMzY3JAdA=="  # bob:s3cr@t from the callback URL
    assert len(receiver.at("/b")) == 1
    names = set(av.configurations(who))
    assert names == {
        f"airvantage-hook-{hook}",
        f"airvantage-hook-{kept}",
        f"airvantage-rule-{rule}-emails",
        f"airvantage-rule-{other}-emails",
    }
    assert av.configurations(who)[f"airvantage-hook-{hook}"]["addr"] == f"http://127.0.0.1:{port}/a"

    status, _, _ = av.api("alert_hooks", who, "DELETE", f"/api/v1/alerts/rules/{rule}/hooks/{hook}")
    assert status == 200
    assert set(av.configurations(who)) == names - {f"airvantage-hook-{hook}"}
    av.send(who, system, temps((ts + 1000, 20)))  # back to normal: notified, but not to the deleted hook
    av.run()
    assert len(receiver.at("/a")) == 1 and len(receiver.at("/b")) == 2

    status, body, _ = av.api("alert_rules", who, "DELETE", f"/api/v2/alertrules/{other}")
    assert status == 200 and body == "success"
    assert set(av.configurations(who)) == {f"airvantage-rule-{rule}-emails"}
    status, _, _ = av.api("alert_rules", who, "DELETE", f"/api/v2/alertrules/{rule}")
    assert status == 200
    assert av.configurations(who) == {}
    # a reseller deleting its customer's hook removes the customer's configuration
    rule = av.rule(who, emails=[])
    hook = av.hook(who, rule, receiver.script("/c"))
    av.send(who, system, temps((ts + 2000, 45)))
    av.run()
    assert set(av.configurations(who)) == {f"airvantage-hook-{hook}"} and len(receiver.at("/c")) == 1
    status, _, _ = av.api(
        "alert_hooks",
        world.reseller_admin,
        "DELETE",
        f"/api/v1/alerts/rules/{rule}/hooks/{hook}",
        query={"company": who.account_id},
    )
    assert status == 200 and av.configurations(who) == {}


def test_a_gone_hook_endpoint_is_deactivated(av, receiver, world):
    who = world.child_admin
    system = av.system(who)
    rule = av.rule(who, emails=[], notifMode="EVERY_TIME")
    hook = av.hook(who, rule, receiver.script("/gone", Reply(410, "gone")))
    ts = now_ms() - 60_000
    av.send(who, system, temps((ts, 45)))
    av.run()
    (got,) = receiver.at("/gone")
    alert_id = got.json()["content"]["alert.uid"]
    config = av.configurations(who)[f"airvantage-hook-{hook}"]
    assert config["is-active"] is False
    status, current, _ = av.api(
        "delivery_configurations", who, "GET", f"/ess/v1/delivery-configurations/{config['id']}"
    )
    assert status == 200 and current["is-active"] is False
    assert av.tracking(who, alert_id, config["id"])["delivery-status"] == "FAILED"
    # later alerts wait for the endpoint to be reactivated instead of being sent
    av.send(who, system, temps((ts + 1000, 46)))
    av.run()
    assert len(receiver.at("/gone")) == 1
    assert len(av.ok(who, "/api/v2/alerts/history", company=who.account_id)["items"]) == 2


def test_a_rule_deleted_while_the_rules_index_is_cached_leaves_no_configuration(av, ses, world, monkeypatch):
    """A warm evaluator trusts its rules index for a moment: the notifier checks the rule still exists
    before making configurations for it, so a deleted rule's email configuration does not come back."""
    monkeypatch.setattr(evaluation, "RULE_INDEX_CHECK_S", 3600.0)  # the index read below stays trusted
    who = world.child_admin
    system, rule = av.system(who), av.rule(who)
    ts = now_ms() - 60_000
    av.send(who, system, temps((ts, 45)))
    av.run()
    assert set(av.configurations(who)) == {f"airvantage-rule-{rule}-emails"}
    assert av.api("alert_rules", who, "DELETE", f"/api/v2/alertrules/{rule}")[0] == 200
    assert av.configurations(who) == {}
    av.send(who, system, temps((ts + 1000, 20)))
    av.run()
    assert av.configurations(who) == {}


def test_a_deleted_rule_takes_its_current_states_with_it(av, ses, world):
    who = world.child_admin
    system, rule = av.system(who), av.rule(who)
    av.send(who, system, temps((now_ms() - 60_000, 45)))
    av.run()
    assert av.ok(who, "/api/v3/alerts/current", targetId=system)["count"] == 1
    assert av.api("alert_rules", who, "DELETE", f"/api/v2/alertrules/{rule}")[0] == 200
    assert av.ok(who, "/api/v3/alerts/current", targetId=system) == {"items": [], "count": 0}
    assert av.ok(who, "/api/v2/alertstates", state="true") == {"items": [], "count": 0}


def test_empty_telemetry_is_accepted_and_queues_nothing(av, world):
    who = world.child_admin
    system = av.system(who)
    for payload in ([], [{}], [{"room.temp": []}]):
        status, body, _ = av.api("telemetry", who, "POST", f"/api/v1/systems/{system}/data", payload)
        assert (status, body) == (202, {"accepted": 0})
    assert av.queued("TELEMETRY_QUEUE_URL") == 0


def test_an_unknown_target_type_is_refused(av, world):
    status, body, _ = av.api(
        "alert_history",
        world.child_admin,
        "GET",
        "/api/v2/alertstates",
        query={"state": "true", "targetType": "DEVICE"},
    )
    assert status == 400 and body["error"] == "invalid.parameter"


# ---------------------------------------------------------------- 7. signed hook callbacks


def _verify(secret: str, got) -> dict:
    """What a receiver does with the secret it was shown: the Standard Webhooks library's own check."""
    headers = {name: value for name, value in got.headers.items() if name.startswith("webhook-")}
    return Webhook(secret).verify(got.body, headers)


def _create_hook(av, principal, rule_id: str, callback: str) -> dict:
    status, body, _ = av.api(
        "alert_hooks", principal, "POST", f"/api/v1/alerts/rules/{rule_id}/hooks", {"callback": callback}
    )
    assert status == 200, body
    return body


def _rotate(av, principal, rule_id: str, hook_uid: str) -> dict:
    status, body, _ = av.api(
        "alert_hooks", principal, "POST", f"/api/v1/alerts/rules/{rule_id}/hooks/{hook_uid}/secret"
    )
    assert status == 200, body
    return body


@pytest.fixture
def uncached(av, monkeypatch):
    """Delivery workers read configurations afresh (no 5 s cache), so a rotation shows at the next callback."""
    monkeypatch.setenv("CONFIGURATION_CACHE_SECONDS", "0")
    wiring.reset()
    return av


def test_hook_callbacks_are_signed_with_the_hook_secret(uncached, receiver, world):
    av, who = uncached, world.child_admin
    system = av.system(who)
    rule = av.rule(who, emails=[])
    hook = _create_hook(av, who, rule, receiver.script("/signed"))
    ts = now_ms() - 60_000
    av.send(who, system, temps((ts, 45)))
    av.run()
    (first,) = receiver.at("/signed")
    assert _verify(hook["signingSecret"], first) == first.json()
    assert first.json()["name"] == "event.alert.rule.triggered"
    assert len(first.headers["webhook-signature"].split()) == 1
    with pytest.raises(WebhookVerificationError):  # another secret does not verify it
        _verify("whsec_" + "A" * 44, first)

    # after a rotation, callbacks carry both signatures for 24 h: each secret verifies on its own
    rotated = _rotate(av, who, rule, hook["uid"])
    av.send(who, system, temps((ts + 1000, 20)))  # back to normal: notified
    av.run()
    second = receiver.at("/signed")[1]
    assert len(second.headers["webhook-signature"].split()) == 2
    assert _verify(rotated["signingSecret"], second) == second.json()
    assert _verify(hook["signingSecret"], second) == second.json()
    # the hook's delivery configuration signs with the hook's secrets, and is rotated through the hook only
    config = av.configurations(who)[f"airvantage-hook-{hook['uid']}"]
    status, body, _ = av.api(
        "delivery_configurations", who, "POST", f"/ess/v1/delivery-configurations/{config['id']}/signing-secret/rotate"
    )
    assert status == 403, body

    # once the grace is over, only the new secret signs
    later = rotated["previousSecretExpirationDate"] + 1
    stored = wiring.configurations().managed(who.account_id, config["id"])
    assert stored is not None
    assert len(wiring.configurations().signing_secrets(stored, later)) == 1


def test_a_rotation_reaches_the_hook_configuration_at_once(uncached, receiver, world):
    """The configuration the first alert made takes the rotated secrets with the rotation itself, so a
    delivery already queued (a retry) goes out signed with the new secret too, not only the next alert."""
    av, who = uncached, world.child_admin
    system = av.system(who)
    rule = av.rule(who, emails=[])
    hook = _create_hook(av, who, rule, receiver.script("/at-once"))
    av.send(who, system, temps((now_ms() - 60_000, 45)))
    av.run()
    assert len(receiver.at("/at-once")) == 1
    rotated = _rotate(av, who, rule, hook["uid"])
    config = av.configurations(who)[f"airvantage-hook-{hook['uid']}"]
    stored = wiring.configurations().managed(who.account_id, config["id"])
    assert stored is not None
    assert wiring.configurations().signing_secrets(stored, now_ms()) == [
        rotated["signingSecret"],
        hook["signingSecret"],
    ]


def test_a_hook_made_before_signing_is_signed_once_rotated(uncached, receiver, world):
    av, who = uncached, world.child_admin
    system = av.system(who)
    rule = av.rule(who, emails=[])
    legacy = HookRecord(
        uid="0123456789abcdef0123456789abcdef",
        company_id=who.account_id,
        rule_id=rule,
        callback=receiver.script("/legacy"),
        created_ms=1,
    )
    wiring.rules_repository().add_hook(legacy)
    ts = now_ms() - 60_000
    av.send(who, system, temps((ts, 45)))
    av.run()
    # delivered as before; signed with its configuration's own secret, which no receiver was ever shown
    (first,) = receiver.at("/legacy")
    assert first.json()["content"]["rule.uid"] == rule
    assert len(first.headers["webhook-signature"].split()) == 1

    rotated = _rotate(av, who, rule, legacy.uid)
    assert rotated["previousSecretExpirationDate"] is None
    av.send(who, system, temps((ts + 1000, 20)))
    av.run()
    second = receiver.at("/legacy")[1]
    # the unshown secret is gone at once: one signature, the new secret's
    assert second.headers["webhook-signature"].split() == [second.headers["webhook-signature"]]
    assert _verify(rotated["signingSecret"], second) == second.json()


def test_a_rotation_whose_configuration_update_fails_reaches_it_with_the_next_alert(
    uncached, receiver, world, monkeypatch
):
    av, who = uncached, world.child_admin
    system = av.system(who)
    rule = av.rule(who, emails=[])
    hook = _create_hook(av, who, rule, receiver.script("/later"))
    ts = now_ms() - 60_000
    av.send(who, system, temps((ts, 45)))
    av.run()

    def unavailable(*_args):
        raise RuntimeError("the events table is unavailable")

    monkeypatch.setattr(wiring.hook_configurations(), "hook_signing_changed", unavailable)
    rotated = _rotate(av, who, rule, hook["uid"])  # the secret is saved on the hook and shown all the same
    config = av.configurations(who)[f"airvantage-hook-{hook['uid']}"]
    stored = wiring.configurations().managed(who.account_id, config["id"])
    assert stored is not None
    assert wiring.configurations().signing_secrets(stored, now_ms()) == [hook["signingSecret"]]
    av.send(who, system, temps((ts + 1000, 20)))
    av.run()
    second = receiver.at("/later")[1]
    assert _verify(rotated["signingSecret"], second) == second.json()
    assert _verify(hook["signingSecret"], second) == second.json()
