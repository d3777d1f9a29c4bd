"""Leaked-key reports: `POST /api/v1/leaked-keys` (operations/leaks.py) from secret scanners
or anyone who found sureapp keys in public.

No oracle: the request only checks the body, keeps the SHA-256 digests of the well-formed
strings in a `leak_reports` row and answers 202, the same work and the same answer whatever the
strings are. The periodic task `keys.leak_reports` (jobs.every) claims each report once (one
conditional UPDATE) and, for every key it names, revokes it through keys.services (audit trail
"reported as leaked (source, url)", webhook event) — or, when the string was the one a
regenerate replaced, ends its grace period, so the integration on the new string keeps working.
The managers are told by a banner on the keys page (`recent_revocations`) and a mail when SMTP
is set."""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from .. import jobs
from ..extensions import db
from ..models import ApiKey, ApiKeyEvent, LeakReport, Workspace
from ..timeutil import utcnow
from . import keystring, notices, services

log = logging.getLogger(__name__)

ACTOR_LABEL = "Leak report"  # who revoked, in the audit trail; also how the banner finds them
MAX_KEYS_PER_REPORT = 100
MAX_STRING_LENGTH = 200
SOURCE_MAX = 100
URL_MAX = 2048
BATCH = 50
KEEP_REPORTS = timedelta(days=30)
BANNER_DAYS = 14


def receive(strings: list[str], source: str, url: str, client_ip: str) -> None:
    """Keep the report for the worker: digests of the well-formed strings only (a malformed
    one cannot be a key), in the caller's transaction. The same work whatever they match."""
    digests = sorted({keystring.digest(s) for s in strings if keystring.is_well_formed(s)})
    db.session.add(LeakReport(digests=digests, source=source, url=url,
                              client_ip=client_ip[:64], received_at=utcnow()))


def note(report: LeakReport) -> str:
    """What the audit trail says: "reported as leaked (github, https://…)"."""
    where = ", ".join(part for part in (report.source, report.url) if part)
    return f"reported as leaked ({where})"


@dataclass(frozen=True)
class Handled:
    key: ApiKey
    revoked: bool  # False: only the old string's grace period ended


def _act_on(report: LeakReport) -> list[Handled]:
    if not report.digests:
        return []
    handled = []
    keys = db.session.scalars(select(ApiKey).where(or_(
        ApiKey.key_hash.in_(report.digests), ApiKey.previous_key_hash.in_(report.digests))))
    for key in keys:
        if key.key_hash in report.digests:
            if services.revoke_key(key, actor_label=ACTOR_LABEL, note=note(report)):
                handled.append(Handled(key, True))
        elif services.end_grace(key, actor_label=ACTOR_LABEL, note=note(report)):
            handled.append(Handled(key, False))
    return handled


def _claim(report_id, now: datetime) -> bool:
    claimed = db.session.execute(
        update(LeakReport).where(LeakReport.id == report_id, LeakReport.processed_at.is_(None))
        .values(processed_at=now))
    return claimed.rowcount == 1


def process_reports(now: datetime | None = None) -> int:
    """Handle every unclaimed report (each claimed by exactly one worker, in the transaction
    that revokes its keys); returns how many keys were revoked or cut short."""
    now = now or utcnow()
    done = 0
    pending = db.session.scalars(select(LeakReport.id).where(LeakReport.processed_at.is_(None))
                                 .order_by(LeakReport.received_at).limit(BATCH)).all()
    for report_id in pending:
        if not _claim(report_id, now):  # another worker has it
            db.session.rollback()
            continue
        report = db.session.get(LeakReport, report_id)
        handled = _act_on(report)
        db.session.commit()
        done += len(handled)
        for item in handled:
            _tell(item, report)
    db.session.execute(delete(LeakReport).where(LeakReport.processed_at < now - KEEP_REPORTS))
    db.session.commit()
    return done


def _tell(item: Handled, report: LeakReport) -> None:
    key = item.key
    what = ("was revoked" if item.revoked
            else "stopped accepting its old string (replaced by a regenerate)")
    text = (f"The API key “{key.name}” ({key.masked}) in the workspace “{key.workspace.name}” "
            f"{what}: it was {note(report)}.\n\n"
            "Anyone who saw it could have used it. Create a new key (or regenerate this one if "
            "it was only the old string) and update the integration that used it.\n")
    link = notices.keys_page_link(key.workspace)
    if link:
        text += f"\nAPI Keys: {link}\n"
    notices.mail_about(key, f"API key “{key.name}” revoked: reported as leaked", text, "leaked-key")


def run_task() -> float:
    process_reports()
    return 60.0  # a report wakes the task at once (jobs.wake); this is the fallback


TASK = jobs.every("keys.leak_reports", run_task)


@dataclass(frozen=True)
class Revocation:
    key: ApiKey
    at: datetime
    note: str
    revoked: bool


def recent_revocations(workspace: Workspace, now: datetime | None = None) -> list[Revocation]:
    """The workspace's keys a leak report revoked (or cut the grace of) in the last
    BANNER_DAYS days: the keys page's banner."""
    since = (now or utcnow()) - timedelta(days=BANNER_DAYS)
    rows = db.session.execute(
        select(ApiKeyEvent, ApiKey).join(ApiKey, ApiKey.id == ApiKeyEvent.api_key_id)
        .where(ApiKey.workspace_id == workspace.id, ApiKeyEvent.actor_label == ACTOR_LABEL,
               ApiKeyEvent.created_at >= since)
        .order_by(ApiKeyEvent.created_at.desc()))
    return [Revocation(key, event.created_at, (event.changes or {}).get("note", ""),
                       event.action == "revoked") for event, key in rows]
