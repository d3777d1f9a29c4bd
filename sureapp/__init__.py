"""sureapp: a self-hosted contact workspace with a first-class API-key system."""
import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Config
from .extensions import csrf, db, limiter, login_manager, migrate

MIGRATIONS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations"))


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Config(app.instance_path))
    if test_config:
        app.config.update(test_config)

    if app.config["PROXY_FIX_X_FOR"] or app.config["PROXY_FIX_X_PROTO"]:
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
        )

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from . import models  # noqa: F401  (register every table)
    from .api import routes as api_routes
    from .auth import routes as auth_routes
    from .contacts import routes as contacts_routes
    from .keys import routes as keys_routes
    from .main import routes as main_routes
    from .mcp import routes as mcp_routes
    from .tenancy import routes as tenancy_routes

    # Each feature registers its blueprint, CLI commands, hooks and navigation entries.
    for feature in (main_routes, auth_routes, tenancy_routes, keys_routes, api_routes, mcp_routes,
                    contacts_routes):
        feature.init_app(app)
    _register_template_helpers(app)
    from . import accesslog, faults, security, web
    accesslog.init_app(app)  # the dev server's access log redacted like gunicorn's
    web.init_app(app)  # HTML error pages for the UI (the API and MCP answer in their formats)
    security.init_app(app)  # security headers, Secure cookies over HTTPS, CSRF error page
    faults.init_app(app)  # database unavailable -> 503 problem/page
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL for concurrent readers, enforced foreign keys, and a wait instead of 'database is locked'."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _register_template_helpers(app: Flask) -> None:
    from flask import g
    from flask_login import current_user

    from .tenancy.access import accessible_workspaces
    from .timeutil import format_local, relative
    from .web import nav_items

    @app.context_processor
    def layout_context():
        """What the top bar needs: the user's workspaces grouped by organization."""
        if not current_user.is_authenticated:
            return {}
        workspaces = accessible_workspaces(current_user.id)
        orgs: dict = {}
        for ws in workspaces:
            orgs.setdefault(ws.organization, []).append(ws)
        return {
            "switcher_orgs": orgs,
            "current_workspace": getattr(g, "workspace", None),
            "nav_items": nav_items,
        }

    def local_time(dt, fmt="%Y-%m-%d %H:%M %Z"):
        ws = getattr(g, "workspace", None)
        return format_local(dt, ws.timezone if ws else "UTC", fmt)

    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["relative_time"] = relative
