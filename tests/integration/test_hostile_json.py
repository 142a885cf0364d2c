"""The one JSON policy, across every route that reads a body: hostile JSON (unpaired surrogates, numbers
that overflow to infinity, huge integers, deep nesting, NaN, oversize values) is never a 5xx, and a 4xx
writes nothing. Hypothesis puts a hostile value at any field of each endpoint's valid body (or makes it the
whole body); the surrogate, `1e400` and oversize cases are also pinned as regression tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_null_fields import (
    ENDPOINTS,
    FUNCTIONS,
    caller_for,
    differences,
    null_paths,
    snapshot,
    with_null,
)
from tests.support import LambdaContext, load_function, rest_event


def _refuse(name: str) -> Any:
    raise AssertionError(f"a reply carried {name}, which is not JSON")


def call(module: Any, event: dict[str, Any]) -> tuple[int, Any, dict[str, Any]]:
    """Invoke a handler; the reply body must be strict JSON (no NaN / Infinity)."""
    response = module.lambda_handler(event, LambdaContext())
    body = json.loads(response["body"], parse_constant=_refuse) if response.get("body") else {}
    return response["statusCode"], body, dict(response.get("headers") or {})


PLACEHOLDER = "__hostile__"

# Raw JSON text: what a hostile client can put where a value goes.
HOSTILE_TEXT = [
    '"\\ud800"',
    '"a\\udfffb"',
    '"\\udc00\\ud800"',
    '{"\\ud800": 1}',
    '["ok", "\\ud83d"]',
    "1e400",
    "-1e400",
    "1E+999",
    "1e126",
    "1e308",
    "12345678901234567890123456789012345678901234",
    "-0.0",
    "1e-400",
    "NaN",
    "Infinity",
    "-Infinity",
    '"\\u0000"',
    "[" * 40 + "]" * 40,
    '{"a":' * 40 + "1" + "}" * 40,
    '"' + "x" * 70_000 + '"',
    "[" + ",".join(["1e308"] * 2000) + "]",
    "true",
    "{}",
    "[]",
    '""',
]


def _json_text(value: Any) -> str:
    # ensure_ascii writes a lone surrogate as its \\ud800 escape (valid JSON text); infinities as overflow
    return json.dumps(value).replace("-Infinity", "-1e999").replace("Infinity", "1e999").replace("NaN", "1e999")


LEAVES = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(alphabet=st.characters(categories=["Cs", "Lu", "Nd", "Zs"]), max_size=8).map(_json_text),
    st.floats(allow_nan=True, allow_infinity=True).map(_json_text),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
)


def _stored(names: dict[str, str]) -> dict[str, Any]:
    """What a request may not change on a 4xx, less the id sequences: an id drawn before a later
    refusal (a duplicate name's 409) only leaves a gap in the numbering, by design (next_id)."""
    state = snapshot(names)
    for variable, items in state.items():
        if isinstance(items, list):
            state[variable] = [item for item in items if '"COUNTER#ids"' not in item]
    return state


def _put(body: Any, path: tuple, hostile: str) -> str:
    marked = with_null(body, path)
    target = marked
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = PLACEHOLDER
    return json.dumps(marked).replace(json.dumps(PLACEHOLDER), hostile, 1)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_hostile_json_anywhere_is_never_a_server_error_and_a_4xx_writes_nothing(aws, world, name):
    endpoint = ENDPOINTS[name]
    fns = {function: load_function(function) for function in FUNCTIONS}
    fn = fns[endpoint.function]
    who = caller_for(world, endpoint, f"hostile {name}")
    made = endpoint.needs(fns, who, 0) if endpoint.needs else ""
    valid = endpoint.body(who, 0, made)
    paths = null_paths(endpoint, valid)
    problems: list[str] = []

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples in every run, so CI is reproducible
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(path=st.sampled_from(paths), hostile=LEAVES)
    def check(path: tuple, hostile: str) -> None:
        raw = _put(valid, path, hostile) if path else hostile
        before = _stored(aws)
        status, reply, _ = call(
            fn,
            rest_event(
                endpoint.method, endpoint.path.format(account=who.account_id, id=made), who.context, raw_body=raw
            ),
        )
        label = ".".join(str(part) for part in path) or "(body)"
        if status >= 500:
            problems.append(f"{label} = {hostile[:60]}: {status} {reply}")
        elif status >= 400:
            changes = differences(before, _stored(aws))
            if changes:
                problems.append(f"{label} = {hostile[:60]}: {status}, but it wrote {changes}")

    check()
    assert not problems, "\n".join(problems[:10])


# ---------------------------------------------------------------- regressions


def _kazoo_alert(who, metadata_text: str) -> str:
    account = json.dumps(who.account_id)
    return (
        f'{{"data": {{"title": "t", "message": "m", "from": [{{"type": "account", "value": {account}}}], '
        f'"to": [{{"type": "admins", "value": {account}}}], "metadata": {metadata_text}}}}}'
    )


@pytest.mark.parametrize("metadata", ['{"x": "\\ud800"}', '{"x": 1e400}', '{"\\udfff": 1}', '[{"x": -1e400}]'])
def test_kazoo_alert_with_a_surrogate_or_an_infinite_number_is_a_400(aws, world, metadata):
    who = world.child_admin
    fn = load_function("alerts")
    before = snapshot(aws)
    status, reply, _ = call(
        fn,
        rest_event("PUT", f"/v2/accounts/{who.account_id}/alerts", who.context, raw_body=_kazoo_alert(who, metadata)),
    )
    assert status == 400 and reply["message"] == "validation error" and "json" in reply["data"], reply
    assert differences(before, snapshot(aws)) == []


@pytest.mark.parametrize("value", ['"\\ud800"', "1e400", '{"deep": "\\udbff"}'])
def test_ess_event_with_a_surrogate_or_an_infinite_number_is_a_400(aws, world, value):
    who = world.child_admin
    fn = load_function("publish")
    raw = (
        '{"topic": "NIS-Events", "evt-tp": "deactivation_event", "fld-val-list": '
        f'{{"number": {value}, "previous_carrier_id": "1", "tracking_id": "1", '
        '"deactivation_date": "2017-06-03T04:00:00Z"}}'
    )
    before = snapshot(aws)
    status, reply, _ = call(fn, rest_event("POST", "/ess/v1/events", who.context, raw_body=raw))
    assert status == 400 and reply["error"]["code"] == "VALIDATION_ERROR", reply
    assert differences(before, snapshot(aws)) == []


@pytest.mark.parametrize("size", [400_001, 700_000, 1_000_000])
def test_ess_event_too_big_to_store_is_413(aws, world, size):
    who = world.child_admin
    fn = load_function("publish")
    head = '{"topic": "NIS-Events", "evt-tp": "deactivation_event", "fld-val-list": {"number": "'
    tail = '", "previous_carrier_id": "1", "tracking_id": "1", "deactivation_date": "2017-06-03T04:00:00Z"}}'
    raw = head + "1" * (size - len(head) - len(tail)) + tail
    assert len(raw) == size
    before = snapshot(aws)
    status, reply, _ = call(fn, rest_event("POST", "/ess/v1/events", who.context, raw_body=raw))
    assert status == 413 and reply["error"]["code"] == "PAYLOAD_TOO_LARGE", reply
    assert differences(before, snapshot(aws)) == []


def test_crossbar_replies_never_carry_infinity(aws, world):
    """`1e400` once parsed to infinity and came back as bare `Infinity`: now refused, and every reply is
    strict JSON."""
    who = world.child_admin
    fn = load_function("alerts")
    status, reply, _ = call(
        fn,
        rest_event(
            "PUT", f"/v2/accounts/{who.account_id}/alerts", who.context, raw_body=_kazoo_alert(who, '{"n": 1e400}')
        ),
    )
    assert status == 400 and reply["message"] == "validation error", reply  # `call` parsed it strictly


# ---------------------------------------------------------------- Expeto routes (usage notifications)

EXPETO_HOSTILE = ['"\\ud800"', "1e400", "-1e400", '{"\\udfff": 1}', "NaN", "[" * 40 + "]" * 40, "1e126"]


@pytest.mark.parametrize("hostile", EXPETO_HOSTILE)
@pytest.mark.parametrize("field", ["system", "dataLimit", "thresholds", "(body)"])
def test_expeto_subscriber_and_usage_bodies_with_hostile_json_are_4xx_and_write_nothing(aws, world, field, hostile):
    from tests.integration.test_usage_api import IMSI, LIMIT, now_iso

    who = world.child_admin
    world.accounts.set_feature(who.account_id, "usage-notifications", True)
    subscribers, ingest = load_function("subscribers"), load_function("usage_ingest")
    path = f"/v1/subscribers/{IMSI}"
    record = {"recordId": "r1", "imsi": IMSI, "bytes": 1, "timestamp": now_iso()}
    usage_key = {"dataLimit": "bytes", "system": "recordId", "thresholds": "imsi"}
    body = {"records": [record]}
    cases = [
        (subscribers, "PUT", path, hostile if field == "(body)" else _put(LIMIT, (field,), hostile)),
        (
            ingest,
            "POST",
            "/v1/usage",
            hostile if field == "(body)" else _put(body, ("records", 0, usage_key[field]), hostile),
        ),
    ]
    for fn, method, route, raw in cases:
        before = _stored(aws)
        status, reply, _ = call(fn, rest_event(method, route, who.context, raw_body=raw))
        assert 400 <= status < 500, (route, field, hostile, status, reply)
        assert differences(before, snapshot(aws)) == [], (route, field, hostile)
