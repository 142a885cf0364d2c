"""GET /event-buffer-files (seed 003), one file, and a file's content as it was delivered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from switchboard.accounts.service import AccountService
from switchboard.clock import iso_from_ms
from switchboard.delivery.buffer_repository import BufferFile, BufferRepository
from switchboard.delivery.buffers import file_event_id
from switchboard.errors import Conflict, NotFound
from switchboard.events.models import parse_time
from switchboard.events.repository import EventsRepository
from switchboard.objects import ObjectStore
from switchboard.tenancy import Caller


def _iso_ms(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO-8601 date-time such as 2017-10-27T17:29:42Z") from None


class BufferFileFilter(BaseModel):
    """Query parameters: one configuration, files opened in [from, to)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=True, frozen=True)

    config_id: str | None = Field(default=None, alias="del-cfg-id", pattern=r"^\d{1,12}$")
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None

    @model_validator(mode="after")
    def _window(self) -> BufferFileFilter:
        start, end = _iso_ms(self.from_, "from"), _iso_ms(self.to, "to")
        if start is not None and end is not None and end <= start:
            raise ValueError("to must be after from")
        return self

    @property
    def from_ms(self) -> int | None:
        return _iso_ms(self.from_, "from")

    @property
    def to_ms(self) -> int | None:
        return _iso_ms(self.to, "to")


class BufferFileQueries:
    def __init__(
        self,
        store: BufferRepository,
        events: EventsRepository,
        accounts: AccountService,
        objects: ObjectStore,
        clock: Callable[[], int],
        retention_s: int,
    ) -> None:
        self._store = store
        self._events = events
        self._accounts = accounts
        self._objects = objects
        self._clock = clock
        self._retention_ms = retention_s * 1000

    def _status(self, file: BufferFile) -> str:
        if file.closed_ms is not None and file.closed_ms + self._retention_ms < self._clock():
            return "ARCHIVED"  # past retention: the object is gone from the bucket
        return "CLOSED" if file.status == "CLOSING" else file.status

    def _wire(self, file: BufferFile, name: str | None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "file-id": file.file_id,
            "del-cfg-id": file.config_id,
            "del-cfg-nm": name,
            "file-status": self._status(file),
            "opened": iso_from_ms(file.opened_ms),
            "closed": iso_from_ms(file.closed_ms) if file.closed_ms is not None else None,
        }
        if file.status not in ("OPEN", "CLOSING"):
            row.update({"events": file.events, "size": file.size, "del-fmt-cd": file.format})
            if file.delivered:
                row["delivery-id"] = f"{file_event_id(file.file_id)}:{file.config_id}"
        return {key: value for key, value in row.items() if value is not None}

    def list(
        self, caller: Caller, company: str | None, query: BufferFileFilter, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        account_id = self._accounts.scope_for(caller, company, "company").id
        files = self._store.files(account_id, query.config_id, query.from_ms, query.to_ms, offset + limit + 1)
        page = files[offset : offset + limit]
        names = self._events.configuration_names(account_id, {file.config_id for file in page})
        return [self._wire(file, names.get(file.config_id)) for file in page], len(files) > offset + limit

    def _file(self, caller: Caller, company: str | None, file_id: str) -> BufferFile:
        account_id = self._accounts.scope_for(caller, company, "company").id
        if not file_id.isdigit() or len(file_id) > 12:
            raise NotFound(file_id, "event buffer file")
        file = self._store.get_file(account_id, int(file_id))
        if file is None:
            raise NotFound(file_id, "event buffer file")
        return file

    def get(self, caller: Caller, company: str | None, file_id: str) -> dict[str, Any]:
        file = self._file(caller, company, file_id)
        names = self._events.configuration_names(file.account_id, {file.config_id})
        return self._wire(file, names.get(file.config_id))

    def content(self, caller: Caller, company: str | None, file_id: str) -> tuple[bytes, str]:
        """The file's bytes as delivered, and their content type."""
        file = self._file(caller, company, file_id)
        status = self._status(file)
        if status == "OPEN" or file.object_key is None:
            raise Conflict(f"event buffer file {file_id} is still open; it has content once its schedule closes it")
        found = self._objects.get(file.object_key) if status != "ARCHIVED" else None
        if found is None:
            raise Conflict(f"event buffer file {file_id} is archived: its content is past retention")
        return found
