"""API Gateway (REST API, Lambda proxy integration, payload 1.0) in front of local functions.

Requests become proxy events of the shape API Gateway sends, Lambda authorizers are called
and their policies evaluated the way API Gateway does, and errors come back as the API's
gateway responses (the template's, else AWS's defaults).

Several REST APIs share the one port the way a custom domain shares one host: an API that has an
`AWS::ApiGateway::BasePathMapping` in the template (read even when its condition is off locally) is
served under its base path (`/v2/...` picks the API mapped at `v2`, whose resources match the rest of
the path), and its events carry the full path in `path`, as a custom domain sends them. APIs without a
mapping are served at the root. Locally a `/{stage}` prefix is accepted too.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .functions import FunctionRunner, FunctionTimeout, InvocationError
from .template import (
    ACCOUNT_ID,
    API_TYPES,
    FUNCTION_TYPES,
    IMPLICIT_API_ID,
    REGION,
    Resolver,
    Template,
    iter_events,
    logical_id_of,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
HEALTH_PATH = "/_health"  # the local runtime's readiness report (not an API route)
OPENAPI_PREFIX = "/_openapi/"  # the local runtime serves docs/openapi/<dialect>.json here (not an API route)
_OPENAPI_NAME = re.compile(r"^[a-z0-9_-]+\.json$")
INTEGRATION_TIMEOUT = 29.0  # seconds API Gateway waits for a Lambda integration
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

# AWS's default gateway responses: status, message (None renders as null), x-amzn-ErrorType.
DEFAULT_RESPONSES: dict[str, tuple[int, str | None, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource", "AccessDeniedException"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLargeException"),
    "AUTHORIZER_FAILURE": (500, None, "AuthorizerConfigurationException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None, "AuthorizerConfigurationException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
    "INTEGRATION_FAILURE": (504, "Internal server error", "InternalServerErrorException"),
    # A Lambda proxy integration's error (the function failed or answered a malformed response): no type of
    # its own, so the API's DEFAULT_5XX answers it.
    "DEFAULT_5XX": (502, "Internal server error", "InternalServerErrorException"),
}
BASE_PATH_MAPPING = "AWS::ApiGateway::BasePathMapping"
_PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer of an API (SAM `Auth.Authorizers` entry)."""

    name: str
    function_id: str
    payload_type: str = "TOKEN"  # SAM's default for Lambda authorizers
    identity_headers: tuple[str, ...] = ()
    identity_query: tuple[str, ...] = ()
    identity_stage_variables: tuple[str, ...] = ()
    identity_context: tuple[str, ...] = ()
    reauthorize_every: int = 300
    validation_expression: str | None = None

    @property
    def has_identity_sources(self) -> bool:
        return bool(
            self.identity_headers or self.identity_query or self.identity_stage_variables or self.identity_context
        )


@dataclass
class RestApi:
    logical_id: str
    api_id: str
    stage: str
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    default_authorizer: str | None = None
    gateway_responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()
    stage_variables: dict[str, str] | None = None
    base_path: str | None = None  # its custom-domain base path (`v2`), None when it has no mapping


@dataclass
class Route:
    api: RestApi
    path: str  # the resource path as declared, e.g. /v2/accounts/{account_id}/alerts
    method: str  # upper case, or ANY
    function_id: str
    authorizer: str | None
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.segments = tuple(s for s in self.path.split("/") if s)

    @property
    def specificity(self) -> tuple[Any, ...]:
        # API Gateway prefers literal segments over {params} over {proxy+}, and an explicit
        # method over ANY.
        kinds = tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments)
        return (*kinds, 1 if self.method == "ANY" else 0)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):
                rest = segments[index:]
                if not rest:
                    return None
                params[pattern[1:-2]] = "/".join(rest)
                return params
            if index >= len(segments):
                return None
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = segments[index]
            elif pattern != segments[index]:
                return None
        return params if len(segments) == len(self.segments) else None


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def _build_api(template: Template, resolver: Resolver, logical_id: str, raw: Mapping[str, Any]) -> RestApi:
    props = resolver.resolve(dict(raw))
    auth = props.get("Auth") or {}
    raw_authorizers = (raw.get("Auth") or {}).get("Authorizers") or {}
    authorizers = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        if "FunctionArn" not in spec:
            log.warning("%s: authorizer %s is not a Lambda authorizer; its routes are open", logical_id, name)
            continue
        # The function's logical id when the template points at it, else its ARN.
        function_id = logical_id_of(raw_authorizers[name].get("FunctionArn")) or str(spec["FunctionArn"])
        identity = spec.get("Identity") or {}
        payload_type = spec.get("FunctionPayloadType", "TOKEN")
        headers = _tuple(identity.get("Headers"))
        if payload_type == "TOKEN":
            headers = (identity.get("Header", "Authorization"),)
        authorizers[name] = Authorizer(
            name=name,
            function_id=function_id,
            payload_type=payload_type,
            identity_headers=headers,
            identity_query=_tuple(identity.get("QueryStrings")),
            identity_stage_variables=_tuple(identity.get("StageVariables")),
            identity_context=_tuple(identity.get("Context")),
            reauthorize_every=int(identity.get("ReauthorizeEvery", 300)),
            validation_expression=identity.get("ValidationExpression"),
        )
    variables = props.get("Variables")
    return RestApi(
        logical_id=logical_id,
        api_id=template.api_id(logical_id),
        stage=str(props.get("StageName", "Prod")),
        authorizers=authorizers,
        default_authorizer=auth.get("DefaultAuthorizer"),
        gateway_responses=props.get("GatewayResponses") or {},
        binary_media_types=tuple(t.replace("~1", "/") for t in props.get("BinaryMediaTypes") or []),
        stage_variables={k: str(v) for k, v in variables.items()} if variables else None,
    )


def base_paths(template: Template) -> dict[str, str]:
    """API logical id -> its base path on the custom domain, from every BasePathMapping of the template
    (conditions ignored: locally the one port plays the domain even where the stack creates none)."""
    found = {}
    for res in template.resources.values():
        if res.get("Type") == BASE_PATH_MAPPING:
            props = res.get("Properties") or {}
            api = logical_id_of(props.get("RestApiId"))
            base = str(props.get("BasePath") or "").strip("/")
            if api and base and "/" not in base:
                found[api] = base
    return found


def build_routes(template: Template, resolver: Resolver) -> list[Route]:
    """Every `Type: Api` event of every function, most specific first."""
    apis = {
        logical_id: _build_api(template, resolver, logical_id, res["Properties"])
        for logical_id, res in template.of_type(*API_TYPES).items()
    }
    for logical_id, base in base_paths(template).items():
        if logical_id in apis:
            apis[logical_id].base_path = base
    globals_api = (template.data.get("Globals") or {}).get("Api") or {}
    routes = []
    for function_id, function in template.of_type(*FUNCTION_TYPES).items():
        for event_name, props in iter_events(function, "Api"):
            api_id = logical_id_of(props.get("RestApiId")) or IMPLICIT_API_ID
            if api_id not in apis:
                if api_id != IMPLICIT_API_ID:
                    log.warning("%s.%s: RestApiId %s is not a Serverless::Api", function_id, event_name, api_id)
                    continue
                apis[api_id] = _build_api(template, resolver, api_id, {"StageName": "Prod", **globals_api})
            api = apis[api_id]
            auth = resolver.resolve(props.get("Auth") or {})
            authorizer = auth.get("Authorizer", api.default_authorizer)
            if authorizer == "NONE":
                authorizer = None
            elif authorizer is not None and authorizer not in api.authorizers:
                log.warning(
                    "%s.%s: authorizer %s is not emulated; the route is open", function_id, event_name, authorizer
                )
                authorizer = None
            method = str(resolver.resolve(props["Method"])).upper()
            routes.append(
                Route(
                    api,
                    str(resolver.resolve(props["Path"])),
                    "ANY" if method == "ANY" else method,
                    function_id,
                    authorizer,
                )
            )
    routes.sort(key=lambda r: r.specificity)
    return routes


# --------------------------------------------------------------------------- requests


@dataclass
class Request:
    method: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes | None
    source_ip: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        found = None
        for key, value in self.headers:
            if key.lower() == name.lower():
                found = value
        return found


@dataclass
class Match:
    route: Route
    params: dict[str, str]
    path: str  # the request path without the stage prefix, decoded (the event's `path`)
    api_path: str = ""  # the path within the API (without its base path): what the method ARN names

    def __post_init__(self) -> None:
        self.api_path = self.api_path or self.path


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


class Gateway:
    """Turns HTTP requests into proxy events, runs authorizers, shapes responses."""

    def __init__(self, routes: list[Route], runner: FunctionRunner, *, echo: Callable[[str], None] = print) -> None:
        self.routes = routes
        self.runner = runner
        self.echo = echo
        self.apis = list({id(r.api): r.api for r in routes}.values())
        self._auth_cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    # -- routing

    def _unstaged(self, path: str) -> list[tuple[RestApi | None, str]]:
        """(the API whose stage prefixes the path, the path without it), then (None, the path as given)."""
        raw = [s for s in path.split("/") if s]
        options: list[tuple[RestApi | None, str]] = [
            (api, path[len(api.stage) + 1 :] or "/") for api in self.apis if raw and raw[0] == api.stage
        ]
        options.append((None, path))
        return options

    def resolve(self, method: str, path: str) -> Match | None:
        """The route for a request path, given with or without the `/{stage}` prefix.

        A path whose first segment is an API's base path is that API's (the rest matches its resources);
        APIs without a base path match the whole path."""
        for staged, rest in self._unstaged(path):
            segments = [unquote(s) for s in rest.split("/") if s]
            mapped = next((a for a in self.apis if a.base_path and segments and segments[0] == a.base_path), None)
            for route in self.routes:
                api = route.api
                if (staged is not None and api.stage != staged.stage) or route.method not in (method, "ANY"):
                    continue
                if api.base_path is None:
                    params, inner = route.match(segments), unquote(rest)
                elif api is mapped:
                    params, inner = route.match(segments[1:]), "/" + "/".join(segments[1:])
                else:
                    continue
                if params is not None:
                    return Match(route, params, unquote(rest) or "/", inner or "/")
        return None

    def api_for(self, path: str) -> RestApi | None:
        """The API whose gateway responses answer a request that matched no route: the one mapped at the
        path's first segment, else one without a base path; None when the path is under no API."""
        for staged, rest in self._unstaged(path):
            first = next((s for s in rest.split("/") if s), None)
            apis = [a for a in self.apis if staged is None or a.stage == staged.stage]
            mapped = next((a for a in apis if a.base_path and a.base_path == first), None)
            if mapped is not None:
                return mapped
        return next((a for a in self.apis if a.base_path is None), None)

    # -- the request pipeline

    def handle(self, request: Request) -> Response:
        path = urlsplit(request.raw_path).path or "/"
        match = self.resolve(request.method, path)
        if match is None:
            api = self.api_for(path)
            if api is None and self.apis:
                return self._unmapped(request)
            return self.gateway_response(api, "MISSING_AUTHENTICATION_TOKEN", request)
        route, api = match.route, match.route.api
        event = self._proxy_event(request, route, match.path, match.params)
        if route.authorizer is not None:
            denied = self._authorize(request, route, event, match.api_path)
            if denied is not None:
                return denied
        try:
            result = self.runner.invoke(route.function_id, event, request.request_id, timeout=INTEGRATION_TIMEOUT)
        except FunctionTimeout as exc:
            self.echo(f"[api] {route.function_id} timed out: {exc.error_message}")
            if self.runner.specs[route.function_id].timeout > INTEGRATION_TIMEOUT:
                return self.gateway_response(api, "INTEGRATION_TIMEOUT", request)
            return self.gateway_response(api, "DEFAULT_5XX", request)
        except InvocationError as exc:
            self.echo(f"[api] {route.function_id} failed: {exc.error_type}: {exc.error_message}")
            return self.gateway_response(api, "DEFAULT_5XX", request)
        try:
            return self._proxy_response(result, request)
        except ValueError as exc:
            self.echo(f"[api] {route.function_id}: Malformed Lambda proxy response: {exc}")
            return self.gateway_response(api, "DEFAULT_5XX", request)

    # -- events

    def _request_context(self, request: Request, route: Route, resource_path: str) -> dict[str, Any]:
        now = datetime.fromtimestamp(request.started, UTC)
        host = request.header("Host") or "127.0.0.1"
        return {
            "resourceId": hashlib.sha1(f"{route.api.api_id}{route.path}".encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": request.method,
            "extendedRequestId": base64.b64encode(secrets.token_bytes(12)).decode()[:15] + "=",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            # A custom domain's event names the path as requested (base path included); a stage URL's, the stage too.
            "path": resource_path if route.api.base_path else f"/{route.api.stage}{resource_path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": route.api.stage,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(request.started * 1000),
            "requestId": request.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
            },
            "domainName": host,
            "apiId": route.api.api_id,
        }

    def _event_headers(self, request: Request) -> list[tuple[str, str]]:
        headers = list(request.headers)
        present = {k.lower() for k, _ in headers}
        # Headers API Gateway adds on its way to the integration.
        for name, value in (
            ("X-Amzn-Trace-Id", _trace_id()),
            ("X-Forwarded-For", request.source_ip),
            ("X-Forwarded-Port", (request.header("Host") or ":80").rpartition(":")[2] or "80"),
            ("X-Forwarded-Proto", "http"),
        ):
            if name.lower() not in present:
                headers.append((name, value))
        return headers

    def _body(self, request: Request, route: Route) -> tuple[str | None, bool]:
        if not request.body:
            return None, False
        content_type = (request.header("Content-Type") or "").split(";")[0].strip()
        binary = any(fnmatch.fnmatch(content_type, pattern) for pattern in route.api.binary_media_types)
        if not binary:
            try:
                return request.body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(request.body).decode(), True

    def _proxy_event(
        self, request: Request, route: Route, resource_path: str, params: dict[str, str]
    ) -> dict[str, Any]:
        headers = self._event_headers(request)
        query = request.query
        body, is_base64 = self._body(request, route)
        return {
            "resource": route.path,
            "path": resource_path,
            "httpMethod": request.method,
            "headers": dict(headers) or None,
            "multiValueHeaders": _multi(headers) or None,
            "queryStringParameters": dict(query) or None,
            "multiValueQueryStringParameters": _multi(query) or None,
            "pathParameters": params or None,
            "stageVariables": route.api.stage_variables,
            "requestContext": self._request_context(request, route, resource_path),
            "body": body,
            "isBase64Encoded": is_base64,
        }

    # -- authorizers

    def _authorize(self, request: Request, route: Route, event: dict[str, Any], api_path: str) -> Response | None:
        """Run the route's authorizer; on success fill requestContext.authorizer."""
        api = route.api
        authorizer = api.authorizers[route.authorizer or ""]
        # The method ARN names the path within the API (no base path), as API Gateway's does.
        method_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api.api_id}/{api.stage}/{request.method}/"
            f"{api_path.lstrip('/')}"
        )
        identity = self._identity(authorizer, event)
        if identity is None:
            return self.gateway_response(api, "UNAUTHORIZED", request)
        cache_key = (api.api_id, authorizer.name, identity)
        use_cache = authorizer.reauthorize_every > 0 and authorizer.has_identity_sources
        output = self._cached(cache_key) if use_cache else None
        latency = 0
        if output is None:
            auth_event = self._authorizer_event(authorizer, event, method_arn, identity)
            started = time.monotonic()
            try:
                output = self.runner.invoke(authorizer.function_id, auth_event)
            except InvocationError as exc:
                if exc.error_message == "Unauthorized":
                    return self.gateway_response(api, "UNAUTHORIZED", request)
                self.echo(f"[api] authorizer {authorizer.name} failed: {exc.error_type}: {exc.error_message}")
                return self.gateway_response(api, "AUTHORIZER_FAILURE", request)
            latency = int((time.monotonic() - started) * 1000)
            problem = _authorizer_output_problem(output)
            if problem:
                self.echo(f"[api] authorizer {authorizer.name} returned an invalid response: {problem}")
                return self.gateway_response(api, "AUTHORIZER_FAILURE", request)
            if use_cache:
                with self._cache_lock:
                    self._auth_cache[cache_key] = (time.monotonic() + authorizer.reauthorize_every, output)
        # A cached policy is evaluated against this request's ARN, as API Gateway does.
        decision = evaluate_policy(output["policyDocument"], method_arn)
        if decision != "allow":
            return self.gateway_response(api, "ACCESS_DENIED", request, explicit_deny=decision == "deny")
        context = {k: _stringify_context(v) for k, v in (output.get("context") or {}).items()}
        event["requestContext"]["authorizer"] = {
            **context,
            "principalId": output["principalId"],
            "integrationLatency": latency,
        }
        return None

    def _cached(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._cache_lock:
            entry = self._auth_cache.get(key)
            if entry is None or entry[0] < time.monotonic():
                self._auth_cache.pop(key, None)
                return None
            return entry[1]

    def _identity(self, authorizer: Authorizer, event: dict[str, Any]) -> tuple[str, ...] | None:
        """The identity source values; None when one is missing (API Gateway answers 401)."""
        headers = {k.lower(): v for k, v in (event["headers"] or {}).items()}
        query = event["queryStringParameters"] or {}
        stage_vars = event["stageVariables"] or {}
        values = [headers.get(h.lower()) for h in authorizer.identity_headers]
        values += [query.get(q) for q in authorizer.identity_query]
        values += [stage_vars.get(v) for v in authorizer.identity_stage_variables]
        values += [str(event["requestContext"].get(c, "")) or None for c in authorizer.identity_context]
        if any(not v for v in values):
            return None
        expression = authorizer.validation_expression
        if authorizer.payload_type == "TOKEN" and expression and not re.fullmatch(expression, values[0] or ""):
            return None
        return tuple(v or "" for v in values)

    def _authorizer_event(
        self, authorizer: Authorizer, event: dict[str, Any], method_arn: str, identity: tuple[str, ...]
    ) -> dict[str, Any]:
        if authorizer.payload_type == "TOKEN":
            return {"type": "TOKEN", "methodArn": method_arn, "authorizationToken": identity[0]}
        return {
            "type": "REQUEST",
            "methodArn": method_arn,
            "resource": event["resource"],
            "path": event["path"],
            "httpMethod": event["httpMethod"],
            "headers": event["headers"] or {},
            "multiValueHeaders": event["multiValueHeaders"] or {},
            "queryStringParameters": event["queryStringParameters"] or {},
            "multiValueQueryStringParameters": event["multiValueQueryStringParameters"] or {},
            "pathParameters": event["pathParameters"] or {},
            "stageVariables": event["stageVariables"] or {},
            "requestContext": dict(event["requestContext"]),
        }

    # -- responses

    def _proxy_response(self, result: Any, request: Request) -> Response:
        if not isinstance(result, dict):
            raise ValueError(f"expected an object, got {type(result).__name__}")
        extra = set(result) - _PROXY_RESPONSE_KEYS
        if extra:
            raise ValueError(f"unexpected keys {sorted(extra)}")
        status = result.get("statusCode")
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise ValueError(f"statusCode must be an HTTP status, got {status!r}")
        body = result.get("body")
        if body is not None and not isinstance(body, str):
            raise ValueError(f"body must be a string, got {type(body).__name__}")
        headers = _merge_headers(result.get("headers"), result.get("multiValueHeaders"))
        data = b""
        if body:
            if result.get("isBase64Encoded"):
                try:
                    data = base64.b64decode(body, validate=True)
                except binascii.Error as exc:
                    raise ValueError("isBase64Encoded but body is not base64") from exc
            else:
                data = body.encode("utf-8")
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return Response(status, headers + self._common_headers(request), data)

    def _common_headers(self, request: Request) -> list[tuple[str, str]]:
        return [
            ("x-amzn-RequestId", request.request_id),
            ("x-amz-apigw-id", base64.b64encode(secrets.token_bytes(9)).decode()[:11] + "="),
            ("X-Amzn-Trace-Id", _trace_id()),
        ]

    def _unmapped(self, request: Request) -> Response:
        """A path under no API's base path: the custom domain's own 403 (no API's gateway responses)."""
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ForbiddenException")]
        return Response(403, headers + self._common_headers(request), b'{"message":"Forbidden"}')

    def gateway_response(
        self, api: RestApi | None, response_type: str, request: Request, *, explicit_deny: bool = False
    ) -> Response:
        """The API's gateway response of that type, falling back like API Gateway does."""
        default_status, message, error_type = DEFAULT_RESPONSES.get(
            response_type, (500, "Internal server error", "InternalServerErrorException")
        )
        if explicit_deny:
            message = "User is not authorized to access this resource with an explicit deny"
        configured = {}
        if api is not None:
            family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
            configured = api.gateway_responses.get(response_type) or api.gateway_responses.get(family) or {}
        status = int(configured.get("StatusCode", default_status))
        templates = configured.get("ResponseTemplates") or {}
        content_type, template = next(iter(templates.items()), ("application/json", None))
        if template is None:
            # API Gateway's own default body; an explicit deny spells "Message" capitalised.
            key = "Message" if explicit_deny else "message"
            body = json.dumps({key: message})
        else:
            body = _render_template(template, request, api, response_type, message)
        headers = [("Content-Type", content_type), ("x-amzn-ErrorType", error_type)]
        for name, value in ((configured.get("ResponseParameters") or {}).get("Headers") or {}).items():
            headers.append((name, _parameter_value(str(value), request)))
        return Response(status, headers + self._common_headers(request), body.encode("utf-8"))


def _merge_headers(headers: Any, multi: Any) -> list[tuple[str, str]]:
    """API Gateway merges `headers` into `multiValueHeaders` (multi-value entries win)."""
    if headers is not None and not isinstance(headers, dict):
        raise ValueError("headers must be an object")
    if multi is not None and not isinstance(multi, dict):
        raise ValueError("multiValueHeaders must be an object")
    merged: dict[str, tuple[str, list[str]]] = {}
    for name, values in (multi or {}).items():
        if not isinstance(values, list):
            raise ValueError(f"multiValueHeaders[{name!r}] must be a list")
        merged[name.lower()] = (name, [_header_text(v) for v in values])
    for name, value in (headers or {}).items():
        if name.lower() not in merged:
            merged[name.lower()] = (name, [_header_text(value)])
    return [(name, value) for name, values in merged.values() for value in values]


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"header values must be strings, got {type(value).__name__}")


def _render_template(
    template: str, request: Request, api: RestApi | None, response_type: str, message: str | None
) -> str:
    """The `$context.*` variables gateway response templates commonly use."""
    values = {
        "requestId": request.request_id,
        "extendedRequestId": request.request_id,
        "error.message": message or "",
        "error.messageString": json.dumps(message),
        "error.responseType": response_type,
        "stage": api.stage if api else "",
        "apiId": api.api_id if api else "",
        "httpMethod": request.method,
        "path": urlsplit(request.raw_path).path,
        "identity.sourceIp": request.source_ip,
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{context\.([A-Za-z.]+)\}|\$context\.([A-Za-z]+(?:\.[A-Za-z]+)*)", replace, template)


def _parameter_value(value: str, request: Request) -> str:
    """A gateway response header mapping: a 'quoted literal' or a request parameter."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if value.startswith("method.request.header."):
        return request.header(value.rsplit(".", 1)[1]) or ""
    if value.startswith("method.request.querystring."):
        return dict(request.query).get(value.rsplit(".", 1)[1], "")
    return value


def _stringify_context(value: Any) -> Any:
    # API Gateway hands authorizer context values to the integration as strings.
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _authorizer_output_problem(output: Any) -> str | None:
    if not isinstance(output, dict):
        return "not an object"
    if not isinstance(output.get("principalId"), str):
        return "principalId missing"
    policy = output.get("policyDocument")
    if not isinstance(policy, dict) or "Statement" not in policy:
        return "policyDocument with Statement missing"
    statements = policy["Statement"]
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return f"bad statement {statement!r}"
        if "Resource" not in statement or not ("Action" in statement or "NotAction" in statement):
            return f"statement without Action/Resource: {statement!r}"
    context = output.get("context")
    if context is not None:
        if not isinstance(context, dict):
            return "context is not an object"
        for key, value in context.items():
            if value is not None and not isinstance(value, (str, int, float, bool)):
                return f"context[{key!r}] is {type(value).__name__}: only strings, numbers and booleans are allowed"
    return None


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` any run of characters, `?` any one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def evaluate_policy(policy: Mapping[str, Any], method_arn: str) -> str:
    """'allow', 'deny' (explicit) or 'implicit' for execute-api:Invoke on method_arn."""
    statements = policy["Statement"]
    allowed = False
    for statement in statements if isinstance(statements, list) else [statements]:
        if "Action" in statement:
            action_ok = any(_wildcard(a, "execute-api:Invoke", ignore_case=True) for a in _tuple(statement["Action"]))
        else:
            action_ok = not any(
                _wildcard(a, "execute-api:Invoke", ignore_case=True) for a in _tuple(statement["NotAction"])
            )
        if not action_ok or not any(_wildcard(r, method_arn) for r in _tuple(statement["Resource"])):
            continue
        if statement["Effect"] == "Deny":
            return "deny"
        allowed = True
    return "allow" if allowed else "implicit"


# --------------------------------------------------------------------------- HTTP server


class _BodyTooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, the second waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server_version = "switchboard-local"
    server: _HttpServer

    @property
    def gateway(self) -> Gateway:
        assert self.server.gateway is not None, "ApiServer started without a gateway"
        return self.server.gateway

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length else None

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        if split.path == HEALTH_PATH and self.command == "GET" and self.server.health is not None:
            self._send_health()
            return
        if split.path.startswith(OPENAPI_PREFIX) and self.command == "GET" and self.server.openapi_dir is not None:
            self._send_openapi(split.path.removeprefix(OPENAPI_PREFIX))
            return
        request = Request(
            method=self.command,
            raw_path=self.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=list(self.headers.items()),
            body=None,
            source_ip=self.client_address[0],
        )
        try:
            request.body = self._read_body()
        except _BodyTooLarge:
            self.close_connection = True  # the unread body makes the connection unusable
            api = self.gateway.api_for(split.path or "/")
            response = self.gateway.gateway_response(api, "REQUEST_TOO_LARGE", request)
        else:
            try:
                response = self.gateway.handle(request)
            except Exception:
                log.exception("internal error handling %s %s", self.command, self.path)
                response = Response(
                    500, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'
                )
        self._send(request, response)

    def _send_health(self) -> None:
        assert self.server.health is not None
        report = self.server.health()
        body = json.dumps(report).encode()
        self.send_response(200 if report.get("status") == "ok" else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_openapi(self, name: str) -> None:
        """`GET /_openapi/<dialect>.json`: the checked-in OpenAPI document (docs/openapi/), as it is on disk."""
        directory = self.server.openapi_dir
        assert directory is not None
        path = directory / name
        if _OPENAPI_NAME.match(name) and path.is_file():
            status, body = 200, path.read_bytes()
        else:
            documents = sorted(p.name for p in directory.glob("*.json")) if directory.is_dir() else []
            status, body = 404, json.dumps({"message": "no such OpenAPI document", "documents": documents}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.server.gateway is not None:
            self.gateway.echo(f"[api] GET {OPENAPI_PREFIX}{name} {status}")

    def _send(self, request: Request, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        elapsed = (time.time() - request.started) * 1000
        self.gateway.echo(f"[api] {self.command} {self.path} {response.status} {elapsed:.0f} ms")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _send prints one line per request instead


for _method in METHODS:
    setattr(_Handler, f"do_{_method}", _Handler._dispatch)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: Gateway | None = None
    health: Callable[[], dict[str, Any]] | None = None
    openapi_dir: Path | None = None


class ApiServer:
    """The HTTP front door: ThreadingHTTPServer on a loopback port.

    The socket is bound on construction, so the port (and the API's URL, which template
    outputs and environment variables may need) is known before the gateway is built; it
    listens only from start(), so nothing connects before the runtime is ready. The
    runtime's own `GET /_health` (local only, no authorizer) answers from `health`, and
    `GET /_openapi/<dialect>.json` from the files in `openapi_dir`.
    """

    def __init__(self, port: int = 3000, host: str = "127.0.0.1", gateway: Gateway | None = None) -> None:
        self.httpd = _HttpServer((host, port), _Handler, bind_and_activate=False)
        try:
            self.httpd.server_bind()
        except BaseException:
            self.httpd.server_close()
            raise
        self.httpd.gateway = gateway
        self._thread: threading.Thread | None = None

    @property
    def gateway(self) -> Gateway | None:
        return self.httpd.gateway

    @gateway.setter
    def gateway(self, gateway: Gateway) -> None:
        self.httpd.gateway = gateway

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host if isinstance(host, str) else host.decode()}:{self.port}"

    @property
    def health(self) -> Callable[[], dict[str, Any]] | None:
        return self.httpd.health

    @health.setter
    def health(self, health: Callable[[], dict[str, Any]]) -> None:
        self.httpd.health = health

    @property
    def openapi_dir(self) -> Path | None:
        return self.httpd.openapi_dir

    @openapi_dir.setter
    def openapi_dir(self, directory: Path) -> None:
        self.httpd.openapi_dir = directory

    def start(self) -> None:
        self.httpd.server_activate()
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.1,), name="api-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()
