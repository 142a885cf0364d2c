"""store.writes: one operation per item in a transaction, counters added up, replacements merged."""

from __future__ import annotations

import pytest
from switchboard.store.writes import Writes

STATS = {"pk": "ACCT#1", "sk": "STATS"}
ITEM = {"pk": "ACCT#1", "sk": "SUB#1"}


def keys(operations):
    return [(next(iter(op.values()))["Key"] if "Put" not in op else op["Put"]["Item"]) for op in operations]


def test_opposite_counters_cancel_and_take_their_guard_with_them():
    writes = Writes("t")
    writes.add(STATS, {"subscriptions": -1})
    writes.add(STATS, {"subscriptions": 1}, guard="subscriptions < :max", values={":max": 5})
    assert writes.operations() == []


def test_counters_on_one_item_add_up_into_one_update_keeping_the_guard_of_growth():
    writes = Writes("t")
    writes.add(
        STATS,
        {"subscriptions": 1},
        guard="attribute_not_exists(subscriptions) OR subscriptions < :max",
        values={":max": 5},
    )
    writes.add(STATS, {"subscriptions": 1, "other": -1})
    [operation] = writes.operations()
    update = operation["Update"]
    assert update["UpdateExpression"] == "ADD #c0 :c0, #c1 :c1"
    assert update["ExpressionAttributeNames"] == {"#c0": "subscriptions", "#c1": "other"}
    assert update["ExpressionAttributeValues"] == {":c0": {"N": "2"}, ":c1": {"N": "-1"}, ":max": {"N": "5"}}
    assert update["ConditionExpression"] == "(attribute_not_exists(subscriptions) OR subscriptions < :max)"


def test_a_shrinking_counter_drops_its_growth_guard():
    writes = Writes("t")
    writes.add(STATS, {"n": -1}, guard="attribute_exists(pk)")
    [operation] = writes.operations()
    assert "ConditionExpression" not in operation["Update"]


def test_a_put_after_a_delete_replaces_the_item_under_the_delete_condition():
    writes = Writes("t")
    writes.delete(ITEM, condition="attribute_exists(pk)")
    writes.put({**ITEM, "doc": "new"}, condition="attribute_not_exists(pk)")
    [operation] = writes.operations()
    assert operation["Put"]["Item"]["doc"] == {"S": "new"}
    assert operation["Put"]["ConditionExpression"] == "attribute_exists(pk)"


def test_order_is_the_order_items_were_first_touched():
    writes = Writes("t")
    writes.delete(ITEM)
    writes.add(STATS, {"n": 1})
    writes.put({**ITEM, "doc": "x"})
    assert [key["sk"] for key in keys(writes.operations())] == [{"S": "SUB#1"}, {"S": "STATS"}]


@pytest.mark.parametrize(
    "first, second",
    [
        (lambda w: w.put({**ITEM}), lambda w: w.put({**ITEM})),
        (lambda w: w.put({**ITEM}), lambda w: w.delete(ITEM)),
        (lambda w: w.delete(ITEM), lambda w: w.delete(ITEM)),
        (lambda w: w.delete(ITEM), lambda w: w.put({**ITEM}, condition="doc = :x", values={":x": 1})),
        (lambda w: w.add(ITEM, {"n": 1}), lambda w: w.put({**ITEM})),
        (lambda w: w.put({**ITEM}), lambda w: w.add(ITEM, {"n": 1})),
        (lambda w: w.update(ITEM, "SET a = :a", {":a": 1}), lambda w: w.add(ITEM, {"n": 1})),
        (lambda w: w.add(ITEM, {"n": 1}), lambda w: w.update(ITEM, "SET a = :a", {":a": 1})),
    ],
)
def test_any_other_second_write_of_an_item_is_refused_before_sending(first, second):
    writes = Writes("t")
    first(writes)
    with pytest.raises(ValueError, match="in one transaction"):
        second(writes)
