"""Reports (SPEC §3)."""
