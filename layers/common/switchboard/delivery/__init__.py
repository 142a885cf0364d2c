"""Webhook delivery (docs/delivery.md): fanout, the engine, jobs and the event-deliveries API.

Pure: `policy` (outcome classification, retry schedule), `payload` (ESS JSON/XML bodies, signing),
`throttle` (GCRA maths), `models`. Services: `fanout` (events to deliveries), `engine` (one attempt:
throttle, claim, send, record), `jobs` (sweeper, release, bulk redelivery), `event_deliveries` (the
ESS API's reads and actions). Adapters: `sender` (HTTP through the SSRF guard), `oauth` (endpoint
tokens), `adapters` (SQS tasks, SES mail, cached configurations, KAZOO alert notices). Repository:
`repository` (deliveries, attempts, counters, throttle state).
"""
