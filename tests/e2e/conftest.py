"""The whole system for end-to-end tests: `switchboard local` once per session, the real CLI.

The runtime runs template.yaml from the repository root on free loopback ports. Accounts and
tokens are issued by running the installed `switchboard` command in a subprocess with the
runtime's AWS environment, so the CLI's stack-output lookup is exercised as a user runs it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from switchboard_local.runtime import LocalRuntime

ROOT = Path(__file__).resolve().parents[2]
SWITCHBOARD = Path(sys.executable).parent / "switchboard"
CONSOLE_ORIGIN = "https://console.example.com"

T = TypeVar("T")


class RuntimeLog:
    """Collects the runtime's console lines (requests, function logs, failures) quietly."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def tail(self, count: int = 40) -> str:
        with self._lock:
            return "\n".join(self.lines[-count:])


def wait_until(
    probe: Callable[[], T | None], what: str, timeout: float, log: RuntimeLog | None = None, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; fail with the runtime's log otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = "\n" + log.tail() if log is not None else ""
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what} (last: {value!r}){tail}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def runtime_log() -> RuntimeLog:
    return RuntimeLog()


@pytest.fixture(scope="session")
def runtime(runtime_log: RuntimeLog) -> Iterator[LocalRuntime]:
    # The repository's template.yaml (CodeUri/ContentUri resolve against its directory).
    # EndpointFailureWindowSeconds: 3 s instead of the deployed 24 h, so test_delivery_e2e.py can watch a
    # configuration whose endpoint keeps failing get deactivated (and its admins alerted) within seconds.
    # AllowedOrigins: one browser console origin, for test_cors_e2e.py.
    rt = LocalRuntime(
        ROOT / "template.yaml",
        port=0,
        emulator_port=0,
        demo_account=True,
        echo=runtime_log,
        parameter_overrides={"EndpointFailureWindowSeconds": "3", "AllowedOrigins": CONSOLE_ORIGIN},
    )
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


def cli_environment(rt: LocalRuntime) -> dict[str, str]:
    """The caller's environment pointed at the runtime, as `export $(...)` from the banner does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHBOARD_"))}
    env.update(rt.environment())
    return env


def run_cli(rt: LocalRuntime, *args: str) -> dict[str, Any]:
    """Run `switchboard ARGS...` against the runtime and return the JSON it printed."""
    if not SWITCHBOARD.exists():
        pytest.fail(f"{SWITCHBOARD} not found: install the project (make install)")
    done = subprocess.run(
        [str(SWITCHBOARD), *args],
        cwd=ROOT,
        env=cli_environment(rt),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"switchboard {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Principal:
    """What `switchboard accounts create` / `tokens create` print."""

    account_id: str
    user_id: str
    token: str

    @classmethod
    def of(cls, printed: dict[str, Any]) -> Principal:
        assert set(printed) >= {"account_id", "user_id", "token"}, printed
        assert printed["token"].startswith("sbk_")
        return cls(printed["account_id"], printed["user_id"], printed["token"])


def create_account(rt: LocalRuntime, name: str, *, parent: str | None = None, reseller: bool = False) -> Principal:
    args = ["accounts", "create", "--name", name]
    if parent:
        args += ["--parent", parent]
    if reseller:
        args.append("--reseller")
    return Principal.of(run_cli(rt, *args))


def create_token(rt: LocalRuntime, account_id: str, *, admin: bool = False, user: str | None = None) -> Principal:
    args = ["tokens", "create", "--account", account_id]
    if admin:
        args.append("--admin")
    if user:
        args += ["--user", user]
    return Principal.of(run_cli(rt, *args))


@pytest.fixture
def tenant(runtime: LocalRuntime) -> Principal:
    """A new account (its admin key) for one test: no one else's rules, subscriptions, deliveries or alerts."""
    return create_account(runtime, "Tenant")


@dataclass(frozen=True)
class World:
    """Reseller R with sub-account C, a stranger S, plain users of C and R."""

    reseller: Principal
    child: Principal
    stranger: Principal
    child_user: Principal
    reseller_user: Principal


@pytest.fixture(scope="session")
def world(runtime: LocalRuntime) -> World:
    reseller = create_account(runtime, "Reseller R", reseller=True)
    child = create_account(runtime, "Customer C", parent=reseller.account_id)
    stranger = create_account(runtime, "Stranger S")
    return World(
        reseller=reseller,
        child=child,
        stranger=stranger,
        child_user=create_token(runtime, child.account_id),
        reseller_user=create_token(runtime, reseller.account_id),
    )


def too_large(
    runtime: LocalRuntime, method: str, path: str, key: str, timeout: float = 30
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Over API Gateway's 10 MB: the gateway answers without reading the body (raw socket: no upload)."""
    assert runtime.api is not None
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {10 * 1024 * 1024 + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", runtime.api.port), timeout=timeout) as sock:
        sock.sendall(head.encode())
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    status_line, _, rest = raw.decode().partition("\r\n")
    head_text, _, body = rest.partition("\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head_text.split("\r\n") if ": " in line)
    return int(status_line.split()[1]), headers, json.loads(body)
