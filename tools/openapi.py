"""The OpenAPI 3.1 documents of the four dialects, generated from the code: `python -m tools.openapi [--check]`.

Writes docs/openapi/{crossbar,airvantage,ess,expeto}.json. Nothing in them is written by hand:

- the operations are the routes of every function's Powertools resolver (`app` in functions/*/app.py), so a
  new route appears by itself, in the document of the dialect its path belongs to;
- what each handler reads is found in its own code: the request body is the pydantic model it passes to its
  dialect's parser (`crossbar.request_data(app, M)`, `airvantage.body(app, M)`, `ess.body`, `expeto.body`,
  `validation.parse(M, …)`, or a domain `parse_*` function annotated to return a model); the query
  parameters are the `http.query`/`int_query`/`required_query` reads it makes, directly or
  through the dialect helpers it calls (`crossbar.page_request`, `ess.page`, …), with the bounds they pass;
- the success status comes from the reply it builds (`crossbar.created` → 201, `expeto.no_content` → 204,
  `status_code=` literals); the reply and error shapes are the dialect's (switchboard/dialects/wire.py), and
  the statuses API Gateway answers itself (401, 403, 429, 5xx, …) are those of the dialect's REST API's
  `GatewayResponses` in template.yaml, whose bodies are in the dialect's error shape too;
- the paths are the public ones, as clients call them on the custom domain: the resolver's `strip_prefixes`
  (the dialect's base path) joined to its routes;
- which operations need no credential comes from template.yaml (`Authorizer: NONE`), as API Gateway does;
- the request examples are the bodies of the sample events in events/ (taken from the API contracts, and
  run through the handlers by tests/integration/test_sample_events.py);
- a route decorator's own `summary=`, `description=`, `tags=` and `responses=` (Powertools' OpenAPI
  arguments) override what is derived, for the few facts the code cannot show.

Why not Powertools' `get_openapi_schema()`: it describes bodies and query parameters only through handler
signatures annotated for `enable_validation` (Body/Query), which would put pydantic and validation into every
cold start; the handlers here parse through the dialect helpers instead, and every operation would get a 422
`HTTPValidationError` response no dialect ever sends. So the document is built from the resolvers' routes and
pydantic's `models_json_schema`, and none of this is imported by a function at run time.

`--check` fails when a checked-in document differs from what the code generates now.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import re
import sys
import textwrap
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Route
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from switchboard.dialects import airvantage, crossbar, ess, expeto, http, validation, wire
from switchboard.errors import InvalidInput
from switchboard_local.template import load_yaml

from tools.routes import base_paths, public_path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "openapi"
FUNCTIONS = ROOT / "functions"
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Dialect:
    name: str
    prefix: str
    title: str
    description: str
    error_model: type[BaseModel]
    security_schemes: dict[str, dict[str, Any]]
    media_types: tuple[str, ...] = ("application/json",)


DIALECTS: tuple[Dialect, ...] = (
    Dialect(
        "crossbar",
        "/v2/",
        "Switchboard — KAZOO Crossbar API (/v2)",
        'KAZOO Crossbar\'s wire format: `{"data": …}` requests, the response envelope, Crossbar errors. '
        "Log in with `PUT /v2/api_auth` or `PUT /v2/user_auth` for a session token, or use an API key.",
        wire.CrossbarError,
        {
            "XAuthToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
            "AuthTokenQuery": {"type": "apiKey", "in": "query", "name": "auth_token"},
        },
    ),
    Dialect(
        "airvantage",
        "/api/",
        "Switchboard — AirVantage API (/api)",
        'AirVantage\'s wire format and errors (`{"error", "errorParameters"}`). Get a bearer token from '
        "`POST /api/oauth/token` (grants password, client_credentials, refresh_token), or use an API key.",
        wire.AirVantageError,
        {
            "OAuth2": {
                "type": "oauth2",
                "flows": {
                    "password": {"tokenUrl": "/api/oauth/token", "refreshUrl": "/api/oauth/token", "scopes": {}},
                    "clientCredentials": {"tokenUrl": "/api/oauth/token", "scopes": {}},
                },
            },
            "Bearer": {"type": "http", "scheme": "bearer"},
        },
    ),
    Dialect(
        "ess",
        "/ess/",
        "Switchboard — Event Subscription Service API (/ess)",
        'ESS topics, subscriptions, events and deliveries; errors are `{"error": {"code", "message"}}`.',
        wire.EssError,
        {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
            "Bearer": {"type": "http", "scheme": "bearer"},
        },
    ),
    Dialect(
        "expeto",
        "/v1/",
        "Switchboard — Expeto API (/v1)",
        "Expeto's (Spring HAL) wire format: usage, subscribers, notifications; Spring's error body.",
        wire.ExpetoError,
        {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
            "Bearer": {"type": "http", "scheme": "bearer"},
        },
        ("application/json", "application/hal+json"),
    ),
)


def dialect_of(path: str) -> Dialect:
    for dialect in DIALECTS:
        if path.startswith(dialect.prefix):
            return dialect
    raise ValueError(f"{path}: no dialect serves this path (prefixes: {[d.prefix for d in DIALECTS]})")


# ---------------------------------------------------------------- the resolvers


@dataclass(frozen=True)
class Operation:
    function: str  # functions/<function>/app.py
    route: Route
    prefix: str = ""  # the resolver's strip_prefixes: the dialect's base path, which its routes leave out

    @property
    def method(self) -> str:
        return self.route.method.upper()

    @property
    def path(self) -> str:
        path = self.route.openapi_path
        return self.prefix + path if path != "/" else self.prefix or "/"


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py under a module name of its own (every function's module is `app.py`)."""
    module_name = f"switchboard_openapi_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, FUNCTIONS / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def resolvers() -> Iterator[tuple[str, APIGatewayRestResolver]]:
    """Every function whose module has an API resolver `app`, by function name."""
    for app_py in sorted(FUNCTIONS.glob("*/app.py")):
        module = load_function(app_py.parent.name)
        app = getattr(module, "app", None)
        if isinstance(app, APIGatewayRestResolver):
            yield app_py.parent.name, app


def routes(app: APIGatewayRestResolver) -> list[Route]:
    # Powertools keeps the registered routes in these two lists (its own get_openapi_schema reads them).
    return [*app._static_routes, *app._dynamic_routes]


def prefix_of(app: APIGatewayRestResolver) -> str:
    """The base path the resolver strips (its dialect's), "" for none."""
    prefixes = [p for p in app._strip_prefixes or [] if isinstance(p, str)]
    return prefixes[0] if prefixes else ""


def operations() -> list[Operation]:
    return [Operation(name, route, prefix_of(app)) for name, app in resolvers() for route in routes(app)]


def public_operations(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of the API events API Gateway serves without the authorizer (`Authorizer: NONE`)."""
    public: set[tuple[str, str]] = set()
    bases = base_paths(template)
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            props = event.get("Properties") or {}
            if event.get("Type") == "Api" and (props.get("Auth") or {}).get("Authorizer") == "NONE":
                public.add((str(props["Method"]).upper(), public_path(props, bases)))
    return public


def sample_bodies() -> dict[tuple[str, str], Any]:
    """(METHOD, public path) -> the JSON body of the sample API event for that operation (events/*.json).

    A sample is an event of a dialect's API on its stage URL: its resource lacks the base path, which its
    `dialect` stage variable names."""
    prefixes = {d.name: d.prefix.rstrip("/") for d in DIALECTS}
    bodies: dict[tuple[str, str], Any] = {}
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(event, dict) or not event.get("body") or event.get("isBase64Encoded"):
            continue
        if "httpMethod" in event and "resource" in event:
            prefix = prefixes.get(str((event.get("stageVariables") or {}).get("dialect")), "")
            key = (str(event["httpMethod"]).upper(), prefix + str(event["resource"]))
            bodies.setdefault(key, json.loads(event["body"]))
    return bodies


def gateway_responses(template: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The answers API Gateway gives itself before a function runs, per dialect: dialect -> status -> the
    JSON body of the dialect's REST API's gateway response (`GatewayResponses`, the same for every path of
    that API). The API of a dialect is the one whose base-path mapping is the dialect's prefix."""
    by_base = {base: api for api, base in base_paths(template).items()}
    resources = template.get("Resources") or {}
    answers: dict[str, dict[str, dict[str, Any]]] = {}
    for dialect in DIALECTS:
        api = resources.get(by_base.get(dialect.prefix.rstrip("/"), "")) or {}
        found = answers.setdefault(dialect.name, {})
        for answer in ((api.get("Properties") or {}).get("GatewayResponses") or {}).values():
            text = ((answer.get("ResponseTemplates") or {}).get("application/json")) or ""
            for variable, value in example_context(dialect).items():
                text = text.replace(variable, value)
            try:
                found.setdefault(str(answer.get("StatusCode")), json.loads(text))
            except ValueError:
                continue
    return answers


def example_context(dialect: Dialect) -> dict[str, str]:
    """Example values of the `$context` variables gateway response templates use (for the documents' examples)."""
    return {
        "$context.requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "$context.requestTime": "23/Nov/2026:09:30:00 +0000",
        "$context.path": f"{dialect.prefix}nothing",
    }


# ---------------------------------------------------------------- what a handler reads and answers


class _Unknown:
    """A value the static reading cannot know (a variable, an expression)."""


UNKNOWN = _Unknown()
QUERY_LEAVES: dict[Callable[..., Any], str] = {
    http.query: "string",
    http.int_query: "integer",
    http.required_query: "string",
}
BODY_PARSERS = {
    crossbar.request_data,
    airvantage.body,
    ess.body,
    expeto.body,
    validation.parse,
}
JSON_READERS = {http.json_body, http.raw_body}


@dataclass
class Query:
    name: str
    type: str
    required: bool = False
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    enum: list[str] | None = None

    def parameter(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type}
        if self.enum:
            schema["enum"] = self.enum
        if self.type == "integer":
            for key in ("minimum", "maximum", "default"):
                value = getattr(self, key)
                if isinstance(value, int) and not isinstance(value, bool):
                    schema[key] = value
        return {"name": self.name, "in": "query", "required": self.required, "schema": schema}


@dataclass
class Reads:
    queries: dict[str, Query] = field(default_factory=dict)
    models: list[type[BaseModel]] = field(default_factory=list)
    json_body: bool = False
    form_body: bool = False
    statuses: dict[int, bool] = field(default_factory=dict)  # status -> has a body
    enums: dict[str, list[str]] = field(default_factory=dict)  # query name -> the values its reader accepts
    calls: set[Callable[..., Any]] = field(default_factory=set)


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a dotted name in the handler's module stands for (module attributes only)."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id, UNKNOWN)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        if isinstance(owner, ModuleType) or inspect.isclass(owner):
            try:
                return getattr(owner, node.attr)
            except AttributeError:
                return UNKNOWN
    return UNKNOWN


def _value(node: ast.expr, bindings: dict[str, Any], namespace: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(item, bindings, namespace) for item in node.elts]
        return UNKNOWN if any(item is UNKNOWN for item in items) else items
    if isinstance(node, ast.Name) and node.id in bindings:
        return bindings[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand, bindings, namespace)
        return -inner if isinstance(inner, int) else UNKNOWN
    value = _resolve(node, namespace)
    return value if isinstance(value, (str, int)) or inspect.isclass(value) else UNKNOWN


def _bind(target: Callable[..., Any], call: ast.Call, bindings: dict[str, Any], ns: dict[str, Any]) -> dict[str, Any]:
    args = [_value(arg, bindings, ns) for arg in call.args if not isinstance(arg, ast.Starred)]
    kwargs = {kw.arg: _value(kw.value, bindings, ns) for kw in call.keywords if kw.arg}
    try:
        bound = inspect.signature(target).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {}
    bound.apply_defaults()
    return dict(bound.arguments)


def _is_model(value: Any) -> bool:
    return inspect.isclass(value) and issubclass(value, BaseModel)


def _parses_into_model(target: Any) -> bool:
    """A domain parser of request bodies (`rules.validation.parse_rule(body) -> AlertRuleInput`)."""
    if not inspect.isfunction(target) or not target.__name__.startswith("parse_"):
        return False
    try:
        return _is_model(typing.get_type_hints(target).get("return"))
    except Exception:  # annotations that do not resolve at run time: not a parser this reading can use
        return False


def _followed(target: Any, home: str) -> bool:
    """Helpers read through: the function module's own, and the dialect modules'."""
    module = getattr(target, "__module__", "") or ""
    return inspect.isfunction(target) and (module == home or module.startswith("switchboard.dialects."))


def read_handler(func: Callable[..., Any]) -> Reads:
    reads = Reads()
    _read(func, {}, reads, set(), required=False)
    for name, values in reads.enums.items():
        if name in reads.queries:
            reads.queries[name].enum = values
    return reads


def _read(func: Callable[..., Any], bindings: dict[str, Any], reads: Reads, seen: set[Any], required: bool) -> None:
    key = (func, tuple(sorted((k, repr(v)) for k, v in bindings.items())))
    if key in seen:
        return
    seen.add(key)
    namespace = func.__globals__
    home = func.__module__
    required = required or "required" in func.__name__
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _resolve(node.func, namespace)
        if target is UNKNOWN or not callable(target):
            continue
        reads.calls.add(target)
        arguments = _bind(target, node, bindings, namespace)
        if target in QUERY_LEAVES:
            _query(target, arguments, reads, required)
        elif target == InvalidInput.single and arguments.get("code") == "enum":
            # A reader that refuses a query value outside a literal list: that list is the parameter's enum.
            name, values = arguments.get("path"), arguments.get("target")
            if isinstance(name, str) and isinstance(values, list) and all(isinstance(v, str) for v in values):
                reads.enums[name] = values
        elif target in JSON_READERS:
            reads.json_body = True
        elif target is parse_qs:  # a form-encoded body (the OAuth token request)
            reads.form_body = True
        if target in BODY_PARSERS:
            reads.models.extend(value for value in arguments.values() if _is_model(value))
        elif _parses_into_model(target):
            reads.models.append(typing.get_type_hints(target)["return"])
        if not home.startswith("switchboard."):  # the function module's own replies, not the dialect's helpers
            _status(target, node, arguments, reads)
        if _followed(target, home) and target not in QUERY_LEAVES:
            inner = {name: value for name, value in arguments.items() if value is not UNKNOWN}
            _read(target, inner, reads, seen, required)


def _query(target: Callable[..., Any], arguments: dict[str, Any], reads: Reads, required: bool) -> None:
    name = arguments.get("name")
    if not isinstance(name, str):
        return
    query = reads.queries.setdefault(name, Query(name, QUERY_LEAVES[target]))
    query.required = query.required or required or target is http.required_query
    if target is http.int_query:
        query.type = "integer"
        query.default, query.minimum, query.maximum = (arguments.get(k) for k in ("default", "minimum", "maximum"))


def _status(target: Any, node: ast.Call, arguments: dict[str, Any], reads: Reads) -> None:
    """The success replies the function module builds (its handlers and helpers; not the dialect's defaults)."""
    if target is crossbar.created:
        reads.statuses[201] = True
    elif target is expeto.no_content:
        reads.statuses[204] = False
    elif target in (crossbar.ok, airvantage.reply, ess.reply, expeto.reply, Response):
        code = arguments.get("status_code")
        body = next((kw.value for kw in node.keywords if kw.arg == "body"), None)
        if body is None and target in (airvantage.reply, ess.reply, expeto.reply):
            body = node.args[0] if node.args else None
        # Crossbar always sends its envelope; a bare Response without a body sends none.
        empty = target is not crossbar.ok and (
            body is None or (isinstance(body, ast.Constant) and body.value in ("", None))
        )
        if isinstance(code, int) and 200 <= code < 300:
            reads.statuses[code] = not empty


# ---------------------------------------------------------------- the documents


class Schemas:
    """The models a document refers to, rendered once as components/schemas by pydantic."""

    def __init__(self) -> None:
        self.models: list[type[BaseModel]] = []

    def ref(self, model: type[BaseModel]) -> dict[str, Any]:
        if model not in self.models:
            self.models.append(model)
        return {"$ref": f"#/components/schemas/{id(model)}"}

    def render(self, document: dict[str, Any]) -> dict[str, Any]:
        refs, top = models_json_schema([(m, "validation") for m in self.models], ref_template=REF)
        names = {f"#/components/schemas/{id(m)}": refs[(m, "validation")]["$ref"] for m in self.models}

        def swap(node: Any) -> Any:
            if isinstance(node, dict):
                if set(node) == {"$ref"} and node["$ref"] in names:
                    return {"$ref": names[node["$ref"]]}
                return {key: swap(value) for key, value in node.items()}
            if isinstance(node, list):
                return [swap(value) for value in node]
            return node

        rendered = swap(document)
        rendered["components"]["schemas"] = dict(sorted(top.get("$defs", {}).items()))
        return rendered


def _json(schema: dict[str, Any], media_types: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    return {media: {"schema": schema} for media in media_types}


def success_schema(dialect: Dialect, reads: Reads, schemas: Schemas) -> dict[str, Any]:
    if dialect.name == "crossbar":
        return schemas.ref(wire.CrossbarEnvelope)
    if dialect.name == "airvantage" and airvantage.listing in reads.calls:
        return schemas.ref(wire.AirVantageListing)
    if dialect.name == "ess" and ess.paged in reads.calls:
        paged = schemas.ref(wire.EssPagedResult)
        return {"type": "object", "required": ["paged-result"], "properties": {"paged-result": paged}}
    if dialect.name == "expeto" and expeto.collection in reads.calls:
        return schemas.ref(wire.HalCollection)
    return {}  # the resource itself: any JSON value


def request_body(dialect: Dialect, reads: Reads, schemas: Schemas) -> dict[str, Any] | None:
    if reads.models:
        model = reads.models[-1]  # the one the body finally becomes (a services body is read, then parsed)
        schema = schemas.ref(model)
        if dialect.name == "crossbar":  # every Crossbar request wraps its object in `data` (empty body: {})
            envelope = {"type": "object", "required": ["data"], "properties": {"data": schema}}
            return {"required": False, "content": _json(envelope)}
        return {"required": True, "content": _json(schema)}
    if reads.form_body:
        form = {"type": "object", "additionalProperties": {"type": "string"}}
        return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}}
    if reads.json_body:
        return {"required": False, "content": _json({})}
    return None


def operation_object(
    op: Operation,
    dialect: Dialect,
    schemas: Schemas,
    public: bool,
    op_id: str,
    example: Any,
    gateway: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    route, func = op.route, op.route.func
    reads = read_handler(func)
    doc = inspect.getdoc(func) or ""
    first, _, rest = doc.partition("\n\n")
    operation: dict[str, Any] = {
        "operationId": op_id,
        # the decorator's summary, else the docstring's first paragraph, else the handler's name ("List alerts")
        "summary": route.summary or first.replace("\n", " ") or func.__name__.replace("_", " ").strip().capitalize(),
        "tags": list(route.tags) or [op.function],
    }
    description = route.description or rest.strip()
    if description:
        operation["description"] = description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    parameters += [query.parameter() for _, query in sorted(reads.queries.items())]
    if public and dialect.name == "crossbar":
        parameters = [p for p in parameters if p["name"] != "auth_token"]  # the credential, not a parameter
    if parameters:
        operation["parameters"] = parameters
    body = request_body(dialect, reads, schemas)
    if body is not None and op.method not in ("GET", "DELETE"):
        if example is not None and "application/json" in body["content"]:
            body["content"]["application/json"]["example"] = example
        operation["requestBody"] = body
    responses: dict[str, Any] = {}
    for status, has_body in sorted((reads.statuses or {200: True}).items()):
        answer: dict[str, Any] = {"description": route.response_description or "Success"}
        if has_body:
            answer["content"] = _json(success_schema(dialect, reads, schemas), dialect.media_types)
        responses[str(status)] = answer
    for status in sorted(gateway or {}):  # the function's error, or the gateway's own in the same shape
        if status != "401" or not public:
            responses[status] = {"$ref": f"#/components/responses/Gateway{status}"}
    responses["4XX"] = {"$ref": "#/components/responses/Error"}
    responses["503"] = {"$ref": "#/components/responses/Unavailable"}
    for status, declared in (route.responses or {}).items():
        responses[str(status)] = declared
    operation["responses"] = responses
    if public:
        operation["security"] = []
    return operation


def document(
    dialect: Dialect,
    ops: list[Operation],
    public: set[tuple[str, str]],
    examples: dict[tuple[str, str], Any],
    gateway: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """`gateway`: status -> the body API Gateway answers itself with on the dialect's API (in its shape)."""
    schemas = Schemas()
    paths: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for op in ops:
        counts[op.route.func.__name__] = counts.get(op.route.func.__name__, 0) + 1
    used: set[str] = set()
    for op in sorted(ops, key=lambda o: (o.path, o.method)):
        name = op.route.func.__name__
        op_id = name if counts[name] == 1 else f"{name}_{op.method.lower()}"
        while op_id in used:
            op_id = f"{op_id}_{re.sub(r'[^A-Za-z0-9]+', '_', op.path).strip('_')}"
        used.add(op_id)
        is_public = (op.method, op.path) in public
        example = examples.get((op.method, op.path))
        operation = operation_object(op, dialect, schemas, is_public, op_id, example, gateway)
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    error_schema = schemas.ref(dialect.error_model)
    error = _json(error_schema)
    tags = sorted({tag for item in paths.values() for operation in item.values() for tag in operation["tags"]})
    unavailable = {
        "description": "Unavailable for a moment: send the same request again after `Retry-After` seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": error,
    }
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": dialect.title,
            "version": crossbar.VERSION.removeprefix("switchboard-"),
            "description": dialect.description,
        },
        "servers": [
            {
                "url": "/",
                "description": "The custom domain's root (paths carry the dialect's base path); on the dialect's own "
                f"stage URL, paths go without `{dialect.prefix.rstrip('/')}`",
            }
        ],
        "security": [{name: []} for name in dialect.security_schemes],
        "tags": [{"name": name} for name in tags],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {},
            "responses": {
                "Error": {"description": "The request was refused (the dialect's error body)", "content": error},
                "Unavailable": unavailable,
                **{
                    f"Gateway{status}": {
                        "description": f"{status}: the function's error, or API Gateway's own answer (the dialect's "
                        "REST API's gateway response), in the same shape",
                        "content": {"application/json": {"schema": error_schema, "example": body}},
                    }
                    for status, body in sorted(gateway.items())
                },
            },
            "securitySchemes": dialect.security_schemes,
        },
    }
    return schemas.render(doc)


def documents() -> dict[str, dict[str, Any]]:
    by_dialect: dict[str, list[Operation]] = {d.name: [] for d in DIALECTS}
    for op in operations():
        by_dialect[dialect_of(op.path).name].append(op)
    template = load_yaml(TEMPLATE)
    public, gateway, examples = public_operations(template), gateway_responses(template), sample_bodies()
    return {d.name: document(d, by_dialect[d.name], public, examples, gateway[d.name]) for d in DIALECTS}


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for name, doc in documents().items():
        path = OUT / f"{name}.json"
        text = render(doc)
        if "--check" in args:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"{', '.join(stale)} stale: run .venv/bin/python -m tools.openapi", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
