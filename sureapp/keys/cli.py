"""`flask create-key` and `flask purge-keys` (SPEC §5), built on the same services as the UI."""
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext
from ..errors import ValidationFailed
from ..extensions import db
from ..mail import mail_configured
from ..models import KEY_TYPES
from ..tenancy.cli import existing_org, existing_workspace
from ..timeutil import utcnow
from . import abilities as ability_strings, lifetime, services


def _parse_expiry(value: str | None) -> datetime | None:
    """ISO 8601; a time without an offset is UTC. Returns naive UTC, as every time is stored."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date/time "
                                 "(e.g. 2030-12-31T17:00:00Z).", param_hint="--expires-at")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


@click.command("create-key")
@click.option("--org", "org_ref", required=True, help="Organization name or id.")
@click.option("--workspace", "ws_ref", required=True, help="Workspace name or id in that org.")
@click.option("--name", required=True, help="A name that says where the key is used.")
@click.option("--abilities", required=True,
              help="Comma-separated: read,write,delete (every resource) and/or RESOURCE:ABILITY "
                   "(contacts:read,lists:write; resources: "
                   f"{', '.join(ability_strings.RESOURCES)}).")
@click.option("--expires-at", default=None, help="ISO 8601, in the future; no offset means UTC.")
@click.option("--allowed-ips", default="",
              help="Comma-separated IPv4/IPv6 addresses and CIDR ranges the key may be used "
                   "from (e.g. 203.0.113.0/24,2001:db8::/32); default: any address.")
@click.option("--type", "key_type", type=click.Choice(KEY_TYPES), default="api",
              show_default=True, help="api (API and MCP), mcp (MCP only), suremails (API only).")
@with_appcontext
def create_key_command(org_ref, ws_ref, name, abilities, expires_at, allowed_ips, key_type):
    """Create an API key and print it (alone, on the last line). It is shown only this once."""
    expiry = _parse_expiry(expires_at)
    workspace = existing_workspace(org_ref, ws_ref)
    try:
        key, plaintext = services.create_key(workspace, name, abilities, expiry, key_type,
                                             actor_label="CLI", allowed_ips=allowed_ips)
    except ValidationFailed as exc:
        db.session.rollback()
        messages = [f"--{field.replace('_', '-')}: {' '.join(errors)}"
                    for field, errors in exc.errors.items()]
        raise click.ClickException("; ".join(messages)) from None
    db.session.commit()
    click.echo(f"Created {key.key_type} key {key.name!r} in {workspace.organization.name} / {workspace.name} "
               f"with abilities {key.abilities}"
               + (f", usable from {key.allowed_ips}" if key.allowed_ips else "")
               + (f", expiring {key.expires_at.isoformat(timespec='seconds')}Z." if expiry else "."))
    click.echo("Store it now; it cannot be shown again:")
    click.echo(plaintext)


@click.command("set-key-policy")
@click.option("--org", "org_ref", required=True, help="Organization name or id.")
@click.option("--max-lifetime-days", type=int, default=None,
              help=f"Keys must expire within N days of being set (1–{lifetime.MAX_LIFETIME_DAYS_LIMIT}); "
                   "0 removes the maximum. Unchanged when omitted.")
@click.option("--require-expiry/--no-require-expiry", default=None,
              help="Every key must have an expiry. Unchanged when omitted.")
@with_appcontext
def set_key_policy_command(org_ref, max_lifetime_days, require_expiry):
    """Set the organization's API key lifetime policy (as Settings → API key policy does)."""
    org = existing_org(org_ref)
    policy = lifetime.policy_of(org)
    if max_lifetime_days is None:
        max_lifetime_days = policy.max_lifetime_days
    elif max_lifetime_days == 0:
        max_lifetime_days = None
    try:
        changes = lifetime.set_policy(
            org, max_lifetime_days, policy.require_expiry if require_expiry is None else require_expiry,
            actor_label="CLI")
    except ValidationFailed as exc:
        db.session.rollback()
        raise click.ClickException("--max-lifetime-days: "
                                   + " ".join(exc.errors["max_lifetime_days"])) from None
    db.session.commit()
    beyond = lifetime.keys_beyond(org, utcnow())
    click.echo(f"{org.name}: {lifetime.policy_of(org).describe()}"
               + ("" if changes else " (unchanged)"))
    if beyond:
        click.echo(f"{beyond} existing key{'s are' if beyond != 1 else ' is'} beyond it "
                   "(flagged on the API Keys page; they keep working until they expire).")


@click.command("purge-keys")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Age of the revocation in days (default: PURGE_REVOKED_AFTER_DAYS, 30).")
@with_appcontext
def purge_keys_command(days):
    """Delete keys revoked at least --days ago, with their audit trail and request log."""
    days = current_app.config["PURGE_REVOKED_AFTER_DAYS"] if days is None else days
    purged = services.purge_revoked_keys(days)
    db.session.commit()
    click.echo(f"Purged {purged} API key{'s' if purged != 1 else ''} revoked {days} or more "
               "days ago.")


@click.command("send-key-reminders")
@with_appcontext
def send_key_reminders_command():
    """Send the key-expiry reminders due now (each exactly once; the server also does this)."""
    from . import reminders

    sent = reminders.send_due_reminders()
    note = "" if mail_configured() else " (SMTP_URL is not set: shown as banners only, no mail)"
    click.echo(f"Sent {sent} key expiry reminder{'s' if sent != 1 else ''}{note}.")


def init_app(app):
    app.cli.add_command(create_key_command)
    app.cli.add_command(purge_keys_command)
    app.cli.add_command(set_key_policy_command)
    app.cli.add_command(send_key_reminders_command)
