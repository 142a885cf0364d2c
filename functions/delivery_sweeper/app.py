"""Every minute: re-queue deliveries whose held retry is due, or whose task went missing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")


logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    sent = wiring.reopener().sweep()
    metrics.add_metric(name="DeliveriesWoken", unit=MetricUnit.Count, value=sent)
    logger.info("sweep", extra={"requeued": sent})
    return {"requeued": sent}
