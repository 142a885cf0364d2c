"""Subscription dumps: GET /topics/{ID}/dump-subscriptions (seed 003).

The request answers at once with a `referenceId`; a job on the dump queue streams every
subscription of the topic for the company into the files bucket (JSON lines, gzip or zip when
asked) through a multipart upload, a page of subscriptions and one upload part in memory at a
time, so a million subscriptions dump in the memory ten thousand take. When the file is complete
the job publishes `event_file_complete` on `MSS-Messages` for the company (`file_id` = the
reference id, `file_uri` a presigned URL), which the company's subscription to that event type
receives by webhook. Without such a subscription the request is refused (409), as the seed says.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard.accounts.service import AccountService
from switchboard.clock import iso_from_ms
from switchboard.errors import Conflict, InvalidInput
from switchboard.events.catalog_provider import CatalogProvider
from switchboard.events.models import Subscription
from switchboard.events.repository import EventsRepository
from switchboard.events.subscriptions import SubscriptionMatcher
from switchboard.objects import ObjectStore
from switchboard.tenancy import Caller

NOTICE_TOPIC = "MSS-Messages"
NOTICE_TYPE = "event_file_complete"
CONTENT_TYPES = {None: "application/x-ndjson", "gzip": "application/gzip", "zip": "application/zip"}
SUFFIXES = {None: "jsonl", "gzip": "jsonl.gz", "zip": "zip"}


class DumpRequest(BaseModel):
    """The query parameters: `compression` (true/false) and `compressionType` (gzip, zip)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    compression: bool = False
    compression_type: Literal["gzip", "zip"] | None = Field(default=None, alias="compressionType")

    @field_validator("compression", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, str):
            raise ValueError("compression must be true or false")
        return value

    @field_validator("compression_type", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def codec(self) -> Literal["gzip", "zip"] | None:
        """gzip unless zip is asked for, when compression is on; None: plain JSON lines."""
        if not self.compression:
            return None
        return self.compression_type or "gzip"


class DumpTask(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["dump"] = "dump"
    account_id: str
    topic: str
    reference_id: str
    codec: Literal["gzip", "zip"] | None = None
    requested_ms: int


class Tasks(Protocol):
    def send(self, task: Any, delay_s: int = 0) -> None: ...


class Notices(Protocol):
    """Publishes an event for a company (events/publishing.py)."""

    def publish_event(
        self,
        account_id: str,
        topic: str,
        event_type: str,
        fields: dict[str, Any],
        event_id: str | None = None,
        timestamp: str | None = None,
    ) -> Any: ...


def _line(subscription: Subscription, names: dict[str, str]) -> bytes:
    return (
        json.dumps(subscription.wire(names.get(subscription.delivery_configuration_id)), separators=(",", ":")).encode()
        + b"\n"
    )


class SubscriptionDumps:
    def __init__(
        self,
        repository: EventsRepository,
        accounts: AccountService,
        catalog: CatalogProvider,
        matcher: SubscriptionMatcher,
        objects: ObjectStore,
        tasks: Tasks,
        notices: Notices,
        clock: Callable[[], int],
        url_seconds: int,
    ) -> None:
        self._repo = repository
        self._accounts = accounts
        self._catalog = catalog
        self._matcher = matcher
        self._objects = objects
        self._tasks = tasks
        self._notices = notices
        self._clock = clock
        self._url_seconds = url_seconds

    # ------------------------------------------------------------ API
    def request(self, caller: Caller, company: str | None, topic: str, data: DumpRequest) -> str:
        """Accept a dump of `topic`'s subscriptions; the reference id the notice will carry."""
        account = self._accounts.scope_for(caller, company, "company")
        if self._catalog.current().topic(topic) is None:
            raise InvalidInput.single("ID", "enum", f"unknown topic {topic}", topic)
        now = self._clock()
        if not self._matcher.matching(account.id, NOTICE_TOPIC, NOTICE_TYPE, self._notice_probe(now), now):
            raise Conflict(
                f"no subscription receives {NOTICE_TYPE} of {NOTICE_TOPIC}: create a delivery configuration "
                f"and subscribe it to {NOTICE_TOPIC} ({NOTICE_TYPE}) first; the dump is announced that way"
            )
        reference = self._repo.next_id("subscription-dump")
        self._tasks.send(
            DumpTask(account_id=account.id, topic=topic, reference_id=reference, codec=data.codec, requested_ms=now)
        )
        return reference

    def _notice_probe(self, now: int) -> dict[str, Any]:
        return self._notice_fields("", "", 0, now)

    def _notice_fields(self, reference: str, uri: str, size: int, now: int) -> dict[str, Any]:
        return {
            "file_id": reference,
            "file_uri": uri,
            "file_size": size,
            "file_status": "COMPLETE",
            "creation_time": iso_from_ms(now),
            "modified_time": iso_from_ms(now),
            "expire_time": iso_from_ms(now + self._url_seconds * 1000),
            "file_retention_time": self._url_seconds,
        }

    # ------------------------------------------------------------ the job
    def _subscriptions(self, account_id: str, topic: str) -> Iterator[bytes]:
        names: dict[str, str] = {}
        for page in self._repo.subscription_pages(account_id):
            wanted = [s for s in page if s.topic == topic]
            unknown = {s.delivery_configuration_id for s in wanted} - set(names)
            if unknown:
                names.update(self._repo.configuration_names(account_id, unknown))
            for subscription in wanted:
                yield _line(subscription, names)

    def run(self, task: DumpTask) -> int:
        """Write the dump and announce it; repeatable (the same object, the same notice event id)."""
        key = f"subscription-dumps/{task.account_id}/{task.reference_id}.{SUFFIXES[task.codec]}"
        count = 0
        with self._objects.writer(key, CONTENT_TYPES[task.codec]) as sink:
            stream: Any  # the sink itself, or a gzip or zip member stream over it
            if task.codec == "gzip":
                stream = gzip.GzipFile(fileobj=sink, mode="wb")
            elif task.codec == "zip":
                archive = zipfile.ZipFile(cast(IO[bytes], sink), "w", zipfile.ZIP_DEFLATED)
                stream = archive.open(f"subscriptions-{task.topic}.jsonl", "w", force_zip64=True)
            else:
                stream = sink
            for line in self._subscriptions(task.account_id, task.topic):
                stream.write(line)
                count += 1
            if task.codec is not None:
                stream.close()
            if task.codec == "zip":
                archive.close()
            size = sink.size
        now = self._clock()
        fields = self._notice_fields(task.reference_id, self._objects.presigned_url(key, self._url_seconds), size, now)
        fields["file_name"] = key.rsplit("/", 1)[1]
        self._notices.publish_event(
            task.account_id, NOTICE_TOPIC, NOTICE_TYPE, fields, event_id=f"subscription-dump-{task.reference_id}"
        )
        return count
