"""The migrations build exactly the schema the models describe, on every backend."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from sureapp.extensions import db
from tests.conftest import make_test_app


def _fresh_database_url(tmp_path):
    yield "sqlite", f"sqlite:///{tmp_path / 'migrated.db'}"
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        schema = f"m_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in base else "?"
            yield "postgresql", f"{base}{sep}options=-csearch_path%3D{schema}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def test_migrations_match_models(tmp_path):
    for backend, url in _fresh_database_url(tmp_path):
        app = make_test_app(url)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            db.engine.dispose()
        assert diff == [], f"{backend}: models and migrations differ: {diff}"


def test_dropping_users_session_version_keeps_every_row_that_points_at_users(tmp_path):
    """Migration 0010 drops a column of `users`, the table every membership, session and
    invitation references with ON DELETE CASCADE. A batch table copy on SQLite (foreign keys
    are on in this app) would delete them all; the in-place drop must keep every row."""
    from datetime import timedelta

    from flask_migrate import downgrade
    from sqlalchemy import func, select

    from sureapp.auth.services import create_user
    from sureapp.auth.sessions import open_session
    from sureapp.models import (Invitation, OrgMembership, Role, User, UserSession,
                                WorkspaceMembership)
    from sureapp.tenancy.services import create_organization, grant_role, invite
    from sureapp.timeutil import utcnow

    before = "0009_api_keys_page_index"
    children = (OrgMembership, WorkspaceMembership, UserSession, Invitation)

    def count_rows():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in children}

    for backend, url in _fresh_database_url(tmp_path):
        app = make_test_app(url)
        with app.app_context():
            # Rows are made through the services at head (the models are head's: later
            # migrations may add columns to these tables), then the chain goes down and up.
            upgrade()
            owner, member = (create_user(f"u{n}@example.com", "a long password", "")
                             for n in range(2))
            _, workspace = create_organization(owner, "Acme", workspace_name="Main")
            grant_role(workspace, member, Role.MANAGER)
            invite(owner, Role.OWNER, workspace, "new@example.com", Role.MEMBER)
            open_session(member, "127.0.0.1", "pytest", utcnow() + timedelta(seconds=1))
            db.session.commit()
            counts = count_rows()
            assert all(counts.values()), counts
            db.session.remove()

            downgrade(revision=before)  # the column comes back, filled, and nothing is lost
            assert db.session.execute(text("SELECT session_version FROM users")).scalars().all() \
                == [1, 1]
            assert count_rows() == counts, f"{backend}: rows lost by the downgrade"
            db.session.remove()

            upgrade()  # to head: 0010 drops the column
            assert count_rows() == counts, f"{backend}: rows lost by the migration"
            assert db.session.scalar(select(func.count()).select_from(User)) == 2
            db.session.remove()
            db.engine.dispose()
