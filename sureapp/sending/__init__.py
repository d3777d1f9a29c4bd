"""Sending mail to contacts: rendering, the SMTP transport, campaign sends (SPEC §11)."""
