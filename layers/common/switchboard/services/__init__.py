"""KAZOO services (seed 002): service plans, counted quantities, audit log, ledger, standing."""
