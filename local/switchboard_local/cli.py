"""The `switchboard` command: `local`, `invoke`, `receive`, and the operator commands of admin.py."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .template import DEFAULT_STACK_NAME

DEFAULT_EMULATOR_URL = "http://127.0.0.1:4566"


def parse_parameter_overrides(items: list[str] | None) -> dict[str, str]:
    """`K=V` pairs, also in sam's `ParameterKey=K,ParameterValue=V` and quoted forms."""
    overrides = {}
    for item in items or []:
        for token in shlex.split(item):
            if token.startswith("ParameterKey="):
                fields = dict(part.split("=", 1) for part in token.split(","))
                overrides[fields["ParameterKey"]] = fields.get("ParameterValue", "")
            elif "=" in token:
                key, value = token.split("=", 1)
                overrides[key] = value
            else:
                raise argparse.ArgumentTypeError(f"parameter override {token!r} is not KEY=VALUE")
    return overrides


def _template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", "-t", default="template.yaml", help="SAM template (default: %(default)s)")
    parser.add_argument(
        "--stack-name", default=DEFAULT_STACK_NAME, help="stack name for physical names (default: %(default)s)"
    )
    parser.add_argument(
        "--parameter-overrides", nargs="*", metavar="KEY=VALUE", default=[], help="template parameter values"
    )


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="Switchboard: the local runtime and operator commands."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    local = subparsers.add_parser(
        "local",
        help="run the whole template locally (API, queues, schedules, AWS emulator)",
        description="Run template.yaml on this machine: an AWS emulator (moto) with every resource, "
        "the API, SQS pollers and schedules. No Docker, no AWS account.",
    )
    local.add_argument("--port", type=int, default=3000, help="API port on 127.0.0.1 (default: %(default)s)")
    local.add_argument(
        "--emulator-port", type=int, default=4566, help="AWS emulator port on 127.0.0.1 (default: %(default)s)"
    )
    _template_options(local)
    local.set_defaults(func=run_local)

    invoke = subparsers.add_parser(
        "invoke",
        help="run one function once on an event (a Docker-free `sam local invoke`)",
        description="Run a function's handler once in a fresh worker process with the template's "
        "environment. AWS calls go to AWS_ENDPOINT_URL (default: a running `switchboard local`). "
        "The response is printed on stdout, logs on stderr.",
    )
    invoke.add_argument("function", metavar="FUNCTION_LOGICAL_ID")
    invoke.add_argument("--event", "-e", help="event JSON file ('-' for stdin; default: {})")
    invoke.add_argument(
        "--env-vars",
        "-n",
        help='JSON (or a JSON file) overriding variables: {"Parameters": {...}, "FunctionId": {...}}',
    )
    invoke.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_EMULATOR_URL,
        help="AWS endpoint for the function (default: $AWS_ENDPOINT_URL or %(default)s)",
    )
    _template_options(invoke)
    invoke.set_defaults(func=run_invoke)

    from . import admin, plans, receiver

    admin.register(subparsers)
    plans.register(subparsers)
    receiver.register(subparsers)
    return parser, subparsers


def main(argv: list[str] | None = None) -> int:
    parser, _ = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
        return 2  # parser.error exits; this is for type checkers


# --------------------------------------------------------------------------- local


def run_local(args: argparse.Namespace) -> int:
    from .emulator import EmulatorError
    from .runtime import LocalRuntime
    from .template import TemplateError

    logging.basicConfig(level=logging.WARNING, format="[%(levelname)s] %(message)s")
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    runtime = LocalRuntime(
        args.template,
        port=args.port,
        emulator_port=args.emulator_port,
        stack_name=args.stack_name,
        parameter_overrides=parse_parameter_overrides(args.parameter_overrides),
        echo=lambda line: print(line, flush=True),
    )
    try:
        runtime.start()
    except (EmulatorError, TemplateError, OSError) as exc:
        print(f"switchboard local: {exc}", file=sys.stderr)
        return 1
    try:
        print(runtime.banner(), flush=True)
        while not stop.wait(0.2):
            pass
        print("\nStopping...", flush=True)
    finally:
        runtime.stop()
    return 0


# --------------------------------------------------------------------------- invoke


def _read_json_argument(value: str | None, what: str) -> Any:
    if value is None:
        return {}
    if value == "-":
        return json.load(sys.stdin)
    path = Path(value)
    try:
        return json.loads(path.read_text(encoding="utf-8") if path.is_file() else value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{what}: not JSON (nor a JSON file): {exc}") from exc


def run_invoke(args: argparse.Namespace) -> int:
    from .emulator import lookup_kms_keys
    from .functions import FunctionPool, InvocationError, function_specs
    from .template import Template, TemplateError, physical_resources

    logging.basicConfig(level=logging.WARNING, format="[%(levelname)s] %(message)s", stream=sys.stderr)
    event = _read_json_argument(args.event, "--event")
    env_vars = _read_json_argument(args.env_vars, "--env-vars") if args.env_vars else {}
    try:
        template = Template.load(
            args.template,
            stack_name=args.stack_name,
            parameter_overrides=parse_parameter_overrides(args.parameter_overrides),
        )
        physical = physical_resources(template, emulator_url=args.endpoint_url)
        lookup_kms_keys(template, physical, args.endpoint_url)
        specs = function_specs(template, physical, endpoint_url=args.endpoint_url, env_overrides=env_vars)
    except (TemplateError, OSError) as exc:
        print(f"switchboard invoke: {exc}", file=sys.stderr)
        return 2
    if args.function not in specs:
        print(
            f"switchboard invoke: no function {args.function!r}; the template has: {', '.join(sorted(specs))}",
            file=sys.stderr,
        )
        return 2
    # A fresh worker, its logs on stderr: stdout carries only the response.
    pool = FunctionPool(specs[args.function], console_to_stderr=True)
    try:
        result = pool.invoke(event)
    except InvocationError as exc:
        print(json.dumps(exc.to_payload()))
        return 1
    finally:
        pool.close()
    print(json.dumps(result))
    return 0
