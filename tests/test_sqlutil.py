"""contains_text: user text is matched literally (no wildcards) and without regard to case, on
every backend."""
import uuid

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.models import Contact
from sureapp.sqlutil import contains_text, escape_like

NAMES = ["50% off", "50 pct off", "snake_case", "snakeXcase", r"back\slash", "backslash", "ACME Corp"]


@pytest.fixture
def named(app, make_user, make_org):
    _, workspace = make_org(make_user())
    for i, company in enumerate(NAMES):
        db.session.add(Contact(id=uuid.uuid4(), workspace_id=workspace.id,
                               email=f"c{i}@example.com", company=company))
    db.session.commit()
    return workspace


def _matching(workspace, text):
    return sorted(db.session.scalars(select(Contact.company).where(
        Contact.workspace_id == workspace.id, contains_text(Contact.company, text))))


@pytest.mark.parametrize("text, expected", [
    ("50%", ["50% off"]),            # % is a percent sign, not "anything"
    ("e_c", ["snake_case"]),         # _ is an underscore, not "any one character"
    ("k\\s", [r"back\slash"]),       # the escape character itself is literal too
    ("acme", ["ACME Corp"]),         # case is ignored
    ("corp", ["ACME Corp"]),
    ("%", ["50% off"]),
])
def test_contains_text_is_literal_and_ignores_case(named, text, expected):
    assert _matching(named, text) == expected


def test_escape_like_escapes_every_wildcard():
    assert escape_like("a%b_c\\d") == "a\\%b\\_c\\\\d"
