"""AirVantage alert rules: models, validation, evaluation, aggregates, notification modes, rule index.

Pure modules only (no I/O): repositories, Lambda functions and the evaluation worker sit on top.

- `models`: wire models (rules, systems, alert states and history, telemetry) and attribute names.
- `validation`: `parse_rule` turns a request body into a checked `AlertRuleInput` or raises `CodedError`.
- `operators`: `compile_rule` turns a rule into a three-valued predicate over an `AttributeSource`.
- `geo`: WKT parsing (shapely, imported lazily) and haversine distances.
- `aggregates`: UTC hour/day/month buckets and the min/max/sum/cnt updates a data point implies.
- `notify`: which state transitions notify, per notification mode.
- `index`: which of a company's rules a set of changed attributes touches.
"""
