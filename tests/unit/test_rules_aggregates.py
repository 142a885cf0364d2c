"""AGG buckets (UTC hour/day/month), the aggregate value, and the updates a data point implies."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from switchboard.rules.aggregates import (
    Aggregate,
    AggregateUpdate,
    bucket_key,
    bucket_keys,
    company_updates,
    is_aggregable,
    updates_for,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ms(*parts):
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


def test_bucket_keys_of_one_instant():
    assert bucket_keys(ms(2026, 11, 23, 14, 5, 7)) == {"H": "H#2026112314", "D": "D#20261123", "M": "M#202611"}
    assert bucket_key("H", ms(2026, 11, 23, 14, 5, 7)) == "H#2026112314"


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        # the last millisecond of an hour and the first of the next
        (ms(2026, 11, 23, 14, 59, 59) + 999, ms(2026, 11, 23, 15), {"D", "M"}),
        # across midnight
        (ms(2026, 11, 23, 23, 59, 59) + 999, ms(2026, 11, 24), {"M"}),
        # across a month end, a leap day and a year end
        (ms(2026, 11, 30, 23, 59, 59) + 999, ms(2026, 12, 1), set()),
        (ms(2028, 2, 29, 23, 59, 59) + 999, ms(2028, 3, 1), set()),
        (ms(2026, 12, 31, 23, 59, 59) + 999, ms(2027, 1, 1), set()),
        # inside one hour
        (ms(2026, 11, 23, 14), ms(2026, 11, 23, 14, 59, 59) + 999, {"H", "D", "M"}),
    ],
)
def test_bucket_boundaries(before, after, same):
    first, second = bucket_keys(before), bucket_keys(after)
    assert {scale for scale in "HDM" if first[scale] == second[scale]} == same


def test_buckets_are_utc_and_start_at_the_epoch():
    assert bucket_keys(0) == {"H": "H#1970010100", "D": "D#19700101", "M": "M#197001"}
    assert bucket_keys(ms(2026, 3, 29, 1, 30)) == {
        "H": "H#2026032901",
        "D": "D#20260329",
        "M": "M#202603",
    }  # EU DST night


def test_aggregate_value_and_functions():
    agg = Aggregate.of(10).add(40).add(25)
    assert (agg.min, agg.max, agg.sum, agg.cnt, agg.mean) == (10, 40, 75, 3, 25.0)
    assert [agg.pick(f) for f in ("MIN", "MAX", "SUM", "CNT", "MEAN")] == [10, 40, 75, 3, 25.0]
    assert agg.wire() == {"min": 10, "max": 40, "cnt": 3, "sum": 75, "mean": 25.0}
    assert Aggregate().pick("SUM") is None and Aggregate().mean is None
    with pytest.raises(ValueError):
        agg.pick("AVG")


def test_empty_aggregate_is_the_identity_of_merge():
    agg = Aggregate(min=-2.5, max=7, sum=4.5, cnt=2)
    assert agg.merge(Aggregate()) == agg == Aggregate().merge(agg)


@pytest.mark.parametrize(
    ("value", "aggregable"),
    [
        (1, True),
        (-2.5, True),
        (0, True),
        (True, False),
        ("5", False),
        (None, False),
        (float("nan"), False),
        (float("inf"), False),
    ],
)
def test_only_numbers_are_aggregated(value, aggregable):
    assert is_aggregable(value) is aggregable
    assert bool(updates_for("sys", "d", 0, value)) is aggregable


def test_updates_for_a_system_data_point():
    updates = updates_for("sys-1", "room.temp", ms(2026, 11, 23, 14, 5), 21.5)
    assert [(u.target_type, u.target_id, u.data_id, u.time_scale, u.bucket, u.value) for u in updates] == [
        ("SYSTEM", "sys-1", "room.temp", "H", "H#2026112314", 21.5),
        ("SYSTEM", "sys-1", "room.temp", "D", "D#20261123", 21.5),
        ("SYSTEM", "sys-1", "room.temp", "M", "M#202611", 21.5),
    ]
    assert [u.attribute_name for u in updates] == ["AGG.room.temp/H", "AGG.room.temp/D", "AGG.room.temp/M"]


def test_update_apply_is_add_to_sum_and_cnt_and_conditional_min_max():
    update = updates_for("s", "d", 0, 5)[0]
    assert update.apply(None) == Aggregate(min=5, max=5, sum=5, cnt=1)
    assert update.apply(Aggregate(min=1, max=3, sum=4, cnt=2)) == Aggregate(min=1, max=5, sum=9, cnt=3)
    assert update.apply(Aggregate(min=7, max=9, sum=16, cnt=2)) == Aggregate(min=5, max=9, sum=21, cnt=3)


def test_company_updates_use_the_same_buckets_for_the_company_target():
    system = updates_for("sys-1", "DATA_BYTES_TOTAL", ms(2026, 11, 23, 14), 1024)
    company = company_updates("comp-1", "DATA_BYTES_TOTAL", ms(2026, 11, 23, 14), 1024)
    assert [(u.target_type, u.target_id) for u in company] == [("COMPANY", "comp-1")] * 3
    assert [(u.bucket, u.value, u.data_id) for u in company] == [(u.bucket, u.value, u.data_id) for u in system]
    assert company_updates("comp-1", "x", 0, "text") == []


def test_company_aggregate_is_the_aggregate_of_its_systems():
    points = {"sys-1": [(ms(2026, 11, 23, 1), 10), (ms(2026, 11, 23, 2), 30)], "sys-2": [(ms(2026, 11, 23, 9), 5)]}
    stored: dict[tuple[str, str, str], Aggregate] = {}

    def apply(update: AggregateUpdate) -> None:
        key = (update.target_type, update.target_id, update.bucket)
        stored[key] = update.apply(stored.get(key))

    for system, samples in points.items():
        for timestamp, value in samples:
            for update in updates_for(system, "d", timestamp, value) + company_updates("comp", "d", timestamp, value):
                apply(update)
    day = "D#20261123"
    company = stored[("COMPANY", "comp", day)]
    assert company == stored[("SYSTEM", "sys-1", day)].merge(stored[("SYSTEM", "sys-2", day)])
    assert (company.sum, company.cnt, company.min, company.max) == (45, 3, 5, 30)  # SUM is the sum of the systems'
    assert stored[("COMPANY", "comp", "H#2026112301")] == Aggregate.of(10)


INTEGER_AGGREGATES = st.lists(st.integers(-(10**9), 10**9), max_size=6).map(
    lambda values: reduce(Aggregate.add, values, Aggregate())
)


@PROPERTY
@given(INTEGER_AGGREGATES, INTEGER_AGGREGATES, INTEGER_AGGREGATES)
def test_merge_is_associative_and_commutative(a, b, c):
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@PROPERTY
@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=20), st.integers(1, 19))
def test_merging_parts_equals_aggregating_the_whole(values, cut):
    whole = reduce(Aggregate.add, values, Aggregate())
    cut = min(cut, len(values))
    parts = reduce(Aggregate.add, values[:cut], Aggregate()).merge(reduce(Aggregate.add, values[cut:], Aggregate()))
    assert parts == whole
    assert (whole.min, whole.max, whole.sum, whole.cnt) == (min(values), max(values), sum(values), len(values))


@PROPERTY
@given(st.integers(0, 253_402_300_799_999))
def test_bucket_keys_nest(timestamp):
    keys = bucket_keys(timestamp)
    assert keys["H"][2:].startswith(keys["D"][2:]) and keys["D"][2:].startswith(keys["M"][2:])
    moment = datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    assert keys["H"] == f"H#{moment:%Y%m%d%H}"
