"""Seed a benchmark database quickly: accounts through the real services, bulk rows (100,000
contacts, 10,000 keys) through SQLAlchemy Core multi-row inserts."""
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sureapp.auth.services import create_user
from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.keys.services import create_key
from sureapp.models import ApiKey, Contact, Organization, OrgMembership, Workspace
from sureapp.timeutil import utcnow

PASSWORD = "bench password, not a secret"
CHUNK = 5_000
KEY_NAMES = ("Zapier", "Make", "n8n webhook", "CRM sync", "Billing export", "Support agent",
             "Newsletter import", "Data warehouse")
FIRST_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo")
LAST_NAMES = ("Silva", "Okafor", "Wang", "Novak", "Haddad", "Kim", "Moreau", "Rossi")


@dataclass
class SeedData:
    user_email: str
    password: str
    workspace_id: uuid.UUID  # 100,000 contacts, 10,000 keys
    small_workspace_id: uuid.UUID  # 100 keys
    read_key: str
    write_key: str
    contact_id: uuid.UUID  # a contact in the middle of the big workspace
    deep_contact: tuple  # (created_at, id) of a contact 90 % down the newest-first list
    contacts: int
    keys: int
    extra: dict = field(default_factory=dict)  # scenarios may stash what they seeded


def seed(contacts: int, keys: int, small_keys: int = 100) -> SeedData:
    """Call inside an app context on an empty, migrated database."""
    rng = random.Random(6)
    user = create_user(f"bench-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, "Bench User")
    org = Organization(name="Bench Org")
    db.session.add(org)
    db.session.flush()
    db.session.add(OrgMembership(org_id=org.id, user_id=user.id, role="owner"))
    big = Workspace(org_id=org.id, name="Big workspace")
    small = Workspace(org_id=org.id, name="Small workspace")
    db.session.add_all([big, small])
    db.session.flush()
    _, read_key = create_key(big, "Bench reader", ["read"], actor_label="bench")
    _, write_key = create_key(big, "Bench writer", ["read", "write"], actor_label="bench")
    db.session.commit()

    _insert_keys(big.id, keys, rng)
    _insert_keys(small.id, small_keys, rng)
    middle, deep = _insert_contacts(big.id, contacts, rng)
    return SeedData(user_email=user.email, password=PASSWORD, workspace_id=big.id,
                    small_workspace_id=small.id, read_key=read_key, write_key=write_key,
                    contact_id=middle, deep_contact=deep, contacts=contacts, keys=keys)


def _chunks(rows_iter, size=CHUNK):
    chunk = []
    for row in rows_iter:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert_keys(workspace_id: uuid.UUID, count: int, rng: random.Random) -> None:
    """Mostly active keys, some revoked (recently, so the purge leaves them) or expired."""
    now = utcnow()

    def rows():
        for i in range(count):
            plaintext = keystring.generate()
            first4, last4 = keystring.display_parts(plaintext)
            roll = rng.random()
            yield {
                "id": uuid.uuid4(), "workspace_id": workspace_id,
                "name": f"{KEY_NAMES[i % len(KEY_NAMES)]} {i:05d}", "key_type": "api",
                "abilities": rng.choice(("read", "read,write", "read,write,delete")),
                "key_hash": keystring.digest(plaintext), "key_first4": first4,
                "key_last4": last4,
                "status": "revoked" if roll < 0.1 else "active",
                "revoked_at": now - timedelta(days=rng.randint(0, 20)) if roll < 0.1 else None,
                "expires_at": now - timedelta(days=1) if 0.1 <= roll < 0.2 else None,
                "last_used_at": now - timedelta(minutes=rng.randint(1, 50_000)),
                "created_at": now - timedelta(days=30, seconds=i),
            }

    with db.engine.begin() as conn:
        for chunk in _chunks(rows()):
            conn.execute(ApiKey.__table__.insert(), chunk)


def _insert_contacts(workspace_id: uuid.UUID, count: int, rng: random.Random):
    """`count` contacts, one second apart (distinct created_at, like real imports over time);
    returns the middle contact's id and (created_at, id) of the one at 10 % from the oldest
    (at least 200 from it, so a page of 100 after it is always full)."""
    start = utcnow() - timedelta(seconds=count + 60)
    middle = deep = None

    def rows():
        nonlocal middle, deep
        for i in range(count):
            contact_id = uuid.uuid4()
            created = start + timedelta(seconds=i)
            if i == count // 2:
                middle = contact_id
            if i == min(max(count // 10, 200), count - 1):
                deep = (created, contact_id)
            yield {
                "id": contact_id, "workspace_id": workspace_id,
                "email": f"contact{i:06d}@bench.example",
                "first_name": rng.choice(FIRST_NAMES), "last_name": rng.choice(LAST_NAMES),
                "phone": f"+1555{i:07d}", "company": f"Company {i % 500}",
                "job_title": "Buyer", "status": "active", "source": "bench",
                "custom_fields": {"plan": rng.choice(("free", "pro", "team"))},
                "created_at": created, "updated_at": created,
            }

    with db.engine.begin() as conn:
        for chunk in _chunks(rows()):
            conn.execute(Contact.__table__.insert(), chunk)
    return middle, deep
