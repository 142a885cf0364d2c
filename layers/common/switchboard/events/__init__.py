"""ESS: topics, event types, delivery configurations, subscriptions, publishing."""
