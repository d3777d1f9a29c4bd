"""Sign up, log in, log out, change password."""
from flask import (Blueprint, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter, login_manager
from .forms import ChangePasswordForm, LoginForm, SignupForm
from .services import (authenticate, create_user, find_user_by_email, load_user, normalize_email,
                       set_password)

bp = Blueprint("auth", __name__)

TOO_MANY_ATTEMPTS = "Too many attempts. Please wait a minute and try again."


@login_manager.user_loader
def _load_user(session_id: str):
    return load_user(session_id)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths; never //host or scheme:… (no open redirects)."""
    # Browsers drop tabs/newlines inside URLs ("/\t/evil.com" is "//evil.com"), and a newline
    # can't go in a Location header at all: no control characters or whitespace.
    if not target or any(ord(c) < 0x21 or ord(c) == 0x7f for c in target):
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def start_session(user) -> None:
    """Log `user` in on a fresh session: nothing from the anonymous one survives (fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True


def login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_key() -> str:
    # Per account, whichever IP the attempts come from.
    return "login-email:" + normalize_email(request.form.get("email", ""))[:255]


def failed_attempt(response) -> bool:
    """Only failed attempts count, so a user who logs in fine is never locked out."""
    return response.status_code != 302


def _render_rate_limited(template: str, form_class):
    def on_breach(_limit):
        form = form_class()
        form.form_errors.append(TOO_MANY_ATTEMPTS)
        response = current_app.make_response((render_template(template, form=form), 429))
        response.headers["Retry-After"] = "60"
        return response
    return on_breach


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=failed_attempt, scope="login-ip",
               on_breach=_render_rate_limited("auth/login.html", LoginForm))
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=failed_attempt, key_func=_email_key,
               scope="login-email", on_breach=_render_rate_limited("auth/login.html", LoginForm))
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or url_for("orgs.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for("orgs.home"))
        form.password.errors.append("Email or password is incorrect.")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=failed_attempt, scope="signup-ip",
               on_breach=_render_rate_limited("auth/signup.html", SignupForm))
def signup():
    form = SignupForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:255]
    if form.validate_on_submit():
        if find_user_by_email(form.email.data):
            form.email.errors.append("An account with this email already exists. Log in instead.")
        else:
            user = create_user(form.email.data, form.password.data, form.name.data or "")
            db.session.commit()
            start_session(user)
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


def _user_key() -> str:
    return f"password-user:{current_user.get_id()}"


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=failed_attempt, key_func=_user_key,
               scope="password", on_breach=_render_rate_limited("auth/change_password.html",
                                                                ChangePasswordForm))
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if authenticate(current_user.email, form.current_password.data) is None:
            form.current_password.errors.append("Your current password is not correct.")
        else:
            user = current_user._get_current_object()
            set_password(user, form.new_password.data)
            db.session.commit()
            start_session(user)  # this session carries the new version; every other one ends
            flash("Password changed. You were logged out everywhere else.", "success")
            return redirect(url_for("orgs.home"))
    status = 200 if request.method == "GET" else 422
    return render_template("auth/change_password.html", form=form), status


def init_app(app):
    app.register_blueprint(bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
