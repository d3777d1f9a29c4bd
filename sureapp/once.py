"""Things that must happen once: showing a secret (a new API key, a webhook signing secret) and
acting on a form that is not idempotent (create, regenerate, invite, import, bulk actions).

**One-time reveal (Post/Redirect/Get without the plaintext anywhere readable).** The POST that
makes a secret calls `stash()`: the secret is encrypted with a fresh AES-256-GCM key into a
short-lived `one_time_reveals` row, and `redirect_to_reveal()` answers 303 to the reveal page
with that key in an HttpOnly, SameSite=Strict cookie scoped to the reveal page's own path. The
GET calls `take()`: it deletes the row (exactly one request wins), decrypts it with the cookie and
shows it once; a reload finds no row and says the secret was already shown. So the database holds
ciphertext whose key it never sees, the cookie holds a key without the ciphertext, and neither
the session, a flash, a log line nor a URL carries the secret.

**Single-use form tokens.** Every guarded form carries `once_field()` (a hidden token). The view
calls `claim()` before acting, in the same transaction as the action: the first submission
inserts the token's row (a primary key, so two racing submissions cannot both commit); a browser
resending the same form gets `Resubmitted` with the URL of what the first one produced. This
guards against resubmission, not against attackers (CSRF and sudo mode do that): a request
without a token is not guarded.
"""
import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import flash, redirect, request
from markupsafe import Markup, escape
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .errors import DomainError
from .extensions import db
from .models import FormSubmission, OneTimeReveal
from .timeutil import utcnow
from .web import redirect_to

REVEAL_LIFETIME = timedelta(minutes=10)  # from the POST to the page that shows the secret
REVEAL_COOKIE = "sureapp_reveal"
TOKEN_FIELD = "once_token"
TOKEN_LIFETIME = timedelta(days=1)  # a form older than this is refused (its claim is purged)
_TOKEN_MAX_LENGTH = 64


# ---- one-time reveal ------------------------------------------------------------------------

@dataclass(frozen=True)
class Stashed:
    """A stashed secret: the id its reveal page's URL carries and the key for its cookie."""

    reveal_id: str
    cookie_key: str


@dataclass(frozen=True)
class Revealed:
    purpose: str
    secret: str


def _associated_data(reveal_id: str, user_id, purpose: str, subject_id: str) -> bytes:
    return "\n".join((reveal_id, str(user_id), purpose, str(subject_id))).encode()


def stash(user_id, purpose: str, subject_id, secret: str, now: datetime | None = None) -> Stashed:
    """Store `secret` encrypted for one reveal to `user_id` (the caller commits)."""
    now = now or utcnow()
    # Reveals nobody opened in time are of no use to anyone.
    db.session.execute(delete(OneTimeReveal).where(OneTimeReveal.expires_at <= now))
    reveal_id = secrets.token_urlsafe(32)
    key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(key).encrypt(
        nonce, secret.encode(), _associated_data(reveal_id, user_id, purpose, subject_id))
    db.session.add(OneTimeReveal(
        id=reveal_id, user_id=user_id, purpose=purpose, subject_id=str(subject_id),
        ciphertext=nonce + ciphertext, expires_at=now + REVEAL_LIFETIME, created_at=now))
    return Stashed(reveal_id, base64.urlsafe_b64encode(key).decode().rstrip("="))


def take(reveal_id: str, user_id, subject_id, cookie_key: str,
         now: datetime | None = None) -> Revealed | None:
    """The stashed secret, once; None if it was already taken, expired, is another user's or
    another subject's, or the browser lacks its key. The caller commits (the row is gone then,
    whatever the outcome for its own user: a reveal never gets a second try)."""
    row = db.session.get(OneTimeReveal, reveal_id) if len(reveal_id) <= 64 else None
    if row is None or row.user_id != user_id:
        return None  # someone else's reveal is left alone: they may still open it
    # Exactly one request deletes the row; a concurrent second one (two tabs) sees 0 rows.
    deleted = db.session.execute(
        delete(OneTimeReveal).where(OneTimeReveal.id == reveal_id)).rowcount
    if deleted != 1 or row.subject_id != str(subject_id) or row.expires_at <= (now or utcnow()):
        return None
    try:
        key = base64.urlsafe_b64decode(cookie_key + "=" * (-len(cookie_key) % 4))
        nonce, ciphertext = row.ciphertext[:12], row.ciphertext[12:]
        secret = AESGCM(key).decrypt(
            nonce, ciphertext, _associated_data(reveal_id, user_id, row.purpose, row.subject_id))
    except (InvalidTag, ValueError, binascii.Error):
        return None
    return Revealed(row.purpose, secret.decode())


def redirect_to_reveal(url: str, stashed: Stashed):
    """303 to the reveal page, handing the browser the decryption key for that page alone."""
    response = redirect(url, code=303)
    response.set_cookie(REVEAL_COOKIE, stashed.cookie_key, path=_path_of(url),
                        max_age=int(REVEAL_LIFETIME.total_seconds()), httponly=True,
                        samesite="Strict", secure=request.is_secure)
    return response


def show_after_redirect(claim: "Claim", user_id, purpose: str, subject_id, secret: str,
                        reveal_url: Callable[[str], str]):
    """Post/Redirect/Get for a secret a form just made: stash it, record the reveal page (built
    by `reveal_url` from the reveal id) as what the form produced, commit the action with its
    claim and answer 303 to that page."""
    stashed = stash(user_id, purpose, subject_id, secret)
    url = reveal_url(stashed.reveal_id)
    claim.done(url)
    db.session.commit()
    return redirect_to_reveal(url, stashed)


def reveal_cookie() -> str:
    """The decryption key the browser sent to this reveal page ("" if none)."""
    return request.cookies.get(REVEAL_COOKIE, "")


def forget_reveal_cookie(response):
    """The reveal page's answer drops the key: the browser keeps nothing after the one view."""
    response.delete_cookie(REVEAL_COOKIE, path=request.path, httponly=True, samesite="Strict",
                           secure=request.is_secure)
    return response


def _path_of(url: str) -> str:
    return urlsplit(url).path


# ---- single-use form tokens -----------------------------------------------------------------

class Resubmitted(DomainError):
    """This form was already sent; `result_url` shows what the first submission produced."""

    def __init__(self, result_url: str):
        super().__init__("This form was already sent, so nothing was done again.")
        self.result_url = result_url


class FormExpired(DomainError):
    """The form's token is malformed or older than TOKEN_LIFETIME: check it and send it again."""


def new_form_token(now: datetime | None = None) -> str:
    """`<unix time issued>.<random>`: the time lets an old form be refused, not trusted."""
    issued = (now or utcnow()).replace(tzinfo=timezone.utc)  # stored times are naive UTC
    return f"{int(issued.timestamp())}.{secrets.token_urlsafe(24)}"


def _token_issued_at(token: str) -> datetime | None:
    issued, _, nonce = token.partition(".")
    if not (issued.isdigit() and nonce and len(token) <= _TOKEN_MAX_LENGTH):
        return None
    try:
        return datetime.fromtimestamp(int(issued), timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _is_fresh(token: str, now: datetime) -> bool:
    issued_at = _token_issued_at(token)
    return issued_at is not None and now - TOKEN_LIFETIME < issued_at <= now + timedelta(minutes=5)


def submitted_token() -> str:
    return request.form.get(TOKEN_FIELD, "")


def once_field() -> Markup:
    """The hidden token of a guarded form (Jinja: `{{ once_field() }}`), fresh at every render:
    a form shown again with its errors was never acted on, so its next sending is a first one."""
    token = escape(new_form_token())
    return Markup(f'<input type="hidden" name="{TOKEN_FIELD}" value="{token}">')


@dataclass
class Claim:
    """The right to act on a form once; `done(url)` records what it produced."""

    row: FormSubmission | None

    def done(self, result_url: str) -> None:
        if self.row is not None:
            self.row.result_url = result_url


def ensure_unsent(token: str, user_id, now: datetime | None = None) -> None:
    """Raise what `claim` would for a form already sent (Resubmitted) or too old (FormExpired),
    without claiming it: for a view whose work first reads what a first sending changed (a bulk
    delete finds nothing left to delete) and that can claim only later. `claim` still decides
    between two sendings that race."""
    if not token:
        return
    if not _is_fresh(token, now or utcnow()):
        raise FormExpired("This form was opened too long ago. Check it and send it again.")
    used = db.session.get(FormSubmission, token)
    if used is not None:
        raise _resubmitted(used, user_id)


def _resubmitted(used: FormSubmission | None, user_id) -> Resubmitted:
    # Someone else's token (copied from their page) tells nothing about their result.
    return Resubmitted(used.result_url if used is not None and used.user_id == user_id else "")


def claim(token: str, user_id, now: datetime | None = None) -> Claim:
    """Claim a form token before doing any work, in the action's transaction (rolled back with
    it if the action fails, so the corrected form can be sent again). Raises Resubmitted if it
    was used already, FormExpired if it is malformed or too old; no token guards nothing."""
    if not token:
        return Claim(None)
    now = now or utcnow()
    ensure_unsent(token, user_id, now)
    row = FormSubmission(token=token, user_id=user_id, created_at=now)
    db.session.add(row)
    try:
        db.session.flush()  # a concurrent first submission holds the key: wait for it
    except IntegrityError:
        # It committed first. Whatever this transaction did was for this resent form, so
        # dropping it loses nothing (a savepoint would be committed early by SQLite's driver).
        db.session.rollback()
        raise _resubmitted(db.session.get(FormSubmission, token), user_id) from None
    db.session.execute(delete(FormSubmission)
                       .where(FormSubmission.created_at < now - TOKEN_LIFETIME))
    return Claim(row)


def answer_resubmitted(exc: Resubmitted, fallback_url: str):
    """The answer to a form sent again: nothing is done twice (its transaction is dropped) and the
    browser goes to what the first sending produced, or `fallback_url` if that is not known."""
    db.session.rollback()
    flash(exc.message, "info")
    return redirect_to(exc.result_url or fallback_url)


def init_app(app) -> None:
    app.jinja_env.globals["once_field"] = once_field
