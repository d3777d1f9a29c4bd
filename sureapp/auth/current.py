"""The browser side of server-side sessions: the cookie's token, Flask-Login's user loader,
log-in and log-out. The signed cookie holds the user id and the session token; the session
record (auth/sessions.py) decides whether it still opens anything."""
from flask import current_app, g, request, session
from flask_login import current_user, login_user, logout_user

from ..extensions import db
from ..models import User, UserSession
from ..timeutil import utcnow
from . import sessions

TOKEN_KEY = "sid"  # the session token's key in the signed cookie
_RECORD = "_user_session"  # the current request's UserSession, on g


def idle_days() -> int:
    return current_app.config["SESSION_IDLE_DAYS"]


def start_session(user: User) -> UserSession:
    """Log `user` in: a fresh cookie (nothing of the anonymous one survives: no fixation) and a
    new session record. Commits, and purges sessions idle past the limit on the way."""
    session.clear()
    now = utcnow()
    sessions.purge_idle(now, idle_days())
    record, token = sessions.open_session(user, request.remote_addr or "",
                                          request.user_agent.string, now)
    db.session.commit()
    session[TOKEN_KEY] = token
    session.permanent = True
    login_user(user)
    setattr(g, _RECORD, record)
    return record


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the cookie's session must exist, be live and be this user's."""
    now = utcnow()
    # Writing last_seen_at commits, which is only safe before the request did any work.
    nothing_done_yet = not db.session().in_transaction()
    found = sessions.resolve(session.get(TOKEN_KEY), now, idle_days())
    if found is None or str(found[1].id) != user_id:
        return None
    record, user = found
    setattr(g, _RECORD, record)
    if nothing_done_yet and sessions.touch_due(record, now):
        sessions.touch(record, now)
        db.session.commit()
    return user


def current_record() -> UserSession | None:
    """This request's session record (None when nobody is logged in)."""
    if not current_user.is_authenticated:
        return None
    return getattr(g, _RECORD, None)


def end_current_session() -> None:
    """Log out: the record goes, so a copy of the cookie opens nothing any more."""
    sessions.end_by_token(session.get(TOKEN_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    g.pop(_RECORD, None)
