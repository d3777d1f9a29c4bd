"""sureapp/web.py: loading a row of this workspace, service errors on forms, the HTML error pages."""
import pytest
from flask import url_for
from flask_wtf import FlaskForm
from wtforms import StringField

from sureapp.contacts import services as contacts
from sureapp.contacts.schemas import ContactCreate
from sureapp.errors import Conflict, NotFound
from sureapp.extensions import db
from sureapp.keys import services as keys
from sureapp.web import show_form_errors


@pytest.fixture
def two_workspaces(make_user, make_org, login):
    """A manager's workspace and a stranger's workspace, each with a contact and a key."""
    manager = make_user()
    _, mine = make_org(manager, name="Mine")
    _, theirs = make_org(make_user(), name="Theirs")
    rows = {}
    for label, workspace in (("mine", mine), ("theirs", theirs)):
        contact = contacts.create_contact(workspace, ContactCreate(email=f"{label}@example.com"),
                                          source="test")
        key, _ = keys.create_key(workspace, label, ["read"])
        rows[label] = (contact.id, key.id)
    db.session.commit()
    login(manager)
    return mine, rows


@pytest.mark.parametrize("endpoint, arg, index", [("contacts.show", "contact_id", 0),
                                                   ("keys.show", "key_id", 1)])
def test_another_workspaces_row_is_the_same_404_as_a_missing_or_malformed_id(
        client, two_workspaces, endpoint, arg, index):
    mine, rows = two_workspaces
    url = lambda ident: url_for(endpoint, workspace_id=mine.id, **{arg: ident})  # noqa: E731
    assert client.get(url(rows["mine"][index])).status_code == 200
    answers = [client.get(url(ident)) for ident in
               (rows["theirs"][index], "00000000-0000-0000-0000-000000000000", "not-a-uuid")]
    assert [r.status_code for r in answers] == [404, 404, 404]
    assert len({r.get_data() for r in answers}) == 1  # nothing tells them apart
    assert "There is nothing here, or it is not yours to see." in answers[0].get_data(as_text=True)


def test_a_method_a_page_does_not_take_is_the_html_405_page(client, two_workspaces):
    mine, _ = two_workspaces
    response = client.delete(url_for("contacts.index", workspace_id=mine.id))
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "This page does not accept that kind of request." in response.get_data(as_text=True)


class _Form(FlaskForm):
    class Meta:
        csrf = False

    email = StringField()


def test_service_errors_go_next_to_their_field_once_and_the_rest_above_the_form(app):
    with app.test_request_context():
        form = _Form()
        show_form_errors(form, {"email": ["Taken."], "custom_fields.plan": ["Too long."]})
        show_form_errors(form, {"email": ["Taken."]})
        show_form_errors(form, Conflict("Already exists."), conflict_field="email")
        show_form_errors(form, NotFound("No such list."))
    assert form.email.errors == ["Taken.", "Already exists."]
    assert form.form_errors == ["plan: Too long.", "No such list."]


def test_an_untrusted_host_is_a_plain_400_not_a_500(app, client):
    """Refused before routing, so the page layout (which builds links) cannot render."""
    app.config["TRUSTED_HOSTS"] = ["sureapp.example.com"]
    response = client.get("/login", base_url="http://attacker.example")
    assert response.status_code == 400 and response.mimetype == "text/plain"
    assert "Bad request" in response.get_data(as_text=True)
