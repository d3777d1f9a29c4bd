"""sureapp/policy.py: the README's roles table is the policy, row by row, and the rules about
people keep their meaning (nobody hands out or takes away more than their own role)."""
import re
from pathlib import Path

import pytest

from sureapp import policy
from sureapp.models import Role
from sureapp.policy import Forbidden, Permission, can, require

README = Path(__file__).resolve().parents[1] / "README.md"
COLUMNS = {"Member": Role.MEMBER, "Manager": Role.MANAGER, "Org Admin": Role.ADMIN,
           "Org Owner": Role.OWNER}


def readme_roles_table() -> dict[str, dict[Role, bool]]:
    """{permission name: {role: allowed}} from the table under "## Roles"."""
    section = README.read_text().split("\n## Roles\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[:2] == ["Action", "Permission"] and set(header[2:]) == set(COLUMNS)
    table = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = re.fullmatch(r"`([A-Z_]+)`", cells[1])
        assert name, f"no permission named in row: {line}"
        assert name.group(1) not in table, f"two rows for {name.group(1)}"
        assert set(cells[2:]) <= {"✓", "–"}, f"a cell that is neither ✓ nor –: {line}"
        table[name.group(1)] = {COLUMNS[h]: c == "✓" for h, c in zip(header[2:], cells[2:])}
    return table


def test_readme_roles_table_is_the_policy():
    table = readme_roles_table()
    assert set(table) == {p.name for p in Permission}, "one README row per permission"
    for permission in Permission:
        for role in Role:
            assert table[permission.name][role] == can(role, permission), (permission, role)


def test_no_role_holds_nothing_and_no_access_holds_nothing():
    for permission in Permission:
        assert not can(None, permission)
        with pytest.raises(Forbidden):
            require(None, permission)


def test_require_names_what_is_refused():
    with pytest.raises(Forbidden, match="contact allocation"):
        require(Role.MANAGER, Permission.SET_ALLOCATION)
    require(Role.ADMIN, Permission.SET_ALLOCATION)  # no error


@pytest.mark.parametrize("actor, grantable", [
    (None, []), (Role.MEMBER, []), (Role.MANAGER, [Role.MEMBER, Role.MANAGER]),
    (Role.ADMIN, [Role.MEMBER, Role.MANAGER, Role.ADMIN]),
    (Role.OWNER, [Role.MEMBER, Role.MANAGER, Role.ADMIN]),  # owner only moves by transfer
])
def test_nobody_grants_or_invites_above_their_own_role(actor, grantable):
    assert policy.grantable_roles(actor) == grantable
    assert policy.invitable_roles(actor) == grantable


@pytest.mark.parametrize("actor", list(Role))
@pytest.mark.parametrize("target", list(Role))
def test_nobody_manages_a_higher_role_or_the_owner(actor, target):
    assert policy.may_manage(actor, target) == (
        actor >= Role.MANAGER and target <= actor and target != Role.OWNER)


def test_nobody_changes_their_own_role():
    with pytest.raises(Forbidden, match="your own role"):
        policy.require_may_change_role(True, Role.OWNER, Role.OWNER, Role.ADMIN)
    with pytest.raises(Forbidden, match="above your own"):
        policy.require_may_change_role(False, Role.MANAGER, Role.MEMBER, Role.ADMIN)
    policy.require_may_change_role(False, Role.MANAGER, Role.MEMBER, Role.MANAGER)
