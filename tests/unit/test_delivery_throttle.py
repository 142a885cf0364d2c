import heapq
import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from switchboard.delivery.throttle import Decision, Rate, gcra

TWENTY_PER_SECOND = Rate.from_config(20, "SECOND")


def test_rates_from_configuration():
    assert Rate.from_config(60) == Rate(60, 60.0)
    assert Rate.from_config(60).emission_interval_ms == 1000
    assert TWENTY_PER_SECOND.emission_interval_ms == 50
    assert Rate(30, 1).emission_interval_ms == 34  # rounded up: never faster than configured


@pytest.mark.parametrize(("count", "per"), [(0, 60), (1, 0), (1001, 1)])
def test_bad_rates_are_refused(count, per):
    with pytest.raises(ValueError):
        Rate(count, per)


def test_bad_unit_and_burst_are_refused():
    with pytest.raises(ValueError):
        Rate.from_config(5, "HOUR")
    with pytest.raises(ValueError):
        gcra(None, 0, TWENTY_PER_SECOND, burst=0)


def test_first_request_is_allowed():
    assert gcra(None, 1_000, TWENTY_PER_SECOND) == Decision(allowed=True, new_tat_ms=1_050, retry_after_ms=0)


def test_denial_leaves_tat_unchanged():
    assert gcra(1_050, 1_010, TWENTY_PER_SECOND) == Decision(allowed=False, new_tat_ms=1_050, retry_after_ms=40)


def test_idle_time_does_not_bank_credit_beyond_burst():
    # After a long pause the tat is in the past; only `burst` requests pass at once.
    decisions = []
    tat = 0
    for _ in range(5):
        decision = gcra(tat, 60_000, TWENTY_PER_SECOND, burst=2)
        decisions.append(decision.allowed)
        tat = decision.new_tat_ms
    assert decisions == [True, True, False, False, False]


@pytest.mark.parametrize("burst", [1, 3, 10])
def test_burst_then_spaced_by_the_emission_interval(burst):
    # Given 25 requests at one instant / When each waits as told / Then `burst` pass at once, the rest 50 ms apart
    tat, sent = None, []
    for _ in range(25):
        now = 0
        while not (decision := gcra(tat, now, TWENTY_PER_SECOND, burst)).allowed:
            now += decision.retry_after_ms
        tat = decision.new_tat_ms
        sent.append(now)
    assert sent == [0] * burst + [50 * i for i in range(1, 26 - burst)]


def _simulate_workers(workers: int, rate: Rate, window_ms: int, seed: int) -> tuple[list[int], int]:
    """Workers share `tat` through a compare-and-set, as DynamoDB's conditional write would.

    Each worker reads, decides, and writes a few ms later only if `tat` is still what it read;
    a lost race re-reads at once, a denial waits `retry_after_ms` (plus scheduling noise).
    Returns the decision times of committed sends and the number of lost races.
    """
    rng = random.Random(seed)
    shared: int | None = None
    sends: list[int] = []
    conflicts = 0
    queue: list[tuple[int, int, int, tuple]] = [(rng.randint(0, 5), n, n, ("read",)) for n in range(workers)]
    seq = workers
    while queue:
        now, _, worker, step = heapq.heappop(queue)
        if now >= window_ms:
            continue
        if step[0] == "read":
            decision = gcra(shared, now, rate)
            if decision.allowed:
                nxt = (now + rng.randint(1, 5), ("write", shared, decision.new_tat_ms, now))
            else:
                nxt = (now + decision.retry_after_ms + rng.randint(0, 3), ("read",))
        elif shared == step[1]:
            shared = step[2]
            sends.append(step[3])
            nxt = (now + rng.randint(0, 5), ("read",))
        else:
            conflicts += 1
            nxt = (now, ("read",))
        seq += 1
        heapq.heappush(queue, (nxt[0], seq, worker, nxt[1]))
    return sorted(sends), conflicts


@pytest.mark.parametrize("workers", [1, 4, 16])
def test_concurrent_workers_share_one_limit(workers):
    sends, conflicts = _simulate_workers(workers, TWENTY_PER_SECOND, 10_000, seed=workers)
    assert 180 <= len(sends) <= 220
    assert all(later - earlier >= 50 for earlier, later in itertools.pairwise(sends))
    if workers > 1:
        assert conflicts > 0  # the races really happened and were resolved by the conditional write


@given(
    arrivals=st.lists(st.integers(0, 20_000), min_size=1, max_size=200),
    count=st.integers(1, 50),
    unit=st.sampled_from(["SECOND", "MINUTE"]),
    burst=st.integers(1, 5),
    window_ms=st.integers(1, 20_000),
)
def test_allowed_in_any_window_never_exceeds_rate_plus_burst(arrivals, count, unit, burst, window_ms):
    rate = Rate.from_config(count, unit)
    tat, allowed = None, []
    for now in sorted(arrivals):
        decision = gcra(tat, now, rate, burst)
        if decision.allowed:
            allowed.append(now)
        tat = decision.new_tat_ms
    limit = rate.count * window_ms / (rate.per_seconds * 1000) + burst
    for i, start in enumerate(allowed):
        in_window = sum(1 for t in allowed[i:] if t < start + window_ms)
        assert in_window <= limit
