"""Health check, the landing redirect and the HTML error pages."""
from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from ..errorlog import request_id
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


def _error_page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message), status


def init_app(app):
    app.register_blueprint(bp)

    @app.errorhandler(403)
    def forbidden(e):
        return _error_page(403, "Forbidden", "Your role does not allow this.")

    @app.errorhandler(404)
    def not_found(e):
        return _error_page(404, "Not found", "There is nothing here, or it is not yours to see.")

    @app.errorhandler(429)
    def too_many(e):
        return _error_page(429, "Slow down", "Too many attempts. Please wait a minute and try again.")

    @app.errorhandler(500)
    def server_error(e):
        """Names the request id, so a report can be matched to its log line (errorlog.py)."""
        db.session.rollback()
        message = ("Something went wrong on our side. If it keeps happening, quote the reference "
                   f"{request_id()} when you report it.")
        try:
            return _error_page(500, "Something went wrong", message)
        except Exception:  # the layout itself may be what fails: never a second traceback
            return message, 500, {"Content-Type": "text/plain; charset=utf-8"}
