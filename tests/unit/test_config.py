"""A function whose environment lacks a variable an object needs fails when the wiring first builds that
object, naming the variable; nothing switches on whether a variable happens to be set."""

from __future__ import annotations

import pytest
from switchboard import aws, config, wiring


@pytest.fixture(autouse=True)
def _forget_settings():
    wiring.reset()
    yield
    wiring.reset()
    aws.reset()  # objects built here made clients outside moto


def test_a_missing_table_variable_fails_the_first_build_naming_it(monkeypatch):
    monkeypatch.delenv("ACCOUNTS_TABLE", raising=False)
    with pytest.raises(config.MissingSetting, match="ACCOUNTS_TABLE"):
        wiring.accounts()


def test_an_empty_variable_is_missing_too(monkeypatch):
    monkeypatch.setenv("EVENTS_TABLE", "")
    with pytest.raises(config.MissingSetting, match="EVENTS_TABLE"):
        config.load(config.EventsSettings)


def test_a_missing_queue_fails_only_the_objects_that_send_to_it(monkeypatch):
    monkeypatch.setenv("EVENTS_TABLE", "events")
    monkeypatch.setenv("ACCOUNTS_TABLE", "accounts")
    monkeypatch.delenv("DELIVERY_QUEUE_URL", raising=False)
    assert wiring.subscriptions() is not None  # reads and writes the tables alone
    with pytest.raises(config.MissingSetting, match="DELIVERY_QUEUE_URL"):
        wiring.configurations()  # releases waiting deliveries onto the delivery queue


def test_settings_are_read_once_until_reset(monkeypatch):
    monkeypatch.setenv("RULES_TABLE", "first")
    assert config.load(config.RulesSettings).rules_table == "first"
    monkeypatch.setenv("RULES_TABLE", "second")
    assert config.load(config.RulesSettings).rules_table == "first"
    wiring.reset()
    assert config.load(config.RulesSettings).rules_table == "second"
