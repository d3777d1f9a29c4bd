"""The organization's key-lifetime policy, once: a maximum lifetime in days and/or "every key
must expire". Creating a key (UI, CLI), changing its expiry (edit panel) and the expiry presets
the panels offer all ask this module; regenerate keeps a key's expiry, so it needs no check.

The limit counts from the moment an expiry is set: a key created or given a new expiry at
`now` may expire at `now + max_lifetime_days` at the latest. A maximum lifetime implies that
every key needs an expiry. Keys that predate a stricter policy keep working and are flagged
(`exceeds`) until someone gives them a compliant expiry or replaces them."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from ..errors import ValidationFailed
from ..extensions import db
from ..models import ApiKey, KeyPolicyEvent, Organization, User, Workspace

MAX_LIFETIME_DAYS_LIMIT = 3650  # ten years: a bigger number is a typo, not a policy
EXPIRY_PRESET_DAYS = (7, 30, 60, 90)


@dataclass(frozen=True)
class LifetimePolicy:
    max_lifetime_days: int | None = None
    require_expiry: bool = False

    @property
    def expiry_required(self) -> bool:
        return self.require_expiry or self.max_lifetime_days is not None

    def latest_expiry(self, now: datetime) -> datetime | None:
        """The latest expiry a key may be given at `now` (None: no limit)."""
        if self.max_lifetime_days is None:
            return None
        return now + timedelta(days=self.max_lifetime_days)

    def refusal(self, expires_at: datetime | None, now: datetime) -> str | None:
        """Why an expiry set at `now` breaks the policy, in words; None if it complies."""
        if expires_at is None:
            if self.max_lifetime_days is not None:
                return (f"Your organization requires every key to expire within "
                        f"{_days(self.max_lifetime_days)}: choose an expiry.")
            if self.require_expiry:
                return "Your organization requires every key to expire: choose an expiry."
            return None
        latest = self.latest_expiry(now)
        if latest is not None and expires_at > latest:
            return (f"Your organization allows keys to live at most "
                    f"{_days(self.max_lifetime_days)}: choose an earlier expiry.")
        return None

    def exceeds(self, expires_at: datetime | None, now: datetime) -> bool:
        """True for a key whose expiry the policy would refuse today (the table flags it)."""
        return self.refusal(expires_at, now) is not None

    def describe(self) -> str:
        """The policy in one sentence, for the panels and the settings page."""
        if self.max_lifetime_days is not None:
            return f"Keys must expire within {_days(self.max_lifetime_days)} of being set."
        if self.require_expiry:
            return "Every key must have an expiry."
        return "Keys may be created without an expiry."

    def presets(self) -> list[tuple[str, str]]:
        """(value, label) of the expiry choices the panels offer: Never only when allowed, the
        standard presets up to the maximum, the maximum itself when it is not one of them."""
        days = [d for d in EXPIRY_PRESET_DAYS
                if self.max_lifetime_days is None or d <= self.max_lifetime_days]
        choices = [] if self.expiry_required else [("never", "Never")]
        choices += [(f"{d}d", f"{_days(d)}") for d in days]
        if self.max_lifetime_days is not None and self.max_lifetime_days not in days:
            choices.append((f"{self.max_lifetime_days}d",
                            f"{_days(self.max_lifetime_days)} (the maximum)"))
        choices.append(("custom", "Custom date"))
        return choices

    def default_preset(self) -> str:
        """What the create panel selects first: Never where allowed, else 30 days or less."""
        if not self.expiry_required:
            return "never"
        values = [value for value, _ in self.presets() if value.endswith("d")]
        return "30d" if "30d" in values else values[-1]

    def preset_expiry(self, value: str, now: datetime) -> datetime | None:
        """The expiry a preset value means at `now`; ValueError for a value not offered."""
        if value not in {v for v, _ in self.presets()} or value in ("never", "custom"):
            raise ValueError("Choose one of the offered expiry options.")
        return now + timedelta(days=int(value[:-1]))


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def policy_of(org: Organization) -> LifetimePolicy:
    return LifetimePolicy(org.key_max_lifetime_days, bool(org.key_require_expiry))


def keys_beyond(org: Organization, now: datetime) -> int:
    """How many unrevoked keys of the organization's workspaces `exceeds` flags at `now`."""
    policy = policy_of(org)
    if not policy.expiry_required:
        return 0
    too_late = ApiKey.expires_at.is_(None)
    latest = policy.latest_expiry(now)
    if latest is not None:
        too_late = or_(too_late, ApiKey.expires_at > latest)
    return db.session.scalar(
        select(func.count()).select_from(ApiKey).join(Workspace)
        .where(Workspace.org_id == org.id, ApiKey.status != "revoked", too_late))


def set_policy(org: Organization, max_lifetime_days: int | None, require_expiry: bool, *,
               actor: User | None = None, actor_label: str = "") -> dict:
    """Change the organization's policy, audited (a key_policy_events row with the actor) when
    anything changed; returns {field: {"from", "to"}} of what changed. ValidationFailed for a
    maximum outside 1–MAX_LIFETIME_DAYS_LIMIT days."""
    if max_lifetime_days is not None and not 1 <= max_lifetime_days <= MAX_LIFETIME_DAYS_LIMIT:
        raise ValidationFailed({"max_lifetime_days": [
            f"Enter a number of days from 1 to {MAX_LIFETIME_DAYS_LIMIT}, or leave it empty "
            "for no maximum."]})
    changes = {}
    for field, new in (("key_max_lifetime_days", max_lifetime_days),
                       ("key_require_expiry", bool(require_expiry))):
        old = getattr(org, field)
        if old != new:
            changes[field] = {"from": old, "to": new}
            setattr(org, field, new)
    if changes:
        db.session.add(KeyPolicyEvent(org_id=org.id, changes=changes,
                                      actor_id=actor.id if actor else None,
                                      actor_label=actor_label or (actor.email if actor else "")))
    return changes


POLICY_HISTORY_LIMIT = 20  # changes the policy page lists


def policy_history(org: Organization, limit: int = POLICY_HISTORY_LIMIT) -> list[KeyPolicyEvent]:
    """The organization's latest policy changes, newest first."""
    return list(db.session.scalars(
        select(KeyPolicyEvent).where(KeyPolicyEvent.org_id == org.id)
        .order_by(KeyPolicyEvent.created_at.desc(), KeyPolicyEvent.id).limit(limit)))
