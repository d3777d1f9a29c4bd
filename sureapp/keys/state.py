"""The key-state rule, once: what state a key is in at a moment, its SQL twin for filters and
counts, and the authentication decision (may this key string be used here, now?).

Everything that shows, filters, counts or checks a key's state calls this module: the keys
table and page, the dashboard, the templates (through the `key_state` filter), the status
filter of the table, and key authentication on /api and /mcp. It takes plain values (or any
object with `status` / `expires_at`), so it serves ORM rows and frozen key contexts alike.

Boundaries (one comparison everywhere): a key is expired from the instant `expires_at <= now`;
it is expiring soon while `now < expires_at <= now + soon`.
"""
from datetime import datetime, timedelta
from enum import Enum, StrEnum

from flask import current_app, has_app_context
from sqlalchemy import and_, false, or_

from ..models import KEY_TYPE_SURFACES, ApiKey

DEFAULT_EXPIRING_SOON_DAYS = 7
SURFACE_LABELS = {"api": "the JSON API", "mcp": "the MCP endpoint"}


class KeyState(StrEnum):
    """What a key is at a given moment, as the table shows it."""

    ACTIVE = "active"
    EXPIRING_SOON = "expiring_soon"  # active, and expires within the expiring-soon window
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def is_usable(self) -> bool:
        """True if requests with the key's current string are accepted (type permitting)."""
        return self in USABLE

    @property
    def label(self) -> str:
        return _LABELS[self]


USABLE = frozenset({KeyState.ACTIVE, KeyState.EXPIRING_SOON})
_LABELS = {KeyState.ACTIVE: "Active", KeyState.EXPIRING_SOON: "Expiring soon",
           KeyState.EXPIRED: "Expired", KeyState.REVOKED: "Revoked"}

# The keys table's status filter: URL value → the states it shows ("active" shows every key
# that works, including those expiring soon, as the table's badges do).
STATUS_FILTERS: dict[str, frozenset[KeyState]] = {
    "active": USABLE,
    "expiring": frozenset({KeyState.EXPIRING_SOON}),
    "expired": frozenset({KeyState.EXPIRED}),
    "revoked": frozenset({KeyState.REVOKED}),
}
STATUS_FILTER_LABELS = {"active": "Active", "expiring": "Expiring soon", "expired": "Expired",
                        "revoked": "Revoked"}


def expiring_soon_window() -> timedelta:
    """The one "expiring soon" window: KEY_EXPIRING_SOON_DAYS (default 7) of the running app."""
    days = DEFAULT_EXPIRING_SOON_DAYS
    if has_app_context():
        days = current_app.config.get("KEY_EXPIRING_SOON_DAYS", DEFAULT_EXPIRING_SOON_DAYS)
    return timedelta(days=days)


def state_at(status: str, expires_at: datetime | None, now: datetime,
             soon: timedelta | None = None) -> KeyState:
    """The state of a key with this stored `status` and `expires_at` (naive UTC) at `now`."""
    if status == "revoked":
        return KeyState.REVOKED
    if expires_at is not None and expires_at <= now:
        return KeyState.EXPIRED
    if soon is None:
        soon = expiring_soon_window()
    if expires_at is not None and expires_at <= now + soon:
        return KeyState.EXPIRING_SOON
    return KeyState.ACTIVE


def state_of(key, now: datetime, soon: timedelta | None = None) -> KeyState:
    """state_at for anything with `status` and `expires_at` (an ApiKey, a key context)."""
    return state_at(key.status, key.expires_at, now, soon)


def state_clause(state, now: datetime, soon: timedelta | None = None):
    """SQL condition on api_keys true exactly where state_at(...) gives `state`.

    `state` is one KeyState or a collection of them (any of them matches).
    """
    if not isinstance(state, KeyState):
        states = [KeyState(s) for s in state]
        return or_(*[state_clause(s, now, soon) for s in states]) if states else false()
    soon_until = now + (expiring_soon_window() if soon is None else soon)
    live = ApiKey.status != "revoked"
    if state is KeyState.REVOKED:
        return ApiKey.status == "revoked"
    if state is KeyState.EXPIRED:
        return and_(live, ApiKey.expires_at.is_not(None), ApiKey.expires_at <= now)
    if state is KeyState.EXPIRING_SOON:
        return and_(live, ApiKey.expires_at > now, ApiKey.expires_at <= soon_until)
    return and_(live, or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > soon_until))


def grace_pending(previous_key_hash: str | None, previous_key_expires_at: datetime | None,
                  now: datetime) -> bool:
    """True while the string a regenerate replaced still works (its grace period is running)."""
    return (previous_key_hash is not None and previous_key_expires_at is not None
            and previous_key_expires_at > now)


def key_grace_pending(key, now: datetime) -> bool:
    """grace_pending for an ApiKey row."""
    return grace_pending(key.previous_key_hash, key.previous_key_expires_at, now)


class Refusal(Enum):
    """Why a request with a key string that matched a stored key is refused: `.code` is stable
    (logs, metrics), `.detail` is the sentence the 401/403 carries (`message(...)` fills in the
    wrong-type one). SCOPE and IP are decided by keyauth (keys/abilities.py, keys/allowlist.py),
    the rest by `refusal` below."""

    REGENERATED = ("regenerated", "This API key was regenerated; use the new key.")
    REVOKED = ("revoked", "This API key has been revoked.")
    EXPIRED = ("expired", "This API key has expired.")
    WRONG_TYPE = ("wrong_type", "A key of type '{key_type}' cannot be used on {surface}.")
    SCOPE = ("scope", "This key lacks the ability this request needs.")  # 403; detail names it
    IP = ("ip", "This key may not be used from this address.")  # 403

    def __init__(self, code: str, detail: str):
        self.code = code
        self.detail = detail

    def message(self, key_type: str, surface: str) -> str:
        """The 401 detail for this refusal of a `key_type` key on `surface` ("api" / "mcp")."""
        return self.detail.format(key_type=key_type, surface=SURFACE_LABELS.get(surface, surface))


# What the key page calls each refusal in its outcome counts (codes are stored in the log).
REFUSAL_LABELS = {"revoked": "Revoked key", "expired": "Expired key",
                  "regenerated": "Replaced key (regenerated)", "wrong_type": "Wrong key type",
                  "scope": "Missing scope", "ip": "Address not allowed"}


def refusal_label(code: str) -> str:
    return REFUSAL_LABELS.get(code, code.replace("_", " ").capitalize())


def refusal(*, status: str, expires_at: datetime | None, key_type: str, surface: str,
            now: datetime, via_previous: bool = False,
            previous_key_expires_at: datetime | None = None) -> Refusal | None:
    """The authentication decision for a presented string that matched a stored key.

    `via_previous` says the string matched the key's previous string (a regenerate replaced it):
    it works only while its grace period (`previous_key_expires_at`) runs. None means accepted.
    """
    if via_previous and (previous_key_expires_at is None or previous_key_expires_at <= now):
        return Refusal.REGENERATED
    state = state_at(status, expires_at, now, soon=timedelta(0))
    if state is KeyState.REVOKED:
        return Refusal.REVOKED
    if state is KeyState.EXPIRED:
        return Refusal.EXPIRED
    if surface not in KEY_TYPE_SURFACES.get(key_type, ()):
        return Refusal.WRONG_TYPE
    return None
