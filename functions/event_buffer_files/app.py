"""ESS event buffer files: the list (seed 003), one file, a file's content as delivered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, ess, http
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.delivery import buffer_queries
    from switchboard.dialects import validation
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    buffer_queries = lazy_import("switchboard.delivery.buffer_queries")
    validation = lazy_import("switchboard.dialects.validation")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[ess.PREFIX])
ess.install(app)
FILTERS = ("del-cfg-id", "from", "to")


@app.get("/v1/event-buffer-files")
def list_files() -> Response:
    offset, limit = ess.page(app)
    filters = {name: value for name in FILTERS if (value := http.query(app, name)) is not None}
    query = validation.parse(buffer_queries.BufferFileFilter, filters)
    rows, _ = wiring.buffer_file_queries().list(caller(app), ess.company(app), query, offset, limit)
    return ess.paged("files", rows, offset, limit)


@app.get("/v1/event-buffer-files/<file_id>")
def get_file(file_id: str) -> Response:
    return ess.reply(wiring.buffer_file_queries().get(caller(app), ess.company(app), file_id))


@app.get("/v1/event-buffer-files/<file_id>/content")
def file_content(file_id: str) -> Response:
    body, content_type = wiring.buffer_file_queries().content(caller(app), ess.company(app), file_id)
    return Response(status_code=200, content_type=content_type, body=body.decode("utf-8"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
