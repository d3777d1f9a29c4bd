"""A workspace with something on every page, and the URL of every GET page of the UI app.

Used by the whole-site browser checks (overflow at phone/desktop widths, axe, screenshots).
`page_urls` walks the url_map: a page whose arguments it cannot fill fails loudly, so a new page
is covered (or listed in SKIPPED with a reason) the day it is added.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from sureapp.auth.services import create_user
from sureapp.contacts import bulk, csv_import, lists, services as contact_services, tags
from sureapp.contacts.query import ContactFilter
from sureapp.contacts.schemas import ContactCreate, ListCreate, TagCreate
from sureapp.extensions import db
from sureapp.keys import services as key_services
from sureapp.models import OAuthGrant, Role
from sureapp.oauth import clients
from sureapp.oauth.grants import pkce_challenge
from sureapp.subscriptions import links
from sureapp.tenancy import services as tenancy
from sureapp.timeutil import utcnow
from sureapp import jobs

OWNER_EMAIL = "owner.of.everything@example.com"
PASSWORD = "correct horse battery staple"

# GET routes that are not pages a person looks at, with the reason.
SKIPPED_PREFIXES = {
    "api.": "JSON API, served by the keyed app (the UI app holds its rules only to build links)",
}
SKIPPED = {
    "static": "assets (CSS, JS, images), not pages",
    "main.healthz": "JSON health check",
    "oauth.protected_resource": "JSON metadata document (RFC 9728), tests/oauth",
    "oauth.authorization_server": "JSON metadata document (RFC 8414), tests/oauth",
    "main.favicon": "redirects to static/favicon.svg",
    "contacts.export": "CSV download",
    "contact_imports.report": "CSV download (the import's error report)",
    "keys.reveal": "one-time page, reachable only by the redirect of the create/regenerate POST "
                   "that set its cookie (a visit without it is the 410 'already shown'); the "
                   "no-JS flow and its reload are tests/browser/test_show_once.py",
    "members.invited": "one-time page of an invitation link, as keys.reveal (test_show_once.py)",
    "webhooks.reveal": "one-time page of a new signing secret, as keys.reveal (test_show_once.py)",
    "campaigns.preview": "the campaign's own HTML as a recipient gets it, served with a sandbox CSP "
                         "(no script runs, axe's included); framed by campaigns.show, checked "
                         "in tests/browser/test_campaigns.py and tests/sending/test_campaign_pages.py",
    "workspace_settings.leave": "the seeded owner may not leave (403); its confirm is the same "
                                "_confirm.html body that members.remove shows",
}
# Pages a signed-out visitor sees (visited signed out too; signed in they redirect).
ANONYMOUS = ("auth.login", "auth.signup", "invitations.show", "subscriptions.unsubscribe",
             "subscriptions.one_click_page", "subscriptions.preferences", "subscriptions.confirm")

# Long enough to find where text does not wrap (names of people, companies, keys, lists, tags).
LONG = "Supercalifragilistic Internationalization Department"


@dataclass
class Site:
    """Ids of the seeded rows, by URL argument; `per_endpoint` overrides for one endpoint."""
    values: dict = field(default_factory=dict)
    per_endpoint: dict = field(default_factory=dict)
    # Query parameters a page needs (the OAuth consent screen is an authorization request).
    query: dict = field(default_factory=dict)

    def arguments(self, endpoint: str, names) -> dict:
        chosen = {**self.values, **self.per_endpoint.get(endpoint, {})}
        missing = sorted(set(names) - set(chosen))
        if missing:
            raise LookupError(
                f"{endpoint}: no seeded value for {missing}: add data for it in tests/browser/_site.py "
                "(seed) or list the route in SKIPPED with a reason")
        return {name: chosen[name] for name in names}


def seed() -> Site:
    """An owner with a busy workspace: contacts in lists and tags, keys in every state, imports
    and a bulk action, a pending invitation. Committed; the caller empties the tables after."""
    owner = create_user(OWNER_EMAIL, PASSWORD, "Olivia Owner-Everything")
    org, workspace = tenancy.create_organization(
        owner, f"Acme {LONG}", description="Where every page has something on it",
        workspace_name=f"Main {LONG}", timezone="America/Argentina/Buenos_Aires")
    db.session.flush()
    manager = create_user("manager.with.a.rather.long.address@subdomain.example.com", PASSWORD, "Manny Manager")
    tenancy.grant_role(workspace, manager, Role.MANAGER)

    newsletter = lists.create_list(workspace, ListCreate(name=f"Newsletter {LONG}", description="Monthly news " * 8))
    offers = lists.create_list(workspace, ListCreate(name=f"Offers {LONG}"))
    newsletter.show_on_preferences = offers.show_on_preferences = True
    newsletter.double_opt_in = True
    vip = tags.create_tag(workspace, TagCreate(name=f"VIP {LONG}", color="#dc2626", description="Big accounts"))
    contacts = []
    for i, status in enumerate(("active", "pending", "bounced", "unsubscribed", "invalid", "active")):
        contacts.append(contact_services.create_contact(workspace, ContactCreate(
            email=f"person.number.{i}.with.a.long.address@{LONG.split()[0].lower()}.example.com",
            first_name=f"Person{i}", last_name=LONG.split()[1], company=LONG, job_title="Head of Things",
            phone="+1 555 0100", status=status, custom_fields={"plan": "enterprise", "seats": 40}), "Seed"))
    lists.add_contacts_to_list(workspace, newsletter, [c.id for c in contacts[:4]], "Seed")
    tags.add_contacts_to_tag(workspace, vip, [c.id for c in contacts[:3]], "Seed")

    active, _ = key_services.create_key(workspace, f"Zapier {LONG}", ["read", "write", "delete"], actor=owner,
                                        expires_at=utcnow() + timedelta(days=3))
    revoked, _ = key_services.create_key(workspace, "Old CRM sync", ["read"], actor=owner)
    key_services.revoke_key(revoked, actor=owner)
    expired, _ = key_services.create_key(workspace, "Expired import", ["read", "write"], key_type="mcp",
                                         actor=owner, expires_at=utcnow() + timedelta(days=1))
    expired.expires_at = utcnow() - timedelta(days=3)
    rolled, _ = key_services.create_key(workspace, "Rolled key in grace", ["read"], actor=owner)
    key_services.regenerate_key(rolled, grace=timedelta(hours=24), actor=owner)

    invitation, token = tenancy.invite(owner, Role.OWNER, workspace, "new.person@example.com",
                                       Role.MEMBER)

    csv_text = "Email,First Name,Company,Notes\n" + "".join(
        f"imported{i}@example.com,Imp{i},{LONG},note {i}\n" for i in range(5)) + "not-an-email,Bad,,\n"
    # Commit before each job: jobs.create sweeps old jobs on a connection of its own.
    db.session.commit()
    draft = csv_import.create_job(workspace, owner.id, "contacts-from-the-old-crm.csv", csv_text.encode())
    db.session.commit()
    finished = csv_import.create_job(workspace, owner.id, "earlier-import.csv", csv_text.encode())
    csv_import.queue(finished, source="Import")
    db.session.commit()
    jobs.run_now(finished)
    plan = bulk.plan(workspace, "add_tag", ContactFilter(), contact_ids=[str(contacts[4].id)], tag_id=str(vip.id))
    bulk_job = bulk.queue_job(workspace, plan, "Seed", owner.id)
    db.session.commit()
    jobs.run_now(bulk_job)

    endpoint, failing = _seed_webhooks(workspace)
    consent = _seed_oauth_client(workspace, owner)
    campaign, connection = _seed_sending(workspace, newsletter, contacts)
    automation = _seed_automation(workspace, newsletter, vip, contacts)

    key_ids = {"keys.confirm_activate": revoked.id}
    active_contact, pending_contact = contacts[0], contacts[1]
    link_tokens = {
        "subscriptions.unsubscribe": (links.UNSUBSCRIBE, active_contact),
        "subscriptions.one_click_page": (links.UNSUBSCRIBE, active_contact),
        "subscriptions.preferences": (links.PREFERENCES, active_contact),
        "subscriptions.confirm": (links.CONFIRM, pending_contact),
    }
    return Site(
        values={"workspace_id": workspace.id, "org_id": org.id, "contact_id": contacts[0].id,
                "key_id": active.id, "token": token, "endpoint_id": endpoint.id,
                "campaign_id": campaign.id, "connection_id": connection.id},
        per_endpoint={
            **{e: {"key_id": k} for e, k in key_ids.items()},
            **{f"lists.{v}": {"group_id": newsletter.id} for v in ("edit", "delete")},
            **{f"tags.{v}": {"group_id": vip.id} for v in ("edit", "delete")},
            # A pending contact: its page shows the double opt-in card too.
            "contacts.show": {"contact_id": pending_contact.id},
            "contact_imports.mapping": {"job_id": draft.id},
            "contact_imports.review": {"job_id": draft.id},
            "contact_imports.progress": {"job_id": finished.id},
            "contacts.bulk_progress": {"job_id": bulk_job.id},
            "members.remove": {"user_id": manager.id},  # the confirm dialog / page
            "members.revoke": {"invitation_id": invitation.id},
            **{endpoint: {"token": links.make_token(purpose, workspace.id, contact.id)}
               for endpoint, (purpose, contact) in link_tokens.items()},
            **{f"automations.{v}": {"automation_id": automation.id, "index": 0}
               for v in ("show", "edit", "delete", "new_step", "edit_step", "delete_step",
                         "runs")},
            # Its failed run (paused automation: the dialog says to activate it first).
            "automations.retry_run": {"automation_id": automation.id,
                                      "run_id": automation.failed_run_id},
        },
        query={"oauth.authorize": consent})


def _seed_oauth_client(workspace, owner) -> dict:
    """A registered client with a long name, one connection already made (the keys table shows
    it "via OAuth"), and the query of a new authorization request (the consent screen)."""
    client, _ = clients.register({"client_name": f"Claude for {LONG}",
                                  "redirect_uris": ["http://127.0.0.1:33418/oauth/callback"],
                                  "token_endpoint_auth_method": "none"})
    key, _ = key_services.create_key(workspace, client.name, ["read", "write"], key_type="mcp",
                                     actor=owner, expires_at=utcnow() + timedelta(hours=1))
    db.session.add(OAuthGrant(client_id=client.id, user_id=owner.id, workspace_id=workspace.id,
                              api_key_id=key.id, resource="http://127.0.0.1/mcp"))
    db.session.commit()
    return {"response_type": "code", "client_id": client.client_id,
            "redirect_uri": client.redirect_uris[0], "state": "seeded",
            "code_challenge": pkce_challenge("v" * 43), "code_challenge_method": "S256",
            "scope": "read write contacts:delete"}


def _seed_sending(workspace, newsletter, contacts):
    """An SMTP connection (a public address literal: nothing is ever dialled), a draft campaign
    to the newsletter and a sent one with its counts. No row is queued: the live server's worker
    sends nothing."""
    from sureapp.campaigns import services as campaigns
    from sureapp.campaigns.schemas import CampaignCreate
    from sureapp.models import CampaignRecipient, SmtpConnection
    from sureapp.sending.transport import encrypt_password

    connection = SmtpConnection(workspace_id=workspace.id, name=f"Relay {LONG}",
                                host="93.184.215.16", port=587, tls_mode="starttls",
                                username="mailer", password_encrypted=encrypt_password("x"),
                                from_addresses=["news@example.com", "@example.com"],
                                mails_per_minute=120, sent_in_window=0)
    db.session.add(connection)
    fields = dict(subject=f"{{Hi|Hello}} {{{{ first_name }}}}: {LONG}",
                  content_html="<p>News</p>", from_email="news@example.com",
                  from_name="Acme News", list_ids=[newsletter.id])
    draft = campaigns.create_campaign(workspace, CampaignCreate(name=f"Spring {LONG}", **fields))
    sent = campaigns.create_campaign(workspace, CampaignCreate(name="Winter launch", **fields))
    sent.status, sent.started_at, sent.finished_at = "sent", utcnow(), utcnow()
    db.session.flush()
    for contact, status in zip(contacts[:3], ("sent", "bounced", "sent")):
        db.session.add(CampaignRecipient(campaign_id=sent.id, contact_id=contact.id,
                                         status=status, attempts=1, next_attempt_at=utcnow(),
                                         claimed_by="seed", error=""))
    db.session.commit()
    return draft, connection


def _seed_webhooks(workspace):
    """An endpoint with a delivery log (one succeeded, one failed for good) and one disabled by
    the system (the managers' banner). Public address literals, no DNS; every delivery is
    finished, so the live server's worker never sends anything."""
    from sqlalchemy import update

    from sureapp import events
    from sureapp.models import WebhookDelivery
    from sureapp.webhooks import services as webhooks
    from sureapp.webhooks.schemas import WebhookCreate

    endpoint, _ = webhooks.create_endpoint(workspace, WebhookCreate(
        url=f"https://93.184.215.14/hooks/{LONG.replace(' ', '-')}", events=["*"],
        description=f"CRM sync {LONG}"))
    failing, _ = webhooks.create_endpoint(workspace, WebhookCreate(
        url="https://93.184.215.15/gone", events=["contact.created", "contact.deleted"]))
    db.session.flush()
    outcomes = [dict(status="succeeded", response_status=204, duration_ms=38, error=""),
                dict(status="failed", response_status=500, duration_ms=10000,
                     error="timed out after 10 s")]
    for outcome in outcomes:
        (event_id,) = events.emit("webhook.test", workspace.id, {"message": "seed"},
                                  endpoint_ids=[endpoint.id])
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
                           .values(attempts=8, last_attempt_at=utcnow(), next_attempt_at=None,
                                   **outcome))
    failing.enabled = False
    failing.disabled_reason = "Disabled automatically: The receiver answered 410 Gone."
    db.session.commit()
    return endpoint, failing


def _seed_automation(workspace, newsletter, vip, contacts):
    """A paused automation with a step of every kind and runs in every state (paused: the live
    server's runner claims none of them)."""
    from sureapp.automations import services as automations
    from sureapp.automations.schemas import AutomationCreate
    from sureapp.models import AutomationRun

    automation = automations.create_automation(workspace, AutomationCreate.model_validate({
        "name": f"Welcome series {LONG}", "trigger": "list_joined",
        "trigger_list_id": str(newsletter.id), "status": "paused", "steps": [
            {"type": "wait", "amount": 1, "unit": "days"},
            {"type": "add_tag", "tag_id": str(vip.id)},
            {"type": "remove_tag", "tag_id": str(vip.id)},
            {"type": "add_to_list", "list_id": str(newsletter.id)},
            {"type": "remove_from_list", "list_id": str(newsletter.id)}]}))
    now = utcnow()
    for contact, state, step, error in (
            (contacts[0], "scheduled", 0, ""), (contacts[1], "completed", 5, ""),
            (contacts[2], "failed", 1, "The tag of this step no longer exists."),
            (contacts[3], "exited", 0, "Not mailed: the contact is unsubscribed.")):
        run = AutomationRun(
            workspace_id=workspace.id, automation_id=automation.id, contact_id=contact.id,
            state=state, step=step, last_error=error, chain=[],
            next_at=now + timedelta(days=1) if state == "scheduled" else None,
            finished_at=None if state == "scheduled" else now)
        db.session.add(run)
        if state == "failed":
            db.session.flush()
            failed_run_id = run.id
    db.session.commit()
    automation.failed_run_id = failed_run_id  # the retry dialog's run (not a column)
    return automation


def page_urls(app, site: Site) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET page of the UI app, arguments filled from `site`."""
    pages = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or skip_reason(rule.endpoint):
            continue
        values = {**site.arguments(rule.endpoint, rule.arguments), **site.query.get(rule.endpoint, {})}
        pages.append((rule.endpoint, app.url_map.bind("localhost").build(rule.endpoint, values)))
    return pages


def skip_reason(endpoint: str) -> str | None:
    for prefix, reason in SKIPPED_PREFIXES.items():
        if endpoint.startswith(prefix):
            return reason
    return SKIPPED.get(endpoint)
