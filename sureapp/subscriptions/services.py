"""What a contact may do through a signed link: unsubscribe, choose lists, subscribe again.

Every change goes through the contacts services, so the timeline, `contact.updated` /
`contact.unsubscribed` (contacts/outbox.py) and list events are the same as from any other
entry point. These functions never commit: the public views own the transaction.
"""
from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from ..models import Contact, ContactList, Workspace
from ..tenancy.access import row_in_workspace
from ..campaigns import stats as campaign_stats
from ..contacts import groups, services as contacts
from ..contacts.groups import LISTS
from ..contacts.schemas import ContactPatch
from . import confirmations
from .links import LinkClaims

# Statuses a contact may leave by asking to receive mail again (a bounced or invalid address,
# or one still pending its double opt-in, may not be reactivated from a link).
RESUBSCRIBABLE = ("unsubscribed",)


def contact_of(claims: LinkClaims) -> tuple[Workspace, Contact]:
    """The workspace and contact a verified link names; NotFound if either is gone (a deleted
    contact) or they do not belong together."""
    workspace = db.session.get(Workspace, claims.workspace_id)
    contact = row_in_workspace(Contact, claims.workspace_id, claims.contact_id) if workspace else None
    if contact is None:
        raise NotFound("This link no longer leads to a subscription.")
    return workspace, contact


def _set_status(workspace: Workspace, contact: Contact, status: str, source: str) -> None:
    contacts.update_contact(workspace, contact.id, ContactPatch(status=status), source)


def unsubscribe(contact: Contact, *, source: str, campaign_id=None) -> bool:
    """Set the contact `unsubscribed` (emits contact.updated and contact.unsubscribed); False
    if it already was, so a second click changes nothing and emits nothing. `campaign_id`: the
    campaign whose link it was, which counts the unsubscribe (once)."""
    if contact.status == "unsubscribed":
        return False
    _set_status(db.session.get(Workspace, contact.workspace_id), contact, "unsubscribed", source)
    if campaign_id is not None:
        campaign_stats.record_unsubscribe(campaign_id, contact.id)
    return True


def resubscribe(contact: Contact, *, source: str) -> bool:
    """An unsubscribed contact asks for mail again (from their own signed link); False when
    their status is not one a contact may leave themselves."""
    if contact.status not in RESUBSCRIBABLE:
        return False
    _set_status(db.session.get(Workspace, contact.workspace_id), contact, "active", source)
    return True


def confirm(contact: Contact, *, source: str) -> bool:
    """A pending contact clicked their double opt-in link: `active` from now on (the timeline
    records when, contact.updated is emitted). False if it was not pending: a confirmation
    never reactivates an unsubscribed, bounced or invalid address."""
    if contact.status != "pending":
        return False
    _set_status(db.session.get(Workspace, contact.workspace_id), contact, "active", source)
    confirmations.record_confirmed(contact)
    return True


def preference_lists(workspace: Workspace) -> list[ContactList]:
    """The lists a contact sees on their preferences page: those marked show_on_preferences."""
    return list(db.session.scalars(
        select(ContactList).where(ContactList.workspace_id == workspace.id,
                                  ContactList.show_on_preferences.is_(True))
        .order_by(ContactList.name)))


def save_preferences(workspace: Workspace, contact: Contact, wanted_ids, *, source: str
                     ) -> tuple[int, int]:
    """Join the public lists in `wanted_ids` and leave the other public ones; lists not shown on
    the preferences page are never touched. Returns (joined, left)."""
    shown = {item.id: item for item in preference_lists(workspace)}
    wanted = {i for i in wanted_ids if i in shown}
    current = {item.id for item in contact.lists}
    joined = left = 0
    for list_id, item in shown.items():
        if list_id in wanted and list_id not in current:
            joined += groups.add_members(LISTS, workspace, item, [contact.id], source)
        elif list_id not in wanted and list_id in current:
            left += groups.remove_members(LISTS, workspace, item, [contact.id], source)
    return joined, left
