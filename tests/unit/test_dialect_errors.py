"""Every DomainError subclass, raised through a real resolver with each dialect installed, gets a 4xx
(503 for Unavailable) reply in that dialect's shape; anything else stays a logged 500.

The subclasses are found by importing every module of the `switchboard` package, so a new error type
fails here until each dialect maps it (a handler of its own or of a parent other than DomainError: the
DomainError fallback is a safety net, not a mapping)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from http import HTTPStatus
from types import ModuleType
from typing import Any

import pytest
import switchboard
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from switchboard.dialects import airvantage, crossbar, ess, expeto
from switchboard.errors import (
    CodedError,
    Conflict,
    DomainError,
    FeatureDisabled,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PayloadTooLarge,
    Unavailable,
)

from tests.support import LambdaContext, rest_event

DIALECTS: dict[str, ModuleType] = {"crossbar": crossbar, "ess": ess, "airvantage": airvantage, "expeto": expeto}

# How to build an error whose constructor takes more than a message. A subclass without an entry here is
# built with its nearest registered ancestor's factory, then with `cls("message")`, then with `cls()`.
FACTORIES: dict[type[DomainError], Callable[[type[Any]], DomainError]] = {
    NotFound: lambda cls: cls("42", "thing", field="thing-id"),
    Forbidden: lambda cls: cls("not yours"),
    FeatureDisabled: lambda cls: cls("alerts"),
    PayloadTooLarge: lambda cls: cls(1024),
    InvalidInput: lambda cls: cls.single("name", "required", "Field is required but missing", "name"),
    CodedError: lambda cls: cls("some.thing.wrong", ["where", "why"], 409, "something is wrong"),
}


def domain_error_classes() -> list[type[DomainError]]:
    """DomainError and every subclass defined in the switchboard package (all of its modules imported)."""
    for module in pkgutil.walk_packages(switchboard.__path__, "switchboard."):
        importlib.import_module(module.name)

    def below(cls: type[DomainError]) -> Iterator[type[DomainError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    found = {cls for cls in below(DomainError) if cls.__module__.startswith("switchboard")}
    return [DomainError, *sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))]


def build(cls: type[DomainError]) -> DomainError:
    attempts: list[Callable[[type[Any]], DomainError]] = [
        FACTORIES[base] for base in cls.__mro__ if base in FACTORIES and base is not DomainError
    ][:1]
    attempts += [lambda c: c("something went wrong"), lambda c: c()]
    problems = []
    for attempt in attempts:
        try:
            error = attempt(cls)
        except Exception as exc:  # every failure is reported below
            problems.append(f"{type(exc).__name__}: {exc}")
            continue
        if type(error) is cls:
            return error
        problems.append(f"built a {type(error).__name__}")
    pytest.fail(
        f"cannot build {cls.__module__}.{cls.__qualname__} ({'; '.join(problems)}): register a factory for it "
        "in FACTORIES of tests/unit/test_dialect_errors.py"
    )


def resolve(dialect: ModuleType, raised: Exception) -> tuple[int, Any, dict[str, str]]:
    app = APIGatewayRestResolver()
    dialect.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise raised

    response = app.resolve(rest_event("GET", "/boom", None), LambdaContext())
    headers = dict(response.get("headers") or {})
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key, values[-1])
    return response["statusCode"], json.loads(response["body"]), headers


def assert_shape(name: str, status: int, body: Any) -> None:
    if name == "crossbar":
        assert body["status"] == "error" and body["error"] == str(status), body
        assert isinstance(body["message"], str) and body["message"], body
        assert isinstance(body["data"], dict) and re.fullmatch(r"[0-9a-f]{32}", body["request_id"]), body
    elif name == "ess":
        assert set(body) == {"error"} and set(body["error"]) <= {"code", "message", "details"}, body
        assert re.fullmatch(r"[A-Z0-9]+(_[A-Z0-9]+)*", body["error"]["code"]), body
        assert isinstance(body["error"]["message"], str), body
        assert all(set(detail) == {"field", "reason"} for detail in body["error"].get("details", [])), body
    elif name == "expeto":
        assert set(body) == {"timestamp", "status", "error", "message", "path"}, body
        assert body["status"] == status and body["error"] == HTTPStatus(status).phrase, body
        assert isinstance(body["message"], str) and body["message"] and body["path"] == "/boom", body
    else:
        assert set(body) == {"error", "errorParameters"} and isinstance(body["error"], str), body
        assert all(isinstance(parameter, str) for parameter in body["errorParameters"]), body


CLASSES = domain_error_classes()


def test_the_enumeration_finds_the_known_errors() -> None:
    known = {
        DomainError,
        NotFound,
        Forbidden,
        FeatureDisabled,
        PayloadTooLarge,
        Conflict,
        LimitExceeded,
        Unavailable,
        InvalidInput,
        CodedError,
    }
    assert known <= set(CLASSES)


@pytest.mark.parametrize("name", sorted(DIALECTS))
@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
def test_every_domain_error_is_a_client_error_in_every_dialect(name: str, cls: type[DomainError]) -> None:
    dialect = DIALECTS[name]
    status, body, headers = resolve(dialect, build(cls))
    if issubclass(cls, Unavailable):
        assert status == 503 and headers.get("Retry-After", "").isdigit(), (status, headers)
    else:
        assert 400 <= status < 500, (cls, status, body)
    assert_shape(name, status, body)
    if cls is not DomainError:
        app = APIGatewayRestResolver()
        dialect.install(app)
        lookup = app.exception_handler_manager.lookup_exception_handler
        assert lookup(cls) is not lookup(DomainError), (
            f"{name}.install() has no mapping of its own for {cls.__qualname__} (only the DomainError "
            f"fallback answers it): map it in switchboard/dialects/{name}.py"
        )


def test_an_unmapped_subclass_is_caught_by_the_check() -> None:
    """The check above fails for an error type no dialect maps, while the fallback still keeps it a 4xx."""

    class Unmapped(DomainError):
        pass

    for dialect in DIALECTS.values():
        app = APIGatewayRestResolver()
        dialect.install(app)
        lookup = app.exception_handler_manager.lookup_exception_handler
        assert lookup(Unmapped) is lookup(DomainError)
        assert resolve(dialect, Unmapped("odd"))[0] == 400


def test_a_subclass_that_cannot_be_built_says_how_to_register_it() -> None:
    class Awkward(NotFound):
        def __init__(self, a: int, b: int, c: int) -> None:
            super().__init__(str(a + b + c))

    with pytest.raises(pytest.fail.Exception, match="register a factory"):
        build(Awkward)


@pytest.mark.parametrize(
    "error, code",
    [
        (CodedError("alert.rule.too.many", ["50"], 400), ("alert.rule.too.many", "ALERT_RULE_TOO_MANY")),
        (CodedError("odd", [], 500), ("odd", "ODD")),
    ],
)
def test_coded_errors_keep_their_code_and_a_client_status(error: CodedError, code: tuple[str, str]) -> None:
    status, body, _ = resolve(crossbar, error)
    assert status == (error.status if error.status < 500 else 400) and body["message"] == code[0]
    status, body, _ = resolve(ess, error)
    assert status == (error.status if error.status < 500 else 400) and body["error"]["code"] == code[1]
    status, body, _ = resolve(airvantage, error)
    assert body == {"error": code[0], "errorParameters": error.parameters}
    status, body, _ = resolve(expeto, error)
    assert status == (error.status if error.status < 500 else 400) and body["message"] == code[0]


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_anything_else_is_a_500(name: str) -> None:
    status, body, _ = resolve(DIALECTS[name], KeyError("bug"))
    assert status == 500
    assert_shape(name, status, body)
    assert "bug" not in json.dumps(body)
