"""What key traffic leaves behind: Last Used and the per-key request log (SPEC §2)."""
