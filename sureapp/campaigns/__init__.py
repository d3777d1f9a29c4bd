"""Campaigns (SPEC §3)."""
