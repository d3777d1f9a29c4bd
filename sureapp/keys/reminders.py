"""Expiry reminders: 7 days and 1 day before a key expires, its creator and the workspace's
managers are mailed (when SMTP_URL is set); the keys page shows a banner for keys expiring
within LEADS[0] days either way.

Each reminder is sent once: a `key_reminders` row (key, lead, the expiry it is for) is
inserted and committed *before* anything is sent, and its unique constraint lets exactly one
process claim it — across restarts, gunicorn workers and hosts. A crash between the claim and
the mail loses that mail rather than sending it twice. A key whose expiry changes gets the
reminders of its new expiry. A key that is already within 1 day gets only the 1-day reminder.
An OAuth connection's key (sureapp/oauth/) expires every hour and renews itself at each
refresh: it gets neither reminders nor the banner.

Runs as the periodic task `keys.reminders` (jobs.every, every REMINDER_CHECK_SECONDS in each
process) and as `flask send-key-reminders`."""
import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from .. import jobs
from ..extensions import db
from ..models import ApiKey, KeyReminder, OAuthGrant, Workspace
from ..timeutil import format_datetime, utcnow
from . import notices

log = logging.getLogger(__name__)

LEADS = (7, 1)  # days before expiry, longest first
DEFAULT_CHECK_SECONDS = 300


def lead_for(expires_at: datetime, now: datetime) -> int | None:
    """Which reminder is due for a key expiring at `expires_at`: the shortest lead it is
    within, or None (expired already, or further away than the longest lead)."""
    if expires_at <= now:
        return None
    due = [lead for lead in LEADS if expires_at <= now + timedelta(days=lead)]
    return min(due) if due else None


def _expiring_within_lead(now: datetime):
    """Unrevoked keys expiring within the longest lead that do not renew themselves."""
    return (ApiKey.status != "revoked") & (ApiKey.expires_at > now) & \
        (ApiKey.expires_at <= now + timedelta(days=max(LEADS))) & \
        ~exists().where(OAuthGrant.api_key_id == ApiKey.id)


def _candidates(now: datetime) -> list[ApiKey]:
    return list(db.session.scalars(
        select(ApiKey).where(_expiring_within_lead(now)).order_by(ApiKey.expires_at)))


def _claim(key: ApiKey, lead: int, now: datetime) -> KeyReminder | None:
    """Insert and commit the reminder's row; None if another process (or an earlier run) has."""
    reminder = KeyReminder(api_key_id=key.id, lead_days=lead, expires_at=key.expires_at,
                           claimed_at=now, mailed_to=0)
    db.session.add(reminder)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return reminder


def send_due_reminders(now: datetime | None = None) -> int:
    """Claim and send every reminder due at `now`; returns how many were claimed here."""
    now = now or utcnow()
    key_ids = [key.id for key in _candidates(now)]
    db.session.rollback()  # end the read before the claims (each commits on its own)
    claimed = 0
    for key_id in key_ids:
        key = db.session.get(ApiKey, key_id)
        lead = lead_for(key.expires_at, now) if key is not None and key.expires_at else None
        if lead is None or db.session.scalar(select(KeyReminder.id).where(
                KeyReminder.api_key_id == key.id, KeyReminder.lead_days == lead,
                KeyReminder.expires_at == key.expires_at)) is not None:
            continue
        reminder = _claim(key, lead, now)
        if reminder is None:
            continue
        claimed += 1
        reminder.mailed_to = _mail(db.session.get(ApiKey, key_id), lead)
        db.session.commit()
    return claimed


def _mail(key: ApiKey, lead: int) -> int:
    workspace = key.workspace
    when = format_datetime(key.expires_at, workspace.timezone)
    in_words = "tomorrow" if lead == 1 else f"in {lead} days"
    text = (f"The API key “{key.name}” ({key.masked}) in the workspace “{workspace.name}” "
            f"expires {in_words}, on {when}. After that, requests with it are refused.\n\n"
            "To keep the integration working, create a new key (or edit this key's expiry, "
            "within your organization's key policy) and update the integration before then.\n")
    link = notices.keys_page_link(workspace)
    if link:
        text += f"\nAPI Keys: {link}\n"
    return notices.mail_about(key, f"API key “{key.name}” expires {in_words}", text,
                              f"key-expiry-{lead}d")


def expiring_keys(workspace: Workspace, now: datetime | None = None) -> list[ApiKey]:
    """The workspace's unrevoked keys expiring within the longest lead: the keys page banner."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(ApiKey).where(ApiKey.workspace_id == workspace.id, _expiring_within_lead(now))
        .order_by(ApiKey.expires_at, ApiKey.id)))


_last_check = {"at": 0.0}


def run_task() -> float:
    """The periodic task: at most once every REMINDER_CHECK_SECONDS in this process (the
    background loop runs every task each round; the claims make overlapping runs harmless)."""
    interval = float(current_app.config.get("REMINDER_CHECK_SECONDS", DEFAULT_CHECK_SECONDS))
    if interval <= 0:
        return DEFAULT_CHECK_SECONDS
    waited = time.monotonic() - _last_check["at"]
    if _last_check["at"] and waited < interval:
        return interval - waited
    _last_check["at"] = time.monotonic()
    send_due_reminders()
    return interval


TASK = jobs.every("keys.reminders", run_task)
