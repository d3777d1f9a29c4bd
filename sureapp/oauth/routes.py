"""The OAuth endpoints (blueprint "oauth", on the UI app: the consent screen needs the signed-in
browser). Machine endpoints (metadata, register, token, revoke) answer JSON only, take no
cookies (CSRF-exempt, CORS open: they are called by MCP clients, some inside a browser) and
are rate limited per client IP; the consent screen is a normal CSRF-protected page."""
import re

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask_login import current_user
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import jobs
from ..auth.sudo import require_sudo
from ..extensions import csrf, db, limiter, login_manager
from ..keyauth.credentials import RESOURCE_METADATA_PATH
from ..security import HTML_CSP
from ..web import commit_or_show_errors
from . import clients, grants, metadata
from .errors import OAuthError
from .forms import ConsentForm

bp = Blueprint("oauth", __name__)

MACHINE_ENDPOINTS = frozenset({"oauth.protected_resource", "oauth.authorization_server",
                               "oauth.register", "oauth.token", "oauth.revoke"})
FORM_MIME = "application/x-www-form-urlencoded"
_CSP_ORIGIN = re.compile(r"[a-z][a-z0-9+.\-]*:(//[A-Za-z0-9.\-\[\]:]+)?")


def _json(body: dict, status: int = 200):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_request
def machine_headers(response):
    """CORS for the machine endpoints: they read no cookie, so any origin may call them."""
    if request.endpoint in MACHINE_ENDPOINTS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, MCP-Protocol-Version")
            response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.errorhandler(OAuthError)
def oauth_error(error: OAuthError):
    return error.to_response()


@bp.errorhandler(RateLimitExceeded)
def rate_limited(_error):
    """Only machine endpoints carry limits: the answer is JSON, not the HTML 429 page."""
    # Flask-Limiter adds Retry-After (and X-RateLimit-*) to this response.
    return OAuthError("temporarily_unavailable", "Too many requests from this address; wait "
                      "for the time in Retry-After and try again.", 429).to_response()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return OAuthError("invalid_request", f"The request body is larger than {limit} bytes.",
                      413).to_response()


# ---- discovery ------------------------------------------------------------------------------

@bp.get("/.well-known/oauth-protected-resource")
@bp.get(RESOURCE_METADATA_PATH)
def protected_resource():
    """RFC 9728 metadata of /mcp (at the root and at the path-suffixed URL alike)."""
    return _json(metadata.protected_resource())


@bp.get("/.well-known/oauth-authorization-server")
def authorization_server():
    """RFC 8414 metadata of this authorization server."""
    return _json(metadata.authorization_server())


# ---- registration, token, revocation --------------------------------------------------------

@bp.post("/oauth/register")
@csrf.exempt
@limiter.limit(lambda: current_app.config["OAUTH_REGISTER_RATE_LIMIT"], scope="oauth-register")
def register():
    """RFC 7591 dynamic client registration (open: MCP clients register themselves)."""
    body = request.get_json(silent=True) if request.is_json else None
    if body is None:
        raise OAuthError("invalid_client_metadata", "Send the client metadata as JSON "
                         "(Content-Type: application/json).")
    client, secret = clients.register(body)
    db.session.commit()
    return _json(clients.registration_response(client, secret), 201)


def _form_request() -> None:
    if request.mimetype != FORM_MIME:
        raise OAuthError("invalid_request", f"Send the parameters as {FORM_MIME}.")


@bp.post("/oauth/token")
@csrf.exempt
@limiter.limit(lambda: current_app.config["OAUTH_TOKEN_RATE_LIMIT"], scope="oauth-token")
def token():
    """The token endpoint: authorization_code (PKCE) and refresh_token (rotating) grants."""
    _form_request()
    form = request.form
    try:
        client = clients.authenticate_client(request)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            tokens = grants.exchange_code(client, form.get("code"), form.get("redirect_uri"),
                                          form.get("code_verifier"), form.get("resource"))
        elif grant_type == "refresh_token":
            tokens = grants.refresh(client, form.get("refresh_token"), form.get("scope"),
                                    form.get("resource"))
        else:
            raise OAuthError("unsupported_grant_type", "Use grant_type authorization_code or "
                             "refresh_token.")
    except OAuthError:
        db.session.commit()  # what the refusal decided (a code used up, a grant ended) stays
        raise
    db.session.commit()
    response = _json(tokens.as_response())
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/oauth/revoke")
@csrf.exempt
@limiter.limit(lambda: current_app.config["OAUTH_TOKEN_RATE_LIMIT"], scope="oauth-token")
def revoke():
    """RFC 7009: revoke a refresh or access token (the whole connection); 200 for any token."""
    _form_request()
    client = clients.authenticate_client(request)
    grants.revoke_token(client, request.form.get("token"))
    db.session.commit()
    return _json({})


# ---- the consent screen ---------------------------------------------------------------------

def _allowing_redirect(response, auth: grants.AuthorizationRequest):
    """The page's CSP lets its form lead to the client's redirect URI (Chromium applies
    form-action to the redirect after a post), and nowhere else."""
    origin = auth.redirect_origin
    if _CSP_ORIGIN.fullmatch(origin):
        response.headers["Content-Security-Policy"] = HTML_CSP.replace(
            "form-action 'self'", f"form-action 'self' {origin}")
    response.headers["Cache-Control"] = "no-store"
    return response


def _consent_page(form: ConsentForm, auth, workspaces, status: int = 200):
    body = render_template("oauth/consent.html", form=form, auth=auth, client=auth.client,
                           workspaces=workspaces, access_minutes=int(
                               grants.ACCESS_TOKEN_LIFETIME.total_seconds() // 60))
    return _allowing_redirect(current_app.make_response((body, status)), auth)


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    """GET: the consent screen (sign in first if needed). POST: Allow or Deny, answered with a
    303 to the client's redirect URI carrying the code or the error, and `state`."""
    try:
        auth = grants.read_authorization_request(request.args)
    except grants.RedirectedError as error:
        return redirect(error.location(), 303)
    except OAuthError as error:
        body = render_template("oauth/error.html", error=error)
        return current_app.make_response((body, 400, {"Cache-Control": "no-store"}))
    db.session.commit()  # a fetched client metadata document is cached
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # back here after logging in (?next=)
    workspaces = grants.consentable_workspaces(current_user)
    form = ConsentForm().offer(workspaces, auth.abilities)
    if request.method == "GET":
        return _consent_page(form, auth, workspaces)
    if not form.validate_on_submit():  # CSRF is checked before the view; this is the rest
        return _consent_page(form, auth, workspaces, 422)
    if request.form.get("decision") != "allow":
        return redirect(grants.redirect_location(
            auth.redirect_uri, error="access_denied",
            error_description="The user denied the request.", state=auth.state), 303)
    chosen = next((w for w in workspaces if str(w.id) == form.workspace_id.data), None)
    if chosen is None:
        form.workspace_id.errors.append(grants.CONSENT_DENIED)
        return _consent_page(form, auth, workspaces, 403)
    try:
        require_sudo()  # allowing creates a credential, as Create API Key does
    except HTTPException as stopped:
        return _allowing_redirect(stopped.get_response(), auth)
    code = commit_or_show_errors(
        form, lambda: grants.approve(auth, current_user, chosen, form.abilities.data))
    if code is None:
        return _consent_page(form, auth, workspaces, 422)
    return redirect(grants.redirect_location(auth.redirect_uri, code=code, state=auth.state), 303)


def housekeeping() -> float:
    """Periodic task: purge spent codes, refresh tokens and never-used clients."""
    if grants.purge():
        db.session.commit()
    return grants.HOUSEKEEPING_INTERVAL


TASK = jobs.every("oauth.housekeeping", housekeeping)


def init_app(app):
    app.register_blueprint(bp)
