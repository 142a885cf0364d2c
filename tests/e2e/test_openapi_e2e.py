"""Schemathesis against `switchboard local`: every operation of every dialect's OpenAPI document, as served by
the runtime at /_openapi/<dialect>.json, with a real account's key. Bounded: a few examples per operation,
a fixed seed, no shrinking. Checks: no 5xx (`not_a_server_error`) and every answer conforms to the
document (`response_schema_conformance`); every failure of every operation is reported at once."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import Principal

pytestmark = pytest.mark.e2e

SEED = 20261129
EXAMPLES = 4  # per operation
CHECKS = [not_a_server_error, response_schema_conformance]
DIALECTS = ("crossbar", "airvantage", "ess", "expeto")


def credentials(dialect: str, token: str) -> dict[str, str]:
    """The dialect's own way of presenting the key (docs/authentication.md)."""
    return {"X-Auth-Token": token} if dialect == "crossbar" else {"Authorization": f"Bearer {token}"}


def exercise(operation: Any, base_url: str, headers: dict[str, str], path_parameters: dict[str, str]) -> list[str]:
    """Run one operation's examples; the failures found, as text."""
    failures: list[str] = []
    known = {name: value for name, value in path_parameters.items() if name in operation.path_parameters}
    strategy = operation.as_strategy(path_parameters=known or None)

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as exc:  # a check failed: keep it and go on with the other examples
            failures.append(f"{operation.label}: {exc}")

    run()
    return failures


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_operation_answers_without_server_errors_and_as_documented(
    runtime: LocalRuntime, tenant: Principal, dialect: str
) -> None:
    served = requests.get(f"{runtime.api_url}/_openapi/{dialect}.json", timeout=10)
    assert served.status_code == 200, served.text
    schema = schemathesis.openapi.from_dict(served.json())
    headers = credentials(dialect, tenant.token)
    path_parameters = {"account_id": tenant.account_id}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{dialect}.json has no operation"
    failures: list[str] = []
    for operation in operations:
        failures += exercise(operation, runtime.api_url, headers, path_parameters)
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:20])
