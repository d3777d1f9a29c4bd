"""The purge of long-revoked keys as a periodic task of the process's background thread
(jobs.every): every worker runs it whether it serves pages, the API or both, and no request
pays for it. At most once per PURGE_INTERVAL_SECONDS per process (0 turns it off); workers
purging at the same time is harmless (idempotent; nothing matching writes nothing)."""
import logging
import time

from flask import current_app

from .. import jobs
from ..extensions import db
from . import services

log = logging.getLogger(__name__)
STATE = "sureapp_key_purge"  # app.extensions: {"next": monotonic time of the next purge}
INTERVAL_DEFAULT = 3600


def purge_when_due() -> float:
    """Purge if this process's interval has passed; returns the seconds until the next one."""
    app = current_app._get_current_object()
    interval = app.config.get("PURGE_INTERVAL_SECONDS", INTERVAL_DEFAULT)
    if interval <= 0:
        return jobs.MAX_IDLE_SECONDS
    state = app.extensions.setdefault(STATE, {"next": 0.0})
    now = time.monotonic()
    if now < state["next"]:
        return state["next"] - now
    state["next"] = now + interval
    days = app.config["PURGE_REVOKED_AFTER_DAYS"]
    try:
        purged = services.purge_revoked_keys(days)
        db.session.commit()
    except Exception:  # retried next interval; the thread's other tasks carry on
        db.session.rollback()
        log.exception("Purging revoked API keys failed; will retry next interval")
        return interval
    if purged:
        log.info("Purged %d API key(s) revoked %d+ days ago", purged, days)
    return interval


jobs.every("purge-revoked-keys", purge_when_due)
