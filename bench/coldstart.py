"""Cold start: import time of each function module vs the minimal Powertools REST handler.

Every sample is a fresh interpreter (as a new Lambda container would be), runs are interleaved
so machine noise hits both sides alike, and the median of each side is compared.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "bench" / "baselines" / "minimal_rest_handler.py"

_PROBE = r"""
import importlib.util, json, sys, time
path = sys.argv[1]
sys.path[:0] = [sys.argv[2], str(__import__("pathlib").Path(path).parent)]
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"ms": (time.perf_counter() - start) * 1000}))
"""


def function_modules() -> dict[str, Path]:
    return {path.parent.name: path for path in sorted((ROOT / "functions").glob("*/app.py"))}


def _template_environment() -> dict[str, str]:
    """The Globals environment of template.yaml that affects imports (as Lambda would set it)."""
    return {
        "PYDANTIC_DISABLE_PLUGINS": "1",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def import_ms(module: Path) -> float:
    env = {**os.environ, **_template_environment()}
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(module), str(ROOT / "layers" / "common")],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["ms"]


def measure(samples: int = 11, only: str | None = None) -> dict[str, dict[str, float]]:
    """{function: {"ms": median import, "baseline_ms": median baseline, "ratio": ...}}."""
    results = {}
    for name, module in function_modules().items():
        if only and name != only:
            continue
        ours, base = [], []
        for _ in range(samples):
            base.append(import_ms(BASELINE))
            ours.append(import_ms(module))
        ours_ms, base_ms = statistics.median(ours), statistics.median(base)
        results[name] = {"ms": ours_ms, "baseline_ms": base_ms, "ratio": ours_ms / base_ms}
    return results


_FIRST_RESPONSE_PROBE = r"""
import importlib.util, json, pathlib, sys, time
path, layer, event_path = sys.argv[1:4]
sys.path[:0] = [layer, str(pathlib.Path(path).parent)]

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self):
        return 29000

event = json.loads(pathlib.Path(event_path).read_text())
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if hasattr(module, "bind"):
    import boto3
    module.bind(boto3.session.Session(), "alerts")
response = module.lambda_handler(event, Context())
elapsed = (time.perf_counter() - start) * 1000
assert response["statusCode"] == 200, response
print(json.dumps({"ms": elapsed}))
"""


def first_response(samples: int = 7) -> dict[str, float]:
    """Import plus the first GET of one alert, in fresh interpreters, both sides reading the
    same item from one DynamoDB stub on loopback: what a client waits for on a cold start."""
    from bench.baselines import minimal_dynamodb_handler
    from tests.fakes.dynamo_http import DynamoStub
    from tests.integration.test_sample_events import ALERT, sample_alert

    stub = DynamoStub()
    stub.put({"pk": f"ALERT#{ALERT}", "sk": "ALERT", "doc": sample_alert().model_dump_json()})
    server, url = stub.serve()
    env = {
        **os.environ,
        **_template_environment(),
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "ALERTS_TABLE": "alerts",
        "ACCOUNTS_TABLE": "accounts",
    }
    env.pop("PYTHONPATH", None)
    event = str(ROOT / "events" / "alerts_get.json")

    def run(module: Path) -> float:
        out = subprocess.run(
            [sys.executable, "-c", _FIRST_RESPONSE_PROBE, str(module), str(ROOT / "layers" / "common"), event],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])["ms"]

    try:
        ours, base = [], []
        for _ in range(samples):
            base.append(run(Path(minimal_dynamodb_handler.__file__)))
            ours.append(run(function_modules()["alerts"]))
    finally:
        server.shutdown()
    ours_ms, base_ms = statistics.median(ours), statistics.median(base)
    return {"ms": ours_ms, "baseline_ms": base_ms, "ratio": ours_ms / base_ms}


def report() -> list[str]:
    lines = []
    for name, row in measure().items():
        lines.append(
            f"cold start  {name:<12} import {row['ms']:7.1f} ms vs minimal handler "
            f"{row['baseline_ms']:7.1f} ms  ratio {row['ratio']:.2f}  (target <= 1.5)"
        )
    row = first_response()
    lines.append(
        f"cold start  alerts       import + first GET {row['ms']:7.1f} ms vs one-read handler "
        f"{row['baseline_ms']:7.1f} ms  ratio {row['ratio']:.2f}  (reported)"
    )
    return lines
