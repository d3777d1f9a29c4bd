"""sureapp: a self-hosted contact workspace with a first-class API-key system."""
import os
import time

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Config
from .extensions import csrf, db, limiter, login_manager, migrate

KEYED_APP = "sureapp_keyed_app"
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

    db.init_app(app)
    _ping_connections_only_after_idling(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from . import models  # noqa: F401  (register every table)
    from . import accesslog, errorlog, faults, jobs, once, security, web
    from .api import routes as api_routes
    from .auth import routes as auth_routes
    from .campaigns import routes as campaigns_routes
    from .automations import routes as automations_routes
    from .contacts import routes as contacts_routes
    from .keyauth import budget
    from .keyauth.surface import KeyedDispatcher, create_keyed_app
    from .keys import routes as keys_routes
    from .main import routes as main_routes
    from .mcp import routes as mcp_routes
    from .sending import routes as sending_routes
    from .subscriptions import routes as subscriptions_routes
    from .oauth import routes as oauth_routes
    from .tenancy import routes as tenancy_routes
    from .usage import recorder
    from .webhooks import routes as webhooks_routes

    # Each feature registers its blueprint, CLI commands, hooks and navigation entries.
    for feature in (main_routes, auth_routes, tenancy_routes, keys_routes, contacts_routes,
                    webhooks_routes, subscriptions_routes, oauth_routes, campaigns_routes,
                    sending_routes, automations_routes):
        feature.init_app(app)
    _register_template_helpers(app)
    recorder.init_app(app)

    # /api and /mcp: their own lean app in this process (keyauth/surface.py, README
    # "Architecture"), sharing config, database, recorder and services with the UI app.
    keyed = create_keyed_app(app)
    app.extensions[KEYED_APP] = keyed
    keyed.extensions[recorder.EXTENSION] = app.extensions[recorder.EXTENSION]
    budget.init_app(keyed)
    api_routes.init_app(keyed, app)
    mcp_routes.init_app(keyed)
    jobs.init_app(app, keyed)  # the background thread (webhook deliveries) in every worker

    accesslog.init_app(app)  # the dev server's access log redacted like gunicorn's
    once.init_app(app)  # once_field() in templates: single-use form tokens
    web.init_app(app)  # HTML error pages for the UI (the API and MCP answer in their formats)
    security.init_app(app)  # security headers, Secure cookies over HTTPS, CSRF error page
    for surface in (app, keyed):
        errorlog.init_app(surface)  # X-Request-Id; unexpected errors logged without their data
        faults.init_app(surface)  # database unavailable -> 503 problem/page
    app.wsgi_app = KeyedDispatcher(app.wsgi_app, keyed)
    if app.config["PROXY_FIX_X_FOR"] or app.config["PROXY_FIX_X_PROTO"]:
        # Outermost, so both apps see the client's address and scheme.
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
        )
    return app


def keyed_app(app: Flask) -> Flask:
    """The app serving /api and /mcp inside `app` (tests reach its view functions here)."""
    return app.extensions[KEYED_APP]


def _ping_connections_only_after_idling(app: Flask) -> None:
    """Instead of pool_pre_ping's round trip on every checkout: ping a pooled connection only
    when it sat unused for POOL_PING_IDLE_SECONDS (a server restart or an idle timeout may have
    killed it). Busy connections are not pinged; one that died in use raises a disconnect
    error, which invalidates the pool (keyed requests retry their first statement once)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        return  # a file: nothing to lose while idle
    idle_seconds = float(app.config["POOL_PING_IDLE_SECONDS"])

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool replaces it with a new connection
            raise exc.DisconnectionError() from error


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

    from . import policy
    from .tenancy.access import accessible_workspaces
    from .timeutil import format_datetime, relative
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

    def local_time(dt, date_only=False, seconds=False, zone=True):
        """The one date filter: timeutil.format_datetime in the open workspace's timezone."""
        ws = getattr(g, "workspace", None)
        return format_datetime(dt, ws.timezone if ws else "UTC", date_only=date_only,
                               seconds=seconds, zone=zone)

    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["relative_time"] = relative
    # Templates ask the role policy like views do: {% if can(role, Permission.DELETE_CONTACTS) %}.
    app.jinja_env.globals.update(can=policy.can, Permission=policy.Permission)
