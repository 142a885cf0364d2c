"""ESS (seed 003): topics and event types, delivery configurations, subscriptions, publishing.

Pure: `catalog` (the topic/event-type catalog and its loader), `matching` (the `match-crt`
language), `models`. Services: `catalog_provider` (catalog with stored additions),
`configurations`, `subscriptions` (and `SubscriptionMatcher`, fanout's question), `publishing`.
Repository: `repository`.
"""
