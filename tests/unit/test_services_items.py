"""Which stream records are counted, and as what."""

from __future__ import annotations

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from switchboard.errors import NotFound
from switchboard.services.audit import new_audit_id, parse_audit_id, summary_rows
from switchboard.services.items import Counted, classify
from switchboard.services.quantities import change_from_record, table_kind_of

A = "4b8c6fec4b2597882c0390202d195419"


@pytest.mark.parametrize(
    "kind, keys, image, expected",
    [
        ("accounts", {"pk": "USER#u", "sk": "USER"}, {"account_id": A}, Counted(A, "users", "user")),
        ("accounts", {"pk": "ACCOUNT#c", "sk": "ACCOUNT"}, {"parent_id": A}, Counted(A, "accounts", "account")),
        ("accounts", {"pk": "ACCOUNT#c", "sk": "ACCOUNT"}, {}, None),  # a top account counts for nobody
        ("accounts", {"pk": "APIKEY#h", "sk": "APIKEY"}, {"account_id": A}, None),
        ("events", {"pk": f"ACCT#{A}", "sk": "SUB#000000001001"}, {}, Counted(A, "ess", "subscription")),
        ("events", {"pk": f"ACCT#{A}", "sk": "DELCFG#000000001001"}, {}, Counted(A, "ess", "delivery_configuration")),
        ("events", {"pk": f"ACCT#{A}", "sk": "DELCFGNAME#books"}, {}, None),
        ("events", {"pk": f"SUBIDX#{A}#NIS-Events#*", "sk": "SUB#000000001001"}, {}, None),  # index entry
        ("events", {"pk": f"ACCT#{A}", "sk": "STATS"}, {}, None),
        ("rules", {"pk": f"CO#{A}", "sk": "SYS#x"}, {}, Counted(A, "airvantage", "system")),
        ("rules", {"pk": f"CO#{A}", "sk": "RULE#r"}, {}, Counted(A, "airvantage", "alert_rule")),
        ("rules", {"pk": f"CO#{A}", "sk": "HOOK#r#h"}, {}, Counted(A, "airvantage", "hook")),
        ("rules", {"pk": f"STATE#{A}", "sk": "SYS#x"}, {}, None),
    ],
)
def test_classify(kind, keys, image, expected):
    assert classify(kind, keys, image) == expected


def record(name: str, keys: dict, image: dict) -> dict:
    ser = TypeSerializer()
    data = {
        "Keys": {k: ser.serialize(v) for k, v in keys.items()},
        "SequenceNumber": "1",
        "ApproximateCreationDateTime": 1764374400,
    }
    side = "NewImage" if name == "INSERT" else "OldImage"
    data[side] = {k: ser.serialize(v) for k, v in {**keys, **image}.items()}
    return {"eventID": "e1", "eventName": name, "dynamodb": data}


def test_inserts_add_removals_subtract_updates_are_ignored():
    keys = {"pk": f"CO#{A}", "sk": "SYS#x"}
    des = TypeDeserializer().deserialize
    added = change_from_record("rules", record("INSERT", keys, {}), des)
    removed = change_from_record("rules", record("REMOVE", keys, {}), des)
    assert added is not None and added.delta == 1 and added.at_ms == 1764374400000 and added.record_id == "e1"
    assert removed is not None and removed.delta == -1
    assert change_from_record("rules", {**record("INSERT", keys, {}), "eventName": "MODIFY"}, des) is None


def test_table_kind_from_the_stream_arn():
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/prod-RulesTable-1X2Y/stream/2026-01-01T00:00:00.000"
    assert table_kind_of(arn, {"prod-RulesTable-1X2Y": "rules"}) == "rules"
    assert table_kind_of(arn, {"other": "rules"}) is None


def test_audit_ids_carry_their_month_and_time():
    audit_id = new_audit_id(1_575_849_600_000)  # 2019-12-09
    assert audit_id.startswith("201912-") and len(audit_id) == 39
    assert int(parse_audit_id(audit_id)[:12], 16) == 1_575_849_600_000
    with pytest.raises(NotFound):
        parse_audit_id("202001-" + audit_id[7:])  # the month does not match the time inside
    with pytest.raises(NotFound):
        parse_audit_id("201913-" + "0" * 32)


def test_summary_rows():
    rows = summary_rows(
        [{"sk": "DAY#2019-12-09#user", "addition": 1, "removal": 0, "quantity": 2, "last_timestamp": 63743140695}]
    )
    assert rows == {
        "user": {
            "2019-12-09": {
                "addition": 1,
                "last_timestamp": 63743140695,
                "quantity": 2,
                "removal": 0,
                "sum_quantity": False,
            }
        }
    }
