"""AirVantage alert reads: current alerts and states, alert and state histories, one alert (seed 001)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard import clock
from switchboard.dialects import airvantage, cors, http
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.rules import queries
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    queries = lazy_import("switchboard.rules.queries")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[airvantage.PREFIX])
airvantage.install(app)
MAX_HISTORY = 500


def _criteria():
    return queries.StateCriteria(
        target_id=http.query(app, "targetId") or None,
        rule_id=http.query(app, "ruleId") or None,
        state=airvantage.flag(app, "state"),
        target_type=http.query(app, "targetType") or None,
    )


def _history():
    company = airvantage.company(app, required=True)
    from_ms, to_ms = airvantage.time_range(app, clock.now_ms())
    _, size = airvantage.page(app, default_size=100, max_size=MAX_HISTORY)
    query = queries.HistoryQuery(
        target_id=http.query(app, "targetId") or None,
        rule_ids=airvantage.id_list(app, "ruleIds"),
        from_ms=from_ms,
        to_ms=to_ms,
        ascending=bool(airvantage.flag(app, "asc", False)),
        size=size,
    )
    return company, query


@app.get("/v3/alerts/current")
def current_alerts() -> Response:
    offset, size = airvantage.page(app)
    states, count = wiring.alert_queries().states(caller(app), airvantage.company(app), _criteria(), offset, size)
    return airvantage.listing([state.wire_current() for state in states], count)


@app.get("/v2/alertstates")
def alert_states() -> Response:
    offset, size = airvantage.page(app)
    states, count = wiring.alert_queries().states(caller(app), airvantage.company(app), _criteria(), offset, size)
    return airvantage.listing([state.wire() for state in states], count)


@app.get("/v3/alerts/history")
def alert_history_v3() -> Response:
    company, query = _history()
    return airvantage.listing(
        [a.wire() for a in wiring.alert_queries().alerts(caller(app), company, query)], with_count=False
    )


@app.get("/v2/alerts/history")
def alert_history_v2() -> Response:
    company, query = _history()
    return airvantage.listing(
        [a.wire_v2() for a in wiring.alert_queries().alerts(caller(app), company, query)], with_count=False
    )


@app.get("/v2/alertstates/history")
def state_history() -> Response:
    company, query = _history()
    rows = wiring.alert_queries().state_changes(caller(app), company, query)
    return airvantage.listing([row.wire() for row in rows], with_count=False)


@app.get("/v2/alerts/<uid>")
def get_alert(uid: str) -> Response:
    company = airvantage.company(app, required=True)
    return airvantage.reply([wiring.alert_queries().alert(caller(app), company, uid).wire_v2()])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
