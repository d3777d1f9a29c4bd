"""Sign up, log in, log out, change password."""
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_login import current_user, login_required

from ..extensions import db, limiter, login_manager
from ..timeutil import utcnow
from . import sessions, sudo
from .current import current_record, end_current_session, load_user, start_session
from ..web import ConfirmForm, is_htmx, render_page_or_fragment
from .forms import ChangePasswordForm, LoginForm, SignupForm
from .services import authenticate, create_user, find_user_by_email, normalize_email, set_password

bp = Blueprint("auth", __name__)

TOO_MANY_ATTEMPTS = "Too many attempts. Please wait a minute and try again."


@login_manager.user_loader
def _load_user(user_id: str):
    return load_user(user_id)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths; never //host or scheme:… (no open redirects)."""
    # Browsers drop tabs/newlines inside URLs ("/\t/evil.com" is "//evil.com"), and a newline
    # can't go in a Location header at all: no control characters or whitespace.
    if not target or any(ord(c) < 0x21 or ord(c) == 0x7f for c in target):
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


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


# Shared scopes: a wrong password in the sudo prompt (confirm_sudo) counts in the same buckets.
LOGIN_IP_SCOPE, LOGIN_EMAIL_SCOPE = "login-ip", "login-email"


@bp.route("/login", methods=["GET", "POST"])
@limiter.shared_limit(login_rate_limit, LOGIN_IP_SCOPE, methods=["POST"],
                      deduct_when=failed_attempt,
                      on_breach=_render_rate_limited("auth/login.html", LoginForm))
@limiter.shared_limit(login_rate_limit, LOGIN_EMAIL_SCOPE, methods=["POST"],
                      deduct_when=failed_attempt, key_func=_email_key,
                      on_breach=_render_rate_limited("auth/login.html", LoginForm))
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
    end_current_session()
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
            record = current_record()
            sessions.end_other_sessions(user, keep=record)  # a thief's copy ends here
            sessions.password_entered(record, utcnow())
            db.session.commit()
            flash("Password changed. You were logged out everywhere else.", "success")
            return redirect(url_for("orgs.home"))
    status = 200 if request.method == "GET" else 422
    return render_template("auth/change_password.html", form=form), status


# ---- sudo mode: the one place the password is re-checked ----------------------------------

def _sudo_email_key() -> str:
    # The same counter as failed log-ins to this account (_email_key of login()).
    if not current_user.is_authenticated:
        return "login-email:"  # login_required answers below; nothing is checked
    return "login-email:" + normalize_email(current_user.email)


def _sudo_failed(response) -> bool:
    return response.status_code == 422


def _sudo_rate_limited(_limit):
    return sudo.prompt(429, TOO_MANY_ATTEMPTS, safe_next(request.form.get(sudo.TARGET_FIELD)),
                       sudo.replay_fields(request.form))


@bp.post("/sudo")
@limiter.shared_limit(login_rate_limit, LOGIN_IP_SCOPE, methods=["POST"],
                      deduct_when=_sudo_failed, on_breach=_sudo_rate_limited)
@limiter.shared_limit(login_rate_limit, LOGIN_EMAIL_SCOPE, methods=["POST"],
                      deduct_when=_sudo_failed, key_func=_sudo_email_key,
                      on_breach=_sudo_rate_limited)
@login_required
def confirm_sudo():
    """Check the password for sudo mode; then (no JS) 307 back to the action with its body, or
    (htmx) tell app.js to re-issue the request that was stopped."""
    password = request.form.get(sudo.PASSWORD_FIELD, "")
    target = safe_next(request.form.get(sudo.TARGET_FIELD))
    if not password or len(password) > 1024 or authenticate(current_user.email, password) is None:
        return sudo.prompt(422, "That password is not correct.", target,
                           sudo.replay_fields(request.form))
    sessions.password_entered(current_record(), utcnow())
    db.session.commit()
    if is_htmx():
        response = current_app.make_response(("", 204))
        response.headers["HX-Trigger"] = "sudoConfirmed"
        return response
    # 307 keeps the method and body: the browser re-posts the original form to its action.
    return redirect(target or url_for("orgs.home"), 307 if target else 302)


# ---- Profile → Sessions --------------------------------------------------------------------

def _sessions_page(status: int = 200, notice: str = ""):
    now = utcnow()
    return render_page_or_fragment(
        "auth/sessions.html", "auth/_sessions.html", status, now=now, notice=notice,
        user_sessions=sessions.active_sessions(current_user, now, current_app.config[
            "SESSION_IDLE_DAYS"]),
        this_session=current_record(), device_label=sessions.device_label,
        form=ConfirmForm())


@bp.get("/account/sessions")
@login_required
def sessions_index():
    return _sessions_page()


@bp.post("/account/sessions/<session_id>/end")
@login_required
def end_session(session_id):
    """Sign one of your other sessions out; an id that isn't yours (or is gone) is a 404."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    this = current_record()
    if this is not None and str(this.id) == session_id:
        end_current_session()  # "Sign out" on this session's own row is logging out
        return _redirect(url_for("auth.login"))
    if not sessions.end_session(current_user, session_id):
        db.session.rollback()
        abort(404)
    db.session.commit()
    if is_htmx():
        return _sessions_page(notice="That session was signed out.")
    flash("That session was signed out.", "success")
    return redirect(url_for("auth.sessions_index"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = sessions.end_other_sessions(current_user, keep=current_record())
    db.session.commit()
    message = (f"Signed out {ended} other session{'s' if ended != 1 else ''}." if ended
               else "There were no other sessions.")
    if is_htmx():
        return _sessions_page(notice=message)
    flash(message, "success")
    return redirect(url_for("auth.sessions_index"))


def _redirect(location: str):
    """A redirect that htmx follows as a full page load (HX-Redirect), plain otherwise."""
    if is_htmx():
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)


def init_app(app):
    app.register_blueprint(bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
