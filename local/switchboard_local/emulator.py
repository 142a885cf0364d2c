"""The in-process AWS emulator (moto server mode) and provisioning of the template into it."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import threading
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .template import (
    REGION,
    PhysicalResource,
    Resolver,
    Template,
    TemplateError,
    kms_alias_name,
    physical_resources,
)

log = logging.getLogger(__name__)

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def aws_client(service: str, endpoint_url: str, **config: Any) -> Any:
    """A boto3 client for the emulator: fake credentials, fixed region, never real AWS."""
    session: Any = boto3.session.Session()  # any service name: the typed overloads want literals
    return session.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        config=Config(**{"retries": {"max_attempts": 2, "mode": "standard"}, **config}),
        aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
    )


class EmulatorError(RuntimeError):
    pass


class Emulator:
    """moto's server on a loopback port, in a thread of this process.

    moto keeps its state in process-global backends: every emulator of a process shares
    it. The first one to start and the last one to stop reset it, so a run starts empty
    without wiping a sibling that is still running (tests may start a second runtime).
    """

    _running = 0
    _running_lock = threading.Lock()

    def __init__(self, port: int = 4566, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requested_port = port
        self._server: Any = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmulatorError("emulator not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        # werkzeug logs every request at INFO; the runtime has its own, shorter console.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _check_port_free(self.host, self.requested_port)
        server = _new_moto_server(self.host, self.requested_port)
        server.start()
        if server.error is not None:
            raise EmulatorError(
                f"cannot start the AWS emulator on {self.host}:{self.requested_port}: {server.error}"
            ) from server.error
        self._server = server
        self.port = server.get_host_and_port()[1]
        with Emulator._running_lock:
            if Emulator._running == 0:
                self.reset()
            Emulator._running += 1

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        if self._server is not None:
            with Emulator._running_lock:
                Emulator._running -= 1
                if Emulator._running == 0:
                    with contextlib.suppress(OSError):  # already down: nothing to reset
                        self.reset()
            self._server.stop()
            self._server = None

    def client(self, service: str, **config: Any) -> Any:
        return aws_client(service, self.url, **config)


def _check_port_free(host: str, port: int) -> None:
    # werkzeug reports a busy port by printing and exiting; say it plainly instead.
    if port == 0:
        return
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise EmulatorError(
                f"cannot start the AWS emulator on {host}:{port}: {exc.strerror or exc} "
                "(another emulator or LocalStack running? use --emulator-port)"
            ) from exc


def _new_moto_server(host: str, port: int) -> Any:
    from moto.server import ThreadedMotoServer  # heavy import: only when the emulator starts

    class MotoServer(ThreadedMotoServer):
        """ThreadedMotoServer that reports a failed bind instead of hanging in start()."""

        error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                super()._server_entry()
            except BaseException as exc:
                self.error = exc
                self._server_ready_event.set()

    return MotoServer(host, port, verbose=False)


# --------------------------------------------------------------------------- provisioning


def _bool_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
)
_GSI_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


class Provisioner:
    """Creates every emulated resource of a template and records its physical ids.

    Resources are created kind by kind in dependency order (keys before the tables they
    encrypt, every queue before any redrive policy), resolving each one's properties just
    before creating it so `Ref`s to already-created resources see real ids.
    """

    def __init__(self, template: Template, endpoint_url: str) -> None:
        self.template = template
        self.endpoint_url = endpoint_url
        self.physical: dict[str, PhysicalResource] = physical_resources(template, emulator_url=endpoint_url)
        self.resolver = Resolver(template, self.physical)

    def client(self, service: str) -> Any:
        return aws_client(service, self.endpoint_url)

    def provision(self) -> dict[str, PhysicalResource]:
        steps: list[tuple[tuple[str, ...], Callable[[str, dict[str, Any]], None]]] = [
            (("AWS::KMS::Key",), self._kms_key),
            (("AWS::KMS::Alias",), self._kms_alias),
            (("AWS::S3::Bucket",), self._bucket),
            (("AWS::SNS::Topic",), self._topic),
            (("AWS::SecretsManager::Secret",), self._secret),
            (("AWS::SQS::Queue",), self._queue),
            (("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"), self._table),
            (("AWS::SES::EmailIdentity",), self._ses_identity),
        ]
        for types, create in steps:
            for logical_id, resource in self.template.of_type(*types).items():
                try:
                    create(logical_id, self.resolver.resolve(resource.get("Properties") or {}))
                except (ClientError, BotoCoreError, TemplateError, KeyError, ValueError) as exc:
                    raise EmulatorError(f"cannot create {logical_id} ({resource['Type']}): {exc}") from exc
        self._redrive_policies()
        self._verify_parameter_identities()
        return self.physical

    # -- KMS

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        kms = self.client("kms")
        args: dict[str, Any] = {"Description": props.get("Description", logical_id)}
        for key in ("KeySpec", "KeyUsage"):
            if key in props:
                args[key] = props[key]
        if "KeyPolicy" in props:
            args["Policy"] = json.dumps(props["KeyPolicy"])
        meta = kms.create_key(**args)["KeyMetadata"]
        # The alias lets other processes (`switchboard invoke`) find the random key id.
        kms.create_alias(AliasName=kms_alias_name(self.template.stack_name, logical_id), TargetKeyId=meta["KeyId"])
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        self.physical[logical_id] = PhysicalResource(meta["KeyId"], {"Arn": meta["Arn"], "KeyId": meta["KeyId"]})

    def _kms_alias(self, logical_id: str, props: dict[str, Any]) -> None:
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])

    # -- S3, SNS, Secrets Manager

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        s3 = self.client("s3")
        name = self.physical[logical_id].ref
        s3.create_bucket(Bucket=name)
        versioning = (props.get("VersioningConfiguration") or {}).get("Status")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})

    def _topic(self, logical_id: str, props: dict[str, Any]) -> None:
        attributes = {k: _bool_text(props[k]) for k in ("FifoTopic", "ContentBasedDeduplication") if k in props}
        self.client("sns").create_topic(Name=self.physical[logical_id].attributes["TopicName"], Attributes=attributes)

    def _secret(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self.physical[logical_id].ref.rsplit(":secret:", 1)[1]
        value = props.get("SecretString")
        if value is None:
            generate = props.get("GenerateSecretString") or {}
            password = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))[:32]
            if "SecretStringTemplate" in generate:
                document = json.loads(generate["SecretStringTemplate"])
                document[generate.get("GenerateStringKey", "password")] = password
                value = json.dumps(document)
            else:
                value = password
        arn = self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        self.physical[logical_id] = PhysicalResource(arn)

    # -- SQS

    def _queue(self, logical_id: str, props: dict[str, Any]) -> None:
        sqs = self.client("sqs")
        phys = self.physical[logical_id]
        attributes = {k: _bool_text(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
        tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
        url = sqs.create_queue(QueueName=phys.attributes["QueueName"], Attributes=attributes, tags=tags)["QueueUrl"]
        phys.ref = phys.attributes["QueueUrl"] = url

    def _redrive_policies(self) -> None:
        # Applied once every queue exists, so a DLQ is there whatever the template order.
        sqs = self.client("sqs")
        for logical_id, resource in self.template.of_type("AWS::SQS::Queue").items():
            props = resource.get("Properties") or {}
            attributes = {}
            for key in ("RedrivePolicy", "RedriveAllowPolicy"):
                if key in props:
                    value = self.resolver.resolve(props[key])
                    attributes[key] = value if isinstance(value, str) else json.dumps(value)
            if attributes:
                sqs.set_queue_attributes(QueueUrl=self.physical[logical_id].ref, Attributes=attributes)

    # -- DynamoDB

    def _table(self, logical_id: str, props: dict[str, Any]) -> None:
        ddb = self.client("dynamodb")
        name = self.physical[logical_id].ref
        resource_type = self.template.resource_type(logical_id)
        args = _simple_table_args(props) if resource_type == "AWS::Serverless::SimpleTable" else _table_args(props)
        description = ddb.create_table(TableName=name, **args)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"],
                    "Enabled": True,
                },
            )
        pitr = props.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled") in (True, "true"):
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": True,
                },
            )
        phys = self.physical[logical_id]
        phys.attributes["Arn"] = description["TableArn"]
        if description.get("LatestStreamArn"):
            phys.attributes["StreamArn"] = description["LatestStreamArn"]

    # -- SES

    def _ses_identity(self, logical_id: str, props: dict[str, Any]) -> None:
        self._verify_identity(str(props["EmailIdentity"]))

    def _verify_parameter_identities(self) -> None:
        # Sending mail needs a verified identity; a parameter holding an address (the
        # sender) is the template's way of naming it.
        for value in self.template.parameters.values():
            if "@" in value and " " not in value and "," not in value:
                self._verify_identity(value)

    def _verify_identity(self, identity: str) -> None:
        ses = self.client("ses")
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)


def _table_args(props: Mapping[str, Any]) -> dict[str, Any]:
    billing = props.get("BillingMode", "PROVISIONED")
    args: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    gsis = []
    for gsi in props.get("GlobalSecondaryIndexes") or []:
        index = {k: gsi[k] for k in _GSI_KEYS if k in gsi}
        if billing == "PROVISIONED":
            index["ProvisionedThroughput"] = _throughput(gsi.get("ProvisionedThroughput"))
        gsis.append(index)
    if gsis:
        args["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {k: lsi[k] for k in ("IndexName", "KeySchema", "Projection")}
        for lsi in props.get("LocalSecondaryIndexes") or []
    ]
    if lsis:
        args["LocalSecondaryIndexes"] = lsis
    stream = props.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        spec: dict[str, Any] = {"Enabled": sse.get("SSEEnabled") in (True, "true")}
        for key in ("SSEType", "KMSMasterKeyId"):
            if key in sse:
                spec[key] = sse[key]
        args["SSESpecification"] = spec
    for key in ("Tags", "TableClass", "DeletionProtectionEnabled"):
        if key in props:
            args[key] = props[key]
    return args


def _simple_table_args(props: Mapping[str, Any]) -> dict[str, Any]:
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    type_code = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
    args: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": type_code}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
    }
    if props.get("ProvisionedThroughput"):
        args.update(BillingMode="PROVISIONED", ProvisionedThroughput=_throughput(props["ProvisionedThroughput"]))
    else:
        args["BillingMode"] = "PAY_PER_REQUEST"
    return args


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def lookup_kms_keys(template: Template, physical: dict[str, PhysicalResource], endpoint_url: str) -> None:
    """Replace KMS alias placeholders with the key ids of a running emulator, if reachable.

    Used by processes that did not provision (`switchboard invoke`): the alias already works
    as a KeyId for most KMS calls, so failing to reach the emulator is not an error.
    """
    keys = template.of_type("AWS::KMS::Key")
    if not keys:
        return
    kms = aws_client("kms", endpoint_url, connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
    for logical_id in keys:
        try:
            meta = kms.describe_key(KeyId=kms_alias_name(template.stack_name, logical_id))["KeyMetadata"]
        except (ClientError, BotoCoreError):
            return
        physical[logical_id] = PhysicalResource(meta["KeyId"], {"Arn": meta["Arn"], "KeyId": meta["KeyId"]})


# --------------------------------------------------------------------------- stack outputs


def register_stack(endpoint_url: str, stack_name: str, outputs: Mapping[str, Mapping[str, Any]]) -> None:
    """Make `describe_stacks(StackName=...)` answer the resolved outputs, as after `sam deploy`.

    moto's CloudFormation keeps a stack whose outputs are literal strings. CloudFormation
    wants at least one resource: the template has one, behind a condition that is never
    true, so nothing is created.
    """
    cfn = aws_client("cloudformation", endpoint_url)
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{stack_name} (switchboard local runtime)",
        "Conditions": {"Never": {"Fn::Equals": ["local", "aws"]}},
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue", "Condition": "Never"}},
        "Outputs": {
            key: {k: v for k, v in (("Value", str(o["Value"])), ("Description", o.get("Description"))) if v}
            for key, o in outputs.items()
        },
    }
    cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(body))
