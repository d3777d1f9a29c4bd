"""Server-side sessions: open one per log-in, resolve a cookie's token, list and end them.

Values in, domain answers out (no request, cookie or clock of its own): the browser glue is
auth/current.py. Times are naive UTC, passed in so tests move the clock.
"""
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import User, UserSession

# last_seen_at is written at most this often per session (no write per request).
TOUCH_INTERVAL = timedelta(minutes=1)
USER_AGENT_MAX = 255


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user: User, ip_address: str, user_agent: str,
                 now: datetime) -> tuple[UserSession, str]:
    """A new session for a log-in; returns it and the token for the cookie (kept nowhere else).
    Logging in is entering the password, so sudo mode starts fresh."""
    token = secrets.token_urlsafe(32)
    record = UserSession(user_id=user.id, token_hash=token_digest(token), created_at=now,
                         last_seen_at=now, password_at=now, ip_address=(ip_address or "")[:45],
                         user_agent=(user_agent or "")[:USER_AGENT_MAX])
    db.session.add(record)
    db.session.flush()
    return record, token


def idle_cutoff(now: datetime, idle_days: int) -> datetime:
    return now - timedelta(days=idle_days)


def resolve(token: str | None, now: datetime, idle_days: int) -> tuple[UserSession, User] | None:
    """The live session (and its user) a cookie's token names; None if unknown, ended or idle
    for `idle_days` (one query)."""
    if not token or not isinstance(token, str) or len(token) > 128:
        return None
    row = db.session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_digest(token))
    ).first()
    if row is None or row[0].last_seen_at <= idle_cutoff(now, idle_days):
        return None
    return row[0], row[1]


def touch_due(record: UserSession, now: datetime) -> bool:
    return now - record.last_seen_at >= TOUCH_INTERVAL


def touch(record: UserSession, now: datetime) -> None:
    """last_seen_at = now; a compare-and-set, so workers racing on one session write once."""
    db.session.execute(
        update(UserSession).where(UserSession.id == record.id,
                                  UserSession.last_seen_at <= now - TOUCH_INTERVAL)
        .values(last_seen_at=now).execution_options(synchronize_session=False))


def active_sessions(user: User, now: datetime, idle_days: int) -> list[UserSession]:
    """The user's live sessions, most recently active first."""
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id,
                                  UserSession.last_seen_at > idle_cutoff(now, idle_days))
        .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())))


def end_session(user: User, session_id) -> bool:
    """End one of `user`'s own sessions; another user's id (or a malformed one) ends nothing."""
    try:
        session_uuid = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except ValueError:
        return False
    result = db.session.execute(delete(UserSession).where(
        UserSession.id == session_uuid, UserSession.user_id == user.id))
    return result.rowcount > 0


def end_other_sessions(user: User, keep: UserSession | None) -> int:
    """End every session of `user` except `keep` (None: all of them); returns how many."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    return db.session.execute(statement).rowcount


def purge_idle(now: datetime, idle_days: int) -> int:
    """Delete every session idle past the limit (indexed on last_seen_at)."""
    return db.session.execute(delete(UserSession).where(
        UserSession.last_seen_at <= idle_cutoff(now, idle_days))).rowcount


def password_entered(record: UserSession, now: datetime) -> None:
    """The password was just entered in this session (sudo confirmation, password change)."""
    record.password_at = now


def sudo_active(record: UserSession | None, now: datetime, minutes: int) -> bool:
    """Password entered in this session within the last `minutes`."""
    return record is not None and now - record.password_at < timedelta(minutes=minutes)


def end_by_token(token: str | None) -> None:
    """End the session a cookie's token names (log out)."""
    if token and isinstance(token, str):
        db.session.execute(delete(UserSession).where(UserSession.token_hash == token_digest(token)))


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"),
             ("curl/", "curl"))
_SYSTEMS = (("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Android", "Android"),
            ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"))


def device_label(user_agent: str) -> str:
    """'Firefox on Linux' from a User-Agent, for people to recognise their devices."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"
