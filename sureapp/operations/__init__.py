"""Every operation a key can run, declared once for the JSON API and MCP alike (registry.py).

Importing this package declares them all; `api/` and `mcp/` both import it and nothing of each
other.
"""
from .registry import (API_PREFIX, METHOD_ABILITY, OPERATIONS, Caller, Operation, acknowledged,
                       find, operation)
from . import automations, campaigns, contacts, groups, leaks, me, reports, webhooks  # noqa: E402,F401  (declare)

__all__ = ["API_PREFIX", "METHOD_ABILITY", "OPERATIONS", "Caller", "Operation", "acknowledged",
           "find", "operation"]
