"""Run Lambda handlers in worker processes, like Lambda execution environments.

Each function gets a small pool of warm worker processes, each a fresh interpreter started
with the function's environment (so nothing leaks between functions or from the developer's
shell). A worker puts the function's code and layers on sys.path, imports the handler once
(the init phase) and then serves invocations one at a time (see worker.py). A worker that
times out is killed, one that dies is replaced, both reported with Lambda's error types.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .template import (
    FUNCTION_TYPES,
    LAYER_TYPES,
    REGION,
    PhysicalResource,
    Resolver,
    Template,
    TemplateError,
    arn,
    logical_id_of,
    stringify_env,
)

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
INIT_TIMEOUT = 30.0  # Lambda allows 10 s of init; spawning an interpreter comes on top


@dataclass(frozen=True)
class FunctionSpec:
    """Everything a worker needs to behave like the deployed function."""

    logical_id: str
    function_name: str
    handler: str
    code_dir: str
    layer_dirs: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    timeout: float = 3.0
    max_concurrency: int = DEFAULT_CONCURRENCY

    @property
    def arn(self) -> str:
        return arn("lambda", f"function:{self.function_name}")


class InvocationError(Exception):
    """The function failed; fields mirror Lambda's error payload."""

    def __init__(
        self,
        error_type: str,
        error_message: str,
        stack_trace: list[str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        self.stack_trace = stack_trace or []
        self.request_id = request_id

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"errorMessage": self.error_message, "errorType": self.error_type}
        if self.request_id:
            payload["requestId"] = self.request_id
        payload["stackTrace"] = self.stack_trace
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> InvocationError:
        return cls(
            payload.get("errorType", "Unknown"),
            payload.get("errorMessage", ""),
            payload.get("stackTrace"),
            payload.get("requestId"),
        )


class FunctionTimeout(InvocationError):
    """The invocation ran past the function's Timeout and its worker was killed."""


# --------------------------------------------------------------------------- specs


def function_specs(
    template: Template,
    physical: Mapping[str, PhysicalResource],
    *,
    endpoint_url: str,
    env_overrides: Mapping[str, Mapping[str, str]] | None = None,
    max_concurrency: int = DEFAULT_CONCURRENCY,
) -> dict[str, FunctionSpec]:
    """FunctionSpecs for every AWS::Serverless::Function of the template.

    env_overrides follows `sam local invoke --env-vars`: {"Parameters": {...}} applies to
    every function, {"LogicalId": {...}} to one.
    """
    resolver = Resolver(template, physical)
    env_overrides = env_overrides or {}
    specs = {}
    for logical_id, resource in template.of_type(*FUNCTION_TYPES).items():
        props = resource["Properties"]
        if props.get("PackageType", "Zip") != "Zip" or "InlineCode" in props:
            log.warning("%s: only Zip functions with a CodeUri run locally; skipped", logical_id)
            continue
        runtime = str(resolver.resolve(props.get("Runtime", "")))
        if not runtime.startswith("python"):
            log.warning("%s: runtime %r is not Python; skipped", logical_id, runtime)
            continue
        code_uri = resolver.resolve(props.get("CodeUri", "."))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local directory to run locally")
        name = physical[logical_id].ref
        memory = int(resolver.resolve(props.get("MemorySize", 128)))
        timeout = float(resolver.resolve(props.get("Timeout", 3)))
        handler = str(resolver.resolve(props["Handler"]))
        template_env = stringify_env(resolver.resolve((props.get("Environment") or {}).get("Variables") or {}))
        template_env.update(env_overrides.get("Parameters") or {})
        template_env.update(env_overrides.get(logical_id) or {})
        logging_config = resolver.resolve(props.get("LoggingConfig") or {})
        code_dir = (template.root / code_uri).resolve()
        environment = {
            **template_env,
            **_lambda_environment(name, handler, runtime, memory, timeout, str(code_dir), logging_config),
            "AWS_ENDPOINT_URL": endpoint_url,
        }
        concurrency = max_concurrency
        reserved = props.get("ReservedConcurrentExecutions")
        if reserved:
            concurrency = max(1, min(int(resolver.resolve(reserved)), max_concurrency))
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            function_name=name,
            handler=handler,
            code_dir=str(code_dir),
            layer_dirs=tuple(_layer_dirs(template, logical_id, props.get("Layers") or [])),
            environment=environment,
            memory_mb=memory,
            timeout=timeout,
            max_concurrency=concurrency,
        )
    return specs


def _lambda_environment(
    name: str,
    handler: str,
    runtime: str,
    memory: int,
    timeout: float,
    code_dir: str,
    logging_config: Mapping[str, Any],
) -> dict[str, str]:
    """The variables Lambda itself sets, plus what keeps SDKs off real AWS."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]local",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_SAM_LOCAL": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LAMBDA_TASK_ROOT": code_dir,
        "TZ": ":UTC",
        "_HANDLER": handler,
    }
    if logging_config.get("LogFormat"):
        env["AWS_LAMBDA_LOG_FORMAT"] = str(logging_config["LogFormat"])
    if logging_config.get("ApplicationLogLevel"):
        env["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config["ApplicationLogLevel"])
    return env


def _layer_dirs(template: Template, function_id: str, layers: list[Any]) -> list[str]:
    dirs = []
    for item in layers:
        layer_id = logical_id_of(item)
        if layer_id is None or template.resource_type(layer_id) not in LAYER_TYPES:
            log.warning("%s: layer %r is not in the template; its code is not available locally", function_id, item)
            continue
        layer = template.resources[layer_id]
        content = (layer.get("Properties") or {}).get("ContentUri") or (layer.get("Properties") or {}).get("Content")
        if not isinstance(content, str):
            log.warning("%s: layer %s has no local ContentUri; skipped", function_id, layer_id)
            continue
        path = (template.root / content).resolve()
        # Without a BuildMethod the directory is shipped as-is to /opt, so Python code
        # lives in its python/ subdirectory; with one, `sam build` puts the sources there.
        if not (layer.get("Metadata") or {}).get("BuildMethod") and (path / "python").is_dir():
            path = path / "python"
        dirs.append(str(path))
    return dirs


# --------------------------------------------------------------------------- worker processes

# Variables a worker keeps from the developer's environment; everything else (AWS profiles
# and keys, test settings, PYTHONPATH) stays out, as it would on Lambda.
_INHERITED_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TEMP",
    "TMP",
    "TERM",
    "SYSTEMROOT",
    "VIRTUAL_ENV",
    "COVERAGE_PROCESS_START",
)
# The worker is a fresh interpreter (not multiprocessing's spawn, which re-imports the
# parent's __main__ in every child); this bootstraps switchboard_local.worker in it.
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from switchboard_local.worker import main; main(int(sys.argv[2]))"


def worker_environment(spec: FunctionSpec) -> dict[str, str]:
    env = {k: os.environ[k] for k in _INHERITED_VARIABLES if k in os.environ}
    env.setdefault("LANG", "en_US.UTF-8")
    env.update(spec.environment)
    return env


class _WorkerGone(Exception):
    """The worker process died; `delivered` says whether it may have seen the event."""

    def __init__(self, delivered: bool) -> None:
        super().__init__("worker process exited")
        self.delivered = delivered


class _Worker:
    """One worker process and the connection to it (used by one invocation at a time)."""

    def __init__(self, spec: FunctionSpec, console_to_stderr: bool) -> None:
        self.spec = spec
        parent_sock, child_sock = socket.socketpair()
        with child_sock:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, _PACKAGE_PARENT, str(child_sock.fileno())],
                pass_fds=[child_sock.fileno()],
                env=worker_environment(spec),
                cwd=spec.code_dir,  # Lambda's working directory is the function's code
                stdin=subprocess.DEVNULL,
                stdout=sys.__stderr__.fileno() if console_to_stderr and sys.__stderr__ is not None else None,
            )
        self.conn = Connection(parent_sock.detach())
        self.conn.send(
            {
                "logical_id": spec.logical_id,
                "handler": spec.handler,
                "code_dir": spec.code_dir,
                "layer_dirs": list(spec.layer_dirs),
                "arn": spec.arn,
                "boot_path": _PACKAGE_PARENT,
            }
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def exit_code(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(1)  # reap it, so its exit status is known
        return self.process.returncode

    def alive(self) -> bool:
        return self.process.poll() is None

    def _receive(self, timeout: float) -> tuple[str, Any] | None:
        try:
            if not self.conn.poll(timeout):
                return None
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            raise _WorkerGone(delivered=True) from exc

    def wait_ready(self, timeout: float) -> None:
        message = self._receive(timeout)
        if message is None:
            self.kill()
            raise InvocationError("Runtime.InitTimeout", f"init did not finish within {timeout:.0f} seconds")
        if message[0] == "init_error":
            self.kill()
            raise InvocationError.from_payload(message[1])

    def invoke(self, request_id: str, event_json: str, timeout: float) -> tuple[str, Any]:
        deadline_ms = int((time.time() + timeout) * 1000)
        try:
            self.conn.send((request_id, event_json, deadline_ms))
        except (OSError, ValueError) as exc:
            raise _WorkerGone(delivered=False) from exc
        message = self._receive(timeout)
        if message is None:
            self.kill()
            raise FunctionTimeout(
                "Sandbox.Timedout", f"{request_id} Task timed out after {timeout:.2f} seconds", request_id=request_id
            )
        return message

    def stop(self, grace: float = 1.0) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace)
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.conn.close()


class FunctionPool:
    """Warm workers of one function: reused, started on demand up to max_concurrency."""

    def __init__(
        self, spec: FunctionSpec, *, console_to_stderr: bool = False, init_timeout: float = INIT_TIMEOUT
    ) -> None:
        self.spec = spec
        self.console_to_stderr = console_to_stderr
        self.init_timeout = init_timeout
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._checked_out = 0
        self._closed = False
        self._cond = threading.Condition()

    def _acquire(self) -> _Worker | None:
        """An idle warm worker, or None when the caller may start a new one."""
        with self._cond:
            while True:
                if self._closed:
                    raise InvocationError("Runtime.Shutdown", "the local runtime is shutting down")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        self._checked_out += 1
                        return worker
                    self._discard(worker)
                if self._checked_out < self.spec.max_concurrency:
                    self._checked_out += 1
                    return None
                self._cond.wait()

    def _release(self, worker: _Worker | None, healthy: bool) -> None:
        with self._cond:
            self._checked_out -= 1
            if worker is not None:
                if healthy and not self._closed:
                    self._idle.append(worker)
                else:
                    self._discard(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.kill()

    def _start_worker(self) -> _Worker:
        worker = _Worker(self.spec, self.console_to_stderr)
        with self._cond:
            self._workers.add(worker)
        try:
            worker.wait_ready(self.init_timeout)
        except _WorkerGone:
            self._forget(worker)
            raise InvocationError(
                "Runtime.ExitError",
                f"Runtime exited during init with exit status {worker.exit_code}",
            ) from None
        except InvocationError:
            self._forget(worker)
            raise
        return worker

    def _forget(self, worker: _Worker) -> None:
        with self._cond:
            self._workers.discard(worker)
        worker.kill()

    def invoke(self, event: Any, request_id: str | None = None, timeout: float | None = None) -> Any:
        """Run the handler on event; return its (JSON round-tripped) result.

        Raises InvocationError (FunctionTimeout on timeout) the way Lambda reports errors.
        `timeout` shortens the function's own Timeout (API Gateway gives up after 29 s).
        """
        limit = self.spec.timeout if timeout is None else min(timeout, self.spec.timeout)
        request_id = request_id or str(uuid.uuid4())
        event_json = json.dumps(event)
        while True:
            worker = self._acquire()
            healthy = False
            try:
                if worker is None:
                    worker = self._start_worker()
                status, payload = worker.invoke(request_id, event_json, limit)
                healthy = True
            except _WorkerGone as gone:
                if self._closed:
                    raise InvocationError("Runtime.Shutdown", "the local runtime is shutting down") from None
                if not gone.delivered:
                    continue  # died while idle: the event never reached it; use a fresh worker
                exit_code = worker.exit_code if worker is not None else None
                raise InvocationError(
                    "Runtime.ExitError",
                    f"RequestId: {request_id} Error: Runtime exited with error: exit status {exit_code}",
                    request_id=request_id,
                ) from None
            finally:
                self._release(worker, healthy)
            if status == "ok":
                return json.loads(payload)
            raise InvocationError.from_payload(payload)

    def pids(self) -> list[int]:
        with self._cond:
            return [w.pid for w in self._workers]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, busy = list(self._idle), self._workers - set(self._idle)
            self._idle.clear()
            self._workers.clear()
            self._cond.notify_all()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.kill()


class FunctionRunner:
    """All function pools of a template: invoke by logical id, name or ARN."""

    def __init__(
        self,
        specs: Mapping[str, FunctionSpec],
        *,
        console_to_stderr: bool = False,
        init_timeout: float = INIT_TIMEOUT,
    ) -> None:
        self.specs = dict(specs)
        self._pools = {
            logical_id: FunctionPool(spec, console_to_stderr=console_to_stderr, init_timeout=init_timeout)
            for logical_id, spec in self.specs.items()
        }
        self._by_reference = {}
        for logical_id, spec in self.specs.items():
            self._by_reference[spec.function_name] = logical_id
            self._by_reference[spec.arn] = logical_id

    def logical_id(self, reference: str) -> str:
        """The logical id for a logical id, function name or function ARN."""
        if reference in self._pools:
            return reference
        if reference in self._by_reference:
            return self._by_reference[reference]
        raise KeyError(f"no function {reference!r} in the template")

    def invoke(self, function: str, event: Any, request_id: str | None = None, timeout: float | None = None) -> Any:
        return self._pools[self.logical_id(function)].invoke(event, request_id, timeout)

    def pids(self) -> list[int]:
        return [pid for pool in self._pools.values() for pid in pool.pids()]

    def close(self) -> None:
        pools = list(self._pools.values())
        threads = [threading.Thread(target=pool.close) for pool in pools]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
