"""Expeto usage notifications (seed 004): subscribers and their data limits, usage counting per
period, threshold notifications exactly once per period, pushed as ESS events."""
