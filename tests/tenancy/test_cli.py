"""flask create-user EMAIL --password PW --org ORG --workspace WS [--role …] (SPEC §5)."""
import pytest
from sqlalchemy import func, select

from sureapp.auth.services import authenticate
from sureapp.extensions import db
from sureapp.models import Organization, Role, User, Workspace
from sureapp.tenancy import services


def _run(runner, *args):
    return runner.invoke(args=["create-user", *args])


def test_creates_user_org_and_workspace(runner):
    result = _run(runner, "ann@example.com", "--password", "s3cure pass", "--org", "Acme",
                  "--workspace", "Main")
    assert result.exit_code == 0, result.output
    user = authenticate("ann@example.com", "s3cure pass")
    workspace = db.session.scalar(select(Workspace))
    assert user is not None and workspace.name == "Main"
    assert services.workspace_role(user.id, workspace) == Role.OWNER
    assert "ann@example.com is Org Owner" in result.output


@pytest.mark.parametrize("role", ["admin", "manager", "member"])
def test_adds_a_user_with_a_role_to_an_existing_workspace(role, runner):
    _run(runner, "ann@example.com", "--password", "s3cure pass", "--org", "Acme", "--workspace", "Main")
    result = _run(runner, "bob@example.com", "--password", "s3cure pass", "--org", "Acme",
                  "--workspace", "Main", "--role", role)
    assert result.exit_code == 0, result.output
    bob = db.session.scalar(select(User).where(User.email == "bob@example.com"))
    workspace = db.session.scalar(select(Workspace))
    assert services.workspace_role(bob.id, workspace) == Role.from_slug(role)
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 1


def test_creates_a_missing_workspace_in_an_existing_org(runner):
    _run(runner, "ann@example.com", "--password", "s3cure pass", "--org", "Acme", "--workspace", "Main")
    result = _run(runner, "bob@example.com", "--password", "s3cure pass", "--org", "Acme",
                  "--workspace", "Berlin", "--role", "manager", "--timezone", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    berlin = db.session.scalar(select(Workspace).where(Workspace.name == "Berlin"))
    assert berlin.timezone == "Europe/Berlin"


@pytest.mark.parametrize("args, message", [
    (["not-an-email", "--password", "s3cure pass", "--org", "A", "--workspace", "W"], "EMAIL"),
    (["a@example.com", "--password", "short", "--org", "A", "--workspace", "W"], "8 to 1024"),
    (["a@example.com", "--org", "A", "--workspace", "W"], "--password is required"),
    (["a@example.com", "--password", "s3cure pass", "--org", "A", "--workspace", "W", "--role", "member"],
     "must be --role owner"),
    (["a@example.com", "--password", "s3cure pass", "--org", "A", "--workspace", "W", "--role", "god"],
     "Invalid value"),
    (["a@example.com", "--password", "s3cure pass", "--org", "", "--workspace", "W"], "1 to 255"),
    (["a@example.com", "--password", "s3cure pass", "--org", "A", "--workspace", "W\x00"], "1 to 255"),
    (["a@example.com", "--password", "s3cure pass", "--org", "A", "--workspace", "W", "--timezone", "Nowhere"],
     "unknown timezone"),
])
def test_bad_input_is_an_error_and_writes_nothing(args, message, runner):
    result = _run(runner, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_an_org_keeps_its_one_owner(runner):
    _run(runner, "ann@example.com", "--password", "s3cure pass", "--org", "Acme", "--workspace", "Main")
    result = _run(runner, "bob@example.com", "--password", "s3cure pass", "--org", "Acme",
                  "--workspace", "Main", "--role", "owner")
    assert result.exit_code != 0 and "already has an owner" in result.output
    assert db.session.scalar(select(User).where(User.email == "bob@example.com")) is None
