"""`switchboard local` as a child process (so a test can SIGKILL it), with what its banner says."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SWITCHBOARD = Path(sys.executable).parent / "switchboard"
STARTUP_TIMEOUT = 120.0


class RuntimeProcess:
    """Starts `switchboard local ARGS` on 127.0.0.1 and waits for its banner (it prints it when ready)."""

    def __init__(self, *args: str, port: int = 0, emulator_port: int = 0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHBOARD_"))}
        self.process = subprocess.Popen(
            [str(SWITCHBOARD), "local", "--port", str(port), "--emulator-port", str(emulator_port), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: deque[str] = deque(maxlen=5000)
        self._banner = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._banner.wait(STARTUP_TIMEOUT) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError("switchboard local did not start:\n" + self.tail())
        banner = "\n".join(self.lines)
        self.api_url = _field(banner, r"API\s+(http://\S+)")
        self.emulator_url = _field(banner, r"Emulator\s+(http://\S+)")
        self.token = _field(banner, r"Demo token\s+(\S+)")
        self.account = _field(banner, r"Demo operator account\s+(\S+)")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops it."):
                self._banner.set()
        self._banner.set()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def api_port(self) -> int:
        return int(self.api_url.rsplit(":", 1)[1])

    @property
    def emulator_port(self) -> int:
        return int(self.emulator_url.rsplit(":", 1)[1])

    def tail(self, count: int = 60) -> str:
        return "\n".join(list(self.lines)[-count:])

    def children(self) -> list[int]:
        return children_of(self.pid)

    def rss_kib(self, peak: bool = False) -> int:
        """The runtime process's resident set (VmRSS), or its peak so far (VmHWM), in KiB."""
        field = "VmHWM" if peak else "VmRSS"
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise


def _field(banner: str, pattern: str) -> str:
    match = re.search(pattern, banner)
    return match.group(1) if match else ""


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    return left
