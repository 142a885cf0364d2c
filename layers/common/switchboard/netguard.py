"""Which webhook targets Switchboard refuses (SSRF policy; docs/delivery.md).

At configuration time only literal addresses can be judged (names are resolved and checked
again at send time by the delivery engine). Every spelling of an IPv4 address a resolver would accept
(`127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`) is normalised before it is judged.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def forbidden_address_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an IP may not be a webhook target, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local (or cloud metadata) address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified:
        return "a private or reserved address"
    return None


_NUMBER_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def _number(part: str) -> int | None:
    if not _NUMBER_PART.fullmatch(part):
        return None
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host name spells in any of the forms resolvers and browsers accept (the WHATWG URL
    IPv4 parser: 1 to 4 dot-separated parts, each decimal, `0x` hex or `0` octal, the last filling the
    remaining bytes: `127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`); None when it is not one."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = values[-1]
    for index, value in enumerate(values[:-1]):
        address += value << (8 * (3 - index))
    return ipaddress.IPv4Address(address)


def host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `host` (a URL's hostname) stands for literally, in any spelling; None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id: the address still counts
    except ValueError:
        return legacy_ipv4(host)


def url_problem(url: str, allow_private: bool) -> str | None:
    """What is wrong with `url` as a webhook address, or None when it is acceptable."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an absolute http or https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (use the authentication settings)"
    if port == 0:
        return "must not use port 0"
    if allow_private:
        return None
    host = parts.hostname.rstrip(".").lower()
    if host in _METADATA_HOSTS or host == "localhost" or host.endswith(".localhost"):
        return f"must not point at {host}"
    address = host_address(host)
    if address is None:
        return None  # a name: checked again, resolved, at send time
    reason = forbidden_address_reason(address)
    return f"must not point at {reason}" if reason else None
