"""Switchboard's domain: one package per bounded context, dialects at the edge, store helpers."""
