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
