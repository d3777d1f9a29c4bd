"""Health check, the landing redirect and /favicon.ico (the HTML error pages are sureapp/web.py's)."""
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("main", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not healthy", never a 500 page
        db.session.rollback()
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("orgs.home"))


@bp.get("/favicon.ico")
def favicon():
    # Pages name static/favicon.svg in <link rel="icon">; this is for clients that ask the
    # conventional path anyway (bookmarks, feed readers, old browsers): no 404 in every log.
    return redirect(url_for("static", filename="favicon.svg"), 301)


def init_app(app):
    app.register_blueprint(bp)
