"""API key lifecycle, shared by the UI, the CLI and the API: the only code that creates key strings
and the one place for the rules of creating, editing, revoking, regenerating and deleting keys."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import NamedTuple

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.orm.exc import StaleDataError

from .. import events
from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..models import KEY_TYPES, ApiKey, ApiKeyEvent, ApiRequestLog, User, Workspace
from ..sqlutil import contains_text, lock_rows
from ..tenancy.access import row_in_workspace
from ..timeutil import counts_per_local_day, last_local_days, local_midnight_utc, utcnow
from ..validation import has_control_characters
from . import abilities as ability_strings, allowlist, keystring, lifetime, state
from .schemas import KeyOut


NAME_MAX_LENGTH = 255
# Grace periods offered when regenerating: (form value, label, duration).
GRACE_PERIODS = (
    ("none", "No grace period: the old key stops working now", None),
    ("1h", "1 hour", timedelta(hours=1)),
    ("24h", "24 hours", timedelta(hours=24)),
    ("7d", "7 days", timedelta(days=7)),
)


class KeyFields(NamedTuple):
    """A key's editable fields as stored: clean name, canonical abilities, normalised allowlist."""

    name: str
    abilities: str
    allowed_ips: str


def validate_key_fields(name, abilities, expires_at: datetime | None, key_type: str = "api",
                        now: datetime | None = None, check_expiry: bool = True,
                        policy: lifetime.LifetimePolicy | None = None,
                        allowed_ips="") -> KeyFields:
    """The fields as stored, or ValidationFailed listing every bad field. `abilities` and
    `allowed_ips` take lists of strings or one comma-separated string. An expiry being set
    (`check_expiry`) must be in the future and comply with the org's `policy`."""
    errors: dict[str, list[str]] = {}
    clean_name = (name or "").strip()
    if not clean_name:
        errors["name"] = ["Enter a name."]
    elif has_control_characters(clean_name):
        errors["name"] = ["Use visible characters only (no control characters)."]
    elif len(clean_name) > NAME_MAX_LENGTH:
        errors["name"] = [f"Use at most {NAME_MAX_LENGTH} characters "
                          f"(this one has {len(clean_name)})."]
    try:
        clean_abilities = ability_strings.normalize(abilities or [])
    except ability_strings.InvalidAbilities as exc:
        errors["abilities"] = [str(exc)]
        clean_abilities = ""
    try:
        clean_ips = allowlist.normalize(allowed_ips)
    except allowlist.InvalidAllowlist as exc:
        errors["allowed_ips"] = [str(exc)]
        clean_ips = ""
    now = now or utcnow()
    if check_expiry and expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["Choose a time in the future."]
    elif check_expiry and policy is not None and (refused := policy.refusal(expires_at, now)):
        errors["expires_at"] = [refused]
    if key_type not in KEY_TYPES:
        errors["key_type"] = [f"Choose one of: {', '.join(KEY_TYPES)}."]
    if errors:
        raise ValidationFailed(errors)
    return KeyFields(clean_name, clean_abilities, clean_ips)


# Audit actions that are also webhook events (api_key.deleted is emitted by _delete_keys_where).
WEBHOOK_EVENTS = {"created": "api_key.created", "revoked": "api_key.revoked",
                  "regenerated": "api_key.regenerated"}


def record_event(key: ApiKey, action: str, actor: User | None = None, actor_label: str = "",
                 changes: dict | None = None) -> None:
    db.session.add(ApiKeyEvent(api_key_id=key.id, action=action, actor_id=actor.id if actor else None,
                               actor_label=actor_label or (actor.email if actor else ""),
                               changes=changes or {}))
    event_type = WEBHOOK_EVENTS.get(action)
    if event_type and events.wanted(event_type, key.workspace_id):
        events.emit(event_type, key.workspace_id, _key_json(key))


def _key_json(key: ApiKey) -> dict:
    return KeyOut.of(key).model_dump(mode="json")


def _iso(value):
    """JSON-safe audit values: datetimes as ISO 8601 UTC."""
    return value.isoformat(timespec="seconds") + "Z" if isinstance(value, datetime) else value


def create_key(workspace: Workspace, name: str, abilities, expires_at: datetime | None = None,
               key_type: str = "api", actor: User | None = None, actor_label: str = "",
               allowed_ips="") -> tuple[ApiKey, str]:
    """Create a key; returns it with its plaintext, which the caller shows once and forgets.

    Raises ValidationFailed for a blank/long name, no or unknown ability, past expiry, an
    expiry the organization's lifetime policy refuses, bad type, a malformed allowlist entry.
    """
    fields = validate_key_fields(name, abilities, expires_at, key_type,
                                 policy=lifetime.policy_of(workspace.organization),
                                 allowed_ips=allowed_ips)
    plaintext = keystring.generate()
    first4, last4 = keystring.display_parts(plaintext)
    key = ApiKey(workspace_id=workspace.id, name=fields.name, key_type=key_type,
                 abilities=fields.abilities, allowed_ips=fields.allowed_ips,
                 key_hash=keystring.digest(plaintext), key_first4=first4, key_last4=last4,
                 expires_at=expires_at, created_by_id=actor.id if actor else None)
    db.session.add(key)
    db.session.flush()
    created = {"name": fields.name, "abilities": fields.abilities, "type": key_type,
               "expires_at": _iso(expires_at)}
    if fields.allowed_ips:
        created["allowed_ips"] = fields.allowed_ips
    record_event(key, "created", actor, actor_label, created)
    return key, plaintext


def get_key(workspace: Workspace, key_id) -> ApiKey:
    """The workspace's key by id; NotFound for a malformed id or another workspace's key."""
    key = row_in_workspace(ApiKey, workspace.id, key_id)
    if key is None:
        raise NotFound("No such API key.")
    return key


class KeyChanged(Conflict):
    """The key changed, or was deleted, after the caller last looked at it: nothing was done."""

    def __init__(self, message: str = "This key changed meanwhile (someone edited, revoked, "
                 "regenerated or deleted it). Reload to see it as it is now, then try again."):
        super().__init__(message)


def _claim(key: ApiKey, expected_version: int | None) -> ApiKey:
    """Lock the key's row until the transaction ends and re-read it: the compare-and-set that
    every change starts with, so concurrent changes to one key take turns and each sees the
    one before it (any interleaving equals a serial order).

    `expected_version` is the version the person acting last saw (forms carry it); a key that
    moved on since, or is gone, raises KeyChanged. None skips that comparison (the change then
    applies to the key as it is now, e.g. from the CLI).
    """
    key_id = inspect(key).identity[0]  # not key.id: that reloads an expired row, maybe gone
    lock_rows(ApiKey, ApiKey.id == key_id)
    fresh = db.session.scalars(select(ApiKey).where(ApiKey.id == key_id)
                               .execution_options(populate_existing=True)).one_or_none()
    if fresh is None or (expected_version is not None and fresh.version != expected_version):
        raise KeyChanged()
    return fresh


def _write(key: ApiKey) -> None:
    """Flush the change now; the UPDATE matches only the version read (version_id_col), so a
    writer that slipped past the lock loses cleanly instead of overwriting."""
    try:
        db.session.flush()
    except StaleDataError:
        raise KeyChanged() from None


def _set_status(key: ApiKey, active: bool, now: datetime) -> None:
    if active:
        key.status, key.revoked_at = "active", None
    else:
        # A revoked key's old string (grace period) must stop too.
        key.status, key.revoked_at = "revoked", now
        key.previous_key_hash = key.previous_key_expires_at = None


def update_key(key: ApiKey, name, abilities, expires_at: datetime | None, active: bool,
               actor: User | None = None, actor_label: str = "",
               expected_version: int | None = None, allowed_ips=None) -> dict:
    """Edit name, abilities, expiry, allowlist (None: unchanged) and status; the key string
    never changes.

    Returns {field: {"from": old, "to": new}} for what changed (empty if nothing did). An
    unchanged past expiry is accepted so that renaming an expired key still works; a changed
    one must comply with the organization's lifetime policy. KeyChanged if the key is not at
    `expected_version` (see _claim).
    """
    key = _claim(key, expected_version)
    now = utcnow()
    fields = validate_key_fields(
        name, abilities, expires_at, key.key_type, now, check_expiry=expires_at != key.expires_at,
        policy=lifetime.policy_of(key.workspace.organization),
        allowed_ips=key.allowed_ips if allowed_ips is None else allowed_ips)
    changes = {}
    for field, new in (("name", fields.name), ("abilities", fields.abilities),
                       ("allowed_ips", fields.allowed_ips), ("expires_at", expires_at)):
        old = getattr(key, field)
        if old != new:
            changes[field] = {"from": _iso(old), "to": _iso(new)}
            setattr(key, field, new)
    new_status = "active" if active else "revoked"
    if key.status != new_status:
        changes["status"] = {"from": key.status, "to": new_status}
        _set_status(key, active, now)
    if changes:
        record_event(key, "edited", actor, actor_label, changes)
        _write(key)
    return changes


def revoke_key(key: ApiKey, actor: User | None = None, actor_label: str = "",
               expected_version: int | None = None, note: str = "") -> bool:
    """Revoke at once (and end any grace period); False if it already was revoked. `note`
    says why, in the audit trail ("reported as leaked (github, https://…)")."""
    key = _claim(key, expected_version)
    if key.status == "revoked":
        return False
    _set_status(key, False, utcnow())
    record_event(key, "revoked", actor, actor_label, {"note": note} if note else None)
    _write(key)
    return True


def activate_key(key: ApiKey, actor: User | None = None, actor_label: str = "",
                 expected_version: int | None = None) -> bool:
    """Make a revoked key work again; False if it already was active."""
    key = _claim(key, expected_version)
    if key.status == "active":
        return False
    _set_status(key, True, utcnow())
    record_event(key, "activated", actor, actor_label)
    _write(key)
    return True


def grace_period(choice: str) -> timedelta | None:
    """The duration of a GRACE_PERIODS choice; ValidationFailed for anything else."""
    for value, _label, duration in GRACE_PERIODS:
        if value == choice:
            return duration
    raise ValidationFailed({"grace": ["Choose one of the offered grace periods."]})


def regenerate_key(key: ApiKey, grace: timedelta | None = None, actor: User | None = None,
                   actor_label: str = "", expected_version: int | None = None,
                   expires_at: datetime | None = None) -> str:
    """New string for the same key (name, abilities, expiry kept); returns the plaintext.

    Without grace the old string stops at once. With grace the old string keeps working until
    now + grace; a grace period still pending from an earlier regenerate ends now (one slot),
    and a revoked key gets none (its old string did not work anyway). `expires_at` gives the
    new string a new expiry (an OAuth refresh: another hour).
    """
    key = _claim(key, expected_version)
    now = utcnow()
    if expires_at is not None:
        key.expires_at = expires_at
    plaintext = keystring.generate()
    keep_old = grace is not None and key.status == "active"
    key.previous_key_hash = key.key_hash if keep_old else None
    key.previous_key_expires_at = now + grace if keep_old else None
    key.key_hash = keystring.digest(plaintext)
    key.key_first4, key.key_last4 = keystring.display_parts(plaintext)
    record_event(key, "regenerated", actor, actor_label,
                 {"old_key_valid_until": _iso(key.previous_key_expires_at)})
    _write(key)
    return plaintext


def end_grace(key: ApiKey, actor: User | None = None, actor_label: str = "",
              expected_version: int | None = None, note: str = "") -> bool:
    """Stop the old string now instead of at the end of its grace period; False (no event) if
    no grace period was running. `note` says why, in the audit trail."""
    key = _claim(key, expected_version)
    if key.previous_key_hash is None:
        return False
    pending = state.key_grace_pending(key, utcnow())
    key.previous_key_hash = key.previous_key_expires_at = None  # a lapsed one is cleared too
    if pending:
        record_event(key, "grace_ended", actor, actor_label, {"note": note} if note else None)
    _write(key)
    return pending


def _delete_keys_where(condition) -> int:
    """Delete keys and, explicitly, their audit trail and request log (not left to FK cascades).

    Matching keys are locked first and judged again, so a key changed concurrently (say,
    activated while the purge runs) is judged as it is after that change, for its logs and
    itself alike. Nothing matching: nothing locked, nothing written (the purge runs before
    requests)."""
    candidates = list(db.session.scalars(select(ApiKey.id).where(condition)))
    if not candidates:
        return 0
    lock_rows(ApiKey, ApiKey.id.in_(candidates))
    condition = condition & ApiKey.id.in_(candidates)
    for key in db.session.scalars(select(ApiKey).where(condition)):
        if events.wanted("api_key.deleted", key.workspace_id):
            events.emit("api_key.deleted", key.workspace_id, _key_json(key))
    ids = select(ApiKey.id).where(condition).scalar_subquery()
    db.session.execute(delete(ApiRequestLog).where(ApiRequestLog.api_key_id.in_(ids)))
    db.session.execute(delete(ApiKeyEvent).where(ApiKeyEvent.api_key_id.in_(ids)))
    result = db.session.execute(delete(ApiKey).where(condition))
    return result.rowcount or 0


def delete_key(key: ApiKey, expected_version: int | None = None) -> None:
    """Delete permanently, with its audit trail and request log; KeyChanged (nothing deleted)
    if the key is not at `expected_version`."""
    key = _claim(key, expected_version)
    _delete_keys_where(ApiKey.id == key.id)


def purge_revoked_keys(older_than_days: int, now: datetime | None = None) -> int:
    """Delete keys revoked `older_than_days` or more ago (with their logs); returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    return _delete_keys_where((ApiKey.status == "revoked") & (ApiKey.revoked_at <= cutoff))


# ---- queries for the pages ------------------------------------------------------------------

def keys_query(workspace: Workspace, search: str = "", status: str = "", key_type: str = "",
               now: datetime | None = None):
    """SELECT of the workspace's keys matching the filters, unordered (the table pages it
    newest first; `status` is a state.STATUS_FILTERS value, anything else means every key)."""
    query = select(ApiKey).where(ApiKey.workspace_id == workspace.id)
    if search:
        query = query.where(contains_text(ApiKey.name, search))
    if status in state.STATUS_FILTERS:
        query = query.where(state.state_clause(state.STATUS_FILTERS[status], now or utcnow()))
    if key_type in KEY_TYPES:
        query = query.where(ApiKey.key_type == key_type)
    return query


def key_events(key: ApiKey) -> list[ApiKeyEvent]:
    return list(db.session.scalars(
        select(ApiKeyEvent).where(ApiKeyEvent.api_key_id == key.id)
        .order_by(ApiKeyEvent.created_at.desc(), ApiKeyEvent.id)))


def recent_requests(key: ApiKey, limit: int = 50) -> list[ApiRequestLog]:
    return list(db.session.scalars(
        select(ApiRequestLog).where(ApiRequestLog.api_key_id == key.id)
        .order_by(ApiRequestLog.created_at.desc(), ApiRequestLog.id.desc()).limit(limit)))


def requests_per_day(key: ApiKey, tz_name: str, days: int = 14,
                     now: datetime | None = None) -> list[tuple[date, int]]:
    """Requests per local day (workspace timezone) for the last `days` days, oldest first."""
    return counts_per_local_day(ApiRequestLog.created_at, [ApiRequestLog.api_key_id == key.id],
                                tz_name, days, now)


@dataclass(frozen=True)
class Outcome:
    """One line of the key page's outcome counts: `kind` is success, refused (a key refusal:
    revoked, expired, scope…), client_error or server_error."""

    label: str
    count: int
    kind: str


def _since(tz_name: str, days: int, now: datetime | None) -> datetime:
    """The first instant of the key page's window: local midnight `days` days back (the chart's)."""
    return local_midnight_utc(last_local_days(tz_name, days, now)[0], tz_name)


def request_outcomes(key: ApiKey, tz_name: str, days: int = 14,
                     now: datetime | None = None) -> list[Outcome]:
    """Requests of the window by outcome: succeeded (below 400), each refusal reason and each
    other 4xx status, server errors (5xx); most frequent first within 4xx, empty lines left out."""
    rows = db.session.execute(
        select(ApiRequestLog.status, ApiRequestLog.reason, func.count())
        .where(ApiRequestLog.api_key_id == key.id,
               ApiRequestLog.created_at >= _since(tz_name, days, now))
        .group_by(ApiRequestLog.status, ApiRequestLog.reason))
    succeeded = server_errors = 0
    client: dict[tuple[str, str], int] = {}
    for status, reason, count in rows:
        if reason:
            label = (state.refusal_label(reason), "refused")
        elif status < 400:
            succeeded += count
            continue
        elif status >= 500:
            server_errors += count
            continue
        else:
            label = (_status_label(status), "client_error")
        client[label] = client.get(label, 0) + count
    outcomes = [Outcome("Succeeded (2xx)", succeeded, "success")] if succeeded else []
    outcomes += [Outcome(label, count, kind) for (label, kind), count
                 in sorted(client.items(), key=lambda item: (-item[1], item[0]))]
    if server_errors:
        outcomes.append(Outcome("Server errors (5xx)", server_errors, "server_error"))
    return outcomes


def _status_label(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclass(frozen=True)
class RouteUse:
    route: str  # "GET /api/v1/contacts/{contact_id}"
    count: int
    failed: int  # answered 400 or above


def top_routes(key: ApiKey, tz_name: str, days: int = 14, now: datetime | None = None,
               limit: int = 5) -> list[RouteUse]:
    """The routes the key called most in the window, with how many of those calls failed."""
    count = func.count()
    failed = func.count(ApiRequestLog.id).filter(ApiRequestLog.status >= 400)
    rows = db.session.execute(
        select(ApiRequestLog.route, count, failed)
        .where(ApiRequestLog.api_key_id == key.id,
               ApiRequestLog.created_at >= _since(tz_name, days, now))
        .group_by(ApiRequestLog.route).order_by(count.desc(), ApiRequestLog.route).limit(limit))
    return [RouteUse(route or "—", total, errors) for route, total, errors in rows]
