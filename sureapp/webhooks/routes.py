"""Webhooks pages (Settings → Developer → Webhooks)."""
from flask import Blueprint

from ..policy import Permission
from ..web import NavItem, register_nav
from . import delivery  # noqa: F401  (registers the delivery worker's periodic task)

bp = Blueprint("webhooks", __name__, url_prefix="/w/<workspace_id>/settings/webhooks")


def init_app(app):
    app.register_blueprint(bp)
