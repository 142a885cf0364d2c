"""KAZOO alerts: notices addressed to admins, users or resellers of accounts."""
