"""The send_email step: the mail for one contact (merge tags and spintax, the unsubscribe link
and RFC 8058 headers), sent at most once.

Only an `active` contact is mailed: an unsubscribed, bounced, invalid or pending one ends the run
("exited", with the reason) — checked when the mail is about to go, not when they enrolled.
Before the mail is handed to SMTP the run's `sending_step` is committed; if the process dies
before the outcome is recorded, runs.advance finds it set and never sends that mail again.
"""
from dataclasses import dataclass

from ..errors import DomainError
from ..extensions import db
from ..models import AutomationRun, Contact
from ..sending import bounces, render, transport
from ..subscriptions import links


@dataclass(frozen=True)
class SendResult:
    """What became of the run: None = mailed, go on; else "scheduled" (retry), "failed" or
    "exited", with the reason."""
    state: str | None
    error: str = ""
    retry_after: float | None = None


def message_for(run: AutomationRun, step_index: int, definition: dict, contact: Contact):
    """Subject, text and headers of this step's mail to the contact."""
    workspace_id = run.workspace_id
    values = render.contact_values(contact) | {
        "unsubscribe_url": links.unsubscribe_url(workspace_id, contact.id),
        "preferences_url": links.preferences_url(workspace_id, contact.id)}
    seed = f"{run.automation_id}:{step_index}:{contact.id}"  # the same words on every retry
    subject = render.render(definition["subject"], values, seed=seed)
    text = render.render(definition["body"], values, seed=seed)
    if "unsubscribe_url" not in render.tags_used(definition["body"]):
        text = f"{text.rstrip()}\n\n--\nDon't want these emails? Unsubscribe: {values['unsubscribe_url']}\n"
    one_click = links.one_click_url(workspace_id, contact.id)
    headers = {"List-Unsubscribe": f"<{one_click}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
               "X-Automation-Id": str(run.automation_id)}
    return subject, text, headers


def send(run: AutomationRun, automation, workspace, step_index: int, definition: dict,
         mark_sending, now=None) -> SendResult | None:
    """Send the step's mail to the run's contact. `mark_sending()` commits the at-most-once
    marker (False: the run is no longer ours, and None is returned without sending)."""
    contact = db.session.get(Contact, run.contact_id, populate_existing=True)
    if contact is None:  # deleted since the run was claimed (its run goes with it)
        return SendResult("exited", "Not mailed: the contact was deleted.")
    if contact.status != "active":
        return SendResult("exited", f"Not mailed: the contact is {contact.status}.")
    try:
        subject, text, headers = message_for(run, step_index, definition, contact)
        transport.pick_connection(workspace.id, None)  # SendingUnavailable before the marker
    except render.TemplateProblem as exc:
        return SendResult("failed", f"The email cannot be rendered: {exc}")
    except DomainError as exc:  # no SMTP connection nor SMTP_URL, no PUBLIC_URL…
        return SendResult("failed", exc.message)
    if not mark_sending():
        return None
    try:
        outcome = transport.send(workspace.id, contact.email, subject, text, headers=headers,
                                 now=now)
    except DomainError as exc:
        return SendResult("failed", exc.message)
    if outcome.sent:
        return SendResult(None)
    if outcome.status == "bounced":
        # Read again: the contact may have been deleted while the mail was on the way.
        bounces.mark_bounced(workspace, db.session.get(Contact, run.contact_id,
                                                       populate_existing=True),
                             outcome, source=f"Automation: {automation.name}")
        return SendResult("exited", outcome.error)
    return SendResult("scheduled" if outcome.retry else "failed", outcome.error,
                      outcome.retry_after)
