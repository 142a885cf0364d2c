"""Requests no operation takes: 405 with `Allow` on a known path, 404 on an unknown one.

API Gateway sends here every method a known resource lacks (its ANY method) and every path no
resource has (/{proxy+}), before any authorizer: the answer reveals nothing but the API's shape,
which the published OpenAPI documents show anyway. A CORS preflight (OPTIONS on a known path) is
answered here too, so it never meets the authorizer. The reply is in the dialect of the path: KAZOO
Crossbar under /v2, AirVantage under /api, ESS under /ess, Expeto under /v1. routes.json is generated from
template.yaml by tools/routes.py and lists the public paths (base path included).

One function serves the four REST APIs (one per dialect). Behind the custom domain the event's path carries
the API's base path (/v2/accounts/...); on an API's own stage URL it does not (/accounts/...). So the dialect
is the API's `dialect` stage variable (template.yaml, each API's `Variables`), and the public path is the
dialect's prefix joined to the path when the path lacks it. An event with no stage variable (a hand-built
one) takes its dialect from the path's first segment.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import airvantage, cors, crossbar, ess, expeto

logger = Logger()
app = APIGatewayRestResolver()
crossbar.install(app)  # its domain-error and bug handlers; the not-found answer is this module's

ROUTES = Path(__file__).with_name("routes.json")


@cache
def _patterns() -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    table: dict[str, list[str]] = json.loads(ROUTES.read_text())
    compiled = []
    # API Gateway prefers literal segments to {parameters}: the most literal path that matches wins.
    for path, methods in sorted(table.items(), key=lambda item: item[0].count("{")):
        regex = "".join("/[^/]+" if part.startswith("{") else "/" + re.escape(part) for part in path.split("/") if part)
        compiled.append((re.compile(f"^{regex}/?$"), tuple(methods)))
    return compiled


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods the resource at `path` takes, or () when no resource matches it."""
    for pattern, taken in _patterns():
        if pattern.match(path):
            return taken
    return ()


PREFIXES = {"crossbar": crossbar.PREFIX, "airvantage": airvantage.PREFIX, "ess": ess.PREFIX, "expeto": expeto.PREFIX}


def _dialect(path: str, stage_variables: dict[str, str] | None) -> str:
    named = (stage_variables or {}).get("dialect")
    if named in PREFIXES:
        return named
    first = "/" + next((part for part in path.split("/") if part), "")
    return next((dialect for dialect, prefix in PREFIXES.items() if prefix == first), "crossbar")


def public_path(dialect: str, path: str) -> str:
    """The path as clients call it on the custom domain: with the dialect's base path."""
    prefix = PREFIXES[dialect]
    return path if path == prefix or path.startswith(prefix + "/") else prefix + path.rstrip("/")


def _method_not_allowed(dialect: str, method: str, allowed: tuple[str, ...]) -> Response:
    headers = {"Allow": ", ".join(allowed)}
    if dialect == "airvantage":
        return airvantage.error(405, "method.not.allowed", [method], headers)
    if dialect == "expeto":
        response = expeto.error(app, 405, f"Request method '{method}' not supported")
        response.headers.update(headers)
        return response
    if dialect == "ess":
        return ess.error(
            405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here; allowed: {', '.join(allowed)}", None, headers
        )
    data = {"message": "invalid method", "cause": method, "allowed": list(allowed)}
    return crossbar.error(app, 405, "invalid_method", data, headers)


def _not_found(dialect: str, path: str) -> Response:
    if dialect == "airvantage":
        return airvantage.error(404, airvantage.NOT_FOUND, [path])
    if dialect == "expeto":
        return expeto.error(app, 404, "No message available")
    if dialect == "ess":
        return ess.error(404, "NOT_FOUND", "no such resource")
    return crossbar.error(app, 404, "not_found", {"message": "no such resource"})


def _preflight(origin: str | None, allowed: tuple[str, ...]) -> Response:
    """A CORS preflight for a known path: 204, with the CORS headers when the origin is let in."""
    return Response(status_code=204, content_type=None, body="", headers=cors.preflight(origin, allowed))


@app.not_found
def unrouted(_exc: Exception) -> Response:
    event = app.current_event
    dialect = _dialect(event.path, event.stage_variables)
    allowed = allowed_methods(public_path(dialect, event.path))
    origin = event.headers.get("origin")
    if allowed and event.http_method == "OPTIONS":
        return _preflight(origin, allowed)
    response = _method_not_allowed(dialect, event.http_method, allowed) if allowed else _not_found(dialect, event.path)
    response.headers.update(cors.headers(origin))
    return response


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
