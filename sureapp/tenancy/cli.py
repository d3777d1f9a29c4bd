"""`flask create-user EMAIL --password PW --org ORG --workspace WS [--role …]` (SPEC §5)."""
import click
from sqlalchemy import select

from ..auth.services import create_user, find_user_by_email, set_password
from ..extensions import db
from ..models import Organization, OrgMembership, Role, Workspace
from ..timeutil import is_valid_timezone
from . import services
from .access import parse_uuid
from ..validation import has_control_characters


def find_org(ref: str) -> Organization | None:
    """By id, else by exact name; two organizations with that name is an error, not a guess."""
    ref = ref.strip()
    org_uuid = parse_uuid(ref)
    if org_uuid and (org := db.session.get(Organization, org_uuid)):
        return org
    matches = db.session.scalars(select(Organization).where(Organization.name == ref)).all()
    if len(matches) > 1:
        raise click.ClickException(
            f"{len(matches)} organizations are named {ref!r}; pass the organization id instead.")
    return matches[0] if matches else None


def find_workspace(org: Organization, ref: str) -> Workspace | None:
    """A workspace of `org` by id, else by exact name (ambiguous names are an error)."""
    ref = ref.strip()
    ws_uuid = parse_uuid(ref)
    matches = [w for w in org.workspaces if w.id == ws_uuid] or \
        [w for w in org.workspaces if w.name == ref]
    if len(matches) > 1:
        raise click.ClickException(
            f"{len(matches)} workspaces are named {ref!r}; pass the workspace id instead.")
    return matches[0] if matches else None


def existing_org(org_ref: str) -> Organization:
    """The --org of a command that works in an existing organization (by id or exact name);
    a clear error (exit 1) when it is missing or ambiguous."""
    org = find_org(org_ref)
    if org is None:
        raise click.ClickException(f"No organization named {org_ref.strip()!r} (or with that id).")
    return org


def existing_workspace(org_ref: str, ws_ref: str) -> Workspace:
    """The --org/--workspace pair of every command that works in an existing workspace: each by
    id or exact name; a clear error (exit 1) when either is missing or ambiguous."""
    org = existing_org(org_ref)
    workspace = find_workspace(org, ws_ref)
    if workspace is None:
        raise click.ClickException(
            f"No workspace named {ws_ref.strip()!r} (or with that id) in {org.name!r}.")
    return workspace


def _current_owner(org: Organization) -> OrgMembership | None:
    return db.session.scalar(select(OrgMembership).where(
        OrgMembership.org_id == org.id, OrgMembership.role == Role.OWNER.slug))


@click.command("create-user")
@click.argument("email")
@click.option("--password", help="Required for a new user; resets an existing user's password.")
@click.option("--org", "org_ref", required=True, help="Organization name or id (created if missing).")
@click.option("--workspace", "ws_ref", required=True, help="Workspace name or id (created if missing).")
@click.option("--role", type=click.Choice(["owner", "admin", "manager", "member"]), default="owner",
              show_default=True, help="A new organization's first user must be its owner.")
@click.option("--timezone", default="UTC", show_default=True, help="For a new workspace.")
def create_user_command(email, password, org_ref, ws_ref, role, timezone):
    """Create (or update) a user and give them ROLE in WORKSPACE of ORG."""
    from ..schema_types import normalize_account_email

    try:
        normalize_account_email(email)  # .local and other special-use domains are fine here
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL")
    if password is not None and not 8 <= len(password) <= 1024:
        raise click.BadParameter("must be 8 to 1024 characters.", param_hint="--password")
    for ref in (org_ref, ws_ref):
        if not 0 < len(ref.strip()) <= 255 or has_control_characters(ref):
            raise click.UsageError("--org and --workspace need 1 to 255 visible characters.")
    if not is_valid_timezone(timezone):
        raise click.BadParameter(f"unknown timezone {timezone!r}.", param_hint="--timezone")
    wanted = Role.from_slug(role)

    user = find_user_by_email(email)
    if user is None and password is None:
        raise click.UsageError("--password is required to create a new user.")
    org = find_org(org_ref)
    if org is None and wanted != Role.OWNER:
        raise click.UsageError(
            f"Organization {org_ref!r} does not exist; its first user must be --role owner.")
    if org is not None and wanted == Role.OWNER:
        owner = _current_owner(org)
        if owner is not None and (user is None or owner.user_id != user.id):
            raise click.UsageError(
                f"{org.name!r} already has an owner ({owner.user.email}); transfer ownership "
                "in the web UI (Settings → Members).")
    if user is not None and org is not None:
        owner = _current_owner(org)
        if owner is not None and owner.user_id == user.id and wanted != Role.OWNER:
            raise click.UsageError(f"{user.email} owns {org.name!r}; transfer ownership first.")

    lines = []
    if user is None:
        user = create_user(email, password)
        lines.append(f"Created user {user.email}.")
    elif password is not None:
        set_password(user, password)
        lines.append(f"Reset the password of {user.email} (their sessions were logged out).")
    if org is None:
        org, _ = services.create_organization(user, org_ref.strip())
        lines.append(f"Created organization {org.name!r} ({org.id}).")
    workspace = find_workspace(org, ws_ref)
    if workspace is None:
        workspace = Workspace(org_id=org.id, name=ws_ref.strip(), timezone=timezone)
        db.session.add(workspace)
        db.session.flush()
        lines.append(f"Created workspace {workspace.name!r} ({workspace.id}).")
    services.grant_role(workspace, user, wanted)
    user.last_workspace_id = user.last_workspace_id or workspace.id
    db.session.commit()
    lines.append(f"{user.email} is {wanted.label} of {workspace.name!r} in {org.name!r}.")
    click.echo("\n".join(lines))


def init_app(app):
    app.cli.add_command(create_user_command)
