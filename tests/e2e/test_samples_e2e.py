"""Every sample under events/ answers 2xx against `switchboard local --demo` (README's first steps).

The runtime's demo data (switchboard_local/demo.py) gives the samples' ids life; each sample is
run through the runtime's own warm workers, and a few through the `switchboard invoke` command
exactly as a newcomer types it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import SWITCHBOARD, RuntimeLog
from tests.e2e.process import ROOT
from tests.support import template

pytestmark = pytest.mark.e2e

# Samples in an order that works on one data set: reads before the delete that removes their alert.
ORDER = [
    "authorizer_request.json",
    "alerts_list.json",
    "alerts_create.json",
    "alerts_get.json",
    "alerts_delete.json",
]


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    rt = LocalRuntime(ROOT / "template.yaml", port=0, emulator_port=0, demo_data=True, echo=RuntimeLog())
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


def samples() -> list[tuple[str, str]]:
    """(function logical id, sample file) for every sample, each function's samples in ORDER."""
    by_folder = {
        res["Properties"]["CodeUri"].strip("/").split("/")[-1]: logical_id
        for logical_id, res in template()["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }
    from tests.integration.test_sample_events import SAMPLES

    pairs = [(by_folder[folder], name) for folder, events in SAMPLES.items() for name in events]
    return sorted(pairs, key=lambda pair: ORDER.index(pair[1]) if pair[1] in ORDER else -1)


def test_every_sample_file_is_run():
    assert {name for _, name in samples()} == {p.name for p in (ROOT / "events").glob("*.json")}


def _expected_status(name: str) -> int | None:
    """The status a sample is written to produce when it is not a success (the route fallback's 405)."""
    from tests.integration.test_sample_events import SAMPLES

    for events in SAMPLES.values():
        expected = events.get(name)
        if isinstance(expected, int) and expected >= 300:
            return expected
    return None


def assert_success(function: str, name: str, response: Any) -> None:
    if "statusCode" in response:
        expected = _expected_status(name)
        if expected is not None:
            assert response["statusCode"] == expected, f"{function} {name}: {response}"
        else:
            assert 200 <= response["statusCode"] < 300, f"{function} {name}: {response}"
    elif "policyDocument" in response:
        assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    elif "batchItemFailures" in response:
        assert response["batchItemFailures"] == [], f"{function} {name}: {response}"
    else:
        assert isinstance(response, dict), f"{function} {name}: {response}"


def test_every_sample_answers_2xx_against_the_demo_data(runtime):
    assert runtime.demo_data is not None and runtime.demo_data["account_id"] == "4b8c6fec4b2597882c0390202d195419"
    for function, name in samples():
        event = json.loads((ROOT / "events" / name).read_text())
        assert_success(function, name, runtime.invoke(function, event))


def invoke_cli(runtime: LocalRuntime, function: str, event: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHBOARD_"))}
    env.update(runtime.environment())
    return subprocess.run(
        [str(SWITCHBOARD), "invoke", function, "--event", event],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "function, name",
    [
        ("AlertsFunction", "alerts_list.json"),
        ("SubscriptionsFunction", "subscriptions_list.json"),
        ("EventDeliveriesFunction", "event_deliveries_summary.json"),
    ],
)
def test_switchboard_invoke_of_a_sample(runtime, function, name):
    done = invoke_cli(runtime, function, f"events/{name}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert_success(function, name, json.loads(done.stdout))


def test_a_rejected_key_is_one_info_line_without_traceback(runtime, tmp_path):
    event = json.loads((ROOT / "events" / "authorizer_request.json").read_text())
    event["headers"]["X-Auth-Token"] = "sbk_NotAKeyAnybodyHas_0000000000000000000000"
    event["multiValueHeaders"]["X-Auth-Token"] = [event["headers"]["X-Auth-Token"]]
    path = tmp_path / "rejected.json"
    path.write_text(json.dumps(event))
    done = invoke_cli(runtime, "AuthorizerFunction", str(path))
    assert done.returncode == 1 and json.loads(done.stdout)["errorMessage"] == "Unauthorized"
    logged = [line for line in done.stderr.splitlines() if line.strip()]
    rejected = [line for line in logged if "rejected request" in line]
    assert len(rejected) == 1, done.stderr
    assert json.loads(rejected[0].split("] ", 1)[1])["level"] == "INFO"
    assert "Traceback" not in done.stderr and "[ERROR]" not in done.stderr, done.stderr
