"""The inside of a worker process: one Lambda execution environment of one function.

Started by functions.py as a fresh interpreter with the function's environment already in
place; it receives its configuration on the connection, imports the handler (the init
phase), then serves invocations until told to stop. Standard library only, so the worker
carries nothing the deployed function would not have.
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any, TextIO


class _PrefixedStream(io.TextIOBase):
    """Writes whole lines, each prefixed with the function's name, to the real console."""

    def __init__(self, target: TextIO, prefix: str) -> None:
        self._target = target
        self._prefix = prefix
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            if lines:
                self._target.write("".join(f"{self._prefix}{line}\n" for line in lines))
                self._target.flush()
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")


class LambdaContext:
    """The context object of the Python runtime (same attributes, same types)."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.invoked_function_arn = invoked_function_arn
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)


def _decimal_default(value: Any) -> Any:
    # The Lambda runtime serialises Decimal (what boto3's DynamoDB layer returns) as a number.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def error_payload(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    # Like Lambda's, the stack trace shows the function's frames, not the runtime's.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return {
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


class _InitError(Exception):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload["errorMessage"])
        self.payload = payload


def load_handler(handler: str) -> Any:
    """Import `module.function` the way the Lambda Python runtime does, with its error types."""
    module_name, _, function_name = handler.rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _InitError(
            error_payload(exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        ) from exc
    except SyntaxError as exc:
        raise _InitError(
            error_payload(exc, "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
        ) from exc
    func = getattr(module, function_name, None)
    if func is None:
        raise _InitError(
            {
                "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
                "errorType": "Runtime.HandlerNotFound",
                "stackTrace": [],
            }
        )
    return func


def _log_error(payload: Mapping[str, Any]) -> None:
    # What the Lambda runtime prints to the function's log for an unhandled error.
    trace = "".join(payload.get("stackTrace") or [])
    print(f"[ERROR] {payload['errorType']}: {payload['errorMessage']}", file=sys.stderr)
    if trace:
        print(f"Traceback (most recent call last):\n{trace.rstrip()}", file=sys.stderr)


def _is_authorizer_denial(exc: BaseException) -> bool:
    # `raise Exception("Unauthorized")` is how a Lambda authorizer tells API Gateway to answer
    # 401: an expected outcome, logged by the function itself, not an error with a traceback.
    return type(exc) is Exception and str(exc) == "Unauthorized"


def serve(conn: Connection, config: Mapping[str, Any]) -> None:
    """Init the function, then answer invocations: (request_id, event_json, deadline_ms)."""
    prefix = f"[{config['logical_id']}] "
    sys.stdout = _PrefixedStream(sys.__stdout__, prefix)  # type: ignore[arg-type]
    sys.stderr = _PrefixedStream(sys.__stderr__, prefix)  # type: ignore[arg-type]
    # Lambda's sys.path: the function's code first, then its layers, then the runtime.
    sys.path[:] = [
        config["code_dir"],
        *config["layer_dirs"],
        *(p for p in sys.path if p not in ("", config["boot_path"])),
    ]
    try:
        handler = load_handler(config["handler"])
    except _InitError as exc:
        _log_error(exc.payload)
        conn.send(("init_error", exc.payload))
        return
    except Exception as exc:
        payload = error_payload(exc)
        _log_error(payload)
        conn.send(("init_error", payload))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the runtime went away
        if message is None:
            return
        request_id, event_json, deadline_ms = message
        context = LambdaContext(request_id, deadline_ms, config["arn"])
        try:
            result = handler(json.loads(event_json), context)
        except Exception as exc:
            payload = {**error_payload(exc), "requestId": request_id}
            if not _is_authorizer_denial(exc):
                _log_error(payload)
            conn.send(("error", payload))
            continue
        try:
            conn.send(("ok", json.dumps(result, default=_decimal_default)))
        except (TypeError, ValueError) as exc:
            conn.send(
                (
                    "error",
                    {
                        "errorMessage": f"Unable to marshal response: {exc}",
                        "errorType": "Runtime.MarshalError",
                        "requestId": request_id,
                        "stackTrace": [],
                    },
                )
            )


PARENT_CHECK_SECONDS = 0.5


def _exit_with_parent(parent: int, interval: float = PARENT_CHECK_SECONDS) -> None:
    """Ends this worker when the runtime that started it is gone, even in mid-invocation.

    An idle worker notices on its connection; a busy one would not, so a thread watches the
    parent (a killed runtime's children are re-parented). Polling rather than the parent-death
    signal: that one fires when the *thread* that started the worker exits.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(fd: int) -> None:
    # Ctrl-C reaches the whole process group: the runtime stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(os.getppid())
    conn = Connection(fd)
    try:
        config = conn.recv()
    except (EOFError, OSError):
        return
    serve(conn, config)
