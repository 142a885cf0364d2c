"""The one JSON policy every dialect applies to a request body before anything is written.

A body is refused (the dialect's 400, or 413 for size) when it:

- is not strict JSON: `NaN`, `Infinity`, bad UTF-8, integers past Python's digit limit;
- holds a number that is not finite once parsed (`1e400` parses to infinity);
- holds a string (value or key) with an unpaired UTF-16 surrogate (`"\\ud800"`): it cannot be encoded as
  UTF-8, so it could be neither stored nor sent back;
- nests deeper than MAX_DEPTH levels;
- is larger than the route can store (`check_size`: DynamoDB's 400 KB item limit, below the 1 MiB request
  limit) → PayloadTooLarge.

What passes can be stored, echoed and sent in a webhook as valid JSON; `dumps` writes JSON with
`allow_nan=False` so no reply or webhook body can carry `NaN`/`Infinity`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from switchboard.errors import InvalidInput, PayloadTooLarge

MAX_DEPTH = 32
MAX_ITEM_BYTES = 400_000  # DynamoDB's item limit (400 KB, names and values together)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonPolicyError(ValueError):
    """Why a body breaks the policy (the message is the reason shown to the caller)."""


def _refuse_constant(name: str) -> Any:
    raise JsonPolicyError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonPolicyError(f"the number {text[:40]} is out of range")
    return value


def problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """What breaks the policy in an already-decoded value, or None (iterative: deep input must not exhaust
    the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return "a string holds an unpaired UTF-16 surrogate"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "a number is not finite"
        elif isinstance(item, dict):
            if depth > max_depth:
                return f"it nests deeper than {max_depth} levels"
            for key, child in item.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    return "a key holds an unpaired UTF-16 surrogate"
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                return f"it nests deeper than {max_depth} levels"
            stack.extend((child, depth + 1) for child in item)
    return None


def loads(data: bytes | str, parse_float: Callable[[str], Any] | None = None) -> Any:
    """The decoded body under the policy; InvalidInput at path `json` (each dialect's "not JSON" error).
    `parse_float`: how to read decimals (`Decimal` where amounts must stay exact); floats by default."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=parse_float or _finite_float)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge integers, deep nesting
        reason = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InvalidInput.single(
            ("json",), "invalid", f"request body is not valid JSON: {reason}", target="body"
        ) from None
    found = problem(value)
    if found is not None:
        raise InvalidInput.single(("json",), "invalid", f"request body is not valid JSON: {found}", target="body")
    return value


def check_size(data: bytes, limit: int = MAX_ITEM_BYTES) -> None:
    """PayloadTooLarge when a body is too big for what the route stores (before it is parsed)."""
    if len(data) > limit:
        raise PayloadTooLarge(limit)


def dumps(value: Any, **options: Any) -> str:
    """JSON text that is valid JSON: non-finite numbers raise ValueError instead of writing `Infinity`."""
    return json.dumps(value, allow_nan=False, **options)
