"""prepared.PreparedRead: the same values as SQLAlchemy's own execution, with a join's repeated
parent columns converted once."""
import uuid

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.models import Contact, ContactList
from sureapp.models.contacts import list_members
from sureapp.prepared import PreparedRead

_contacts, _lists = Contact.__table__, ContactList.__table__
CONTACT_WITH_LISTS = (
    select(_contacts, _lists.c.id.label("list_id"), _lists.c.created_at.label("list_created"))
    .select_from(_contacts.outerjoin(list_members, list_members.c.contact_id == _contacts.c.id)
                 .outerjoin(_lists, _lists.c.id == list_members.c.list_id))
    .order_by(_contacts.c.email, _lists.c.name)
)


@pytest.fixture
def workspace(make_user, make_org):
    return make_org(make_user(email="prepared@example.com"), name="P", workspace_name="W")[1]


def test_rows_equal_sqlalchemys_and_repeated_parent_columns_are_converted_once(
        app, backend, workspace, make_contact, make_list):
    ada = make_contact(workspace, "ada@example.com", custom_fields={"plan": "pro", "seats": 3})
    bob = make_contact(workspace, "bob@example.com")
    for name in ("A", "B", "C"):
        make_list(workspace, name, members=[ada])
    make_list(workspace, "D", members=[bob])
    statement = CONTACT_WITH_LISTS.where(_contacts.c.workspace_id == workspace.id)

    expected = [list(row) for row in db.session.execute(statement)]
    rows = [list(row) for row in PreparedRead(statement).rows(db.engine)]

    assert rows == expected
    assert [row[0] for row in rows] == [ada.id] * 3 + [bob.id]
    assert isinstance(rows[0][0], uuid.UUID) and rows[0][0] == ada.id
    fields = list(_contacts.c.keys()).index("custom_fields")
    created = list(_contacts.c.keys()).index("created_at")
    if backend == "sqlite":  # psycopg returns UUIDs, dicts and datetimes itself: no converter
        # Ada's columns in her three rows are one converted value each, shared…
        assert rows[1][fields] is rows[0][fields] and rows[2][created] is rows[0][created]
    # …while each row's own columns, and the next contact's, are converted from their own.
    assert len({row[-2] for row in rows}) == 4
    assert rows[3][fields] == {} and rows[3][fields] is not rows[2][fields]


def test_a_value_seen_earlier_but_not_in_the_previous_row_is_converted_again(app, workspace,
                                                                             make_contact):
    same = {"plan": "pro"}
    make_contact(workspace, "a@example.com", custom_fields=same)
    make_contact(workspace, "b@example.com", custom_fields={"plan": "free"})
    make_contact(workspace, "c@example.com", custom_fields=same)
    statement = (select(_contacts.c.email, _contacts.c.custom_fields)
                 .where(_contacts.c.workspace_id == workspace.id).order_by(_contacts.c.email))

    rows = [list(row) for row in PreparedRead(statement).rows(db.engine)]

    assert rows == [list(row) for row in db.session.execute(statement)]
    assert [fields for _, fields in rows] == [same, {"plan": "free"}, same]
    assert rows[2][1] is not rows[0][1]  # its own dict: no row shares a value it did not repeat


def test_an_in_memory_sqlite_database_is_read_on_the_pools_connection():
    """`sqlite://` is a database per connection: detaching the pool's connection would take the
    database away from the engine, so the prepared read borrows it and gives it back."""
    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert

    engine = create_engine("sqlite://")
    numbers = Table("numbers", MetaData(), Column("n", Integer))
    with engine.begin() as conn:
        numbers.create(conn)
        conn.execute(insert(numbers), [{"n": 1}, {"n": 2}])

    assert PreparedRead(select(numbers.c.n).order_by(numbers.c.n)).rows(engine) == [(1,), (2,)]
    with engine.connect() as conn:  # the pool still holds the database: nothing took it away
        assert conn.execute(select(numbers.c.n)).all() == [(1,), (2,)]
