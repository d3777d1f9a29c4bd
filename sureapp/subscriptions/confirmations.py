"""Double opt-in mails: the background task that mails due confirmation requests, re-sending
(rate limited per contact), and recording a confirmation. Which contacts need one is the rule
of contacts/optin.py.

A request is claimed with one conditional UPDATE that moves its `mail_due_at` a LEASE ahead
(two processes: one wins), then mailed; success clears `mail_due_at`, a failure sets it to the
next retry. A crash mid-send retries after the lease: a confirmation may arrive twice, never
not at all. While the workspace cannot send mail nothing is claimed; the contact's page says so.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import jobs
from ..contacts import optin
from ..errors import Conflict, LimitExceeded
from ..events import deliveries_queued
from ..extensions import db
from ..models import ConfirmationRequest, Contact, ContactList, Workspace
from ..sending.bounces import mark_bounced
from ..sending.transport import Outcome, SendingUnavailable, send
from ..timeutil import utcnow
from . import links

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1),
               timedelta(hours=6))  # then every 6 hours
RESEND_INTERVAL = timedelta(minutes=10)  # at most one re-sent confirmation per contact
BATCH = 50
IDLE_SECONDS = 300.0
UNSENDABLE_RECHECK_SECONDS = 60.0


class ResendTooSoon(LimitExceeded):
    def __init__(self, wait: timedelta):
        minutes = max(1, round(wait.total_seconds() / 60))
        super().__init__(f"A confirmation mail was sent moments ago; another can be sent in "
                         f"{minutes} minute{'' if minutes == 1 else 's'}.")


@dataclass(frozen=True)
class ConfirmationState:
    """What the contact page says about a pending contact's confirmation mail."""
    request: ConfirmationRequest | None
    can_mail: bool

    @property
    def summary(self) -> str:
        request = self.request
        if request is None:
            return "No confirmation was asked for: this contact was set to Pending by hand."
        if not self.can_mail:
            return ("The confirmation mail cannot be sent: this workspace has no way to send "
                    "mail yet. It goes out once sending is set up.")
        if request.last_error and request.mail_due_at:
            return f"The confirmation mail could not be sent ({request.last_error}); retrying."
        if request.mail_due_at and not request.mails_sent:
            return "The confirmation mail is about to be sent."
        return "A confirmation mail was sent; the contact has not clicked its link yet."


def state_of(contact: Contact) -> ConfirmationState:
    return ConfirmationState(db.session.get(ConfirmationRequest, contact.id),
                             optin.can_mail(contact.workspace_id))


def resend(contact: Contact, now: datetime | None = None) -> None:
    """Mail the confirmation again soon (a manager's button, the API, the contact's expired
    link); ResendTooSoon within RESEND_INTERVAL of the last one; Conflict unless the contact is
    pending and the workspace can send mail."""
    now = now or utcnow()
    if contact.status != "pending":
        raise Conflict(f"{contact.email} is not waiting for a confirmation (its status is "
                       f"{contact.status}).")
    if not optin.can_mail(contact.workspace_id):
        raise Conflict("No confirmation can be mailed: this workspace cannot send mail yet.")
    request = db.session.get(ConfirmationRequest, contact.id)
    if request is None:
        optin.request_confirmations(contact.workspace_id, [(contact.id, None)])
        return
    last = request.last_mailed_at
    if request.mail_due_at is not None:
        return  # already on its way
    if last is not None and now - last < RESEND_INTERVAL:
        raise ResendTooSoon(RESEND_INTERVAL - (now - last))
    request.mail_due_at, request.failures, request.last_error = now, 0, ""
    db.session.flush()
    deliveries_queued()  # wakes the background thread after the commit


def record_confirmed(contact: Contact, now: datetime | None = None) -> None:
    """The contact clicked their link: no more mails, and when it happened."""
    request = db.session.get(ConfirmationRequest, contact.id)
    if request is not None:
        request.confirmed_at, request.mail_due_at = now or utcnow(), None


# ---- the background task --------------------------------------------------------------------

def _claim(request_id, due_at: datetime, now: datetime) -> bool:
    """One conditional UPDATE: only the process that still sees the same due time wins."""
    claimed = db.session.execute(
        update(ConfirmationRequest)
        .where(ConfirmationRequest.contact_id == request_id,
               ConfirmationRequest.mail_due_at == due_at)
        .values(mail_due_at=now + LEASE)).rowcount == 1
    db.session.commit()
    return claimed


def _mail(request: ConfirmationRequest, contact: Contact, now: datetime) -> Outcome:
    """Send one confirmation through the workspace's sending (sending/transport.py)."""
    workspace = db.session.get(Workspace, contact.workspace_id)
    item = db.session.get(ContactList, request.list_id) if request.list_id else None
    try:
        url = links.confirm_url(workspace.id, contact.id, request.list_id)
    except links.LinksUnavailable:
        return Outcome("failed", "PUBLIC_URL is not set, so the mail would have no working link",
                       retry=True)
    what = f"the list “{item.name}”" if item else "mail"
    text = (f"Hello{' ' + contact.first_name if contact.first_name else ''},\n\n"
            f"please confirm that you want to receive {what} from {workspace.name} at "
            f"{contact.email}:\n\n{url}\n\n"
            f"The link works for {links.CONFIRM_VALID.days} days. If you did not sign up, "
            f"ignore this mail: nothing will be sent to you.\n")
    try:
        return send(workspace.id, contact.email,
                    f"Please confirm your subscription to {workspace.name}", text, now=now)
    except SendingUnavailable as exc:
        return Outcome("failed", exc.message, retry=True)


def mail_due(now: datetime | None = None) -> float:
    """Mail the confirmations that are due; returns seconds until the next one is."""
    now = now or utcnow()
    due = db.session.execute(
        select(ConfirmationRequest.contact_id, ConfirmationRequest.mail_due_at,
               ConfirmationRequest.workspace_id)
        .where(ConfirmationRequest.mail_due_at <= now)
        .order_by(ConfirmationRequest.mail_due_at).limit(BATCH)).all()
    db.session.rollback()
    claimed_any = False
    for contact_id, due_at, workspace_id in due:
        if not optin.can_mail(workspace_id) or not _claim(contact_id, due_at, now):
            continue
        claimed_any = True
        request = db.session.get(ConfirmationRequest, contact_id)
        contact = db.session.get(Contact, contact_id)
        if contact is None or contact.status != "pending":
            request.mail_due_at = None  # confirmed, unsubscribed or changed by hand meanwhile
        else:
            outcome = _mail(request, contact, now)
            if outcome.sent:
                request.mails_sent += 1
                request.last_mailed_at, request.mail_due_at, request.last_error = now, None, ""
            elif outcome.retry_after is not None:  # the sender's rate: not a failure, wait a turn
                request.mail_due_at = now + timedelta(seconds=outcome.retry_after)
            else:
                request.failures += 1
                request.last_error = outcome.error[:255]
                if outcome.status == "bounced":  # the address does not exist: never retried
                    request.mail_due_at = None
                    mark_bounced(db.session.get(Workspace, contact.workspace_id), contact,
                                 outcome, source="Double opt-in mail")
                else:
                    request.mail_due_at = now + RETRY_AFTER[
                        min(request.failures, len(RETRY_AFTER)) - 1]
                log.warning("A confirmation mail was not sent (%s, attempt %s)",
                            outcome.status, request.failures)
        db.session.commit()
    if len(due) == BATCH and claimed_any:
        return 0.0
    next_due = db.session.scalar(select(ConfirmationRequest.mail_due_at)
                                 .where(ConfirmationRequest.mail_due_at.is_not(None))
                                 .order_by(ConfirmationRequest.mail_due_at).limit(1))
    db.session.rollback()
    if next_due is None:
        return IDLE_SECONDS
    wait = (next_due - utcnow()).total_seconds()
    if wait <= 0 and not claimed_any:
        # Due, but in workspaces that cannot send yet: look again later, never spin.
        return UNSENDABLE_RECHECK_SECONDS
    return min(max(wait, 0.0), IDLE_SECONDS)


TASK = jobs.every("subscriptions.confirmations", mail_due)
