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
    return {"PYDANTIC_DISABLE_PLUGINS": "1", "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench", "AWS_DEFAULT_REGION": "us-east-1"}


def import_ms(module: Path) -> float:
    env = {**os.environ, **_template_environment()}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([sys.executable, "-c", _PROBE, str(module), str(ROOT / "layers" / "common")],
                         capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])["ms"]


def measure(samples: int = 11) -> dict[str, dict[str, float]]:
    """{function: {"ms": median import, "baseline_ms": median baseline, "ratio": ...}}."""
    results = {}
    for name, module in function_modules().items():
        ours, base = [], []
        for _ in range(samples):
            base.append(import_ms(BASELINE))
            ours.append(import_ms(module))
        ours_ms, base_ms = statistics.median(ours), statistics.median(base)
        results[name] = {"ms": ours_ms, "baseline_ms": base_ms, "ratio": ours_ms / base_ms}
    return results


def report() -> list[str]:
    lines = []
    for name, row in measure().items():
        lines.append(f"cold start  {name:<12} import {row['ms']:7.1f} ms vs minimal handler "
                     f"{row['baseline_ms']:7.1f} ms  ratio {row['ratio']:.2f}  (target <= 1.5)")
    return lines
