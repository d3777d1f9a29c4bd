"""Automations (SPEC §3)."""
