"""Every ESS list and summary call of seed 003, with exactly the parameters the seed shows, answers
200 (the seed calls /event-deliveries/summary with no window, /uniqueMdnCount with no topic...)."""

from __future__ import annotations

import pytest
from switchboard import wiring

from tests.support import call, load_function, rest_event

GZIP = {"compression": "true", "compressionType": "gzip"}
MDN = {"topicId": "NIS-Events", "matchingCriteria": "number = '+12345678901'", "limit": "50"}
SEED_CALLS = [
    ("ess_catalog", "/ess/v1/topics", None),
    ("ess_catalog", "/ess/v1/topics/NIS-Events/event-types", None),
    ("ess_catalog", "/ess/v1/event-types", None),
    ("ess_catalog", "/ess/v1/dictionaries/delivery-formats", None),
    ("ess_catalog", "/ess/v1/dictionaries/delivery-protocols", None),
    ("ess_catalog", "/ess/v1/dictionaries/authentication-types", None),
    ("delivery_configurations", "/ess/v1/delivery-configurations", None),
    ("subscriptions", "/ess/v1/topic-subscriptions", {"limit": "1000"}),
    ("subscriptions", "/ess/v1/topic-subscriptions/mdn", MDN),
    ("subscriptions", "/ess/v1/topic-subscriptions/uniqueMdnCount", None),
    ("event_deliveries", "/ess/v1/event-deliveries", None),
    ("event_deliveries", "/ess/v1/event-deliveries/summary", None),
    ("event_deliveries", "/ess/v1/event-delivery-attempts", None),
    ("event_buffer_files", "/ess/v1/event-buffer-files", None),
    (
        "dump_subscriptions",
        "/ess/v1/topics/NIS-Events/dump-subscriptions",
        {"compression": "true", "compressionType": "gzip"},
    ),
]


@pytest.fixture
def fns(aws):
    wiring.reset()
    return {name: load_function(name) for name in {fn for fn, _, _ in SEED_CALLS}}


@pytest.mark.parametrize(("fn", "path", "query"), SEED_CALLS, ids=[path for _, path, _ in SEED_CALLS])
def test_the_seed_call_answers_200(fns, world, fn, path, query):
    who = world.child_admin
    if fn == "dump_subscriptions":  # the seed's prerequisite: a subscription to event_file_complete
        from switchboard.events.models import DeliveryConfigurationInput, SubscriptionInput

        config, _ = wiring.configurations().create(
            who.caller, None, DeliveryConfigurationInput.model_validate({"del-cfg-nm": "n", "addr": "https://e.com/h"})
        )
        wiring.subscriptions().create(
            who.caller,
            None,
            "MSS-Messages",
            SubscriptionInput.model_validate({"del-cfg-id": config.id, "evt-tp": "event_file_complete"}),
        )
    status, body, _ = call(fns[fn], rest_event("GET", path, who.context, query=query))
    assert status == 200, body
