"""Automations (SPEC §3, §11): a trigger and its steps, run for each contact it enrols."""
from . import runs  # noqa: F401  (registers the trigger subscriber and the periodic task)
