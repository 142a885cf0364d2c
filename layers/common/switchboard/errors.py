"""Domain errors. Each dialect maps them to its own wire shape in one place."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error a caller may see; anything else is a bug (500)."""


class NotFound(DomainError):
    def __init__(self, resource_id: str, kind: str = "resource", field: str | None = None) -> None:
        super().__init__(f"{kind} {resource_id} not found")
        self.resource_id = resource_id
        self.kind = kind
        self.field = field  # the input field that named the missing resource, if any


class Forbidden(DomainError):
    def __init__(self, reason: str = "forbidden") -> None:
        super().__init__(reason)
        self.reason = reason


class FeatureDisabled(DomainError):
    def __init__(self, feature: str) -> None:
        super().__init__(f"{feature} is disabled")
        self.feature = feature


class PayloadTooLarge(DomainError):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"request body larger than {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


class Conflict(DomainError):
    """The request clashes with the resource's state (a duplicate name, a resource in use)."""


class LimitExceeded(DomainError):
    """A per-company quota would be exceeded."""


class Unavailable(DomainError):
    """A dependency failed; the request may be retried as it is (nothing was half-done)."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, in dialect-neutral terms.

    `code` follows JSON-schema vocabulary (required, type, enum, minimum, maxLength, invalid…)
    because every dialect's validation errors can be phrased from it.
    """

    path: tuple[str | int, ...]
    code: str
    message: str
    value: object = None
    target: object = None

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path)


@dataclass
class InvalidInput(DomainError):
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__("; ".join(f"{e.dotted}: {e.message}" for e in self.errors))

    @classmethod
    def single(
        cls, path: str | tuple[str | int, ...], code: str, message: str, value: object = None, target: object = None
    ) -> InvalidInput:
        parts = tuple(path.split(".")) if isinstance(path, str) else path
        return cls([FieldError(parts, code, message, value, target)])


class CodedError(DomainError):
    """An error its dialect reports by code, as AirVantage does: `{"error": code, "errorParameters": [...]}`.

    `parameters` are strings (where the problem is, the offending value, a limit); `status` is the HTTP status.
    """

    def __init__(
        self, code: str, parameters: list[str] | None = None, status: int = 400, message: str | None = None
    ) -> None:
        super().__init__(message or code)
        self.code = code
        self.parameters = [str(parameter) for parameter in parameters or []]
        self.status = status
