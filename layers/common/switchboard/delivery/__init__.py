"""Webhook delivery: policy, payloads, signing, throttling maths."""
