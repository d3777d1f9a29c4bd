"""The campaign editor as a browser without JavaScript uses it (and htmx's swaps): New / Edit /
Delete through the services the API uses, roles, other workspaces' ids, every bad input as an
inline error with nothing written, locked campaigns, the workspace timezone, CSRF, and the
preview (rendered as a send renders it, in a frame where no script runs)."""
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from sureapp.campaigns import sending
from sureapp.extensions import db
from sureapp.models import Campaign, CampaignRecipient, Role, campaign_lists
from sureapp.sending import render
from sureapp.timeutil import utcnow
from tests.conftest import forget_request_user


def base(workspace, suffix=""):
    return f"/w/{workspace.id}/campaigns{suffix}"


def form(lists=(), **overrides):
    return {"name": "Spring news", "subject": "{Hi|Hello} {{ first_name | default: \"there\" }}",
            "from_name": "Acme News", "from_email": "news@example.com",
            "content_html": "<p>Dear {{ first_name }},</p>\r\n<p>{{ company }} news.</p>",
            "list_ids": [str(lst.id) for lst in lists], "scheduled_at": "",
            "send_per_hour": ""} | overrides


def snapshot():
    """Every campaign as stored, with its lists: a refusal must leave it all as it was."""
    db.session.expire_all()
    campaigns = db.session.execute(select(
        Campaign.id, Campaign.name, Campaign.subject, Campaign.from_name, Campaign.from_email,
        Campaign.content_html, Campaign.status, Campaign.scheduled_at, Campaign.send_per_hour,
        Campaign.updated_at).order_by(Campaign.id)).all()
    memberships = db.session.execute(select(campaign_lists).order_by(
        campaign_lists.c.campaign_id, campaign_lists.c.list_id)).all()
    return campaigns, memberships


def only_campaign() -> Campaign:
    db.session.expire_all()
    (campaign,) = db.session.scalars(select(Campaign)).all()
    return campaign


def text(response) -> str:
    return response.get_data(as_text=True)


# ---- new / edit / delete: the happy paths ------------------------------------------------------

def test_the_new_page_offers_lists_with_counts_addresses_and_merge_tags(
        client, as_manager, workspace, smtp_server, make_connection, make_contact, make_list):
    make_connection(workspace, smtp_server, from_addresses=("news@example.com", "@acme.test"))
    make_list(workspace, "Customers", members=[make_contact(workspace), make_contact(workspace)])
    make_list(workspace, "Empty")
    page = text(client.get(base(workspace, "/new")))
    assert "Customers (2 contacts)" in page and "Empty (0 contacts)" in page
    assert '<option value="news@example.com">' in page and "any address @acme.test" in page
    for tag in render.MERGE_TAGS:  # the renderer's own list, not a second one
        assert "<code>{{ %s }}</code>" % tag in page
    assert "<code>{Hi|Hello|Hey}</code>" in page and "In UTC time" in page
    assert 'name="once_token"' in page


def test_create_edit_and_delete_a_campaign(client, as_manager, workspace, make_contact,
                                           make_list):
    customers = make_list(workspace, "Customers", members=[make_contact(workspace)])
    prospects = make_list(workspace, "Prospects")
    response = client.post(base(workspace, "/new"),
                           data=form([customers], send_per_hour="120"))
    assert response.status_code == 303
    campaign = only_campaign()
    assert response.headers["Location"].endswith(base(workspace, f"/{campaign.id}"))
    assert (campaign.name, campaign.subject, campaign.from_name, campaign.from_email,
            campaign.status, campaign.scheduled_at, campaign.send_per_hour) == (
        "Spring news", "{Hi|Hello} {{ first_name | default: \"there\" }}", "Acme News",
        "news@example.com", "draft", None, 120)
    assert campaign.content_html == "<p>Dear {{ first_name }},</p>\n<p>{{ company }} news.</p>"
    assert [lst.id for lst in campaign.lists] == [customers.id]
    assert "created as a draft" in text(client.get(response.headers["Location"]))

    edit_page = text(client.get(base(workspace, f"/{campaign.id}/edit")))
    assert 'value="Spring news"' in edit_page and "{{ company }} news." in edit_page
    response = client.post(base(workspace, f"/{campaign.id}/edit"), data=form(
        [prospects, customers], name="Summer news", subject="Summer", send_per_hour=""))
    assert response.status_code == 303
    campaign = only_campaign()
    assert (campaign.name, campaign.subject, campaign.send_per_hour) == ("Summer news", "Summer",
                                                                        None)
    assert {lst.id for lst in campaign.lists} == {customers.id, prospects.id}

    confirm = client.get(base(workspace, f"/{campaign.id}/delete"))
    assert confirm.status_code == 200 and "Delete campaign" in text(confirm)
    response = client.post(base(workspace, f"/{campaign.id}/delete"), data={})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(base(workspace))
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    assert "Campaign “Summer news” deleted." in text(client.get(base(workspace)))


def test_a_new_campaign_form_sent_twice_creates_one(client, as_manager, workspace):
    token = re.search(r'name="once_token" value="([^"]+)"',
                      text(client.get(base(workspace, "/new")))).group(1)
    first = client.post(base(workspace, "/new"), data=form(once_token=token))
    again = client.post(base(workspace, "/new"), data=form(once_token=token))
    assert first.status_code == 303 and again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_htmx_gets_the_form_back_with_its_errors_and_a_redirect_on_success(
        client, as_manager, workspace):
    hx = {"HX-Request": "true"}
    refused = client.post(base(workspace, "/new"), data=form(name=""), headers=hx)
    assert refused.status_code == 422
    assert text(refused).startswith("{#") is False and "<html" not in text(refused)
    assert 'class="field-error"' in text(refused)
    done = client.post(base(workspace, "/new"), data=form(), headers=hx)
    assert done.status_code == 204
    assert done.headers["HX-Redirect"] == base(workspace, f"/{only_campaign().id}")


def test_links_are_shown_to_managers_only(client, login, workspace, make_user, add_member,
                                          manager, make_campaign):
    campaign = make_campaign(workspace, [])
    login(manager)
    index, show = text(client.get(base(workspace))), text(client.get(base(workspace, f"/{campaign.id}")))
    assert "New campaign" in index
    assert 'id="campaign-edit-button"' in show and 'id="campaign-delete-button"' in show
    login(add_member(workspace, make_user(email="member@example.com"), Role.MEMBER))
    index, show = text(client.get(base(workspace))), text(client.get(base(workspace, f"/{campaign.id}")))
    assert "New campaign" not in index
    assert 'id="campaign-edit-button"' not in show and 'id="campaign-delete-button"' not in show


def test_members_get_403_and_nothing_is_written(client, login, workspace, make_user, add_member,
                                               make_list, make_campaign):
    lst = make_list(workspace)
    campaign = make_campaign(workspace, [lst])
    login(add_member(workspace, make_user(email="member@example.com"), Role.MEMBER))
    before = snapshot()
    for path in ("/new", f"/{campaign.id}/edit", f"/{campaign.id}/delete"):
        assert client.get(base(workspace, path)).status_code == 403
        assert client.post(base(workspace, path), data=form([lst], name="Hijacked")).status_code == 403
    assert snapshot() == before


def test_another_workspaces_campaign_is_404(client, as_manager, workspace, other_workspace,
                                            make_campaign):
    theirs = make_campaign(other_workspace, [])
    before = snapshot()
    for path in ("/edit", "/delete", "/preview", ""):
        assert client.get(base(workspace, f"/{theirs.id}{path}")).status_code == 404
    for path in ("/edit", "/delete"):
        assert client.post(base(workspace, f"/{theirs.id}{path}"), data=form()).status_code == 404
    assert client.get(base(workspace, "/not-an-id/edit")).status_code == 404
    assert snapshot() == before


def test_another_workspaces_list_is_an_inline_error(client, as_manager, workspace,
                                                   other_workspace, make_list, make_campaign):
    ours, theirs = make_list(workspace, "Ours"), make_list(other_workspace, "Theirs")
    campaign = make_campaign(workspace, [ours])
    before = snapshot()
    for path in ("/new", f"/{campaign.id}/edit"):
        response = client.post(base(workspace, path), data=form([ours, theirs], name="Typed"))
        assert response.status_code == 422
        page = text(response)
        assert re.search(r'id="list_ids-error">No such list: ' + str(theirs.id), page)
        assert 'value="Typed"' in page and "Theirs" not in page  # kept; theirs never offered
        assert re.search(rf'value="{ours.id}" checked', page)
    assert snapshot() == before


# ---- bad input: inline, 422, nothing written, nothing lost ---------------------------------------

BAD_INPUT = [
    ("name", "x" * 256, "at most 255 characters"),
    ("name", "   ", "at least 1 character"),
    ("subject", "s" * 256, "at most 255 characters"),
    ("from_name", "n" * 256, "at most 255 characters"),
    ("from_email", "not an address", "email"),
    ("content_html", "<p>{{ favourite_colour }}</p>", "is not a merge tag we know"),
    ("content_html", "<p>{{ first_name | upper }}</p>", "is not a merge tag"),
    ("subject", "{Hi|Hello there", "is never closed"),
    ("content_html", "x" * 100_001, "at most 100000 characters"),
    ("scheduled_at", "2026-13-45T25:61", "Enter a date and time"),
    ("scheduled_at", "tomorrow", "Enter a date and time"),
    ("send_per_hour", "-5", "greater than or equal to 1"),
    ("send_per_hour", "0", "greater than or equal to 1"),
    ("send_per_hour", "100001", "less than or equal to 100000"),
    ("send_per_hour", "lots", "Not a valid integer"),
    ("list_ids", "not-a-uuid", "UUID"),
]


@pytest.mark.parametrize("field, value, message", BAD_INPUT,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_INPUT)])
def test_bad_input_is_an_inline_error_and_nothing_is_written(client, as_manager, workspace,
                                                             make_list, make_campaign, field,
                                                             value, message):
    lst = make_list(workspace)
    campaign = make_campaign(workspace, [lst])
    before = snapshot()
    for path in ("/new", f"/{campaign.id}/edit"):
        data = form([lst], name="Kept name" if field != "name" else value) | {field: value}
        if field == "list_ids":
            data["list_ids"] = [str(lst.id), value]
        response = client.post(base(workspace, path), data=data)
        assert response.status_code == 422, path
        page = text(response)
        error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
        assert error and message in error.group(1).replace("&#34;", '"'), (path, page[:300])
        assert f'aria-describedby="{field}' in page or field == "list_ids"
        if field != "name":
            assert 'value="Kept name"' in page  # what was typed is all still there
        assert "Dear {{ first_name }}," in page or field == "content_html"
    assert snapshot() == before


def test_a_year_beyond_9999_in_utc_is_an_inline_error(client, as_manager, workspace):
    workspace.timezone = "America/New_York"  # New Year's Eve 9999 there is year 10000 in UTC
    db.session.commit()
    response = client.post(base(workspace, "/new"), data=form(scheduled_at="9999-12-31T23:00"))
    assert response.status_code == 422
    assert "between years 1 and 9999" in text(response)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_every_problem_shows_in_one_round(client, as_manager, workspace):
    response = client.post(base(workspace, "/new"), data=form(
        name="", send_per_hour="-1", content_html="<p>{{ colour }}</p>"))
    assert response.status_code == 422
    page = text(response)
    for field in ("name", "send_per_hour", "content_html"):
        assert f'id="{field}-error"' in page
    assert "{{ colour }} is not a merge tag we know" in page


# ---- locked campaigns ----------------------------------------------------------------------------

def test_a_scheduled_campaign_must_be_paused_first_and_the_form_keeps_what_was_typed(
        client, as_manager, workspace, make_list, make_campaign):
    lst = make_list(workspace)
    campaign = make_campaign(workspace, [lst])
    campaign.status = "scheduled"
    db.session.commit()
    page = text(client.get(base(workspace, f"/{campaign.id}/edit")))
    assert "This campaign is scheduled: pause it to change it." in page
    before = snapshot()
    response = client.post(base(workspace, f"/{campaign.id}/edit"),
                           data=form([lst], subject="A brand new subject"))
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'class="form-error" role="alert">This campaign is scheduled: pause it', page)
    assert 'value="A brand new subject"' in page
    assert snapshot() == before


def test_a_started_campaign_can_only_be_renamed(client, as_manager, workspace, make_contact,
                                                make_list, make_campaign):
    lst = make_list(workspace, members=[make_contact(workspace)])
    campaign = make_campaign(workspace, [lst], scheduled_at=datetime(2026, 1, 5, 9, 30, 15))
    campaign.status, campaign.started_at = "sending", utcnow()
    db.session.commit()
    edit = base(workspace, f"/{campaign.id}/edit")
    page = text(client.get(edit))
    assert "only its name can be changed now" in page
    # The form as the page shows it (CRLF line ends, minutes only), with a new name: saved.
    shown = {name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1).replace(
        "&#34;", '"') for name in ("subject", "from_name", "from_email", "scheduled_at")}
    assert shown["scheduled_at"] == "2026-01-05T09:30"
    data = form([lst], name="Renamed while sending", **shown)
    data["content_html"] = campaign.content_html.replace("\n", "\r\n")
    response = client.post(edit, data=data)
    assert response.status_code == 303, text(response)
    stored = only_campaign()
    assert (stored.name, stored.scheduled_at) == ("Renamed while sending",
                                                  datetime(2026, 1, 5, 9, 30, 15))
    before = snapshot()
    response = client.post(edit, data=data | {"content_html": "<p>Changed</p>"})
    assert response.status_code == 422
    assert "only its name can be changed now" in text(response)
    assert "&lt;p&gt;Changed&lt;/p&gt;" in text(response)
    assert snapshot() == before


def test_a_sending_campaign_is_not_deleted_and_shows_no_delete(client, as_manager, workspace,
                                                               make_campaign):
    campaign = make_campaign(workspace, [])
    campaign.status, campaign.started_at = "sending", utcnow()
    db.session.commit()
    assert 'id="campaign-delete-button"' not in text(client.get(base(workspace, f"/{campaign.id}")))
    before = snapshot()
    response = client.post(base(workspace, f"/{campaign.id}/delete"), data={})
    assert response.status_code == 422
    assert "pause or cancel it before deleting it" in text(response)
    assert snapshot() == before


def test_deleting_a_sent_campaign_removes_its_recipient_rows(client, as_manager, workspace,
                                                             make_contact, make_list,
                                                             make_campaign):
    contact = make_contact(workspace)
    campaign = make_campaign(workspace, [make_list(workspace, members=[contact])])
    campaign.status, campaign.started_at, campaign.finished_at = "sent", utcnow(), utcnow()
    db.session.add(CampaignRecipient(campaign_id=campaign.id, contact_id=contact.id,
                                     status="sent", attempts=1, next_attempt_at=utcnow(),
                                     claimed_by="test", error=""))
    db.session.commit()
    confirm = text(client.get(base(workspace, f"/{campaign.id}/delete")))
    assert "its statistics are deleted" in confirm
    assert client.post(base(workspace, f"/{campaign.id}/delete"), data={}).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


# ---- the workspace timezone ------------------------------------------------------------------------

@pytest.mark.parametrize("entered, utc, shown", [
    ("2027-01-15T09:30", datetime(2027, 1, 15, 14, 30), "Jan 15, 2027, 09:30 EST"),
    ("2027-07-15T09:30", datetime(2027, 7, 15, 13, 30), "Jul 15, 2027, 09:30 EDT"),
])
def test_scheduled_at_is_entered_and_shown_in_the_workspace_timezone(
        client, as_manager, workspace, entered, utc, shown):
    workspace.timezone = "America/New_York"
    db.session.commit()
    response = client.post(base(workspace, "/new"), data=form(scheduled_at=entered))
    assert response.status_code == 303
    campaign = only_campaign()
    assert campaign.scheduled_at == utc
    assert f'value="{entered}"' in text(client.get(base(workspace, f"/{campaign.id}/edit")))
    assert shown in text(client.get(base(workspace, f"/{campaign.id}")))
    # Saved again unchanged, it stays the same moment.
    page = text(client.get(base(workspace, f"/{campaign.id}/edit")))
    assert "In America/New_York time" in page
    assert client.post(base(workspace, f"/{campaign.id}/edit"),
                       data=form(scheduled_at=entered)).status_code == 303
    assert only_campaign().scheduled_at == utc


# ---- CSRF ----------------------------------------------------------------------------------------

def test_without_the_csrf_token_nothing_is_created_changed_or_deleted(app, client, as_manager,
                                                                      workspace, make_campaign):
    campaign = make_campaign(workspace, [])
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot()
    for path in ("/new", f"/{campaign.id}/edit", f"/{campaign.id}/delete"):
        response = client.post(base(workspace, path), data=form(name="Forged"))
        assert response.status_code == 400 and "Please try again" in text(response)
    assert snapshot() == before
    page = text(client.get(base(workspace, "/new")))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    once_token = re.search(r'name="once_token" value="([^"]+)"', page).group(1)
    response = client.post(base(workspace, "/new"),
                           data=form(csrf_token=token, once_token=once_token))
    assert response.status_code == 303  # control: the token from the page passes


# ---- preview -------------------------------------------------------------------------------------

SCRIPTED = ("<style>p { color: #333 }</style><p>{Hi|Hello} {{ first_name }} of {{ company }}!</p>"
            "<script>document.title = 'ran'</script><img src=x onerror=\"alert(1)\">"
            '<a href="{{ unsubscribe_url }}">Unsubscribe</a>')


def test_the_preview_renders_the_first_contact_as_a_send_would(client, as_manager, workspace,
                                                                make_contact, make_list,
                                                                make_campaign):
    grace = make_contact(workspace, "grace@example.com", first_name="Grace", company="<Navy>")
    later = make_contact(workspace, "zed@example.com", first_name="Zed")
    campaign = make_campaign(workspace, [make_list(workspace, members=[grace, later])],
                             subject="{Hi|Hello} {{ first_name }}", content_html=SCRIPTED)
    subject, _, html, _ = sending._message(campaign, grace, preview=True)
    show = text(client.get(base(workspace, f"/{campaign.id}")))
    assert f'<dd id="preview-subject">{subject}</dd>' in show
    assert subject in ("Hi Grace", "Hello Grace")
    assert "grace@example.com" in show and "the first active contact" in show
    frame = re.search(r'<iframe[^>]*id="campaign-preview"[^>]*>', show.replace("\n", " ")).group(0)
    assert 'sandbox=""' in frame  # no allow-scripts, no allow-same-origin
    response = client.get(base(workspace, f"/{campaign.id}/preview"))
    assert response.status_code == 200 and response.mimetype == "text/html"
    body = text(response)
    assert body == html
    assert re.search(r"<p>(Hi|Hello) Grace of &lt;Navy&gt;!</p>", body)
    assert "{Hi|Hello}" not in body and "{{" not in body
    assert 'href="#unsubscribe-link"' in body and "/unsubscribe/" not in body  # no live link
    csp = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in csp and "default-src 'none'" in csp  # no script of any kind runs
    assert not any(part.startswith("script-src") for part in csp)
    assert "frame-ancestors 'self'" in csp and response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Cache-Control"] == "no-store"


def test_without_contacts_the_preview_uses_a_made_up_one_and_stores_nothing(
        client, as_manager, workspace, make_list, make_campaign):
    from sureapp.models import Contact

    campaign = make_campaign(workspace, [make_list(workspace)])
    show = text(client.get(base(workspace, f"/{campaign.id}")))
    assert "Ada Lovelace &lt;ada@example.com&gt;" in show and "a made-up contact" in show
    assert "Dear Ada," in text(client.get(base(workspace, f"/{campaign.id}/preview")))
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_members_see_the_preview(client, login, workspace, make_user, add_member, make_campaign):
    campaign = make_campaign(workspace, [])
    login(add_member(workspace, make_user(email="member@example.com"), Role.MEMBER))
    assert client.get(base(workspace, f"/{campaign.id}/preview")).status_code == 200
    forget_request_user()
