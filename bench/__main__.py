"""`make bench`: every figure is a ratio (or a count) measured side by side in this run."""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SwitchboardBench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
warnings.simplefilter("ignore")


def main() -> int:
    from bench import (
        buffers,
        coldstart,
        delivery,
        dynamo_requests,
        ess,
        fairness,
        local_runtime,
        rules,
        services,
        usage,
        warm,
    )

    print(f"Switchboard benchmarks (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    for section in (
        coldstart,
        warm,
        dynamo_requests,
        ess,
        delivery,
        fairness,
        buffers,
        rules,
        services,
        usage,
        local_runtime,
    ):
        for line in section.report():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
