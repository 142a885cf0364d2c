"""The API's route table, generated from template.yaml: `python -m tools.routes [--check]`.

Writes functions/route_fallback/routes.json ({public path: [methods]}, each event's API base path joined to its
`Path`, as clients call it on the custom domain) for the function that answers
requests API Gateway routes to no operation: 405 with `Allow` on a known path, 404 elsewhere, in
the dialect of the path. `--check` fails when the checked-in table differs from the template.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from switchboard_local.template import load_yaml, logical_id_of

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "functions" / "route_fallback" / "routes.json"
FALLBACK_FUNCTION = "RouteFallbackFunction"


def base_paths(template: dict[str, Any]) -> dict[str, str]:
    """Each REST API's base path on the custom domain (`/v2`), from its `AWS::ApiGateway::BasePathMapping`."""
    found: dict[str, str] = {}
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") == "AWS::ApiGateway::BasePathMapping":
            props = resource.get("Properties") or {}
            api = logical_id_of(props.get("RestApiId"))
            if api:
                found[api] = "/" + str(props.get("BasePath") or "").strip("/")
    return found


def public_path(props: dict[str, Any], bases: dict[str, str]) -> str:
    """An Api event's path as clients call it on the custom domain: its API's base path, then its `Path`."""
    base = bases.get(logical_id_of(props.get("RestApiId")) or "", "")
    path = str(props["Path"])
    return (base + path).rstrip("/") or "/" if base else path


def route_table(template: dict[str, Any]) -> dict[str, list[str]]:
    """Every operation's public path and its methods (the fallback's own ANY events left out)."""
    bases = base_paths(template)
    table: dict[str, set[str]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function" or logical_id == FALLBACK_FUNCTION:
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            table.setdefault(public_path(props, bases), set()).add(str(props["Method"]).upper())
    return {path: sorted(methods) for path, methods in sorted(table.items())}


def fallback_paths(template: dict[str, Any]) -> set[str]:
    """The public paths of the fallback's events (each API's `/{proxy+}` under its base path)."""
    bases = base_paths(template)
    function = (template.get("Resources") or {}).get(FALLBACK_FUNCTION) or {}
    events = ((function.get("Properties") or {}).get("Events") or {}).values()
    return {public_path(e.get("Properties") or {}, bases) for e in events if e.get("Type") == "Api"}


def render(template_path: Path = ROOT / "template.yaml") -> str:
    return json.dumps(route_table(load_yaml(template_path)), indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        if not TABLE.exists() or TABLE.read_text() != text:
            print(f"{TABLE.relative_to(ROOT)} is stale: run python -m tools.routes", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
