"""Sign up, log in, log out."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user

from ..extensions import db, login_manager
from .forms import LoginForm, SignupForm
from .services import authenticate, create_user, find_user_by_email, load_user

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(session_id: str):
    return load_user(session_id)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths; never //host or scheme:… (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _start_session(user) -> None:
    # A fresh session on login: nothing from the anonymous session survives (fixation).
    session.clear()
    login_user(user)
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            _start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for("orgs.home"))
        form.password.errors.append("Email or password is incorrect.")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        if find_user_by_email(form.email.data):
            form.email.errors.append("An account with this email already exists.")
        else:
            user = create_user(form.email.data, form.password.data, form.name.data or "")
            db.session.commit()
            _start_session(user)
            flash("Welcome! Create your first organization to get started.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for("orgs.home"))
    status = 200 if request.method == "GET" else 422
    return render_template("auth/signup.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def init_app(app):
    app.register_blueprint(bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
