"""Billing cycles: each account with plans is debited its recurring charge once per calendar month."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
else:
    wiring = lazy_import("switchboard.wiring")


logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    charged = wiring.billing().charge_all()
    metrics.add_metric(name="CyclesCharged", unit=MetricUnit.Count, value=charged)
    logger.info("billing cycle run", extra={"charged": charged})
    return {"charged": charged}
