"""Every queue consumer's one rule for a message that fails (docs/operations.md, "Poison messages").

A *transient* failure (a dependency unavailable, throttled, a conflict) is raised back to the batch
processor: the message becomes visible again and is retried, up to the queue's redrive count. A
*permanent* failure — the message can never be processed as it is (it does not parse, it holds a value
evaluation or DynamoDB cannot hold, DynamoDB refuses the item) — is recorded and released at once: the
message is copied to the queue's dead-letter queue with the reason, then reported as handled so the
batch processor deletes it. Retrying it would only block what follows (on a FIFO queue, the rest of its
message group) for the whole redrive count.

Handlers check what they can before their first write, so a message released as permanent has changed
nothing.

DynamoDB stream consumers follow the same rule (`StreamMessage`): a record that can never be processed
is copied to the consumer's dead-letter queue (the whole Lambda record, as its body) and reported
handled, so the shard moves on; a transient failure is reported, retried by Lambda (bisecting the
batch) and, once MaximumRetryAttempts are spent, described on the same queue by the OnFailure
destination.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import ValidationError

from switchboard import aws

logger = Logger(child=True)

# DynamoDB's answers that no retry can change (an item too large, a number out of range…).
_PERMANENT_CLIENT_ERRORS = {"ValidationException", "SerializationException"}


class PermanentError(Exception):
    """A message that can never be processed as it is: released to the dead-letter queue at once. A signal
    between a queue consumer and this module, never an API answer (so not a DomainError)."""


class Message(Protocol):
    """What the consumers' records (Powertools' SQSRecord) offer."""

    @property
    def body(self) -> str: ...

    @property
    def message_id(self) -> str: ...

    @property
    def attributes(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """A DynamoDB stream record as a dead letter: the record as Lambda passed it, under its event id."""

    body: str
    message_id: str
    attributes: Any = None

    @classmethod
    def of(cls, record: Any) -> StreamMessage:
        """From Powertools' DynamoDBRecord (`raw_event`, `event_id`)."""
        raw = record.raw_event
        sequence = (raw.get("dynamodb") or {}).get("SequenceNumber")
        return cls(json.dumps(raw, default=str), str(record.event_id or sequence or "stream-record"))


def is_permanent(exc: BaseException) -> bool:
    """Whether `exc` fails a message for good: the same message would fail the same way on every receive."""
    if isinstance(exc, PermanentError | ValidationError | json.JSONDecodeError | ArithmeticError | UnicodeError):
        return True  # ArithmeticError covers decimal.Overflow / InvalidOperation / Inexact from the serializer
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in _PERMANENT_CLIENT_ERRORS
    return False


class DeadLetters:
    """The dead-letter queue of one consumer's source queue."""

    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")

    def release(self, message: Message, reason: str) -> None:
        """Copy `message` to the dead-letter queue with `reason`; the caller then reports it handled."""
        request: dict[str, Any] = {
            "QueueUrl": self._queue_url,
            "MessageBody": message.body,
            "MessageAttributes": {
                "failure": {"DataType": "String", "StringValue": reason[:1000] or "permanent error"},
                "source-message-id": {"DataType": "String", "StringValue": message.message_id},
            },
        }
        if self._fifo:
            group = getattr(message.attributes, "message_group_id", None) or "dead-letters"
            request |= {"MessageGroupId": group, "MessageDeduplicationId": message.message_id}
        aws.client("sqs").send_message(**request)


def releasing(
    handler: Callable[[Any], None],
    dead_letters: Callable[[], DeadLetters],
    on_release: Callable[[str], None],
    as_message: Callable[[Any], Message] = lambda record: record,
) -> Callable[[Any], None]:
    """`handler` under the rule above: a permanent error releases the record (after `on_release(reason)`,
    e.g. a metric), anything else is raised to be retried. A failure to reach the dead-letter queue is
    raised too (the message is retried, never lost). `as_message`: what of the record is dead-lettered
    (SQS records are messages already; a stream record goes through `StreamMessage.of`)."""

    def handle(record: Any) -> None:
        try:
            handler(record)
        except Exception as exc:
            if not is_permanent(exc):
                raise
            reason = f"{type(exc).__name__}: {exc}"
            message = as_message(record)
            logger.warning("permanent failure: message dead-lettered", message_id=message.message_id, reason=reason)
            dead_letters().release(message, reason)
            on_release(reason)

    return handle
