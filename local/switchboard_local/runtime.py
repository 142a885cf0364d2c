"""`switchboard local`: the whole template on one machine, no Docker, no AWS account."""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .apigateway import ApiServer, Gateway, base_paths, build_routes
from .emulator import Emulator, Provisioner, register_stack
from .functions import DEFAULT_CONCURRENCY, FunctionRunner, function_specs
from .persistence import Maintenance, Persistence
from .pollers import Pollers, sqs_event_sources
from .scheduler import Clock, Scheduler, schedule_specs, utc_now
from .streams import StreamPollers, stream_event_sources
from .template import (
    API_TYPES,
    DEFAULT_STACK_NAME,
    IMPLICIT_API_ID,
    REGION,
    URL_SUFFIX,
    PhysicalResource,
    Resolver,
    Template,
)

DEMO_ACCOUNT_FILE = "demo-account.json"

# Parameters whose local default differs from the template's: webhooks to localhost, and a sender for
# rule emails (the emulator verifies it; the messages land in its SES).
LOCAL_PARAMETER_DEFAULTS = {
    "AllowPrivateTargets": "true",
    "AlertEmailSender": "alerts@switchboard.local",
    # Locally the deliver function has four pollers (pollers.LOCAL_POLLERS), not DeliverConcurrency: slow
    # endpoints of one account may hold two of them, so the others always keep moving.
    "SlowAttemptsPerAccount": "2",
}


def emulator_environment(endpoint_url: str) -> dict[str, str]:
    """The variables that point boto3, the AWS CLI and `switchboard` at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


@contextlib.contextmanager
def _patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (*values, "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _reset_domain_clients() -> None:
    # The domain layer caches its boto3 session per process; the demo account must be
    # written through a session made while the emulator's environment is in place.
    with contextlib.suppress(ImportError):
        from switchboard import aws

        aws.reset()


class LocalRuntime:
    """Emulator + provisioned resources + API server + SQS pollers + scheduler + workers.

    Use as a context manager, or call start() and stop(). Ports may be 0 (any free port);
    `api_url` and `emulator_url` give the real ones once started.

    With a `data_dir` the emulator's state survives restarts (persistence.py); without one
    (the default here, `--ephemeral` on the command line) it lives in memory only. The API
    listens only once everything is in place, so a client that can connect finds the stack
    registered, the demo account and (with `demo_data`) the sample data created.
    """

    def __init__(
        self,
        template_path: str | Path = "template.yaml",
        port: int = 3000,
        emulator_port: int = 4566,
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: Mapping[str, str] | None = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        schedule_tick: float = 1.0,
        schedule_clock: Clock = utc_now,
        demo_account: bool = True,
        demo_data: bool = False,
        data_dir: str | Path | None = None,
        fsync: bool = True,
        maintenance_interval: float = 30.0,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.template_path = Path(template_path)
        self.port = port
        self.emulator_port = emulator_port
        self.stack_name = stack_name
        self.parameter_overrides = dict(parameter_overrides or {})
        self.max_concurrency = max_concurrency
        self.schedule_tick = schedule_tick
        self.schedule_clock = schedule_clock
        self.want_demo_account = demo_account
        self.want_demo_data = demo_data
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.fsync = fsync
        self.maintenance_interval = maintenance_interval
        self.echo = echo
        self.persistence: Persistence | None = None
        self.maintenance: Maintenance | None = None
        self.demo_data: dict[str, Any] | None = None
        self.started_at: float | None = None

        self.template: Template | None = None
        self.emulator: Emulator | None = None
        self.physical: dict[str, PhysicalResource] = {}
        self.outputs: dict[str, str] = {}
        self.runner: FunctionRunner | None = None
        self.api: ApiServer | None = None
        self.pollers: Pollers | None = None
        self.streams: StreamPollers | None = None
        self.scheduler: Scheduler | None = None
        self.demo: dict[str, Any] | None = None

    # -- lifecycle

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalRuntime:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        template = self.template = self._load_template()
        # Without a data directory the wrapper still serialises DynamoDB (and applies TTL), journaling nothing.
        self.persistence = Persistence(self.data_dir, fsync=self.fsync)
        self.emulator = Emulator(self.emulator_port, persistence=self.persistence)
        self.emulator.start()
        if self.persistence.restored:
            self.echo(
                f"[local] restored the emulator's state from {self.data_dir} "
                f"({self.persistence.replayed} journal records replayed)"
            )
        with self.persistence.deferred():  # one snapshot for every resource created
            self.physical = Provisioner(template, self.emulator.url).provision()
            self._start_rest(template)

    def _start_rest(self, template: Template) -> None:
        assert self.emulator is not None and self.persistence is not None
        try:
            self.api = ApiServer(self.port)  # bound now: ApiUrl and the like need its port
        except OSError as exc:
            raise OSError(f"cannot serve the API on 127.0.0.1:{self.port}: {exc.strerror or exc}") from exc
        resolver = Resolver(template, self.physical)
        localize = self._api_url_localizer(resolver)

        specs = function_specs(
            template, self.physical, endpoint_url=self.emulator.url, max_concurrency=self.max_concurrency
        )
        specs = {
            logical_id: replace(spec, environment={k: localize(v) for k, v in spec.environment.items()})
            for logical_id, spec in specs.items()
        }
        self.runner = FunctionRunner(specs)
        self.api.gateway = Gateway(build_routes(template, resolver), self.runner, echo=self.echo)
        self.outputs = self._outputs(resolver, localize)
        register_stack(
            self.emulator.url,
            self.stack_name,
            {k: {"Value": v, "Description": self._output_description(k)} for k, v in self.outputs.items()},
        )
        self.pollers = Pollers(sqs_event_sources(template, resolver), self.runner, self.emulator.url, echo=self.echo)
        self.scheduler = Scheduler(
            schedule_specs(template, resolver),
            self.runner,
            tick=self.schedule_tick,
            clock=self.schedule_clock,
            echo=self.echo,
        )
        self.streams = StreamPollers(
            stream_event_sources(template, resolver), self.runner, self.emulator.url, echo=self.echo
        )
        self.maintenance = Maintenance(
            self.persistence, interval=self.maintenance_interval, streams_consumed=self.streams.consumed_through
        )
        if self.want_demo_account:
            self.demo = self._create_demo_account()
        if self.want_demo_data:
            self.demo_data = self._create_demo_data()
        self.pollers.start()
        self.streams.start()
        self.scheduler.start()
        self.maintenance.start()
        self.api.health = self.health
        self.api.openapi_dir = self.openapi_dir
        self.api.start()  # last: a client that can connect finds everything ready
        self.started_at = time.time()

    def stop(self) -> None:
        """Stop everything that was started, in reverse order; safe to call twice."""
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self.pollers is not None:
            self.pollers.stop()
            self.pollers = None
        if self.streams is not None:
            self.streams.stop()
            self.streams = None
        if self.maintenance is not None:
            self.maintenance.stop()
            self.maintenance = None
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        if self.emulator is not None:
            self.emulator.stop()  # takes the final snapshot
            self.emulator = None
        self.persistence = None

    # -- pieces

    def _load_template(self) -> Template:
        declared = Template.load(self.template_path).declared_parameters
        overrides = {k: v for k, v in LOCAL_PARAMETER_DEFAULTS.items() if k in declared}
        overrides.update(self.parameter_overrides)
        return Template.load(self.template_path, stack_name=self.stack_name, parameter_overrides=overrides)

    def _api_url_localizer(self, resolver: Resolver) -> Callable[[str], str]:
        """Rewrites execute-api URLs of the template's APIs to the local server's URL.

        Locally the API answers both with and without the stage prefix, so the stage part
        of such a URL is dropped along with the host. An API with a base-path mapping is served
        under its base path (as on the custom domain), so its stage URL becomes the local URL
        plus that base path.
        """
        assert self.template is not None and self.api is not None
        stages = {
            logical_id: str(resolver.resolve(res["Properties"].get("StageName", "Prod")))
            for logical_id, res in self.template.of_type(*API_TYPES).items()
        }
        if IMPLICIT_API_ID in self.physical:
            stages[IMPLICIT_API_ID] = "Prod"
        if not stages:
            return lambda value: value
        host = rf"\.execute-api\.{REGION}\.{re.escape(URL_SUFFIX)}"
        bases = base_paths(self.template)
        local = self.api.url
        patterns = [
            (
                re.compile(rf"https://{re.escape(self.physical[api].ref)}{host}(?:/{re.escape(stage)}(?![\w-]))?"),
                f"{local}/{bases[api]}" if api in bases else local,
            )
            for api, stage in stages.items()
        ]

        def localize(value: str) -> str:
            if isinstance(value, str):
                for pattern, replacement in patterns:
                    value = pattern.sub(replacement, value)
            return value

        return localize

    def _outputs(self, resolver: Resolver, localize: Callable[[str], str]) -> dict[str, str]:
        assert self.template is not None
        outputs = {}
        for key, output in (self.template.data.get("Outputs") or {}).items():
            if not self.template.is_active(output):
                continue
            value = resolver.resolve(output.get("Value"))
            outputs[key] = localize(",".join(map(str, value)) if isinstance(value, list) else str(value))
        return outputs

    def _output_description(self, key: str) -> str | None:
        assert self.template is not None
        return ((self.template.data.get("Outputs") or {}).get(key) or {}).get("Description")

    def _create_demo_account(self) -> dict[str, Any] | None:
        assert self.template is not None and self.emulator is not None
        if "AccountsTable" not in self.template.active_resources():
            return None
        try:
            from . import admin
        except ImportError as exc:
            self.echo(f"[local] no demo account: switchboard_local.admin is not importable ({exc})")
            return None
        create = getattr(admin, "create_demo_account", None)
        if create is None:
            return None
        stored = self._stored_demo_account()
        if stored is not None:
            return stored
        with _patched_environ(emulator_environment(self.emulator.url)):
            _reset_domain_clients()
            try:
                demo = dict(create(self.physical["AccountsTable"].ref))
                if self.data_dir is not None:
                    (self.data_dir / DEMO_ACCOUNT_FILE).write_text(json.dumps(demo), encoding="utf-8")
                return demo
            except Exception as exc:
                self.echo(f"[local] could not create the demo account: {exc}")
                return None
            finally:
                _reset_domain_clients()

    def _stored_demo_account(self) -> dict[str, Any] | None:
        """The demo account of an earlier run on this data directory, if its state came back."""
        if self.data_dir is None or self.persistence is None or not self.persistence.restored:
            return None
        path = self.data_dir / DEMO_ACCOUNT_FILE
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def _create_demo_data(self) -> dict[str, Any] | None:
        """The records events/*.json refer to, created when missing (demo.py)."""
        from . import demo

        assert self.runner is not None and self.emulator is not None
        environment: dict[str, str] = {}
        for spec in self.runner.specs.values():
            environment.update(spec.environment)
        environment.update(emulator_environment(self.emulator.url))
        try:
            report = demo.seed_in_subprocess(environment)
        except Exception as exc:
            self.echo(f"[local] could not create the demo data: {exc}")
            return None
        if report.get("created"):
            self.echo(f"[local] demo data created: {', '.join(report['created'])}")
        return report

    @property
    def openapi_dir(self) -> Path:
        """The project's OpenAPI documents (docs/openapi/ beside the template), served at `/_openapi/`."""
        return self.template_path.resolve().parent / "docs" / "openapi"

    def health(self) -> dict[str, Any]:
        """`GET /_health`: the emulator, the pollers, the scheduler, the workers, persistence."""
        emulator_ok = self.emulator is not None and self.emulator.ping()
        pollers = [
            {
                "function": poller.source.function_id,
                "queue": poller.source.queue_name,
                "threads": len(poller._threads),
                "alive": sum(thread.is_alive() for thread in poller._threads),
            }
            for poller in (self.pollers.pollers if self.pollers else [])
        ]
        pollers_ok = all(p["alive"] == p["threads"] for p in pollers)
        scheduler_ok = self.scheduler is not None and self.scheduler.alive()
        maintenance_ok = self.maintenance is not None and self.maintenance.alive()
        workers = self.runner.worker_status() if self.runner else {}
        ok = emulator_ok and pollers_ok and scheduler_ok and maintenance_ok
        return {
            "status": "ok" if ok else "degraded",
            "started_at": self.started_at,
            "emulator": {
                "ok": emulator_ok,
                "url": self.emulator.url if self.emulator else None,
                "durable": self.data_dir is not None,
                **(self.persistence.status() if self.persistence else {}),
            },
            "pollers": {"ok": pollers_ok, "sources": pollers},
            "scheduler": {"ok": scheduler_ok, "schedules": len(self.scheduler.specs) if self.scheduler else 0},
            "maintenance": {
                "ok": maintenance_ok,
                "ttl_expired_items": self.maintenance.expired if self.maintenance else 0,
                "runs": self.maintenance.runs if self.maintenance else 0,
            },
            "workers": workers,
        }

    # -- conveniences

    @property
    def api_url(self) -> str:
        assert self.api is not None, "not started"
        return self.api.url

    @property
    def emulator_url(self) -> str:
        assert self.emulator is not None, "not started"
        return self.emulator.url

    def environment(self) -> dict[str, str]:
        """Variables for clients (boto3, AWS CLI, `switchboard accounts ...`) of this runtime."""
        variables = emulator_environment(self.emulator_url)
        if self.stack_name != DEFAULT_STACK_NAME:
            variables["SWITCHBOARD_STACK"] = self.stack_name  # so the CLI finds this stack's tables
        return variables

    def invoke(self, function: str, event: Any) -> Any:
        assert self.runner is not None, "not started"
        return self.runner.invoke(function, event)

    def worker_pids(self) -> list[int]:
        return self.runner.pids() if self.runner else []

    def banner(self) -> str:
        assert self.template is not None and self.runner is not None and self.api is not None
        gateway = self.api.gateway
        routes = gateway.routes if gateway else []
        stages = sorted({r.api.stage for r in routes})
        mapped = sorted({f"/{r.api.base_path}" for r in routes if r.api.base_path})
        polled = len(self.pollers.pollers) if self.pollers else 0
        scheduled = len(self.scheduler.specs) if self.scheduler else 0
        env = " ".join(f"{k}={v}" for k, v in self.environment().items())
        lines = [
            f"Switchboard local runtime: stack {self.stack_name}, {len(self.runner.specs)} functions, "
            f"{len(routes)} routes, {polled} queue pollers, {scheduled} schedules "
            f"(started {datetime.now():%H:%M:%S})",
            f"  API       {self.api_url}"
            + (f"  (one API per base path: {', '.join(mapped)})" if mapped else "")
            + (f"  (also under /{', /'.join(stages)})" if stages else ""),
            f"  Emulator  {self.emulator_url}",
            f"  State     {self.data_dir.resolve() if self.data_dir else 'in memory only (--ephemeral)'}",
            f"  Health    {self.api_url}/_health",
            f"  OpenAPI   {self.api_url}/_openapi/{{crossbar,airvantage,ess,expeto}}.json",
        ]
        if self.demo:
            account, token = self.demo.get("account_id"), self.demo.get("token")
            lines += [
                f"  Demo operator account  {account}",
                f"  Demo token             {token}",
                "",
                "Try it:",
                f'  curl -H "X-Auth-Token: {token}" {self.api_url}/v2/accounts/{account}/alerts',
            ]
        if self.demo_data:
            lines += [
                f"  Sample events (events/*.json) act on account {self.demo_data['account_id']}:",
                "  switchboard invoke AlertsFunction -e events/alerts_list.json",
            ]
        lines += [
            "",
            "Point the CLI (switchboard, aws) at it:",
            f"  export {env}",
            "",
            "Ctrl-C stops it.",
        ]
        return "\n".join(lines)
