"""Cross-origin (browser) access, the same for every dialect (docs/authentication.md, CORS).

The origins come from the `ALLOWED_ORIGINS` variable (template parameter AllowedOrigins:
comma-separated origins, `*` for any, empty for none). It is read from the environment directly,
not through `switchboard.config`: every API function builds its resolver with it at import, and
pydantic-settings there would cost each cold start. A preflight never reaches an authorizer: API
Gateway routes OPTIONS to the route fallback function (functions/route_fallback), which answers it.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.event_handler import CORSConfig

# What clients of the four dialects send (KAZOO, Expeto and AirVantage tokens, request ids).
ALLOWED_HEADERS = ("X-Auth-Token", "X-API-KEY", "Authorization", "Content-Type", "X-Request-ID")
EXPOSED_HEADERS = ("X-Request-ID", "Location", "Retry-After", "Allow")
MAX_AGE_S = 600


def allowed_origins() -> tuple[str, ...]:
    raw = os.environ.get("ALLOWED_ORIGINS", "")
    return tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())


def config() -> CORSConfig | None:
    """The resolver's CORS configuration, or None when no origin is allowed."""
    origins = allowed_origins()
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=MAX_AGE_S,
    )


def allowed(origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin value for a request's Origin, or None when it is not let in."""
    origins = allowed_origins()
    if not origin:
        return None
    if origin in origins:
        return origin
    return "*" if "*" in origins else None


def headers(origin: str | None) -> dict[str, str]:
    """The CORS headers of a (non-preflight) response to a request from `origin`."""
    value = allowed(origin)
    if value is None:
        return {}
    out = {"Access-Control-Allow-Origin": value, "Access-Control-Expose-Headers": ",".join(EXPOSED_HEADERS)}
    if value != "*":
        out["Vary"] = "Origin"
    return out


def preflight(origin: str | None, methods: tuple[str, ...]) -> dict[str, str]:
    """The headers of a preflight answer for a resource taking `methods`."""
    base = headers(origin)
    if not base:
        return {}
    return {
        **base,
        "Access-Control-Allow-Methods": ",".join(sorted({*methods, "OPTIONS"})),
        "Access-Control-Allow-Headers": ",".join(ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(MAX_AGE_S),
    }
