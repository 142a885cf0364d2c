"""What a receiver gets: the ESS body (JSON or XML), the ESS headers and Standard Webhooks signatures.

The shapes follow reference/ess.md ("What a webhook receives"); signing follows the Standard Webhooks
spec so receivers can verify origin with any of its libraries.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

Format = Literal["JSON", "XML"]

CONTENT_TYPES: dict[str, str] = {
    "JSON": "application/json; charset=UTF-8",
    "XML": "application/xml; charset=UTF-8",
}
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SECRET_PREFIX = "whsec_"

# Conservative XML Name (ASCII only); anything else goes in <field name="...">. Names starting with
# "xml" are reserved by the XML spec.
_XML_NAME = re.compile(r"(?!(?i:xml))[A-Za-z_][A-Za-z0-9._-]*")
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Control characters would allow header injection (CR/LF) or be rejected by HTTP clients.
_HEADER_ILLEGAL = re.compile("[\x00-\x1f\x7f]")
_ID_PART = re.compile(r"[A-Za-z0-9_-]+")


def render(
    topic: str,
    attempt: int,
    event_id: str,
    event_type: str,
    timestamp: str,
    fields: Mapping[str, Any],
    key_fields: Sequence[str],
    fmt: Format,
) -> tuple[bytes, dict[str, str]]:
    """Body and ESS headers for one attempt; everything but `attempt` is identical across attempts."""
    document = {
        "topic": topic,
        "attempt": attempt,
        "event-id": event_id,
        "event": {"evt-tp": event_type, "timestamp": timestamp, "fld-val-list": dict(fields)},
    }
    if fmt == "JSON":
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode()
    elif fmt == "XML":
        body = _xml(document)
    else:
        raise ValueError(f"unknown delivery format {fmt!r}")
    headers = {
        "Content-Type": CONTENT_TYPES[fmt],
        "X-ESS-EVENT-KEY": event_key_header(fields, key_fields),
        "X-ESS-EVENT-TIMESTAMP": _header_value(timestamp),
    }
    return body, headers


def event_key_header(fields: Mapping[str, Any], key_fields: Sequence[str]) -> str:
    """`X-ESS-EVENT-KEY`: the key fields' values, each followed by a comma."""
    return _header_value("".join(f"{_text(fields.get(name))}," for name in key_fields))


def render_file(file_id: int, notifications: Sequence[Mapping[str, Any]], fmt: Format) -> tuple[bytes, dict[str, str]]:
    """A buffer file: the notifications (`{"topic", "event-id", "event"}`, as a single webhook carries
    them, without `attempt`) as one JSON array, or as <event-notification> elements under <event-file>."""
    if fmt == "JSON":
        body = json.dumps(list(notifications), separators=(",", ":"), ensure_ascii=False, default=_json_default)
        data = body.encode()
    elif fmt == "XML":
        root = ET.Element("event-file", {"xmlns:xsi": XSI_NS, "file-id": str(file_id)})
        for notification in notifications:
            root.append(_notification_element(notification, namespace=False))
        data = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    else:
        raise ValueError(f"unknown delivery format {fmt!r}")
    headers = {
        "Content-Type": CONTENT_TYPES[fmt],
        "X-ESS-FILE-ID": str(file_id),
        "X-ESS-EVENT-COUNT": str(len(notifications)),
    }
    return data, headers


def render_airvantage(name: str, timestamp: str, content: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    """An AirVantage hook callback (seed 001, Subscriber API): `{"name", "date", "content"}`, the same body on
    every attempt (the date is when the alert happened)."""
    from switchboard.events.models import parse_time

    document = {"name": name, "date": parse_time(timestamp), "content": dict(content)}
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode()
    return body, {"Content-Type": CONTENT_TYPES["JSON"]}


def _json_default(value: object) -> object:
    """Decimals (catalog type Decimal) go out as JSON numbers, not strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def _text(value: Any) -> str:
    """Scalar as text the way JSON would spell it (true/false, not True/False); None is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _header_value(value: str) -> str:
    return _HEADER_ILLEGAL.sub("", value)


def _xml(document: Mapping[str, Any]) -> bytes:
    """Same tree as the JSON, as elements under <event-notification>.

    A None field is kept as an empty element with xsi:nil="true" so XML and JSON receivers see the same
    set of fields. ElementTree does the escaping; characters XML 1.0 forbids become U+FFFD.
    """
    return ET.tostring(_notification_element(document), encoding="UTF-8", xml_declaration=True)


def _notification_element(document: Mapping[str, Any], namespace: bool = True) -> ET.Element:
    root = ET.Element("event-notification", {"xmlns:xsi": XSI_NS} if namespace else {})
    for name in ("topic", "attempt", "event-id"):
        if name in document:
            _child(root, name, document[name])
    event = ET.SubElement(root, "event")
    for name in ("evt-tp", "timestamp"):
        _child(event, name, document["event"][name])
    field_list = ET.SubElement(event, "fld-val-list")
    for name, value in document["event"]["fld-val-list"].items():
        if _XML_NAME.fullmatch(name):
            element = _child(field_list, name, value)
        else:
            element = _child(field_list, "field", value)
            element.set("name", _XML_ILLEGAL.sub("\ufffd", name))
        if value is None:
            element.set("xsi:nil", "true")
    return root


def _child(parent: ET.Element, tag: str, value: Any) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if value is not None:
        element.text = _XML_ILLEGAL.sub("\ufffd", _text(value))
    return element


def message_id(event_id: str, config_id: str) -> str:
    """`webhook-id`: the delivery id `{EVT_ID}:{DEL_CFG_ID}`, the same on every attempt.

    Receivers de-duplicate on it, and it is the id the tracking API uses. Both parts must be
    URL-safe tokens so the signed string `id.timestamp.body` stays unambiguous.
    """
    for part in (event_id, config_id):
        if not _ID_PART.fullmatch(part):
            raise ValueError(f"not a URL-safe id: {part!r}")
    return f"{event_id}:{config_id}"


def sign(msg_id: str, timestamp_s: int, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """Standard Webhooks headers; one `v1,` signature per secret so a rotated-out key keeps verifying."""
    if not secrets:
        raise ValueError("at least one signing secret is required")
    signed = f"{msg_id}.{timestamp_s}.".encode() + body
    signatures = [
        "v1," + base64.b64encode(hmac.new(_secret_key(s), signed, hashlib.sha256).digest()).decode() for s in secrets
    ]
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp_s), "webhook-signature": " ".join(signatures)}


@functools.lru_cache(maxsize=1024)
def _secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"signing secrets start with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as error:
        raise ValueError("signing secret is not valid base64") from error
    if not key:
        raise ValueError("signing secret is empty")
    return key
