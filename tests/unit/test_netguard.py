"""The configuration-time SSRF check judges every spelling of an address, not only the dotted-quad one."""

from __future__ import annotations

import ipaddress

import pytest
from switchboard import netguard

PRIVATE_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0x7F.1",
    "0177.0.0.1",
    "0177.1",
    "017700000001",
    "127.0.0.1.",
    "10.1",
    "012.0.0.1",
    "0xa9.0xfe.0xa9.0xfe",  # 169.254.169.254, the metadata service
    "2852039166",
    "0",
    "0.0",
    "192.168.0x1.1",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::1]",
    "[fe80::1%25eth0]",
]


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
def test_every_spelling_of_a_private_address_is_refused(host: str) -> None:
    problem = netguard.url_problem(f"https://{host}/hook", allow_private=False)
    assert problem is not None and problem.startswith("must not point at"), (host, problem)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("1.2.3", "1.2.0.3"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_legacy_spellings_normalise(host: str, address: str) -> None:
    assert netguard.host_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host", ["example.com", "hooks.example.com", "1.2.3.4.5", "256.1.1.1", "4294967296", "09.1.1.1", "1.2.3.x"]
)
def test_names_and_impossible_numbers_are_not_addresses(host: str) -> None:
    assert netguard.legacy_ipv4(host) is None


def test_public_addresses_in_any_spelling_are_accepted() -> None:
    assert netguard.url_problem("https://134744072/hook", allow_private=False) is None  # 8.8.8.8
    assert netguard.url_problem("https://0x8.8.8.8/hook", allow_private=False) is None
    assert netguard.url_problem("https://example.com/hook", allow_private=False) is None
