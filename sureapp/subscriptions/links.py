"""Signed links a contact follows from a mail: unsubscribe (and its RFC 8058 one-click POST
target), the preferences page, and a double opt-in confirmation.

A token is the authority on the public pages (no login, no session): itsdangerous signs it with
SECRET_KEY and a salt per purpose, so a token made for one purpose is refused by the others,
and nothing in it can be changed without the signature failing. It carries the workspace and
contact ids (and the campaign or list it is about) as raw UUID bytes, which keeps the links
short. Unsubscribe and preferences links stay valid for LONG_LIVED (a mail read a year later
must still unsubscribe); confirmation links expire after CONFIRM_VALID. Links are absolute and
built on PUBLIC_URL (sureapp/links.py); without a known public address there is no link to
mail, and `LinksUnavailable` says so.
"""
import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from ..errors import DomainError
from ..links import external_url

UNSUBSCRIBE, PREFERENCES, CONFIRM = "unsubscribe", "preferences", "confirm"
LONG_LIVED = timedelta(days=730)
CONFIRM_VALID = timedelta(days=7)
MAX_AGE = {UNSUBSCRIBE: LONG_LIVED, PREFERENCES: LONG_LIVED, CONFIRM: CONFIRM_VALID}
MAX_TOKEN_LENGTH = 300  # longer than any token we issue: refused before any decoding


class LinksUnavailable(DomainError):
    """No public address is known (PUBLIC_URL unset, no loopback request), so no link can be mailed."""

    def __init__(self):
        super().__init__("Links for contacts cannot be built: set PUBLIC_URL to the address "
                         "sureapp is reached at (e.g. https://contacts.example.com).")


class BadLink(DomainError):
    """A token that is damaged, forged, made for another purpose, or (`expired`) too old."""

    def __init__(self, message: str, *, expired: bool = False, claims: "LinkClaims | None" = None):
        super().__init__(message)
        self.expired = expired
        self.claims = claims  # an expired token's content (its signature was good)


@dataclass(frozen=True)
class LinkClaims:
    """What a verified token says: whose link it is and what it is about."""
    workspace_id: uuid.UUID
    contact_id: uuid.UUID
    subject_id: uuid.UUID | None = None  # the campaign (unsubscribe) or the list (confirm)


def _signer(purpose: str) -> TimestampSigner:
    # HMAC-SHA256 over the ids and the time, keyed from SECRET_KEY and the purpose's salt.
    return TimestampSigner(current_app.config["SECRET_KEY"],
                           salt=f"sureapp.subscriptions.{purpose}", digest_method=hashlib.sha256)


def _pack(*ids: uuid.UUID | None) -> str:
    raw = b"".join(i.bytes for i in ids if i is not None)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpack(packed) -> LinkClaims | None:
    if isinstance(packed, bytes):
        packed = packed.decode("ascii", "replace")
    if not isinstance(packed, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) not in (32, 48):
        return None
    ids = [uuid.UUID(bytes=raw[start:start + 16]) for start in range(0, len(raw), 16)]
    return LinkClaims(ids[0], ids[1], ids[2] if len(ids) == 3 else None)


def make_token(purpose: str, workspace_id, contact_id, subject_id=None) -> str:
    """`<ids>.<time>.<signature>`, URL-safe base64 throughout (about 100 characters)."""
    packed = _pack(_uuid(workspace_id), _uuid(contact_id),
                   _uuid(subject_id) if subject_id else None)
    return _signer(purpose).sign(packed).decode("ascii")


def read_token(purpose: str, token: str) -> LinkClaims:
    """The claims of a token made for `purpose`; BadLink if it is anything else."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise BadLink("This link is damaged or incomplete.")
    try:
        packed = _signer(purpose).unsign(token, max_age=int(MAX_AGE[purpose].total_seconds()))
    except SignatureExpired as exc:
        raise BadLink("This link has expired.", expired=True,
                      claims=_unpack(exc.payload)) from None
    except (BadSignature, UnicodeDecodeError, ValueError):
        raise BadLink("This link is damaged or incomplete.") from None
    claims = _unpack(packed)
    if claims is None:
        raise BadLink("This link is damaged or incomplete.")
    return claims


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _absolute(endpoint: str, token: str) -> str:
    url = external_url(endpoint, token=token)
    if url is None:
        raise LinksUnavailable()
    return url


def unsubscribe_url(workspace_id, contact_id, *, campaign_id=None) -> str:
    """The page a person opens to unsubscribe (a button, so a link scanner's GET changes
    nothing); `campaign_id` counts the unsubscribe on that campaign."""
    return _absolute("subscriptions.unsubscribe",
                     make_token(UNSUBSCRIBE, workspace_id, contact_id, campaign_id))


def one_click_url(workspace_id, contact_id, *, campaign_id=None) -> str:
    """The RFC 8058 target for `List-Unsubscribe` with `List-Unsubscribe-Post:
    List-Unsubscribe=One-Click`: a POST unsubscribes at once (200, no confirmation step)."""
    return _absolute("subscriptions.one_click",
                     make_token(UNSUBSCRIBE, workspace_id, contact_id, campaign_id))


def preferences_url(workspace_id, contact_id) -> str:
    """The contact's preferences page (which public lists they receive; unsubscribe from all)."""
    return _absolute("subscriptions.preferences", make_token(PREFERENCES, workspace_id, contact_id))


def confirm_url(workspace_id, contact_id, list_id) -> str:
    """The double opt-in confirmation link (expires after CONFIRM_VALID)."""
    return _absolute("subscriptions.confirm", make_token(CONFIRM, workspace_id, contact_id, list_id))
