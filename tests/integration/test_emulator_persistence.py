"""The emulator's state survives SIGKILL: what a client was told succeeded is there after a restart.

The emulator runs in a child process (so it can be killed for real) on a data directory; the test
talks to it with boto3, kills it with SIGKILL, starts another on the same directory and reads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
SERVE = """
import sys, time
from pathlib import Path
from switchboard_local.emulator import Emulator
from switchboard_local.persistence import Maintenance, Persistence
persistence = Persistence(Path(sys.argv[1]))
emulator = Emulator(0, persistence=persistence)
emulator.start()
Maintenance(persistence, interval=0.2).start()  # items packed at rest within moments, snapshots hold them so
print(emulator.port, flush=True)
while True:
    time.sleep(60)
"""


class EmulatorProcess:
    def __init__(self, data_dir: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "local"), str(ROOT / "layers/common")])}
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(data_dir)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "state"


def key(pk: str, sk: str = "x") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def in_index(ddb: Any) -> set[str]:
    page = ddb.query(
        TableName="t", IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "G"}}
    )
    return {item["pk"]["S"] for item in page["Items"]}


def test_everything_acknowledged_before_a_sigkill_is_there_after_a_restart(data_dir):
    first = EmulatorProcess(data_dir)
    try:
        ddb, sqs, s3, kms = (first.client(s) for s in ("dynamodb", "sqs", "s3", "kms"))
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="t", Item={**key("put"), "v": {"N": "1"}, "g": {"S": "G"}})
        assert in_index(ddb) == {"put"}  # the index's grouping is built now; what follows must keep it true
        ddb.put_item(TableName="t", Item={**key("updated"), "v": {"N": "1"}})
        ddb.update_item(
            TableName="t",
            Key=key("updated"),
            UpdateExpression="SET v = v + :one, g = :g",
            ExpressionAttributeValues={":one": {"N": "1"}, ":g": {"S": "G"}},
        )
        ddb.put_item(TableName="t", Item=key("deleted"))
        ddb.delete_item(TableName="t", Key=key("deleted"))
        ddb.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": key(f"batch{i}")}} for i in range(3)]})
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": key("tx1")}},
                {"Put": {"TableName": "t", "Item": key("tx2")}},
            ]
        )

        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        for body in ("consumed", "in-flight", "waiting"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        received = {}
        while len(received) < 2:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2).get("Messages", []):
                if message["Body"] == "waiting":
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    received[message["Body"]] = message
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received["consumed"]["ReceiptHandle"])
        in_flight_at = time.monotonic()

        s3.create_bucket(Bucket="bucket-one")
        s3.put_object(Bucket="bucket-one", Key="a/b.json", Body=b'{"x": 1}')
        s3.put_object(Bucket="bucket-one", Key="gone", Body=b"-")
        s3.delete_object(Bucket="bucket-one", Key="gone")

        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        sealed = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    finally:
        first.kill()

    second = EmulatorProcess(data_dir)
    try:
        ddb, sqs, s3, kms = (second.client(s) for s in ("dynamodb", "sqs", "s3", "kms"))
        items = {i["pk"]["S"]: i for i in ddb.scan(TableName="t")["Items"]}
        assert set(items) == {"put", "updated", "batch0", "batch1", "batch2", "tx1", "tx2"}
        assert items["updated"]["v"] == {"N": "2"}
        assert in_index(ddb) == {"put", "updated"}
        ddb.update_item(TableName="t", Key=key("put"), UpdateExpression="REMOVE g")
        assert in_index(ddb) == {"updated"}

        url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
        first_look = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
        assert first_look == ["waiting"]  # the received message is still invisible, the deleted one gone
        time.sleep(max(0.0, in_flight_at + 30.5 - time.monotonic()))
        again = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, AttributeNames=["ApproximateReceiveCount"]
        )["Messages"]
        assert [m["Body"] for m in again] == ["in-flight"]  # back after its visibility timeout, as on SQS
        assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"

        assert s3.get_object(Bucket="bucket-one", Key="a/b.json")["Body"].read() == b'{"x": 1}'
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="bucket-one")["Contents"]] == ["a/b.json"]

        assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"secret"
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    finally:
        second.kill()

    # The second start folded the journal into a snapshot (tables streamed item by item): read it back.
    third = EmulatorProcess(data_dir)
    try:
        items = {i["pk"]["S"]: i for i in third.client("dynamodb").scan(TableName="t")["Items"]}
        assert set(items) == {"put", "updated", "batch0", "batch1", "batch2", "tx1", "tx2"}
        assert items["updated"]["v"] == {"N": "2"}
        assert in_index(third.client("dynamodb")) == {"updated"}
    finally:
        third.kill()


def test_a_torn_journal_tail_is_ignored(tmp_path):
    from switchboard_local.persistence import Journal

    path = tmp_path / "journal.1"
    journal = Journal(path)
    journal.sync(journal.append([("a", 1), ("b", 2)]))
    journal.close()
    with open(path, "ab") as file:
        file.write(b"\x00\x00\x01\x00garbage")  # a record cut short by a crash
    assert list(Journal.read(path)) == [("a", 1), ("b", 2)]


def test_ttl_expiry_deletes_what_has_expired_and_nothing_else():
    from moto import mock_aws
    from switchboard_local.persistence import Maintenance

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="ttl",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True})
        now = 2_000_000_000
        rows = {
            "expired": {"ttl": {"N": str(now - 10)}},
            "alive": {"ttl": {"N": str(now + 10)}},
            "no-ttl": {},
            "not-a-number": {"ttl": {"S": str(now - 10)}},
            "decades-ago": {"ttl": {"N": "1"}},  # DynamoDB ignores values more than five years past
        }
        for pk, extra in rows.items():
            ddb.put_item(TableName="ttl", Item={"pk": {"S": pk}, **extra})
        maintenance = Maintenance(None, clock=lambda: now)
        assert maintenance.expire_items() == 1
        left = {i["pk"]["S"] for i in ddb.scan(TableName="ttl")["Items"]}
        assert left == {"alive", "no-ttl", "not-a-number", "decades-ago"}
