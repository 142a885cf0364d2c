"""The API's route table, generated from template.yaml: `python -m tools.routes [--check]`.

Writes functions/route_fallback/routes.json ({path: [methods]}) for the function that answers
requests API Gateway routes to no operation: 405 with `Allow` on a known path, 404 elsewhere, in
the dialect of the path. `--check` fails when the checked-in table differs from the template.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from switchboard_local.template import load_yaml

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "functions" / "route_fallback" / "routes.json"
FALLBACK_FUNCTION = "RouteFallbackFunction"


def route_table(template: dict[str, Any]) -> dict[str, list[str]]:
    """Every operation's path and its methods (the fallback's own ANY events left out)."""
    table: dict[str, set[str]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function" or logical_id == FALLBACK_FUNCTION:
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            table.setdefault(str(props["Path"]), set()).add(str(props["Method"]).upper())
    return {path: sorted(methods) for path, methods in sorted(table.items())}


def fallback_paths(template: dict[str, Any]) -> set[str]:
    function = (template.get("Resources") or {}).get(FALLBACK_FUNCTION) or {}
    events = ((function.get("Properties") or {}).get("Events") or {}).values()
    return {str((e.get("Properties") or {}).get("Path")) for e in events if e.get("Type") == "Api"}


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
