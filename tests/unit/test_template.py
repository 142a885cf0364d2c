"""template.yaml's functions against their code: every table a function is given (`*_TABLE`) it may use
(a DynamoDB policy on that table) and its code reads (the variable is a setting, and the setting is read
by a module the function imports); every queue it is given (`*_QUEUE_URL`) it may send to.

Functions are enumerated from the template, so a new function is checked without a change here.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from switchboard_local.template import logical_id_of

from tests.support import ROOT, template

LAYER = ROOT / "layers" / "common"
CONFIG = LAYER / "switchboard" / "config.py"
FUNCTION_TYPE = "AWS::Serverless::Function"


def functions() -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template()["Resources"].items()
        if resource["Type"] == FUNCTION_TYPE
    }


def variables(props: dict[str, Any], suffix: str) -> dict[str, str]:
    """The function's environment variables ending in `suffix` -> the logical id of the resource each names."""
    env = (props.get("Environment") or {}).get("Variables") or {}
    return {name: logical_id_of(value) or "" for name, value in env.items() if name.endswith(suffix)}


# ---------------------------------------------------------------- policies


def _mentions(value: Any, logical_id: str) -> bool:
    """Does a policy value point at the resource (Ref, GetAtt, or ${Id}/${Id.Attr} in a Sub)?"""
    if logical_id_of(value) == logical_id:
        return True
    if isinstance(value, dict):
        return any(_mentions(item, logical_id) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, logical_id) for item in value)
    return isinstance(value, str) and re.search(r"\$\{" + re.escape(logical_id) + r"[.}]", value) is not None


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement") or []
    return statements if isinstance(statements, list) else [statements]


def _allows(statement: dict[str, Any], action_prefixes: tuple[str, ...], logical_id: str) -> bool:
    actions = statement.get("Action") or []
    actions = actions if isinstance(actions, list) else [actions]
    return (
        statement.get("Effect") == "Allow"
        and any(isinstance(action, str) and action.startswith(action_prefixes) for action in actions)
        and _mentions(statement.get("Resource"), logical_id)
    )


def has_table_policy(props: dict[str, Any], table: str) -> bool:
    """A SAM DynamoDB policy template (DynamoDBCrudPolicy, DynamoDBReadPolicy, ...) naming the table, or a
    statement allowing dynamodb actions on it."""
    for policy in props.get("Policies") or []:
        if not isinstance(policy, dict):
            continue
        for name, argument in policy.items():
            if (
                name.startswith("DynamoDB")
                and isinstance(argument, dict)
                and _mentions(argument.get("TableName"), table)
            ):
                return True
        if any(_allows(s, ("dynamodb:",), table) for s in _statements(policy)):
            return True
    return False


def has_send_policy(props: dict[str, Any], queue: str) -> bool:
    """SQSSendMessagePolicy on the queue, or a statement allowing sqs:SendMessage on it."""
    for policy in props.get("Policies") or []:
        if not isinstance(policy, dict):
            continue
        send = policy.get("SQSSendMessagePolicy")
        if isinstance(send, dict) and _mentions(send.get("QueueName"), queue):
            return True
        if any(_allows(s, ("sqs:SendMessage", "sqs:*"), queue) for s in _statements(policy)):
            return True
    return False


# ---------------------------------------------------------------- code


@cache
def setting_names() -> dict[str, frozenset[str]]:
    """Environment variable -> the attribute names it is read under, from the settings classes of config.py:
    a field with `alias`/`validation_alias` (AliasChoices too), or a field named after the variable (less
    the class's `env_prefix`), as pydantic-settings reads it."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(CONFIG.read_text())):
        if not isinstance(node, ast.ClassDef):
            continue
        prefix = ""
        for item in node.body:
            if isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "model_config" for t in item.targets
            ):
                for keyword in getattr(item.value, "keywords", []):
                    if keyword.arg == "env_prefix" and isinstance(keyword.value, ast.Constant):
                        prefix = str(keyword.value.value).upper()
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            field = item.target.id
            names = {prefix + field.upper()}
            for keyword in getattr(item.value, "keywords", []) if isinstance(item.value, ast.Call) else []:
                if keyword.arg in ("alias", "validation_alias"):
                    names |= {
                        const.value.upper()
                        for const in ast.walk(keyword.value)
                        if isinstance(const, ast.Constant) and isinstance(const.value, str)
                    }
            for name in names:
                found.setdefault(name, set()).add(field)
    return {name: frozenset(fields) for name, fields in found.items()}


def _module_file(name: str) -> Path | None:
    if name != "switchboard" and not name.startswith("switchboard."):
        return None
    base = LAYER / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(path: Path, package: str) -> set[str]:
    """Modules a file imports: import statements anywhere in it (function-level ones too), and the names
    given to lazy_import / importlib.import_module."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}  # `from pkg import module`
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("lazy_import", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    expanded = set(names)
    for name in names:  # importing a.b.c runs a/__init__.py and a/b/__init__.py
        parts = name.split(".")
        expanded |= {".".join(parts[:i]) for i in range(1, len(parts))}
    return expanded


@cache
def reachable_sources(code_uri: str) -> tuple[str, ...]:
    """The source of the function's app.py and of every layer module it reaches through imports, but
    config.py (declaring a setting is not reading it)."""
    start = ROOT / code_uri / "app.py"
    seen: dict[Path, str] = {}
    todo: list[tuple[Path, str]] = [(start, "")]
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen[path] = path.read_text()
        for name in _imports(path, package):
            found = _module_file(name)
            if found is not None and found not in seen:
                todo.append((found, name if found.name == "__init__.py" else name.rsplit(".", 1)[0]))
    return tuple(source for path, source in seen.items() if path != CONFIG)


def reads_setting(code_uri: str, variable: str) -> bool:
    """Some module the function reaches reads one of the variable's settings attributes (or the variable
    itself, by name)."""
    attributes = setting_names().get(variable, frozenset())
    for source in reachable_sources(code_uri):
        if variable in source:
            return True
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and node.attr in attributes:
                return True
    return False


# ---------------------------------------------------------------- the checks

FUNCTIONS = functions()


def table_gaps(props: dict[str, Any]) -> list[str]:
    gaps = []
    for variable, table in variables(props, "_TABLE").items():
        if not table:
            gaps.append(f"{variable} does not !Ref a table")
            continue
        if not has_table_policy(props, table):
            gaps.append(f"{variable}: no DynamoDB policy on {table}")
        if variable not in setting_names():
            gaps.append(f"{variable}: not a setting in switchboard/config.py")
        elif not reads_setting(props["CodeUri"], variable):
            gaps.append(f"{variable}: not read by any module {props['CodeUri']}app.py imports")
    return gaps


def queue_gaps(props: dict[str, Any]) -> list[str]:
    gaps = []
    for variable, queue in variables(props, "_QUEUE_URL").items():
        if not queue:
            gaps.append(f"{variable} does not !Ref a queue")
        elif not has_send_policy(props, queue):
            gaps.append(f"{variable}: no send policy on {queue}")
    return gaps


def test_every_function_folder_is_a_template_function():
    code_uris = {props["CodeUri"].rstrip("/") for props in FUNCTIONS.values()}
    folders = {f"functions/{path.parent.name}" for path in (ROOT / "functions").glob("*/app.py")}
    assert code_uris == folders


# Gaps in template.yaml known when this test was written, each to be closed in the template (strict:
# the entry must go once it is).
KNOWN_TABLE_GAPS = {
    "EssCatalogFunction": "ACCOUNTS_TABLE is set but no DynamoDB policy names AccountsTable",
}


def _known(function: str, known: dict[str, str]) -> Any:
    marks = [pytest.mark.xfail(reason=known[function], strict=True)] if function in known else []
    return pytest.param(function, marks=marks, id=function)


@pytest.mark.parametrize("function", [_known(f, KNOWN_TABLE_GAPS) for f in sorted(FUNCTIONS)])
def test_every_table_variable_has_a_policy_and_is_read(function):
    gaps = table_gaps(FUNCTIONS[function])
    assert not gaps, f"{function}: {gaps}"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_queue_variable_has_a_send_policy(function):
    gaps = queue_gaps(FUNCTIONS[function])
    assert not gaps, f"{function}: {gaps}"


# ---------------------------------------------------------------- the checks themselves can fail


def _function(policies: list[Any], **env: Any) -> dict[str, Any]:
    return json.loads(
        json.dumps({"CodeUri": "functions/alerts/", "Environment": {"Variables": env}, "Policies": policies})
    )


def test_a_table_without_a_policy_or_a_setting_is_reported():
    read_alerts = {"DynamoDBReadPolicy": {"TableName": {"Ref": "AlertsTable"}}}
    assert table_gaps(_function([read_alerts], ALERTS_TABLE={"Ref": "AlertsTable"})) == []
    assert table_gaps(_function([], ALERTS_TABLE={"Ref": "AlertsTable"})) == [
        "ALERTS_TABLE: no DynamoDB policy on AlertsTable"
    ]
    on_other = {"DynamoDBCrudPolicy": {"TableName": {"Ref": "RulesTable"}}}
    assert table_gaps(_function([on_other], ALERTS_TABLE={"Ref": "AlertsTable"})) == [
        "ALERTS_TABLE: no DynamoDB policy on AlertsTable"
    ]
    statement = {
        "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": {"Fn::GetAtt": ["AlertsTable", "Arn"]}}
        ]
    }
    assert table_gaps(_function([statement], ALERTS_TABLE={"Ref": "AlertsTable"})) == []
    unknown = {"DynamoDBReadPolicy": {"TableName": {"Ref": "NowhereTable"}}}
    assert table_gaps(_function([unknown], NOWHERE_TABLE={"Ref": "NowhereTable"})) == [
        "NOWHERE_TABLE: not a setting in switchboard/config.py"
    ]


def test_a_table_the_code_does_not_reach_is_reported():
    # The authorizer resolves keys; it never builds the deliveries repository.
    deliveries = {"DynamoDBCrudPolicy": {"TableName": {"Ref": "DeliveriesTable"}}}
    function = _function([deliveries], DELIVERIES_TABLE={"Ref": "DeliveriesTable"})
    function["CodeUri"] = "functions/authorizer/"
    assert table_gaps(function) == ["DELIVERIES_TABLE: not read by any module functions/authorizer/app.py imports"]


def test_a_queue_without_a_send_policy_is_reported():
    send = {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["DeliveryQueue", "QueueName"]}}}
    assert queue_gaps(_function([send], DELIVERY_QUEUE_URL={"Ref": "DeliveryQueue"})) == []
    assert queue_gaps(_function([], DELIVERY_QUEUE_URL={"Ref": "DeliveryQueue"})) == [
        "DELIVERY_QUEUE_URL: no send policy on DeliveryQueue"
    ]
    poll = {"SQSPollerPolicy": {"QueueName": {"Fn::GetAtt": ["DeliveryQueue", "QueueName"]}}}
    assert queue_gaps(_function([poll], DELIVERY_QUEUE_URL={"Ref": "DeliveryQueue"})) == [
        "DELIVERY_QUEUE_URL: no send policy on DeliveryQueue"
    ]
