"""Which webhook targets Switchboard refuses (SSRF policy; docs/delivery.md).

At configuration time only literal addresses can be judged (names are resolved and checked
again at send time by the delivery engine).
"""

from __future__ import annotations

import ipaddress
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
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked again, resolved, at send time
    reason = forbidden_address_reason(address)
    return f"must not point at {reason}" if reason else None
