"""The public pages a contact reaches from a mail: unsubscribe, one-click unsubscribe (RFC
8058), preferences, double opt-in confirmation (and a new link for an expired one). No login and no session: the signed token in the URL is the authority
(subscriptions/links.py), so the forms carry no CSRF token (a forger would need the token,
which only the contact has) and the pages never set a cookie. Rate limited per client IP;
each page answers with its own small layout (the workspace's name, no sureapp navigation)."""
from flask import Blueprint, current_app, render_template, request, url_for

from ..errors import DomainError, NotFound
from ..extensions import csrf, db, limiter
from ..models import ContactList
from ..tenancy.access import parse_uuid, row_in_workspace
from . import confirmations, links, services
from .links import BadLink

bp = Blueprint("subscriptions", __name__)
csrf.exempt(bp)

# Timeline sources: where the change came from, as the contact's page shows it.
SOURCE_UNSUBSCRIBE = "Unsubscribe link"
SOURCE_ONE_CLICK = "One-click unsubscribe (mail program)"
SOURCE_PREFERENCES = "Preferences page"
SOURCE_CONFIRM = "Double opt-in confirmation"

# No token reaches a Referer header, and nothing private is cached.
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _link_rate_limit() -> str:
    return current_app.config["SUBSCRIPTION_RATE_LIMIT"]


def _bad_link_rate_limit() -> str:
    return current_app.config["SUBSCRIPTION_BAD_LINK_RATE_LIMIT"]


def _failed(response) -> bool:
    return response.status_code >= 400


# Every public page shares two budgets per client IP: all requests, and refused links (a
# guesser runs out of the second long before the first).
limiter.shared_limit(_link_rate_limit, "subscription-links")(bp)
limiter.shared_limit(_bad_link_rate_limit, "subscription-bad-links", deduct_when=_failed)(bp)


def _page(template: str, status: int = 200, **context):
    return render_template(template, **context), status, PRIVATE_HEADERS


@bp.errorhandler(429)
def _too_many(_exc):
    """Past a limit: this layout, not the app's 429 page (whose layout starts a session)."""
    body, status, headers = _page(
        "subscriptions/problem.html", 429, workspace=None, title="Slow down",
        message="Too many requests from your address. Please wait a minute and try again.")
    return body, status, {**headers, "Retry-After": "60"}


@bp.errorhandler(BadLink)
def _bad_link(exc: BadLink):
    db.session.rollback()
    # An expired confirmation link may ask for a new one (resend_confirmation checks it again).
    resend_url = (url_for(".resend_confirmation", token=request.view_args["token"])
                  if exc.expired and request.endpoint == "subscriptions.confirm" else None)
    return _page("subscriptions/problem.html", 410 if exc.expired else 400, workspace=None,
                 title="This link has expired" if exc.expired else "This link does not work",
                 message=exc.message, resend_url=resend_url)


@bp.errorhandler(NotFound)
def _gone(exc: NotFound):
    db.session.rollback()
    return _page("subscriptions/problem.html", 404, workspace=None,
                 title="Nothing to change here",
                 message="This link no longer leads to a subscription: the address may have "
                         "been removed from the list's records.")


def _contact(purpose: str, token: str):
    return services.contact_of(links.read_token(purpose, token))


def _unsubscribe_page(token: str, *, done: bool = False, changed: bool = False):
    claims = links.read_token(links.UNSUBSCRIBE, token)
    workspace, contact = services.contact_of(claims)
    return _page("subscriptions/unsubscribe.html", workspace=workspace, contact=contact,
                 done=done, changed=changed, token=token,
                 preferences_url=_preferences_path(workspace, contact))


def _preferences_path(workspace, contact) -> str:
    # A link within this site: relative, so it works whatever PUBLIC_URL says.
    return url_for(".preferences",
                   token=links.make_token(links.PREFERENCES, workspace.id, contact.id))


@bp.get("/unsubscribe/<token>")
def unsubscribe(token):
    """A page with a button: a link scanner's GET must not unsubscribe anyone."""
    return _unsubscribe_page(token)


@bp.post("/unsubscribe/<token>")
def confirm_unsubscribe(token):
    claims = links.read_token(links.UNSUBSCRIBE, token)
    _workspace, contact = services.contact_of(claims)
    changed = services.unsubscribe(contact, source=SOURCE_UNSUBSCRIBE,
                                   campaign_id=claims.subject_id)
    db.session.commit()
    return _unsubscribe_page(token, done=True, changed=changed)


@bp.get("/unsubscribe/<token>/one-click")
def one_click_page(token):
    """A GET of the List-Unsubscribe address (a person or a scanner): the page with the button."""
    return _unsubscribe_page(token)


@bp.post("/unsubscribe/<token>/one-click")
def one_click(token):
    """RFC 8058: the mail program POSTs `List-Unsubscribe=One-Click`; answer 200 at once, no
    redirect and no confirmation step. Any body is accepted: the token is what counts."""
    claims = links.read_token(links.UNSUBSCRIBE, token)
    _workspace, contact = services.contact_of(claims)
    services.unsubscribe(contact, source=SOURCE_ONE_CLICK, campaign_id=claims.subject_id)
    db.session.commit()
    return "You are unsubscribed.\n", 200, {**PRIVATE_HEADERS,
                                            "Content-Type": "text/plain; charset=utf-8"}


def _preferences_page(token: str, status: int = 200, *, saved: str = ""):
    workspace, contact = _contact(links.PREFERENCES, token)
    shown = services.preference_lists(workspace)
    member_of = {item.id for item in contact.lists}
    return _page("subscriptions/preferences.html", status, workspace=workspace, contact=contact,
                 lists=shown, member_of=member_of, saved=saved, token=token)


@bp.get("/preferences/<token>")
def preferences(token):
    return _preferences_page(token)


@bp.post("/preferences/<token>")
def save_preferences(token):
    """One form, three buttons: save the lists, unsubscribe from everything, subscribe again."""
    workspace, contact = _contact(links.PREFERENCES, token)
    action = request.form.get("action", "save")
    if action == "unsubscribe_all":
        services.unsubscribe(contact, source=SOURCE_PREFERENCES)
        saved = "You are unsubscribed from all mail of this sender."
    elif action == "resubscribe":
        if services.resubscribe(contact, source=SOURCE_PREFERENCES):
            saved = "Welcome back: you will receive mail again."
        else:
            saved = "Nothing changed."
    elif action == "save":
        wanted = [i for i in map(parse_uuid, request.form.getlist("list_ids")) if i]
        joined, left = services.save_preferences(workspace, contact, wanted,
                                                 source=SOURCE_PREFERENCES)
        saved = "Your preferences are saved." if joined or left else "Nothing changed."
    else:
        return _preferences_page(token, 400, saved="Choose one of the buttons below.")
    db.session.commit()
    return _preferences_page(token, saved=saved)


def _confirm_page(token: str, *, changed: bool = False):
    claims = links.read_token(links.CONFIRM, token)
    workspace, contact = services.contact_of(claims)
    subscribed_to = row_in_workspace(ContactList, workspace.id, claims.subject_id)
    return _page("subscriptions/confirm.html", workspace=workspace, contact=contact,
                 subscribed_to=subscribed_to, changed=changed, token=token)


@bp.get("/confirm/<token>")
def confirm(token):
    """A page with a button: a link scanner opening the mail must not give consent for anyone."""
    return _confirm_page(token)


@bp.post("/confirm/<token>")
def confirm_subscription(token):
    _workspace, contact = _contact(links.CONFIRM, token)
    changed = services.confirm(contact, source=SOURCE_CONFIRM)
    db.session.commit()
    return _confirm_page(token, changed=changed)


@bp.post("/confirm/<token>/resend")
def resend_confirmation(token):
    """An expired confirmation link's page offers a new mail: the token must be genuine (its
    age does not matter here), and a contact gets at most one per RESEND_INTERVAL."""
    try:
        claims = links.read_token(links.CONFIRM, token)
    except BadLink as exc:
        if not exc.expired or exc.claims is None:
            raise
        claims = exc.claims
    workspace, contact = services.contact_of(claims)
    try:
        confirmations.resend(contact)
    except confirmations.ResendTooSoon as exc:
        db.session.rollback()
        return _page("subscriptions/problem.html", 429, workspace=workspace,
                     title="A mail is already on its way", message=exc.message)
    except DomainError as exc:  # not pending any more, or no mail can go out
        db.session.rollback()
        return _page("subscriptions/problem.html", 409, workspace=workspace,
                     title="No new link can be sent", message=exc.message)
    db.session.commit()
    return _page("subscriptions/problem.html", 200, workspace=workspace,
                 title="Check your inbox", sent=True,
                 message=f"A new confirmation link is on its way to {contact.email}.")


def init_app(app) -> None:
    app.register_blueprint(bp)
