"""AirVantage alert rules (seed 001): systems, rules, hooks, telemetry, evaluation, alert states.

Pure modules (no I/O; unit-tested and benchmarked without AWS):
- `models`: wire models (rules, systems, alert states and history, telemetry) and attribute names.
- `validation`: `parse_rule` turns a request body into a checked `AlertRuleInput` or raises `CodedError`.
- `operators`: `compile_rule` turns a rule into a three-valued predicate over an `AttributeSource`.
- `geo`: WKT parsing (shapely, imported lazily) and haversine distances.
- `aggregates`: UTC hour/day/month buckets and the min/max/sum/cnt updates a data point implies.
- `notification_modes`: which state transitions notify, per notification mode.
- `index`: which of a company's rules a set of changed attributes touches.
- `hooks`: hook callback URLs (checks, masking) and the hook error codes.

Services (orchestration over ports): `service` (rules, systems, hooks APIs), `ingest` (telemetry onto
the FIFO queue), `evaluation` (the evaluator), `notifier` (alerts to hooks and emails through the
delivery engine), `hook_configurations` (the delivery configurations hooks and emails use),
`queries` (alert and state reads).

Repositories (the only DynamoDB code): `repository` (rules, systems, hooks), `states_repository`
(values, aggregates, states, history, alerts).
"""
