"""API key lifecycle, shared by the UI, the CLI and the API: the only code that creates key strings."""
from datetime import datetime

from ..extensions import db
from ..models import ABILITIES, ApiKey, ApiKeyEvent, User, Workspace
from . import keystring


def normalize_abilities(abilities) -> str:
    """Subset of ABILITIES in canonical order; raises ValueError on unknown or empty."""
    chosen = {a.strip().lower() for a in abilities if a and a.strip()}
    unknown = chosen - set(ABILITIES)
    if unknown:
        raise ValueError(f"Unknown ability: {', '.join(sorted(unknown))}")
    if not chosen:
        raise ValueError("Choose at least one ability.")
    return ",".join(a for a in ABILITIES if a in chosen)


def record_event(key: ApiKey, action: str, actor: User | None = None, actor_label: str = "",
                 changes: dict | None = None) -> None:
    db.session.add(ApiKeyEvent(api_key_id=key.id, action=action, actor_id=actor.id if actor else None,
                               actor_label=actor_label or (actor.email if actor else ""),
                               changes=changes or {}))


def create_key(workspace: Workspace, name: str, abilities, expires_at: datetime | None = None,
               key_type: str = "api", actor: User | None = None,
               actor_label: str = "") -> tuple[ApiKey, str]:
    """Create a key; returns it with its plaintext, which the caller shows once and forgets."""
    plaintext = keystring.generate()
    first4, last4 = keystring.display_parts(plaintext)
    key = ApiKey(workspace_id=workspace.id, name=name.strip(), key_type=key_type,
                 abilities=normalize_abilities(abilities), key_hash=keystring.digest(plaintext),
                 key_first4=first4, key_last4=last4, expires_at=expires_at,
                 created_by_id=actor.id if actor else None)
    db.session.add(key)
    db.session.flush()
    record_event(key, "created", actor, actor_label)
    return key, plaintext
