"""Extensions, created unbound and attached to the app in create_app()."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask import g
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from . import ratelimit_storage  # noqa: F401  (memory:// without a thread per request)

# Stable constraint names so migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


READ_ONLY_REQUEST = "read_only_request"  # g flag: this request only reads


def mark_read_only_request() -> None:
    """This request only reads: its Session runs without a transaction on PostgreSQL."""
    setattr(g, READ_ONLY_REQUEST, True)


class Session(FlaskSession):
    """On a request marked read-only (an API GET), statements run in autocommit on PostgreSQL:
    no BEGIN and no ROLLBACK round trip around a read. SQLite's driver begins transactions only
    before writes anyway (and switching its isolation level costs PRAGMAs)."""

    def get_bind(self, *args, **kwargs):
        bind = super().get_bind(*args, **kwargs)
        if g.get(READ_ONLY_REQUEST) and bind.dialect.name != "sqlite":
            return _autocommit_engines.get(bind) or _autocommit_engine(bind)
        return bind


_autocommit_engines: dict = {}


def _autocommit_engine(engine):
    # Same pool, same connections: an engine proxy whose checkouts switch to autocommit.
    _autocommit_engines[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return _autocommit_engines[engine]


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
