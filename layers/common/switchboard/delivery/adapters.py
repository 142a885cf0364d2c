"""The engine's ports on AWS: tasks on SQS, configurations from the ESS table (cached, secrets
unsealed with KMS once per warm container), notices as KAZOO system alerts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from switchboard import aws, secrets
from switchboard.alerts.models import Recipient
from switchboard.alerts.service import AlertService
from switchboard.delivery.models import DeliverTask, ReleaseTask
from switchboard.errors import DomainError
from switchboard.events.configurations import DeliveryConfigurationService, deactivate, endpoint_auth_purpose
from switchboard.events.models import DeliveryConfiguration
from switchboard.events.repository import EventsRepository

# A child of the function's Logger: its lines carry the request's correlation id.
log = Logger(child=True)
DISABLED_CATEGORY = "delivery_configuration_disabled"
SQS_BATCH = 10


class SqsTasks:
    """Tasks on the delivery queue (DelaySeconds for near retries and throttle waits)."""

    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def send(self, task: BaseModel, delay_s: int = 0) -> None:
        aws.client("sqs").send_message(
            QueueUrl=self._url, MessageBody=task.model_dump_json(), DelaySeconds=max(0, min(int(delay_s), 900))
        )

    def send_many(self, tasks: Iterable[DeliverTask]) -> None:
        pending = list(tasks)
        for start in range(0, len(pending), SQS_BATCH):
            entries = {str(i): task.model_dump_json() for i, task in enumerate(pending[start : start + SQS_BATCH])}
            for _ in range(3):
                response = aws.client("sqs").send_message_batch(
                    QueueUrl=self._url, Entries=[{"Id": key, "MessageBody": body} for key, body in entries.items()]
                )
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                entries = {key: body for key, body in entries.items() if key in failed}
                if not entries:
                    break
            if entries:
                raise RuntimeError(f"{len(entries)} delivery task(s) could not be queued")


class SesMailer:
    """Rule emails through SES. Its answers are mapped onto HTTP statuses so the engine's retry rules
    apply unchanged: throttling and outages retry, a rejected message fails at once."""

    RETRYABLE = frozenset(
        {
            "Throttling",
            "ThrottlingException",
            "ServiceUnavailable",
            "InternalFailure",
            "RequestTimeout",
            "TooManyRequestsException",
        }
    )

    def __init__(self, sender: str) -> None:
        self._sender = sender

    def send(self, recipients: list[str], subject: str, text: str) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        from switchboard.delivery.sender import HttpResult

        started = time.monotonic()
        elapsed = lambda: int((time.monotonic() - started) * 1000)  # noqa: E731
        try:
            response = aws.client("ses").send_email(
                Source=self._sender,
                Destination={"ToAddresses": recipients},
                Message={
                    "Subject": {"Data": subject[:900], "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Error")
            status = 503 if code in self.RETRYABLE else 400
            return HttpResult(
                status, None, f"SES {code}: {exc.response.get('Error', {}).get('Message', '')}", "", None, elapsed()
            )
        except EndpointConnectionError as exc:
            return HttpResult(None, "connect", f"SES unreachable: {exc}", "", None, elapsed())
        except BotoCoreError as exc:
            return HttpResult(None, "http", f"SES call failed: {type(exc).__name__}", "", None, elapsed())
        return HttpResult(200, None, None, f"MessageId {response.get('MessageId', '')}", None, elapsed())


class CachedConfigurations:
    """Delivery configurations for the engine: read through a short cache (a warm worker delivers
    many events per configuration), secrets unsealed once per ciphertext."""

    def __init__(self, repository: EventsRepository, ttl_s: float) -> None:
        self._repo = repository
        self._ttl_s = ttl_s
        self._cache: dict[tuple[str, str], tuple[float, DeliveryConfiguration | None]] = {}
        self._plain: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, account_id: str, config_id: str) -> DeliveryConfiguration | None:
        key = (account_id, config_id)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        config = self._repo.get_configuration(account_id, config_id)
        with self._lock:
            self._cache[key] = (time.monotonic() + self._ttl_s, config)
        return config

    def forget(self, account_id: str, config_id: str) -> None:
        self._cache.pop((account_id, config_id), None)

    def version_check(self, config: DeliveryConfiguration) -> dict[str, Any]:
        return self._repo.version_check(config)

    def _unseal(self, ciphertext: str, account_id: str, purpose: str) -> str:
        key = (ciphertext, account_id, purpose)
        plain = self._plain.get(key)
        if plain is None:
            plain = secrets.unseal(ciphertext, account_id, purpose)
            with self._lock:
                if len(self._plain) > 4096:
                    self._plain.clear()
                self._plain[key] = plain
        return plain

    def signing_secrets(self, config: DeliveryConfiguration, now_ms: int) -> list[str]:
        return DeliveryConfigurationService.signing_secrets(config, now_ms, self._unseal)

    def basic_credentials(self, config: DeliveryConfiguration) -> tuple[str, str]:
        auth = config.authentication
        return auth.username or "", self._unseal(
            auth.sealed_password or "", config.account_id, endpoint_auth_purpose(config.id)
        )

    def client_secret(self, config: DeliveryConfiguration) -> str:
        auth = config.authentication
        return self._unseal(auth.sealed_client_secret or "", config.account_id, endpoint_auth_purpose(config.id))

    def deactivate(self, config: DeliveryConfiguration, reason: str) -> bool:
        self.forget(config.account_id, config.id)
        return deactivate(self._repo, config.account_id, config.id)

    def open_circuit(self, config: DeliveryConfiguration, until_ms: int) -> None:
        self._repo.open_circuit(config.account_id, config.id, until_ms)
        self.forget(config.account_id, config.id)


class DeliveryRelease:
    """The ActivationPort of delivery configurations: a release job on the delivery queue sends what
    waited while the configuration was inactive (and retires its deactivation alert)."""

    def __init__(self, tasks: SqsTasks) -> None:
        self._tasks = tasks

    def activated(self, config: DeliveryConfiguration) -> None:
        self._tasks.send(ReleaseTask(account_id=config.account_id, config_id=config.id))


class AlertNotices:
    """Tell the account's admins, in their KAZOO alert list, when a configuration is switched off."""

    def __init__(self, alerts: AlertService) -> None:
        self._alerts = alerts

    def configuration_disabled(self, config: DeliveryConfiguration, reason: str) -> None:
        try:
            self._alerts.raise_system_alert(
                config.account_id,
                title=f"Delivery configuration '{config.spec.name}' was deactivated",
                message=f"Switchboard stopped delivering to {config.spec.address}: {reason}. Events keep "
                "being recorded as PENDING; set is-active to true to deliver them.",
                category=DISABLED_CATEGORY,
                level="critical",
                # seed 000: a system alert's metadata is an array of objects
                metadata=[{"del-cfg-id": config.id, "del-cfg-nm": config.spec.name, "reason": reason}],
                to=[Recipient(type="admins", value=config.account_id)],
            )
        except DomainError:
            log.exception("could not raise the deactivation alert for configuration %s", config.id)

    def configuration_reactivated(self, account_id: str, config_id: str) -> None:
        self._alerts.retire_system_alerts(account_id, DISABLED_CATEGORY, subject={"del-cfg-id": config_id})
