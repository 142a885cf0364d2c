"""Alert rule figures, each side by side in this run:

1. Evaluation throughput: one company with 50 active SYSTEM rules of 10 conditions each over 10,000
   systems, the indexed engine (`RuleIndex.rules_for({data_id}, "SYSTEM")`, then only those rules) vs
   evaluating every rule on every data point, on the same stream of data points, with condition
   evaluations per data point counted on both sides.
2. Data-point-to-hook latency on `switchboard local` (median, p99), next to a plain POST round trip to the
   same local receiver from the same process.

The vocabulary of figure 1 (100 data ids):

- 70 numeric measures `num.00` .. `num.69` (values 0..100), with daily and hourly aggregates
  (`AGG.num.NN/D`, `AGG.num.NN/H`) per system;
- 20 text states `txt.00` .. `txt.19` (one of OK, WARN, DEGRADED, FAULT:E17, MAINT);
- 9 flags `flag.0` .. `flag.8` (bools);
- the position `_LON_LAT` ("POINT(lon lat)" around Paris).

Rule r (0..49) reads two measures `num.A` (A = 7r mod 70) and `num.B` (B = 7r + 3 mod 70), one text state
`txt.(r mod 20)`, and either the position (every fifth rule: a geofence) or the flag `flag.(r mod 9)`, plus
`system.commStatus`: four data ids per rule, 200 (rule, data id) pairs over the vocabulary, so a data point
touches two rules on average, and a point on `_LON_LAT` ten. Its conditions, in order::

    DATA.num.A > low          DATA.num.A < high           AGG.num.A/D MAX > threshold
    EXISTS DATA.num.B         AGG.num.B/H MEAN < threshold    DATA.num.B > low
    DATA.txt IN [OK, WARN, DEGRADED]    DATA.txt NOT_CONTAINS "FAULT"
    GEO_WITHIN DATA._LON_LAT <polygon>  |  DATA.flag EQUALS "true"
    system.commStatus EQUALS "OK"

Values are drawn so that each condition usually holds: evaluation stops at a rule's first false condition,
and rules stopping early would flatter the naive side (every rule would cost little), so here a rule runs
about 8 of its 10 conditions and about half the evaluations come out true (more than real alert rules; the
outcome itself costs nothing here, no state is written). Each system has current values for every data id
(a dict per system, the values themselves from small shared pools, so 10,000 systems fit in ~100 MB); the
stream is 10,000 data points (system, data id, value), uniform over systems and over the vocabulary. Per
point, both sides set the system's current value, then evaluate; aggregates stay as they are (maintaining
them is the store's work, the same on both sides, and not what the index saves). Time is measured per block
of points, the two sides alternating on each block, medians of the block rates. Condition evaluations are
counted in a separate pass (instrumented conditions would slow the timed ones).

Figure 2 runs `measure_hook_latency` of tests/e2e/test_rules_e2e.py (a stateless EVERY_TIME rule with one
hook; from each data POST's 202 to the callback's arrival at a tests.receivers.Receiver) on a LocalRuntime
of its own (stack "switchboard-bench"), then times plain POSTs of a hook-sized body to a Receiver from this
process: both include whatever a Receiver costs to answer, so the difference is what the pipeline adds.
"""

from __future__ import annotations

import gc
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

COMPANY = "c" * 32
SYSTEMS = 10_000
RULES = 50
POINTS = 10_000
BLOCKS = 10
COUNTED = 2_000  # points of the stream whose rule and condition evaluations are counted
CHECKED = 500  # points on which the rules the index skips are checked to keep their outcome
NUMERIC = [f"num.{n:02d}" for n in range(70)]
TEXTS = [f"txt.{n:02d}" for n in range(20)]
FLAGS = [f"flag.{n}" for n in range(9)]
LON_LAT = "_LON_LAT"
VOCABULARY = [*NUMERIC, *TEXTS, *FLAGS, LON_LAT]
STATES = ("OK", "OK", "OK", "OK", "WARN", "DEGRADED", "FAULT:E17", "MAINT")
FENCE = "POLYGON((2.0 48.5, 2.8 48.5, 2.8 49.1, 2.0 49.1, 2.0 48.5))"


# ---------------------------------------------------------------- figure 1: evaluation throughput


def _attribute(name: str, function: str | None = None) -> dict[str, Any]:
    operand: dict[str, Any] = {"attributeId": {"name": name}}
    if function:
        operand["function"] = function
    return operand


def _condition(operator: str, name: str, value: Any = None, function: str | None = None) -> dict[str, Any]:
    operands = [_attribute(name, function)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        operands.append({"valueNum": value})
    elif isinstance(value, list):
        operands.append({"valuesStr": value})
    elif value is not None:
        operands.append({"valueStr": value})
    return {"operator": operator, "operands": operands}


def _rule_body(r: int) -> dict[str, Any]:
    a, b, text = NUMERIC[7 * r % 70], NUMERIC[(7 * r + 3) % 70], TEXTS[r % 20]
    ninth = (
        _condition("GEO_WITHIN", f"DATA.{LON_LAT}", FENCE)
        if r % 5 == 0
        else _condition("EQUALS", f"DATA.{FLAGS[r % 9]}", "true")
    )
    return {
        "targetType": "SYSTEM",
        "name": f"bench rule {r}",
        "stateful": True,
        "conditions": [
            _condition("GREATER_THAN", f"DATA.{a}", 3 + r % 5),
            _condition("LESS_THAN", f"DATA.{a}", 97 - r % 5),
            _condition("GREATER_THAN", f"AGG.{a}/D", 10, "MAX"),
            _condition("EXISTS", f"DATA.{b}"),
            _condition("LESS_THAN", f"AGG.{b}/H", 90, "MEAN"),
            _condition("GREATER_THAN", f"DATA.{b}", 5),
            _condition("IN", f"DATA.{text}", ["OK", "WARN", "DEGRADED"]),
            _condition("NOT_CONTAINS", f"DATA.{text}", "FAULT"),
            ninth,
            _condition("EQUALS", "system.commStatus", "OK"),
        ],
    }


def _rules() -> list[Any]:
    from switchboard.rules.models import AlertRule
    from switchboard.rules.validation import parse_rule

    now = int(time.time() * 1000)
    return [AlertRule.create(f"{r + 1:032x}", COMPANY, parse_rule(_rule_body(r)), now) for r in range(RULES)]


class _World:
    """10,000 systems' current values (a MappingSource over a dict each) and a stream of data points."""

    def __init__(self, seed: int = 42) -> None:
        from switchboard.rules.aggregates import Aggregate
        from switchboard.rules.operators import AttributeValue, MappingSource

        rng = random.Random(seed)
        now = 1_790_000_000_000
        # Shared pools: a value is an AttributeValue of the data id's kind.
        numbers = [AttributeValue(rng.uniform(0, 100), now) for _ in range(64)]
        states = [AttributeValue(state, now) for state in STATES]
        flags = [AttributeValue(rng.random() < 0.9, now) for _ in range(16)]
        positions = [
            AttributeValue(f"POINT({rng.uniform(1.9, 2.9):.5f} {rng.uniform(48.4, 49.2):.5f})", now) for _ in range(256)
        ]
        aggregates = []
        for _ in range(64):
            low = rng.uniform(0, 50)
            aggregates.append(
                AttributeValue(Aggregate(min=low, max=low + rng.uniform(0, 50), sum=low * 10 + 200, cnt=10), now)
            )
        pool: dict[str, list[Any]] = {
            **dict.fromkeys(NUMERIC, numbers),
            **dict.fromkeys(TEXTS, states),
            **dict.fromkeys(FLAGS, flags),
            LON_LAT: positions,
        }
        self.currents: list[dict[str, Any]] = []
        self.sources: list[Any] = []
        names = [(f"DATA.{data_id}", values) for data_id, values in pool.items()]
        names += [(f"AGG.{data_id}/{scale}", aggregates) for data_id in NUMERIC for scale in ("D", "H")]
        comm = AttributeValue("OK", None)
        for n in range(SYSTEMS):
            current = {name: rng.choice(values) for name, values in names}
            current["system.commStatus"] = comm
            self.currents.append(current)
            self.sources.append(MappingSource(current, target_id=f"{n:032x}"))
        # The stream: (source, current values, attribute name, data id, new value).
        self.points: list[tuple[Any, dict[str, Any], str, str, Any]] = []
        for t in range(POINTS):
            system, data_id = rng.randrange(SYSTEMS), rng.choice(VOCABULARY)
            value = rng.choice(pool[data_id]).value
            self.points.append(
                (
                    self.sources[system],
                    self.currents[system],
                    f"DATA.{data_id}",
                    data_id,
                    AttributeValue(value, now + 1000 * (t + 1)),
                )
            )


def _indexed(index: Any, points: list[Any]) -> None:
    from switchboard.rules.operators import compiled_rule

    for source, current, name, data_id, value in points:
        current[name] = value
        for rule in index.rules_for({data_id}, "SYSTEM"):
            compiled_rule(rule).evaluate(source)


def _naive(rules: list[Any], points: list[Any]) -> None:
    from switchboard.rules.operators import compiled_rule

    for source, current, name, _data_id, value in points:
        current[name] = value
        for rule in rules:
            compiled_rule(rule).evaluate(source)


def _counting_rules(rules: list[Any]) -> tuple[dict[str, Any], list[int]]:
    """Compiled rules whose conditions count their own evaluations (in counter[0])."""
    from switchboard.rules.operators import CompiledRule, compile_condition

    counter = [0]

    def counted(predicate: Callable[..., Any]) -> Callable[..., Any]:
        def condition(source: Any, seen: Any) -> Any:
            counter[0] += 1
            return predicate(source, seen)

        return condition

    return {
        rule.id: CompiledRule(rule.id, tuple(counted(compile_condition(c)) for c in rule.conditions)) for rule in rules
    }, counter


def _counts(index: Any, rules: list[Any], world: _World) -> dict[str, float]:
    """Rule and condition evaluations per point on each side, over the first COUNTED points (conditions: as
    `Evaluator` counts them, all of each evaluated rule's, and as evaluated, stopping at a rule's first false
    condition), and a check on the first CHECKED points that every rule the index skips has the same outcome
    before and after the point."""
    compiled, counter = _counting_rules(rules)
    by_id = {rule.id: rule for rule in rules}
    totals = dict.fromkeys(
        ("indexed_rules", "indexed_listed", "indexed_run", "naive_rules", "naive_listed", "naive_run", "alerts"), 0
    )
    skipped_checked = 0
    points = world.points[:COUNTED]
    for position, (source, current, name, data_id, value) in enumerate(points):
        before = {rule.id: compiled[rule.id].evaluate(source).outcome for rule in rules} if position < CHECKED else None
        current[name] = value
        touched = index.rules_for({data_id}, "SYSTEM")
        counter[0] = 0
        indexed = {rule.id: compiled[rule.id].evaluate(source).outcome for rule in touched}
        totals["indexed_run"] += counter[0]
        totals["indexed_rules"] += len(touched)
        totals["indexed_listed"] += sum(len(rule.conditions) for rule in touched)
        totals["alerts"] += sum(outcome is True for outcome in indexed.values())
        counter[0] = 0
        naive = {rule.id: compiled[rule.id].evaluate(source).outcome for rule in rules}
        totals["naive_run"] += counter[0]
        totals["naive_rules"] += len(rules)
        totals["naive_listed"] += sum(len(rule.conditions) for rule in rules)
        assert all(naive[rule_id] == outcome for rule_id, outcome in indexed.items())
        if before is not None:
            for rule_id, outcome in naive.items():
                if rule_id not in indexed:
                    assert before[rule_id] == outcome, (by_id[rule_id].name, data_id)
                    skipped_checked += 1
    figures = {key: count / len(points) for key, count in totals.items()}
    figures["skipped_checked"] = skipped_checked
    return figures


def _throughput(index: Any, rules: list[Any], world: _World) -> dict[str, float]:
    """Points per second on each side: the stream in BLOCKS blocks, both sides on each block (alternating which
    goes first), medians of the block rates; and the speed-up's median over the blocks."""
    size = len(world.points) // BLOCKS
    indexed_rates, naive_rates, ratios = [], [], []
    _indexed(index, world.points[:200])  # warm: compiled rules cached, shapely loaded
    _naive(rules, world.points[:200])
    for block in range(BLOCKS):
        points = world.points[block * size : (block + 1) * size]
        sides: list[tuple[Callable[[], None], list[float]]] = [
            (lambda points=points: _indexed(index, points), indexed_rates),
            (lambda points=points: _naive(rules, points), naive_rates),
        ]
        for run, rates in sides if block % 2 == 0 else reversed(sides):
            start = time.perf_counter()
            run()
            rates.append(len(points) / (time.perf_counter() - start))
        ratios.append(indexed_rates[-1] / naive_rates[-1])
    return {
        "indexed": statistics.median(indexed_rates),
        "naive": statistics.median(naive_rates),
        "ratio": statistics.median(ratios),
        "ratio_low": min(ratios),
        "ratio_high": max(ratios),
    }


def evaluation_figures() -> dict[str, float]:
    from switchboard.rules.index import RuleIndex

    rules = _rules()
    index = RuleIndex(rules)
    assert len(index) == RULES and all(len(rule.conditions) == 10 for rule in rules)
    world = _World()
    gc.collect()
    gc.freeze()  # the world's million objects are not garbage: keep the collector from walking them
    try:
        counts = _counts(index, rules, world)
        return {**counts, **_throughput(index, list(index.rules), world)}
    finally:
        gc.unfreeze()


def _evaluation_lines() -> list[str]:
    f = evaluation_figures()
    verdict = "PASS" if f["ratio"] >= 10 else "BELOW TARGET"
    return [
        f"rule evaluation         {RULES} rules x 10 conditions, {SYSTEMS:,} systems, {POINTS:,} points over "
        f"{len(VOCABULARY)} data ids",
        f"rule evaluation         indexed {f['indexed']:8,.0f} points/s vs every rule on every point "
        f"{f['naive']:6,.0f} points/s  speed-up {f['ratio']:.1f}x (blocks {f['ratio_low']:.0f}-{f['ratio_high']:.0f})  "
        f"(target >= 10: {verdict})",
        f"rule evaluation         per point (first {COUNTED:,} points): rules evaluated indexed "
        f"{f['indexed_rules']:.2f} vs {f['naive_rules']:.0f}; conditions as Evaluator counts them "
        f"(10 per rule evaluated) {f['indexed_listed']:.1f} vs {f['naive_listed']:.0f}",
        f"rule evaluation         per point: conditions actually evaluated (a rule stops at its first false one) "
        f"indexed {f['indexed_run']:.1f} vs {f['naive_run']:.1f}; true outcomes {f['alerts']:.2f}",
        f"rule evaluation         index as prefilter: {f['skipped_checked']:,.0f} skipped (rule, point) pairs "
        f"checked to keep their outcome",
    ]


# ---------------------------------------------------------------- figure 2: data point to hook, locally

LATENCY_POINTS = 30


def _percentile(samples: list[float], p: float) -> float:
    """Nearest rank (p99 of 30 samples is the largest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _plain_post_ms(count: int) -> list[float]:
    """Round trips of a plain POST (a hook-sized JSON body, a pooled requests session) to the receiver the
    hooks go to (tests.receivers.Receiver, a fresh one), from this process."""
    import requests

    from tests.receivers import Receiver

    receiver = Receiver()
    body = {
        "name": "event.alert.rule.triggered",
        "date": 0,
        "content": {"alert.uid": "a" * 32, "rule.uid": "b" * 32, "target.uid": "c" * 32},
    }
    samples = []
    try:
        with requests.Session() as http:
            url = receiver.script("/plain")
            for n in range(count + 1):
                start = time.perf_counter()
                response = http.post(url, json=body, timeout=10)
                elapsed = time.perf_counter() - start
                assert response.status_code == 200, response.status_code
                if n:  # the first opens the connection
                    samples.append(elapsed * 1000)
    finally:
        receiver.close()
    return samples


@contextmanager
def _workers_quiet() -> Iterator[None]:
    """Function workers inherit our stdout and print their logs and metrics there: point it at /dev/null while
    they live (nothing of ours is printed meanwhile: report() returns its lines)."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def latency_figures(count: int = LATENCY_POINTS) -> dict[str, Any]:
    """measure_hook_latency (tests/e2e/test_rules_e2e.py) on a LocalRuntime of our own, and plain POST round
    trips to the same kind of receiver, taken right after on the same machine."""
    from switchboard_local.runtime import LocalRuntime

    from tests.e2e.conftest import ROOT, create_account
    from tests.e2e.test_rules_e2e import measure_hook_latency

    runtime = LocalRuntime(
        ROOT / "template.yaml",
        port=0,
        emulator_port=0,
        stack_name="switchboard-bench",
        demo_account=False,
        echo=lambda line: None,
    )
    with _workers_quiet():
        started = time.perf_counter()
        runtime.start()
        try:
            start_s = time.perf_counter() - started
            principal = create_account(runtime, "Bench Rules")
            hook = measure_hook_latency(runtime, principal, count)
            plain = _plain_post_ms(count)
        finally:
            runtime.stop()
    return {
        "hook": hook,
        "plain_median": statistics.median(plain),
        "plain_p99": _percentile(plain, 99),
        "start_s": start_s,
    }


def _latency_lines() -> list[str]:
    try:
        f = latency_figures()
    except ImportError as exc:  # the e2e helpers (tests/) or switchboard_local missing from this checkout
        return [f"data point -> hook      skipped: {exc}"]
    hook = f["hook"]
    return [
        f"data point -> hook      switchboard local, {hook['count']} points: median {hook['median_ms']:.0f} ms, "
        f"p99 {hook['p99_ms']:.0f} ms vs a plain POST to the same receiver: median {f['plain_median']:.1f} ms, "
        f"p99 {f['plain_p99']:.1f} ms",
        f"data point -> hook      ratio {hook['median_ms'] / f['plain_median']:.1f}x at the median "
        f"(+{hook['median_ms'] - f['plain_median']:.0f} ms), {hook['p99_ms'] / f['plain_p99']:.1f}x at p99  "
        f"(reported, not asserted; runtime started in {f['start_s']:.1f} s)",
    ]


def report() -> list[str]:
    lines = _evaluation_lines()
    gc.collect()
    return lines + _latency_lines()
