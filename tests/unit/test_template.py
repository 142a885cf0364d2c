"""template.yaml's functions against their code: every table a function is given (`*_TABLE`) it may use
(a DynamoDB policy on that table) and its code reads (the variable is a setting, read by code the
function's app.py calls, followed function by function through the layer); every queue it is given
(`*_QUEUE_URL`) it may send to.

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


def reads_stream_of(props: dict[str, Any], table: str) -> bool:
    """A DynamoDB stream event source on the table: the function reads the table through its stream
    (SAM grants the stream actions), and names the table to tell its records from other streams'."""
    for event in (props.get("Events") or {}).values():
        stream = (event.get("Properties") or {}).get("Stream") if isinstance(event, dict) else None
        if isinstance(event, dict) and event.get("Type") == "DynamoDB" and _mentions(stream, table):
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


class _Module:
    """One layer module as the call graph needs it: its functions, and what its names stand for (modules
    imported or lazily imported, functions imported by name)."""

    def __init__(self, name: str, tree: ast.Module) -> None:
        self.tree = tree
        self.functions = {
            node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        self.modules: dict[str, str] = {}  # local name -> module
        self.imported: dict[str, tuple[str, str]] = {}  # local name -> (module, function)
        package = name if _module_file(name) and _module_file(name).name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks and function bodies included
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.modules[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1])
                    source = f"{base}.{node.module}" if node.module else base
                for alias in node.names:
                    local = alias.asname or alias.name
                    if _module_file(f"{source}.{alias.name}"):
                        self.modules[local] = f"{source}.{alias.name}"
                    else:
                        self.imported[local] = (source, alias.name)
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "lazy_import"
                and node.value.args
                and isinstance(node.value.args[0], ast.Constant)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.modules[target.id] = str(node.value.args[0].value)


@cache
def _layer_module(name: str) -> _Module | None:
    path = _module_file(name)
    return _Module(name, ast.parse(path.read_text())) if path else None


def _calls(module: _Module, tree: ast.AST) -> set[tuple[str, str]]:
    """The layer functions a piece of code names: its own module's, imported ones, `module.function`."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in module.imported:
            found.add(module.imported[node.id])
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in module.modules:
            found.add((module.modules[node.value.id], node.attr))
    return found


@cache
def reached_code(code_uri: str) -> tuple[ast.AST, ...]:
    """The function's app.py and every layer function it can call, following calls function by function
    (a composition root that builds everything adds only what this function's code asks of it)."""
    app = _Module("", ast.parse((ROOT / code_uri / "app.py").read_text()))
    reached: list[ast.AST] = [app.tree]
    seen: set[tuple[str, str]] = set()
    todo = list(_calls(app, app.tree))
    while todo:
        module_name, function = todo.pop()
        if (module_name, function) in seen:
            continue
        seen.add((module_name, function))
        module = _layer_module(module_name)
        if module is None or function not in module.functions:
            continue
        body = module.functions[function]
        reached.append(body)
        local = {(module_name, name) for name in module.functions if _names(body, name)}
        todo.extend(_calls(module, body) | local)
    return tuple(reached)


def _names(tree: ast.AST, name: str) -> bool:
    return any(isinstance(node, ast.Name) and node.id == name for node in ast.walk(tree))


def reads_setting(code_uri: str, variable: str) -> bool:
    """Code the function reaches reads one of the variable's settings attributes (or names the variable)."""
    attributes = setting_names().get(variable, frozenset())
    for tree in reached_code(code_uri):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in attributes:
                return True
            if isinstance(node, ast.Constant) and node.value == variable:
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
        if not has_table_policy(props, table) and not reads_stream_of(props, table):
            gaps.append(f"{variable}: no DynamoDB policy (nor stream event) on {table}")
        if variable not in setting_names():
            gaps.append(f"{variable}: not a setting in switchboard/config.py")
        elif not reads_setting(props["CodeUri"], variable):
            gaps.append(f"{variable}: not read by code {props['CodeUri']}app.py calls")
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
KNOWN_TABLE_GAPS: dict[str, str] = {}


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
        "ALERTS_TABLE: no DynamoDB policy (nor stream event) on AlertsTable"
    ]
    on_other = {"DynamoDBCrudPolicy": {"TableName": {"Ref": "RulesTable"}}}
    assert table_gaps(_function([on_other], ALERTS_TABLE={"Ref": "AlertsTable"})) == [
        "ALERTS_TABLE: no DynamoDB policy (nor stream event) on AlertsTable"
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
    assert table_gaps(function) == ["DELIVERIES_TABLE: not read by code functions/authorizer/app.py calls"]


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
