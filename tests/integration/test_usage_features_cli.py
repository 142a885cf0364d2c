"""`switchboard accounts features ACCOUNT_ID --enable/--disable usage-notifications` on moto."""

from __future__ import annotations

import argparse
import json

import pytest
from switchboard_local import admin


def run(monkeypatch, aws, *argv: str) -> int:
    monkeypatch.setattr(admin, "table_name", lambda stack, output: aws["ACCOUNTS_TABLE"])
    parser = argparse.ArgumentParser()
    admin.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_enable_and_disable(monkeypatch, aws, world, capsys):
    account = world.child_admin.account_id
    assert not world.accounts.has_feature(account, "usage-notifications")
    assert run(monkeypatch, aws, "accounts", "features", account, "--enable", "usage-notifications") == 0
    assert json.loads(capsys.readouterr().out) == {"account_id": account, "features": ["usage-notifications"]}
    assert world.accounts.has_feature(account, "usage-notifications")
    assert not world.accounts.has_feature(world.reseller_admin.account_id, "usage-notifications")
    assert run(monkeypatch, aws, "accounts", "features", account, "--disable", "usage-notifications") == 0
    assert json.loads(capsys.readouterr().out) == {"account_id": account, "features": []}
    assert not world.accounts.has_feature(account, "usage-notifications")


def test_unknown_accounts_and_features_are_refused(monkeypatch, aws, world, capsys):
    assert run(monkeypatch, aws, "accounts", "features", "f" * 32, "--enable", "usage-notifications") == 1
    assert "not found" in json.loads(capsys.readouterr().err)["error"]
    with pytest.raises(SystemExit):
        run(monkeypatch, aws, "accounts", "features", world.child_admin.account_id, "--enable", "teleport")
    with pytest.raises(SystemExit):  # one of --enable / --disable is required
        run(monkeypatch, aws, "accounts", "features", world.child_admin.account_id)
