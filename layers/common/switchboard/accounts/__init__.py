"""Accounts (the reseller tree), users and API keys."""
