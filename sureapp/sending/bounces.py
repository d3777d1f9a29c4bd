"""Bounces: what sureapp can know without a mailbox. A 5xx answer for the address at send time
(the receiving server refused it, or our relay did) marks the contact `bounced`, so it never
gets mail again; it emits contact.updated like any status change. Bounces that arrive later
as mails (DSNs to the envelope sender) are not read: sureapp has no mailbox to read them from."""
from ..contacts.schemas import ContactPatch
from ..contacts.services import update_contact
from ..models import Contact, Workspace
from .transport import Outcome


def mark_bounced(workspace: Workspace, contact: Contact | None, outcome: Outcome, *,
                 source: str) -> None:
    """Set the contact `bounced` after a bounced Outcome (in the caller's transaction); a
    contact deleted while its mail was on the way (None) has nothing left to mark."""
    if contact is not None and contact.status != "bounced":
        update_contact(workspace, contact.id, ContactPatch(status="bounced"),
                       f"{source}: {outcome.error}"[:255])
