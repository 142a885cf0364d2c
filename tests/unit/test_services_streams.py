"""The local runtime's stream poller: Lambda's record shape and partial-batch rules."""

from __future__ import annotations

from datetime import UTC, datetime

from switchboard_local.streams import first_failure, lambda_record

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"


def records(*sequence: str) -> list[dict]:
    return [{"dynamodb": {"SequenceNumber": s}} for s in sequence]


def test_lambda_record_times_and_source():
    got = lambda_record(
        {"eventID": "1", "dynamodb": {"ApproximateCreationDateTime": datetime(2026, 1, 1, tzinfo=UTC)}}, ARN
    )
    assert got["eventSourceARN"] == ARN and got["dynamodb"]["ApproximateCreationDateTime"] == 1767225600.0


def test_first_failure():
    batch = records("1", "2", "3")
    assert first_failure({"batchItemFailures": []}, batch) is None
    assert first_failure(None, batch) is None
    assert first_failure({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, batch) == 1
    assert first_failure({"batchItemFailures": [{"itemIdentifier": "9"}]}, batch) == 0  # unusable: all again


def test_filter_patterns_of_the_template():
    from switchboard_local.streams import matches

    pattern = {
        "eventName": ["INSERT", "REMOVE"],
        "dynamodb": {
            "Keys": {"pk": {"S": [{"prefix": "CO#"}]}, "sk": {"S": [{"prefix": "SYS#"}, {"prefix": "HOOK#"}]}}
        },
    }

    def record(name: str, pk: str, sk: str) -> dict:
        return {"eventName": name, "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}}}

    assert matches(pattern, record("INSERT", "CO#a", "SYS#x"))
    assert matches(pattern, record("REMOVE", "CO#a", "HOOK#r#h"))
    assert not matches(pattern, record("MODIFY", "CO#a", "SYS#x"))
    assert not matches(pattern, record("INSERT", "CO#a", "STATS"))
    assert not matches(pattern, record("INSERT", "STATE#a", "SYS#x"))
    assert matches({"dynamodb": {"Keys": {"sk": {"S": ["USER", "ACCOUNT"]}}}}, record("INSERT", "USER#u", "USER"))
