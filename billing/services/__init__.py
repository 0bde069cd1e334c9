"""Billing use-cases, one module per area: rules, overrides, runs, exceptions, replay, exports."""
