"""`switchboard catalog import`: operator additions reach the API and validation."""

from __future__ import annotations

import json

import pytest
from switchboard import wiring
from switchboard.events.models import PublishInput
from switchboard_local import admin

ADDITIONS = {
    "topics": [{"topic-nm": "IoT-Telemetry", "svc-nm": "IOT", "evt-tp-list": ["battery_low"]}],
    "event-types": [
        {
            "id": "battery_low",
            "validation-type": "strict",
            "fields": {
                "device-id": {"type": "Text", "mandatory": True},
                "level": {"type": "Integer", "mandatory": True},
            },
        }
    ],
}


def run(monkeypatch, aws, tmp_path, document) -> int:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    monkeypatch.setattr(admin, "table_name", lambda stack, output: aws["EVENTS_TABLE"])
    import argparse

    parser = argparse.ArgumentParser()
    admin.register(parser.add_subparsers())
    args = parser.parse_args(["catalog", "import", str(path)])
    return args.func(args)


def test_imported_topic_is_served_and_validated(monkeypatch, aws, tmp_path, world, capsys):
    assert run(monkeypatch, aws, tmp_path, ADDITIONS) == 0
    # the shipped topics (the seed's 10, Usage-Events, Billing-Events) and the import
    assert json.loads(capsys.readouterr().out)["topics"] == 12 + 1
    wiring.catalog()._cached = None
    assert wiring.catalog().topic("IoT-Telemetry").event_types == ["battery_low"]
    event = wiring.publishing().publish(
        world.child_admin.caller,
        None,
        PublishInput.model_validate(
            {"topic": "IoT-Telemetry", "evt-tp": "battery_low", "fld-val-list": {"device-id": "d1", "level": 5}}
        ),
    )
    assert event.topic == "IoT-Telemetry"


@pytest.mark.parametrize(
    "document",
    [
        {"topics": [{"topic-nm": "X", "evt-tp-list": ["missing_type"]}]},
        {
            "event-types": [
                {"id": "t", "validation-type": "strict", "fields": {"f": {"type": "Float", "mandatory": True}}}
            ]
        },
        "not json",
    ],
)
def test_bad_additions_are_refused(monkeypatch, aws, tmp_path, document, capsys):
    assert run(monkeypatch, aws, tmp_path, document) == 1
    assert "error" in capsys.readouterr().err
    assert wiring.events_repository().catalog_additions() is None
