"""Stored documents are written by field name; those written by wire alias (before) still read the same.

A rule, a system and a delivery configuration are made through the API, their stored document is
rewritten in the alias spelling older code stored, and each still reads back identically."""

from __future__ import annotations

import json

import boto3
from switchboard import wiring
from switchboard.events.models import DeliveryConfigurationInput
from switchboard.rules.models import AlertRule, SystemInput

from tests.integration import test_ess_api as ess_api
from tests.integration import test_rules_api as rules_api
from tests.support import load_function


def _rewrite(table: str, key: dict[str, str], attribute: str, document: str) -> None:
    boto3.resource("dynamodb").Table(table).update_item(
        Key=key,
        UpdateExpression="SET #a = :d",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":d": document},
    )


def _item(table: str, pk: str, sk_prefix: str) -> dict:
    from boto3.dynamodb.conditions import Key

    found = (
        boto3.resource("dynamodb")
        .Table(table)
        .query(KeyConditionExpression=Key("pk").eq(pk) & Key("sk").begins_with(sk_prefix))["Items"]
    )
    assert len(found) == 1, found
    return found[0]


def test_rule_and_system_documents_by_field_name_and_by_alias(aws, world):
    fns = {name: load_function(name) for name in ("alert_rules", "systems")}
    who = world.child_admin
    made = rules_api.make_rule(fns, who)
    system = rules_api.make_system(fns, who)
    repo = wiring.rules_repository()
    rule_before = repo.get_rule(who.account_id, made["id"])
    system_before = repo.get_system(who.account_id, system["uid"])
    assert rule_before is not None and system_before is not None

    rule_item = _item(aws["RULES_TABLE"], f"CO#{who.account_id}", f"RULE#{made['id']}")
    assert "targetType" not in json.loads(rule_item["doc"])  # field names now
    legacy_rule = AlertRule.model_validate_json(rule_item["doc"]).model_dump_json(by_alias=True, exclude_none=True)
    _rewrite(aws["RULES_TABLE"], {"pk": rule_item["pk"], "sk": rule_item["sk"]}, "doc", legacy_rule)
    assert repo.get_rule(who.account_id, made["id"]) == rule_before

    system_item = _item(aws["RULES_TABLE"], f"CO#{who.account_id}", f"SYS#{system['uid']}")
    legacy_system = SystemInput.model_validate_json(system_item["doc"]).model_dump_json(
        by_alias=True, exclude_none=True
    )
    _rewrite(aws["RULES_TABLE"], {"pk": system_item["pk"], "sk": system_item["sk"]}, "doc", legacy_system)
    assert repo.get_system(who.account_id, system["uid"]) == system_before


def test_configuration_spec_by_field_name_and_by_alias(aws, world):
    fns = {"delivery_configurations": load_function("delivery_configurations")}
    who = world.child_admin
    made = ess_api.make_config(fns, who)
    repo = wiring.events_repository()
    before = repo.get_configuration(who.account_id, made["id"])
    assert before is not None
    item = _item(aws["EVENTS_TABLE"], f"ACCT#{who.account_id}", "DELCFG#")
    assert "del-cfg-nm" not in json.loads(item["spec"])
    legacy = DeliveryConfigurationInput.model_validate_json(item["spec"]).model_dump_json(by_alias=True)
    _rewrite(aws["EVENTS_TABLE"], {"pk": item["pk"], "sk": item["sk"]}, "spec", legacy)
    assert repo.get_configuration(who.account_id, made["id"]) == before
