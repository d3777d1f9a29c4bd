"""Fixtures and factories shared by every test.

The `app` fixture runs each test on SQLite and, when TEST_DATABASE_URL is set, again on
PostgreSQL (in a private schema, so parallel runs never collide).
"""
import contextlib
import os
import socket
import sqlite3
import uuid
from email import message_from_bytes, policy as email_policy
from email.message import EmailMessage

import pytest
from flask import g
from sqlalchemy import create_engine, event, select, text

from sureapp import create_app
from sureapp.extensions import db
from sureapp.prepared import forget_thread_connections
from sureapp.models import Organization, OrgMembership, Role, User, Workspace

PASSWORD = "correct horse battery staple"

@contextlib.contextmanager
def driver_statements():
    """(first word of the SQL, autocommit?) for every statement this app's engine's connections
    send inside the block, counted at the DBAPI level — the keyed hot reads (prepared.py, on a
    connection kept per thread) bypass SQLAlchemy's engine events: sqlite3's trace callback (it
    sees implicit BEGINs too) or a counting psycopg cursor. Needs an app context."""
    seen = []
    traced = []

    def record(sql, autocommit):
        seen.append((sql.strip().split()[0].upper(), autocommit))

    def trace(dbapi_connection, record_, proxy=None):
        if dbapi_connection in traced:
            return
        traced.append(dbapi_connection)
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(
                lambda sql: record(sql, not dbapi_connection.in_transaction))
        else:
            import psycopg

            class CountingCursor(psycopg.Cursor):
                def execute(self, query, *args, **kwargs):
                    record(str(query), self.connection.autocommit)
                    return super().execute(query, *args, **kwargs)

            dbapi_connection.cursor_factory = CountingCursor

    event.listen(db.engine, "checkout", trace)
    forget_thread_connections()  # the hot reads' kept connection is made again, and traced
    try:
        yield seen
    finally:
        event.remove(db.engine, "checkout", trace)
        for dbapi_connection in traced:
            if isinstance(dbapi_connection, sqlite3.Connection):
                dbapi_connection.set_trace_callback(None)
            else:
                import psycopg

                dbapi_connection.cursor_factory = psycopg.Cursor
        forget_thread_connections()  # its cursor still counts: a new one for what follows

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """One database per backend for the whole session; tables are created once."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"}
    schema = None
    if "postgresql" in BACKENDS:
        base = os.environ["TEST_DATABASE_URL"]
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base else "?"
        urls["postgresql"] = f"{base}{sep}options=-csearch_path%3D{schema}"
    for url in urls.values():
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.create_all()
            db.engine.dispose()
    yield urls
    if schema:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_test_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": "localhost",
    }
    config.update(overrides)
    return create_app(config)


def _empty_all_tables():
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def app_config():
    """Override in a test module to change the app's config (e.g. WTF_CSRF_ENABLED=True)."""
    return {}


@pytest.fixture
def app(backend, database_urls, app_config):
    app = make_test_app(database_urls[backend], **app_config)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ---- a real SMTP server ----------------------------------------------------------------------

SMTP_USERNAME, SMTP_PASSWORD = "mailer", "s3cret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1 and a free port. `messages`: every accepted mail, parsed
    (envelope recipients in `recipients`); `logins`: usernames that authenticated. AUTH is
    offered (plain text is fine on loopback) and optional; only SMTP_USERNAME/PASSWORD pass.
    `refuse[address] = "550 No such user"` answers RCPT TO for that address with that reply
    (a bounce, or a 4xx deferral)."""

    def __init__(self, *, tls_context=None):
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.logins: list[str] = []
        self.refuse: dict[str, str] = {}
        self.controller = Controller(
            self, hostname="127.0.0.1", port=free_port(), authenticator=self._authenticate,
            auth_require_tls=False, tls_context=tls_context, require_starttls=bool(tls_context))

    @property
    def port(self) -> int:
        return self.controller.port

    def url(self, *, login=True, starttls=False) -> str:
        credentials = f"{SMTP_USERNAME}:{SMTP_PASSWORD}@" if login else ""
        return f"smtp://{credentials}127.0.0.1:{self.port}" + ("?starttls=1" if starttls else "")

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose envelope names `address`."""
        return [m for m, rcpts in zip(self.messages, self.recipients) if address in rcpts]

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        """Stop listening (a test may stop early, to play a server that went away)."""
        if self.controller.server is not None:
            self.controller.stop()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        ok = (auth_data.login == SMTP_USERNAME.encode()
              and auth_data.password == SMTP_PASSWORD.encode())
        if ok:
            self.logins.append(SMTP_USERNAME)
        return AuthResult(success=ok, handled=False)  # a refusal is answered 535


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd, a free port) collecting parsed messages.
    Point the app at it with `app.config["SMTP_URL"] = smtp_server.url()`."""
    server = SmtpTestServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """scrypt costs ~0.3 s a user here; tests check rules, not hashing strength (live servers keep scrypt)."""
    from functools import partial

    from werkzeug.security import generate_password_hash

    import sureapp.auth.services as account_services

    monkeypatch.setattr(account_services, "generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1000"))


# ---- factories -------------------------------------------------------------------------------

@pytest.fixture
def make_user(app):
    from sureapp.auth.services import create_user

    def make(email=None, password=PASSWORD, name="Test User"):
        user = create_user(email or f"user-{uuid.uuid4().hex[:8]}@example.com", password, name)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_org(app):
    from sureapp.tenancy.services import create_organization

    def make(owner: User, name="Acme", workspace_name="Main", timezone="UTC"):
        """An organization owned by `owner` with one workspace; returns (org, workspace)."""
        org, workspace = create_organization(owner, name, workspace_name=workspace_name,
                                             timezone=timezone)
        db.session.commit()
        return org, workspace

    return make


@pytest.fixture
def make_workspace(app):
    from sureapp.tenancy.services import create_workspace

    def make(org: Organization, name="Second", timezone="UTC"):
        """Another workspace of `org`, created by its owner."""
        owner = db.session.scalar(select(User).join(OrgMembership).where(
            OrgMembership.org_id == org.id, OrgMembership.role == Role.OWNER.slug))
        workspace = create_workspace(owner, org, name, timezone)
        db.session.commit()
        return workspace

    return make


@pytest.fixture
def add_member(app):
    from sureapp.tenancy.services import grant_role

    def add(workspace: Workspace, user: User, role: Role):
        """Give `user` exactly `role` in `workspace`, as the Members page and CLI do."""
        grant_role(workspace, user, role)
        db.session.commit()
        return user

    return add


@pytest.fixture
def manager(workspace, make_user, add_member):
    """A Manager of `workspace` (the browser tests and a few modules have their own)."""
    return add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER)


@pytest.fixture
def as_manager(login, manager):
    return login(manager)


def forget_request_user():
    """Tests share one app context (and g) across requests: drop what Flask-Login and the
    session loader cached on g, so the next request loads its user from its own cookie."""
    g.pop("_login_user", None)
    g.pop("_user_session", None)


@pytest.fixture
def make_key(app):
    from sureapp.keys.services import create_key

    def make(workspace: Workspace, abilities=("read", "write", "delete"), *, name=None,
             key_type="api", **options):
        """A key of `workspace` created through keys.services.create_key and committed;
        `options` are create_key's (expires_at, actor, actor_label). Returns (key, plaintext)."""
        key, plaintext = create_key(workspace, name or f"{'-'.join(abilities)} key",
                                    list(abilities), key_type=key_type, **options)
        db.session.commit()
        return key, plaintext

    return make


@pytest.fixture
def make_contact(app):
    from sureapp.contacts import services
    from sureapp.contacts.schemas import ContactCreate

    def make(workspace, email=None, **fields):
        data = ContactCreate(email=email or f"c-{uuid.uuid4().hex[:8]}@example.com", **fields)
        contact = services.create_contact(workspace, data, source="Test")
        db.session.commit()
        return contact

    return make


@pytest.fixture
def make_list(app):
    from sureapp.contacts import lists
    from sureapp.contacts.schemas import ListCreate

    def make(workspace, name="Newsletter", members=()):
        item = lists.create_list(workspace, ListCreate(name=name))
        if members:
            lists.add_contacts_to_list(workspace, item, [c.id for c in members], "Test")
        db.session.commit()
        return item

    return make


@pytest.fixture
def make_tag(app):
    from sureapp.contacts import tags
    from sureapp.contacts.schemas import TagCreate

    def make(workspace, name="VIP", color="#dc2626", members=()):
        tag = tags.create_tag(workspace, TagCreate(name=name, color=color))
        if members:
            tags.add_contacts_to_tag(workspace, tag, [c.id for c in members], "Test")
        db.session.commit()
        return tag

    return make


@pytest.fixture
def login(client):
    def log_in(user: User, as_client=None):
        """Log `user` in on the test client without going through the form: a real
        server-side session record, its token in the signed cookie."""
        from sureapp.auth.current import TOKEN_KEY
        from sureapp.auth.sessions import open_session
        from sureapp.timeutil import utcnow

        target = as_client or client
        forget_request_user()
        _, token = open_session(user, "127.0.0.1", "pytest", utcnow())
        db.session.commit()
        with target.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session[TOKEN_KEY] = token
            session["_fresh"] = True
        return target

    return log_in


@pytest.fixture
def workspace_with_roles(make_user, make_org, add_member):
    """One workspace and a user for every role: {'owner': u, 'admin': u, 'manager': u, 'member': u}."""
    owner = make_user(email="owner@example.com")
    org, workspace = make_org(owner)
    users = {"owner": owner}
    for role in (Role.ADMIN, Role.MANAGER, Role.MEMBER):
        users[role.slug] = add_member(workspace, make_user(email=f"{role.slug}@example.com"), role)
    return workspace, users
