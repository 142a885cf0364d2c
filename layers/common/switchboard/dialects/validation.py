"""Turning pydantic's validation errors into dialect-neutral field errors."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from switchboard.errors import FieldError, InvalidInput

_TYPE_NAMES = {
    "string_type": "string",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}

_RANGE_CODES = {
    "string_too_short": ("minLength", "min_length"),
    "string_too_long": ("maxLength", "max_length"),
    "too_short": ("minItems", "min_length"),
    "too_long": ("maxItems", "max_length"),
    "greater_than_equal": ("minimum", "ge"),
    "greater_than": ("exclusiveMinimum", "gt"),
    "less_than_equal": ("maximum", "le"),
    "less_than": ("exclusiveMaximum", "lt"),
}


def _enum_values(ctx: dict[str, Any]) -> list[str]:
    return re.findall(r"'([^']*)'", str(ctx.get("expected", "")))


def _clean_path(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # Unions add the tried member's name to the location (e.g. "list[...]"); callers want data paths.
    return tuple(part for part in loc if isinstance(part, int) or ("[" not in part and part != "function-after"))


def field_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False):
        path = prefix + _clean_path(error["loc"])
        kind = error["type"]
        ctx = error.get("ctx") or {}
        value = error.get("input")
        if kind == "missing":
            name = str(path[-1]) if path else None
            errors.append(FieldError(path, "required", "Field is required but missing", name))
        elif kind in ("literal_error", "enum"):
            errors.append(
                FieldError(path, "enum", "Value not found in enumerated list of values", value, _enum_values(ctx))
            )
        elif kind in _TYPE_NAMES:
            type_name = _TYPE_NAMES[kind]
            errors.append(
                FieldError(path, "type", f"Value did not match type(s): {type_name}", _plain(value), type_name)
            )
        elif kind in _RANGE_CODES:
            code, limit_key = _RANGE_CODES[kind]
            limit = ctx.get(limit_key, ctx.get("min_length", ctx.get("max_length")))
            errors.append(FieldError(path, code, error["msg"], _plain(value), limit))
        else:
            errors.append(FieldError(path, "invalid", error["msg"], _plain(value)))
    # A union reports one error per member tried; keep the first per (path, code).
    unique: dict[tuple[tuple[str | int, ...], str], FieldError] = {}
    for item in errors:
        unique.setdefault((item.path, item.code), item)
    return list(unique.values())


def _plain(value: Any) -> Any:
    """Echo scalars back to the caller; never echo whole (possibly huge) objects."""
    return value if isinstance(value, str | int | float | bool) or value is None else None


def invalid_input(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> InvalidInput:
    return InvalidInput(field_errors(exc, prefix))


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any, prefix: tuple[str | int, ...] = ()) -> Model:
    """`data` as `model`, or InvalidInput naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, prefix) from None
