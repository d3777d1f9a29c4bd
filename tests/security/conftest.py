"""Fixtures for the security suite: a seeded workspace with keys of every ability, a counter of
SQL statements, and helpers that build requests the way an attacker would."""
import contextlib
import uuid
from functools import partial

import pytest
from sqlalchemy import event

from sureapp.extensions import db

# Every ability combination a schemathesis/abuse test needs, by the name tests use.
KEY_ABILITIES = {
    "read": ["read"],
    "read_write": ["read", "write"],
    "all": ["read", "write", "delete"],
}


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """scrypt costs ~0.3 s per user; these tests are about other things."""
    from werkzeug.security import generate_password_hash

    from sureapp.auth import services as account_services

    monkeypatch.setattr(account_services, "generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1000"))


@contextlib.contextmanager
def count_statements():
    """Counts SQL statements sent by this app's engine inside the block: `with ... as n: n[0]`."""
    counter = [0]

    def before_cursor_execute(*_args, **_kwargs):
        counter[0] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


@pytest.fixture
def owner_workspace(make_user, make_org):
    """(owner, org, workspace): a workspace owned by a fresh user."""
    owner = make_user(email=f"owner-{uuid.uuid4().hex[:6]}@example.com")
    org, workspace = make_org(owner)
    return owner, org, workspace


@pytest.fixture
def api_keys(app, owner_workspace):
    """{"read": plaintext, "read_write": …, "all": …} for keys in `owner_workspace`."""
    from sureapp.keys.services import create_key

    owner, _, workspace = owner_workspace
    keys = {}
    for name, abilities in KEY_ABILITIES.items():
        _, plaintext = create_key(workspace, f"{name} key", abilities, actor=owner)
        keys[name] = plaintext
    db.session.commit()
    return keys


def key_headers(plaintext: str) -> dict[str, str]:
    return {"X-API-Key": plaintext}
