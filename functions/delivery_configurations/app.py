"""ESS delivery configurations, their endpoint authentication and signing secrets (seed 003)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, ess
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.events import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.events.models")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[ess.PREFIX])
ess.install(app)
BASE = "/v1/delivery-configurations"


@app.get(BASE)
def list_configurations() -> Response:
    offset, limit = ess.page(app)
    configs = wiring.configurations().list(caller(app), ess.company(app), offset, limit)
    return ess.paged("delivery-configurations", [c.wire() for c in configs], offset, limit)


@app.post(BASE)
def create_configuration() -> Response:
    spec = ess.body(app, models.DeliveryConfigurationInput)
    config, secret = wiring.configurations().create(caller(app), ess.company(app), spec)
    return ess.reply({**config.wire(), "signing-secret": secret}, 201, {"Location": f"{ess.PREFIX}{BASE}/{config.id}"})


@app.get(f"{BASE}/<config_id>")
def get_configuration(config_id: str) -> Response:
    return ess.reply(wiring.configurations().get(caller(app), ess.company(app), config_id).wire())


@app.put(f"{BASE}/<config_id>")
def replace_configuration(config_id: str) -> Response:
    spec = ess.body(app, models.DeliveryConfigurationInput)
    return ess.reply(wiring.configurations().replace(caller(app), ess.company(app), config_id, spec).wire())


@app.delete(f"{BASE}/<config_id>")
def delete_configuration(config_id: str) -> Response:
    wiring.configurations().delete(caller(app), ess.company(app), config_id)
    return Response(status_code=204)


@app.get(f"{BASE}/<config_id>/authentication")
def get_authentication(config_id: str) -> Response:
    config = wiring.configurations().get(caller(app), ess.company(app), config_id)
    return ess.reply(config.authentication.wire())


@app.put(f"{BASE}/<config_id>/authentication")
def set_authentication(config_id: str) -> Response:
    data = ess.body(app, models.AuthenticationInput)
    config = wiring.configurations().set_authentication(caller(app), ess.company(app), config_id, data)
    return ess.reply(config.authentication.wire())


@app.post(f"{BASE}/<config_id>/signing-secret/rotate")
def rotate_signing_secret(config_id: str) -> Response:
    config, secret = wiring.configurations().rotate_signing_secret(caller(app), ess.company(app), config_id)
    return ess.reply(
        {
            "id": config.id,
            "signing-secret": secret,
            "previous-secret-expires": ess.iso(config.previous_signing_secret_expires_ms),
        }
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
