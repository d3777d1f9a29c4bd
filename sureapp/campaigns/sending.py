"""Sending a campaign: its status (set here only), its audience, and the periodic task that
mails it.

Status: draft → scheduled (a future `scheduled_at`) → sending → sent; `paused` (resumable) and
`cancelled` (final) on the way. Clients ask with send / pause / resume / cancel; they never
write a status.

- Audience: the active contacts of the campaign's lists, each once, fixed when it starts
  sending (one `campaign_recipients` row per contact, unique per campaign × contact). Contacts
  who are unsubscribed, bounced, invalid or pending are never in it; one who stops being active
  before their turn is skipped.
- Claim before send: the task takes a campaign's turn (one conditional UPDATE of its
  `next_send_at`: the gradual pace, shared by every worker), then claims a batch of due rows
  (queued → sending, FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer), then sends
  each outside any transaction and records the outcome only if the row is still its claim.
- At most once: a row left "sending" by a sender that died (a restart, a killed worker) may or
  may not have been handed to the SMTP server. After LEASE it becomes `interrupted`, counted
  with the failures and never sent again: nobody gets a campaign twice.
- Failures: a 5xx for the address bounces (the contact becomes `bounced`); a retryable failure
  waits RETRY_SCHEDULE and tries again; a refused connection (login, From address) or one that
  cannot send at all pauses the campaign with the reason, to be resumed once fixed.
"""
import logging
import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import exists, func, insert, or_, select, update

from .. import jobs
from ..errors import Conflict, DomainError, ValidationFailed
from ..extensions import db
from ..models import (UNFINISHED_RECIPIENT_STATES, Campaign, CampaignRecipient, Contact,
                      Workspace, campaign_lists, list_members)
from ..sending import bounces, plaintext, render, transport
from ..subscriptions import links
from ..timeutil import utcnow
from .services import get_campaign

log = logging.getLogger(__name__)

BATCH = 10  # mails per claim: a round stays short, so other periodic tasks keep their turn
LEASE = timedelta(minutes=15)  # a claimed row older than this lost its sender
RETRY_SCHEDULE = (60, 300, 1800, 7200, 21600)  # seconds before the 2nd … 6th attempt
INSERT_CHUNK = 1000


class CampaignStateError(Conflict):
    """The campaign is not in a status that allows this action (409)."""


# ---- the audience -----------------------------------------------------------------------------

def audience(campaign: Campaign):
    """SELECT of the ids of the active contacts in the campaign's lists, each once."""
    in_lists = select(list_members.c.contact_id).join(
        campaign_lists, campaign_lists.c.list_id == list_members.c.list_id).where(
        campaign_lists.c.campaign_id == campaign.id)
    return select(Contact.id).where(Contact.workspace_id == campaign.workspace_id,
                                    Contact.status == "active", Contact.id.in_(in_lists))


def audience_size(campaign: Campaign) -> int:
    """How many contacts the campaign would be sent to now."""
    return db.session.scalar(select(func.count()).select_from(audience(campaign).subquery()))


def _check_sendable(workspace: Workspace, campaign: Campaign) -> None:
    """Everything a send needs, refused before anything is written: a way to send first."""
    transport.pick_connection(workspace.id, campaign.from_email or None)  # SendingUnavailable
    errors: dict[str, list[str]] = {}
    if not campaign.subject.strip():
        errors["subject"] = ["A campaign needs a subject before it is sent."]
    if not campaign.content_html.strip():
        errors["content_html"] = ["A campaign needs content before it is sent."]
    if not campaign.lists:
        errors["list_ids"] = ["Choose at least one list to send to."]
    for field in ("subject", "content_html"):
        found = render.problems(getattr(campaign, field))
        if found:
            errors.setdefault(field, []).extend(found)
    if errors:
        raise ValidationFailed(errors, "The campaign cannot be sent yet.")
    if audience_size(campaign) == 0:
        raise ValidationFailed({"list_ids": ["Its lists have no active contacts."]},
                               "The campaign has nobody to send to.")
    links.unsubscribe_url(workspace.id, uuid.uuid4(), campaign_id=campaign.id)  # PUBLIC_URL?


def _start(campaign: Campaign, now: datetime) -> None:
    """scheduled/draft → sending: the audience is written, one row per contact."""
    campaign.status, campaign.started_at, campaign.next_send_at = "sending", now, now
    campaign.status_reason = ""
    db.session.flush()
    ids = list(db.session.scalars(audience(campaign)))
    for start in range(0, len(ids), INSERT_CHUNK):
        db.session.execute(insert(CampaignRecipient), [
            {"id": uuid.uuid4(), "campaign_id": campaign.id, "contact_id": contact_id,
             "status": "queued", "attempts": 0, "next_attempt_at": now, "claimed_by": "",
             "error": "", "created_at": now}
            for contact_id in ids[start:start + INSERT_CHUNK]])
    _wake_after_commit()


def _wake_after_commit() -> None:
    from ..events import deliveries_queued  # its commit hook wakes the background thread
    deliveries_queued()


# ---- what clients ask -------------------------------------------------------------------------

def send_campaign(workspace: Workspace, campaign_id, *, now: datetime | None = None) -> Campaign:
    """Send a draft now, or schedule it when its `scheduled_at` is in the future."""
    now = now or utcnow()
    campaign = get_campaign(workspace, campaign_id)
    if campaign.status != "draft":
        raise CampaignStateError(f"This campaign is {campaign.status}; only a draft can be sent.")
    _check_sendable(workspace, campaign)
    if campaign.scheduled_at is not None and campaign.scheduled_at > now:
        campaign.status = "scheduled"
    else:
        _start(campaign, now)
    db.session.flush()
    return campaign


def pause_campaign(workspace: Workspace, campaign_id) -> Campaign:
    campaign = get_campaign(workspace, campaign_id)
    if campaign.status not in ("scheduled", "sending"):
        raise CampaignStateError(f"This campaign is {campaign.status}; only a scheduled or "
                                 "sending campaign can be paused.")
    campaign.status, campaign.status_reason = "paused", ""
    db.session.flush()
    return campaign


def resume_campaign(workspace: Workspace, campaign_id, *, now: datetime | None = None
                    ) -> Campaign:
    """paused → sending (or back to scheduled if it had not started and its time is ahead)."""
    now = now or utcnow()
    campaign = get_campaign(workspace, campaign_id)
    if campaign.status != "paused":
        raise CampaignStateError(f"This campaign is {campaign.status}; only a paused campaign "
                                 "can be resumed.")
    transport.pick_connection(workspace.id, campaign.from_email or None)
    campaign.status_reason = ""
    if campaign.started_at is None:
        _check_sendable(workspace, campaign)
        if campaign.scheduled_at is not None and campaign.scheduled_at > now:
            campaign.status = "scheduled"
        else:
            _start(campaign, now)
    else:
        campaign.status, campaign.next_send_at = "sending", now
        _wake_after_commit()
    db.session.flush()
    return campaign


def cancel_campaign(workspace: Workspace, campaign_id, *, now: datetime | None = None
                    ) -> Campaign:
    """Stop for good: mails not yet sent are skipped (one being handed over finishes)."""
    campaign = get_campaign(workspace, campaign_id)
    if campaign.status not in ("scheduled", "sending", "paused"):
        raise CampaignStateError(f"This campaign is {campaign.status}; only a scheduled, "
                                 "sending or paused campaign can be cancelled.")
    campaign.status, campaign.finished_at = "cancelled", now or utcnow()
    db.session.execute(update(CampaignRecipient)
                       .where(CampaignRecipient.campaign_id == campaign.id,
                              CampaignRecipient.status == "queued")
                       .values(status="skipped", error="The campaign was cancelled.")
                       .execution_options(synchronize_session=False))
    db.session.flush()
    return campaign


# ---- the periodic task ------------------------------------------------------------------------

def _pace(campaign: Campaign) -> tuple[int, timedelta]:
    """How many mails one turn may claim, and how long the campaign then waits."""
    if not campaign.send_per_hour:
        return BATCH, timedelta(0)
    count = max(1, min(BATCH, math.ceil(campaign.send_per_hour / 60)))
    return count, timedelta(seconds=3600 * count / campaign.send_per_hour)


def _claim(campaign_id, now: datetime) -> list[uuid.UUID]:
    """Take the campaign's turn and claim its next due rows, in one transaction of our own."""
    runner = jobs.runner_id()
    with db.engine.begin() as conn:
        won = conn.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "sending",
                                   or_(Campaign.next_send_at.is_(None),
                                       Campaign.next_send_at <= now))
            .values(next_send_at=now + LEASE)).rowcount  # our turn, until we set the pace
        if not won:
            return []
        per_hour = conn.scalar(select(Campaign.send_per_hour).where(Campaign.id == campaign_id))
        count, wait = _pace(Campaign(send_per_hour=per_hour))
        due = (select(CampaignRecipient.id)
               .where(CampaignRecipient.campaign_id == campaign_id,
                      CampaignRecipient.status == "queued",
                      CampaignRecipient.next_attempt_at <= now)
               .order_by(CampaignRecipient.next_attempt_at, CampaignRecipient.id).limit(count)
               .with_for_update(skip_locked=True))
        ids = list(conn.scalars(
            update(CampaignRecipient).where(CampaignRecipient.id.in_(due.scalar_subquery()))
            .values(status="sending", claimed_at=now, claimed_by=runner,
                    attempts=CampaignRecipient.attempts + 1)
            .returning(CampaignRecipient.id)))
        conn.execute(update(Campaign).where(Campaign.id == campaign_id)
                     .values(next_send_at=now + (wait if ids else timedelta(0))))
    return ids


# A preview's links go nowhere: a working signed link for a real contact must not sit in a page.
PREVIEW_LINKS = {"unsubscribe_url": "#unsubscribe-link", "preferences_url": "#preferences-link"}


def _message(campaign: Campaign, contact: Contact, *, preview: bool = False
             ) -> tuple[str, str, str, dict]:
    """Subject, text, HTML and headers of the campaign for one contact (`preview`: with
    placeholder links and no headers)."""
    if preview:
        values = render.contact_values(contact) | PREVIEW_LINKS
    else:
        values = render.contact_values(contact) | {
            "unsubscribe_url": links.unsubscribe_url(campaign.workspace_id, contact.id,
                                                     campaign_id=campaign.id),
            "preferences_url": links.preferences_url(campaign.workspace_id, contact.id)}
    seed = f"{campaign.id}:{contact.id}"
    subject = render.render(campaign.subject, values, seed=seed)
    html = render.render(campaign.content_html, values, seed=seed, html=True)
    if "unsubscribe_url" not in render.tags_used(campaign.content_html):
        html += ('\n<p style="font-size:12px;color:#666">Don\'t want these emails? '
                 f'<a href="{values["unsubscribe_url"]}">Unsubscribe</a>.</p>')
    if preview:
        return subject, plaintext.text_of(html), html, {}
    one_click = links.one_click_url(campaign.workspace_id, contact.id, campaign_id=campaign.id)
    headers = {"List-Unsubscribe": f"<{one_click}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
               "Precedence": "bulk", "X-Campaign-Id": str(campaign.id)}
    return subject, plaintext.text_of(html), html, headers


# Who a preview is rendered for when the campaign's lists have nobody active yet.
SAMPLE_CONTACT = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                  "company": "Analytical Engines Ltd", "job_title": "Mathematician",
                  "phone": "+44 20 7946 0000"}


def preview(campaign: Campaign) -> tuple[Contact, bool, str, str]:
    """(contact, is_sample, subject, HTML) of the campaign as the first contact of its audience
    gets it (a made-up one, never stored, when there is nobody), rendered as a send renders it
    but with links that go nowhere. TemplateProblem if it cannot be rendered."""
    contact = db.session.scalar(select(Contact).where(Contact.id.in_(audience(campaign)))
                                .order_by(Contact.created_at, Contact.id).limit(1))
    sample = contact is None
    if sample:
        contact = Contact(id=uuid.uuid5(campaign.id, "sample"), workspace_id=campaign.workspace_id,
                          **SAMPLE_CONTACT)
    subject, _, html, _ = _message(campaign, contact, preview=True)
    return contact, sample, subject, html


def _record(recipient_id, **values) -> bool:
    """Write the outcome if the row is still our claim (the caller commits)."""
    return db.session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.id == recipient_id, CampaignRecipient.status == "sending",
               CampaignRecipient.claimed_by == jobs.runner_id())
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1


def _hold(campaign_id, reason: str) -> None:
    """Pause the campaign because it cannot send (the caller commits)."""
    db.session.execute(update(Campaign).where(Campaign.id == campaign_id,
                                              Campaign.status == "sending")
                       .values(status="paused", status_reason=reason[:500])
                       .execution_options(synchronize_session=False))


def _send_one(recipient_id, now: datetime) -> None:
    recipient = db.session.get(CampaignRecipient, recipient_id)
    campaign = db.session.get(Campaign, recipient.campaign_id)
    contact = db.session.get(Contact, recipient.contact_id) if recipient.contact_id else None
    if campaign.status != "sending":  # paused or cancelled after the claim: not sent
        status = "skipped" if campaign.status == "cancelled" else "queued"
        _record(recipient_id, status=status, attempts=recipient.attempts - 1,
                error="The campaign was cancelled." if status == "skipped" else "")
        db.session.commit()
        return
    if contact is None or contact.status != "active":
        _record(recipient_id, status="skipped",
                error="The contact was deleted." if contact is None
                else f"The contact is {contact.status} now.")
        db.session.commit()
        return
    try:
        subject, text, html, headers = _message(campaign, contact)
        email, workspace_id = contact.email, campaign.workspace_id
        from_email, from_name = campaign.from_email or None, campaign.from_name
        db.session.rollback()  # no transaction stays open while we wait on the network
        outcome = transport.send(workspace_id, email, subject, text, headers=headers, html=html,
                                 from_addr=from_email, from_name=from_name, now=now)
    except (DomainError, render.TemplateProblem) as exc:  # cannot send at all: hold it
        db.session.rollback()
        _record(recipient_id, status="queued", attempts=recipient.attempts - 1)
        _hold(recipient.campaign_id, exc.message)
        db.session.commit()
        return
    if outcome.sent:
        _record(recipient_id, status="sent", sent_at=utcnow(), error="")
    elif outcome.status == "bounced":
        if _record(recipient_id, status="bounced", error=outcome.error[:500]):
            campaign = db.session.get(Campaign, recipient.campaign_id)
            contact_id = recipient.contact_id  # None: deleted while its mail was on the way
            bounces.mark_bounced(db.session.get(Workspace, campaign.workspace_id),
                                 db.session.get(Contact, contact_id) if contact_id else None,
                                 outcome, source=f"Campaign: {campaign.name}")
    elif outcome.retry_after is not None:  # the sender's rate: not an attempt
        _record(recipient_id, status="queued", attempts=recipient.attempts - 1,
                next_attempt_at=now + timedelta(seconds=outcome.retry_after))
    elif outcome.retry and recipient.attempts <= len(RETRY_SCHEDULE):
        _record(recipient_id, status="queued", error=outcome.error[:500],
                next_attempt_at=now + timedelta(seconds=RETRY_SCHEDULE[recipient.attempts - 1]))
    else:
        _record(recipient_id, status="failed", error=outcome.error[:500])
    if outcome.blocking:
        _hold(recipient.campaign_id, outcome.error)
    db.session.commit()


def _sweep(now: datetime) -> None:
    """Claims older than LEASE lost their sender: interrupted, never sent again. Due scheduled
    campaigns start."""
    stale = (CampaignRecipient.status == "sending", CampaignRecipient.claimed_at < now - LEASE)
    if db.session.scalar(select(exists().where(*stale))):  # the idle round writes nothing
        db.session.rollback()
        with db.engine.begin() as conn:
            conn.execute(update(CampaignRecipient).where(*stale)
                         .values(status="interrupted",
                                 error="Its sender stopped while handing it over; it is not "
                                       "sent again, so nobody gets the campaign twice."))
    due = list(db.session.scalars(select(Campaign.id).where(
        Campaign.status == "scheduled", Campaign.scheduled_at <= now)))
    db.session.rollback()
    for campaign_id in due:
        won = db.session.execute(update(Campaign).where(Campaign.id == campaign_id,
                                                        Campaign.status == "scheduled")
                                 .values(status="sending")
                                 .execution_options(synchronize_session=False)).rowcount
        if won:
            campaign = db.session.get(Campaign, campaign_id)
            _start(campaign, now)
        db.session.commit()


def _finish(campaign_id, now: datetime) -> None:
    """sending → sent once no row is queued or being sent."""
    unfinished = exists().where(CampaignRecipient.campaign_id == campaign_id,
                                CampaignRecipient.status.in_(UNFINISHED_RECIPIENT_STATES))
    db.session.execute(update(Campaign).where(Campaign.id == campaign_id,
                                              Campaign.status == "sending", ~unfinished)
                       .values(status="sent", finished_at=now)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def send_due(now: datetime | None = None) -> float:
    """One round: start due campaigns, send one batch of each sending campaign whose turn it
    is; returns how long to sleep (0 when more is due at once)."""
    now = now or utcnow()
    db.session.rollback()
    _sweep(now)
    sending = list(db.session.scalars(select(Campaign.id).where(Campaign.status == "sending")))
    db.session.rollback()
    busy = False
    for campaign_id in sending:
        claimed = _claim(campaign_id, now)
        busy = busy or bool(claimed)
        for recipient_id in claimed:
            try:
                _send_one(recipient_id, now)
            except Exception:  # one recipient must not stop the rest; its claim expires
                db.session.rollback()
                log.exception("a campaign mail could not be processed")
        _finish(campaign_id, now)
    return 0.0 if busy else jobs.MAX_IDLE_SECONDS


def run_until_idle(now: datetime | None = None, max_rounds: int = 1000) -> None:
    """Send until nothing is due at `now` (tests, the CLI)."""
    for _ in range(max_rounds):
        if send_due(now):
            return


TASK = jobs.every("campaigns.send", send_due)
