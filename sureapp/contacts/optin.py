"""Double opt-in, the rule: which new contacts wait for a confirmation, and their request.

A list with `double_opt_in` makes a contact *created* from an unvouched source (the API, MCP:
`confirmed_consent=False`) with it among its lists `pending` instead of `active`, and asks for
a confirmation mail (a `confirmation_requests` row that subscriptions/confirmations.py mails
from the background thread). A manager adding or importing contacts in the UI, or the CLI,
vouches for their consent (`confirmed_consent=True`): they are active at once. An existing
contact joining such a list keeps its status: its address was already accepted here.
While the workspace cannot send mail, such a contact is refused with a Conflict that says so:
accepting it would promise a confirmation mail that cannot go out.
"""
from sqlalchemy import insert

from ..errors import Conflict
from ..events import deliveries_queued
from ..extensions import db
from ..models import ConfirmationRequest
from ..sending.transport import can_send
from ..timeutil import utcnow


def can_mail(workspace_id) -> bool:
    """Can a confirmation be mailed for this workspace (its SMTP connection, or SMTP_URL)?"""
    return can_send(workspace_id)


def cannot_mail(list_name: str) -> Conflict:
    return Conflict(f"The list “{list_name}” uses double opt-in, but this workspace cannot send "
                    "mail, so the confirmation could not be mailed and nothing was saved. Set "
                    "up sending (SMTP) or turn off double opt-in for the list.")


def confirming_list(groups_joined, status: str, confirmed_consent: bool):
    """The double opt-in list that makes a new contact pending (the first one), or None."""
    if confirmed_consent or status != "active":
        return None
    return next((g for g in groups_joined if getattr(g, "double_opt_in", False)), None)


def check_can_mail(workspace_id, item) -> None:
    """Conflict unless a confirmation for `item` (a double opt-in list) can be mailed."""
    if not can_mail(workspace_id):
        raise cannot_mail(item.name)


def request_confirmations(workspace_id, pending: list[tuple]) -> None:
    """Ask for a confirmation mail for each (contact id, list id), due now; the background
    thread is woken once the caller commits."""
    if not pending:
        return
    now = utcnow()
    db.session.execute(insert(ConfirmationRequest), [
        {"contact_id": contact_id, "workspace_id": workspace_id, "list_id": list_id,
         "mail_due_at": now, "mails_sent": 0, "failures": 0, "last_error": "",
         "created_at": now}
        for contact_id, list_id in pending])
    deliveries_queued()  # wakes the background thread after the commit
