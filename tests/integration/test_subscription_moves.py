"""Replacing a subscription is one transaction (the old one removed, the new one added) that must touch
each item once: DynamoDB refuses a transaction with two operations on one item (ValidationException,
which would surface as a 500). Every kind of move between pinned values, with the counters checked."""

from __future__ import annotations

import itertools

import pytest
from switchboard import wiring

from tests.integration.conftest import _principal
from tests.integration.test_ess_api import ess, make_config, subscribe
from tests.support import load_function

TOPIC = "/ess/v1/topics/NIS-Events/subscriptions"


@pytest.fixture
def fns(aws):
    return {name: load_function(name) for name in ("delivery_configurations", "subscriptions")}


def unique_numbers(fns, who) -> int:
    status, body, _ = ess(fns["subscriptions"], who, "GET", "/ess/v1/topic-subscriptions/uniqueMdnCount")
    assert status == 200, body
    return body["activeCount"]


def mdn_configs(fns, who, number: str) -> list[str]:
    status, body, _ = ess(
        fns["subscriptions"],
        who,
        "GET",
        "/ess/v1/topic-subscriptions/mdn",
        query={"topicId": "NIS-Events", "matchingCriteria": f"number = '{number}'"},
    )
    assert status == 200, body
    return sorted(row["delivery-cfg-id"] for row in body["subscriptions"])


def test_moving_the_only_subscription_of_a_number_to_a_new_number(fns, world):
    """The reported case: two ADD distinct_values on one PINCOUNT item in one transaction answered 500."""
    who = world.child_admin
    config = make_config(fns, who)
    status, sub, _ = subscribe(fns, who, **{"del-cfg-id": config["id"], "match-crt": "number = '+15550000001'"})
    assert status == 201, sub
    assert unique_numbers(fns, who) == 1
    status, body, _ = ess(
        fns["subscriptions"], who, "PUT", f"{TOPIC}/{sub['id']}", {"match-crt": "number = '+15550000002'"}
    )
    assert status == 200, body
    assert body["match-crt"] == "number = '+15550000002'"
    assert unique_numbers(fns, who) == 1
    assert mdn_configs(fns, who, "+15550000001") == []
    assert mdn_configs(fns, who, "+15550000002") == [config["id"]]


# criteria -> what the subscription is indexed on
CRITERIA = {
    "none": "",
    "A": "number = '+15550000001'",
    "B": "number = '+15550000002'",
    "other-field": "previous_carrier_id = '9'",
}


# (before, after, numbers other subscriptions hold, whether the move also changes configuration): every
# pair of criteria alone on its number, sharing the old number, and sharing the new one (with a change of
# configuration, so that each pair is tried both ways).
MOVES = [
    (before, after, others, others == ("B",))
    for before, after in itertools.product(CRITERIA, repeat=2)
    for others in ((), ("A",), ("B",))
]


def test_every_move_touches_each_item_once_and_keeps_the_counts(fns, world):
    """Each move in a company of its own."""
    for index, move in enumerate(MOVES):
        issued = world.accounts.create_account(f"Mover {index}")
        check_move(fns, _principal(world.accounts, issued), *move)


def check_move(fns, who, before, after, others, change_config):
    case = (before, after, others, change_config)
    first, second = make_config(fns, who), make_config(fns, who, **{"del-cfg-nm": "second"})
    for name in others:  # other subscriptions sharing the numbers
        assert subscribe(fns, who, **{"del-cfg-id": second["id"], "match-crt": CRITERIA[name]})[0] == 201
    status, sub, _ = subscribe(fns, who, **{"del-cfg-id": first["id"], "match-crt": CRITERIA[before]})
    assert status == 201, sub
    target = second if change_config else first
    status, body, _ = ess(
        fns["subscriptions"],
        who,
        "PUT",
        f"{TOPIC}/{sub['id']}",
        {"del-cfg-id": target["id"], "match-crt": CRITERIA[after]},
    )
    assert status == 200, (case, body)
    numbers = {name for name in ("A", "B") if name in others or name == after}
    assert unique_numbers(fns, who) == len(numbers), case
    for name in ("A", "B"):
        number = CRITERIA[name].split("'")[1]
        expected = ({second["id"]} if name in others else set()) | ({target["id"]} if after == name else set())
        assert mdn_configs(fns, who, number) == sorted(expected), (case, name)
    # the quota and the configurations' counts moved once each way
    repo = wiring.events_repository()
    assert len(repo.list_subscriptions(who.account_id, 0, 100)) == len(others) + 1, case
    counts = {c.id: c.subscription_count for c in repo.list_configurations(who.account_id, 0, 10)}
    assert counts == {
        first["id"]: 0 if change_config else 1,
        second["id"]: len(others) + (1 if change_config else 0),
    }, case
    # and everything can be deleted again, leaving no pinned value behind
    for stored in repo.list_subscriptions(who.account_id, 0, 100):
        assert ess(fns["subscriptions"], who, "DELETE", f"{TOPIC}/{stored.id}")[0] == 204, case
    assert unique_numbers(fns, who) == 0, case
    assert repo.pinned_fields(who.account_id, "NIS-Events") == [], case
