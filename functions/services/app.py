"""KAZOO Crossbar services: /v2/accounts/{ACCOUNT_ID}/services[/...] (seed 002)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, crossbar, exact_json, http
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.dialects import validation
    from switchboard.services import audit, models, service
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    audit = lazy_import("switchboard.services.audit")
    models = lazy_import("switchboard.services.models")
    service = lazy_import("switchboard.services.service")
    validation = lazy_import("switchboard.dialects.validation")


logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[crossbar.PREFIX])
crossbar.install(app)

GREGORIAN_MIN = 62_167_219_200  # 1970-01-01
GREGORIAN_MAX = 315_537_897_599  # the end of year 9999
BASE = "/accounts/<account_id>/services"


def _request() -> audit.RequestInfo:
    event = app.current_event
    given = event.headers.get("x-request-id")
    request_id = crossbar.request_id(app)
    return audit.RequestInfo(
        method=event.http_method,
        path=event.path,
        client_ip=event.request_context.identity.source_ip,
        request_id=request_id,
        idempotency_key=request_id if given == request_id else None,
    )


def _ok(data: object) -> Response:
    return crossbar.ok(app, service.wire(data))


def _range() -> tuple[int | None, int | None]:
    def bound(name: str) -> int | None:
        if not http.query(app, name):
            return None
        return http.int_query(app, name, 0, GREGORIAN_MIN, GREGORIAN_MAX)

    return bound("created_from"), bound("created_to")


def _done() -> Response:
    """KAZOO answers reconciliation and synchronization with 200 and no `data`."""
    return crossbar.ok(app, None)


# ---------------------------------------------------------------- the services document


@app.get(BASE)
def get_services(account_id: str) -> Response:
    return _ok(wiring.services().services(caller(app), account_id))


@app.post(BASE)
def update_services(account_id: str) -> Response:
    body = exact_json.envelope(app)
    data = validation.parse(models.BillingInput, body["data"])
    return _ok(wiring.services().update(caller(app), account_id, data, _request()))


@app.get(f"{BASE}/status")
def get_status(account_id: str) -> Response:
    return _ok(wiring.services().status(caller(app), account_id))


@app.get(f"{BASE}/summary")
def get_summary(account_id: str) -> Response:
    return _ok(wiring.services().summary(caller(app), account_id))


@app.get(f"{BASE}/available")
def get_available(account_id: str) -> Response:
    return _ok(wiring.services().available(caller(app), account_id))


@app.get(f"{BASE}/editable")
def get_editable(account_id: str) -> Response:
    return _ok(wiring.services().editable(caller(app), account_id))


# ---------------------------------------------------------------- audit


@app.get(f"{BASE}/audit")
def list_audit(account_id: str) -> Response:
    created_from, created_to = _range()
    page = wiring.services().audit_list(caller(app), account_id, created_from, created_to, crossbar.page_request(app))
    return crossbar.page(app, page.model_copy(update={"items": service.wire(page.items)}))


@app.get(f"{BASE}/audit/summary")
@app.get(f"{BASE}/audit_summary")
def audit_summary(account_id: str) -> Response:
    created_from, created_to = _range()
    return _ok(wiring.services().audit_summary(caller(app), account_id, created_from, created_to, None))


@app.get(f"{BASE}/audit/summary/<source>")
@app.get(f"{BASE}/audit_summary/<source>")
def audit_summary_of(account_id: str, source: str) -> Response:
    created_from, created_to = _range()
    return _ok(wiring.services().audit_summary(caller(app), account_id, created_from, created_to, source))


@app.get(f"{BASE}/audit/<audit_id>")
def get_audit(account_id: str, audit_id: str) -> Response:
    return _ok(wiring.services().audit_entry(caller(app), account_id, audit_id))


# ---------------------------------------------------------------- manual quantities and overrides


def _merges(body: dict) -> bool:
    """PATCH merges; POST replaces unless the envelope says `"merge": true` (KAZOO's rule)."""
    return app.current_event.http_method == "PATCH" or exact_json.merge_flag(body)


@app.get(f"{BASE}/manual")
def get_manual(account_id: str) -> Response:
    return _ok(wiring.services().manual(caller(app), account_id))


@app.post(f"{BASE}/manual")
@app.patch(f"{BASE}/manual")
def change_manual(account_id: str) -> Response:
    body = exact_json.envelope(app)
    merge = _merges(body)
    return _ok(wiring.services().set_manual(caller(app), account_id, body["data"], merge, _request()))


@app.get(f"{BASE}/overrides")
def get_overrides(account_id: str) -> Response:
    return _ok(wiring.services().overrides(caller(app), account_id))


@app.post(f"{BASE}/overrides")
@app.patch(f"{BASE}/overrides")
def change_overrides(account_id: str) -> Response:
    body = exact_json.envelope(app)
    merge = _merges(body)
    return _ok(wiring.services().set_overrides(caller(app), account_id, body["data"], merge, _request()))


# ---------------------------------------------------------------- quote, money, upkeep


@app.post(f"{BASE}/quote")
def quote(account_id: str) -> Response:
    body = exact_json.envelope(app)
    data = validation.parse(models.BillingInput, body["data"])
    return _ok(wiring.services().quote(caller(app), account_id, data))


@app.post(f"{BASE}/topup")
def topup(account_id: str) -> Response:
    body = exact_json.envelope(app)
    result = wiring.services().topup(caller(app), account_id, body["data"].get("amount"), _request())
    metrics.add_metric(name="TopUps", unit=MetricUnit.Count, value=1)
    return _ok(result)


@app.post(f"{BASE}/reconciliation")
def reconciliation(account_id: str) -> Response:
    exact_json.envelope(app)  # a malformed body is refused like anywhere else
    wiring.services().reconcile(caller(app), account_id, _request())
    return _done()


@app.post(f"{BASE}/synchronization")
def synchronization(account_id: str) -> Response:
    exact_json.envelope(app)
    wiring.services().synchronize(caller(app), account_id, _request())
    return _done()


# ---------------------------------------------------------------- plans of the account


@app.post(f"{BASE}/<plan_id>")
def assign_plan(account_id: str, plan_id: str) -> Response:
    exact_json.envelope(app)
    return _ok(wiring.services().assign(caller(app), account_id, plan_id, _request(), add=True))


@app.delete(f"{BASE}/<plan_id>")
def unassign_plan(account_id: str, plan_id: str) -> Response:
    return _ok(wiring.services().assign(caller(app), account_id, plan_id, _request(), add=False))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
