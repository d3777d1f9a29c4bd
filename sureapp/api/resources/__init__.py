"""One module per API resource; importing them declares their operations on the blueprint."""
from . import automations, campaigns, contacts, groups, me, openapi, reports  # noqa: F401
